r"""Statistics of token sequences, whatever produced them (words, image patches, multi-scale codes).

- :func:`zipf_slope`: the slope of :math:`\log f` against :math:`\log \text{rank}` (Zipf's law predicts about
  :math:`-1` for words);
- :func:`unigram_entropy`: :math:`H = -\sum_k p_k \log_2 p_k` bits per token;
- :func:`order_gap`: how much adjacent order tells, in bits per token: the cross-entropy of an add-:math:`\alpha`
  bigram model trained and evaluated on *shuffled* sequences minus that of the same model class trained and
  evaluated on the *ordered* sequences (held-out sequences in both cases). It is near 0 when order carries no
  information (an i.i.d. source) and positive when it does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._checks import check_positive_int


def _as_tokens(tokens: Sequence[int] | np.ndarray, name: str = "tokens", k: int | None = None) -> np.ndarray:
    arr = np.asarray(tokens)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of integer tokens, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must hold integers, got dtype {arr.dtype}")
    if arr.min() < 0 or (k is not None and arr.max() >= k):
        bound = f"[0, {k})" if k is not None else "[0, inf)"
        raise ValueError(f"{name} must lie in {bound}, got values from {arr.min()} to {arr.max()}")
    return arr.astype(np.int64)


def rank_frequency(tokens: Sequence[int] | np.ndarray) -> np.ndarray:
    """Counts of the distinct tokens, sorted in decreasing order (rank 1 first).

    Examples
    --------
    >>> rank_frequency([3, 1, 3, 3, 2, 1]).tolist()
    [3, 2, 1]
    """
    counts = np.bincount(_as_tokens(tokens))
    return np.sort(counts[counts > 0])[::-1]


def zipf_slope(tokens: Sequence[int] | np.ndarray, ranks: tuple[int, int] = (1, 1000)) -> float:
    r"""Least-squares slope of :math:`\log f_r` against :math:`\log r` over ranks ``ranks[0]..ranks[1]``
    (inclusive, clipped to the number of distinct tokens).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = 1 / np.arange(1, 201); p /= p.sum()
    >>> round(zipf_slope(rng.choice(200, size=200_000, p=p), ranks=(1, 100)), 1)
    -1.0
    """
    lo, hi = ranks
    if not 1 <= lo < hi:
        raise ValueError(f"ranks must be (first, last) with 1 <= first < last, got {ranks}")
    freq = rank_frequency(tokens)
    hi = min(hi, len(freq))
    if hi - lo + 1 < 2:
        raise ValueError(f"need at least two distinct tokens in the rank range {ranks}; found {len(freq)} in all")
    r = np.arange(lo, hi + 1)
    slope, _ = np.polyfit(np.log(r), np.log(freq[lo - 1:hi]), 1)
    return float(slope)


def unigram_entropy(tokens: Sequence[int] | np.ndarray) -> float:
    r"""Plug-in entropy of the token frequencies, :math:`-\sum_k \hat p_k \log_2 \hat p_k` bits per token.

    Examples
    --------
    >>> unigram_entropy([0, 1, 2, 3] * 10)
    2.0
    """
    counts = np.bincount(_as_tokens(tokens)).astype(float)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum() + 0.0)


def bigram_cross_entropy(train: Sequence[np.ndarray], test: Sequence[np.ndarray], k: int,
                         alpha: float = 0.1) -> float:
    r"""Bits per token of an add-:math:`\alpha` bigram model fitted on ``train`` and scored on ``test``.

    :math:`P(b \mid a) = (\#(a, b) + \alpha) / (\#a + \alpha K)`; each sequence's first token is scored by the
    add-:math:`\alpha` unigram model.

    Examples
    --------
    >>> seqs = [np.array([0, 1, 0, 1, 0, 1])] * 4
    >>> bigram_cross_entropy(seqs, seqs, k=2, alpha=0.01) < 0.2
    True
    """
    k = check_positive_int(k, "k")
    if alpha <= 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    if not train or not test:
        raise ValueError("train and test must each hold at least one sequence")
    pairs = np.zeros((k, k))
    unigram = np.zeros(k)
    for seq in train:
        s = _as_tokens(seq, "train sequence", k)
        np.add.at(pairs, (s[:-1], s[1:]), 1)
        np.add.at(unigram, s, 1)
    cond = np.log2((pairs + alpha) / (pairs.sum(1, keepdims=True) + alpha * k))
    first = np.log2((unigram + alpha) / (unigram.sum() + alpha * k))
    bits, n = 0.0, 0
    for seq in test:
        s = _as_tokens(seq, "test sequence", k)
        bits -= first[s[0]] + cond[s[:-1], s[1:]].sum()
        n += len(s)
    return float(bits / n)


def order_gap(sequences: Sequence[np.ndarray], k: int, alpha: float = 0.1, test_fraction: float = 0.25,
              seed: int = 0) -> dict[str, float]:
    r"""The order gap (module docstring): bits per token that adjacent order saves a bigram model.

    Sequences are split into train and held-out test; each sequence is shuffled (its own tokens permuted) for the
    shuffled condition, so unigram statistics are identical in both.

    Returns
    -------
    dict
        ``ordered`` and ``shuffled`` cross-entropies and their difference ``gap = shuffled - ordered``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> iid = [rng.integers(0, 8, 200) for _ in range(40)]
    >>> abs(order_gap(iid, k=8)["gap"]) < 0.05
    True
    """
    if len(sequences) < 2:
        raise ValueError("sequences must hold at least two sequences (some are held out)")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction}")
    seqs = [_as_tokens(s, "each sequence", k) for s in sequences]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(seqs))
    n_test = max(1, int(round(test_fraction * len(seqs))))
    test = [seqs[i] for i in order[:n_test]]
    train = [seqs[i] for i in order[n_test:]]
    shuffle = lambda group: [rng.permutation(s) for s in group]  # noqa: E731
    ordered = bigram_cross_entropy(train, test, k, alpha)
    shuffled = bigram_cross_entropy(shuffle(train), shuffle(test), k, alpha)
    return {"ordered": ordered, "shuffled": shuffled, "gap": shuffled - ordered}

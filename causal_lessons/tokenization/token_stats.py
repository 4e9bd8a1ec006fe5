r"""Statistics of token sequences, whatever produced them (words, image patches, multi-scale codes).

- :func:`rank_frequency`, :func:`zipf_fit` and :func:`zipf_slope`: the least-squares line of
  :math:`\log f_r` against :math:`\log r` (Zipf's law predicts a slope near :math:`-1` for words), an
  approximation whose method error :func:`zipf_mle` (maximum likelihood) measures;
- :func:`unigram_entropy`: :math:`H = -\sum_k p_k \log_2 p_k` bits per token, from tokens or from counts;
- :func:`bigram_cross_entropy` and :func:`order_gap`: how much adjacent order tells, in bits per token.

**The order gap.** Sequences are split into train, validation and test sequences. Three models are fitted on
the train sequences and scored on the held-out test sequences (bits per token):

- the *unigram* model :math:`p(b) = (\#b + \alpha) / (N + \alpha K)`;
- the *ordered* bigram model, smoothed towards the unigram model with a Dirichlet prior of strength
  :math:`\beta`,

  .. math::
      p(b \mid a) = \frac{\#(a, b) + \beta\, p(b)}{\#a + \beta};

- the *shuffled* bigram model: the same, fitted and scored on sequences whose tokens were shuffled within
  each sequence (so it keeps which tokens occur together, but not their order).

:math:`\alpha` and each :math:`\beta` are chosen on the validation sequences from fixed grids. As
:math:`\beta \to \infty` the bigram model becomes the unigram model, so a bigram model chosen this way cannot do
much worse than the unigram baseline on held-out data (the unsmoothed or add-:math:`\alpha` bigram can). The
**order gap** is shuffled minus ordered cross-entropy: 0 when order carries no information, positive when it
does. Divided by the unigram cross-entropy it is the *normalised* gap, the share of the bits per token that
order saves, which compares vocabularies of different sizes.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from .._checks import check_positive_int

#: Add-alpha constants tried for the unigram model (chosen on the validation sequences).
ALPHAS = np.logspace(-3, 1, 9)
#: Dirichlet prior strengths tried for the bigram models (chosen on the validation sequences); the largest is
#: as good as the unigram model itself.
BETAS = np.logspace(-1, 6, 15)


def _as_tokens(tokens: Sequence[int] | np.ndarray, name: str = "tokens", k: int | None = None) -> np.ndarray:
    if isinstance(tokens, (str, bytes)):
        raise TypeError(f"{name} must be a 1-D sequence of integer tokens, got {type(tokens).__name__}")
    arr = np.asarray(tokens)
    if arr.dtype == object:
        raise TypeError(f"{name} must be a 1-D sequence of integer tokens, got a sequence of mixed objects")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of integer tokens, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must hold integers, got dtype {arr.dtype}")
    if arr.min() < 0 or (k is not None and arr.max() >= k):
        bound = f"[0, {k})" if k is not None else "[0, inf)"
        raise ValueError(f"{name} must lie in {bound}, got values from {arr.min()} to {arr.max()}")
    return arr.astype(np.int64)


def _as_sequences(sequences: Sequence[np.ndarray], k: int, name: str, minimum: int) -> list[np.ndarray]:
    if isinstance(sequences, (str, bytes)) or not isinstance(sequences, (Sequence, np.ndarray)):
        raise TypeError(f"{name} must be a list of 1-D integer token sequences, got {type(sequences).__name__}")
    if len(sequences) < minimum:
        raise ValueError(f"{name} must hold at least {minimum} sequence(s), got {len(sequences)}")
    return [_as_tokens(s, f"each sequence of {name}", k) for s in sequences]


def rank_frequency(tokens: Sequence[int] | np.ndarray) -> np.ndarray:
    """Counts of the distinct tokens, sorted in decreasing order (rank 1 first).

    Examples
    --------
    >>> rank_frequency([3, 1, 3, 3, 2, 1]).tolist()
    [3, 2, 1]
    """
    counts = np.bincount(_as_tokens(tokens))
    return np.sort(counts[counts > 0])[::-1]


def _check_ranks(ranks: tuple[int, int]) -> tuple[int, int]:
    if isinstance(ranks, (str, bytes)) or not isinstance(ranks, (Sequence, np.ndarray)) or len(ranks) != 2:
        raise TypeError(f"ranks must be a pair (first, last) of integers, got {ranks!r}")
    if not all(isinstance(r, numbers.Integral) and not isinstance(r, bool) for r in ranks):
        raise TypeError(f"ranks must be a pair (first, last) of integers, got {ranks!r}")
    lo, hi = int(ranks[0]), int(ranks[1])
    if not 1 <= lo < hi:
        raise ValueError(f"ranks must be (first, last) with 1 <= first < last, got {ranks}")
    return lo, hi


def zipf_fit(tokens: Sequence[int] | np.ndarray, ranks: tuple[int, int] = (1, 1000)) -> tuple[float, float]:
    r"""Least-squares line :math:`\log f_r = a + s \log r` over ranks ``ranks[0]..ranks[1]`` (inclusive, clipped
    to the number of distinct tokens; natural logarithms): returns ``(s, a)``.

    The line to draw over the data is :math:`f = e^{a} r^{s}`; being a least-squares fit, it passes through the
    mean of :math:`(\log r, \log f_r)` over the fitted ranks (not, in general, through the first point).

    Examples
    --------
    >>> tokens = np.repeat(np.arange(4), [120, 60, 40, 30])  # f_r = 120 / r exactly
    >>> slope, intercept = zipf_fit(tokens, ranks=(1, 4))
    >>> round(slope, 6), round(float(np.exp(intercept)), 6)
    (-1.0, 120.0)
    """
    lo, hi = _check_ranks(ranks)
    freq = rank_frequency(tokens)
    hi = min(hi, len(freq))
    if hi - lo + 1 < 2:
        raise ValueError(f"need at least two distinct tokens in the rank range {ranks}; found {len(freq)} in all")
    r = np.arange(lo, hi + 1)
    slope, intercept = np.polyfit(np.log(r), np.log(freq[lo - 1:hi]), 1)
    return float(slope), float(intercept)


def zipf_slope(tokens: Sequence[int] | np.ndarray, ranks: tuple[int, int] = (1, 1000)) -> float:
    r"""The slope :math:`s` of :func:`zipf_fit`: :math:`\log f_r` against :math:`\log r` by least squares.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = 1 / np.arange(1, 201); p /= p.sum()
    >>> round(zipf_slope(rng.choice(200, size=200_000, p=p), ranks=(1, 100)), 1)
    -1.0
    """
    return zipf_fit(tokens, ranks)[0]


def zipf_mle(tokens: Sequence[int] | np.ndarray) -> float:
    r"""Maximum-likelihood Zipf slope over all ranks: the :math:`s` of the truncated discrete Zipf law
    :math:`p(r) = r^{s} / \sum_{j=1}^{K} j^{s}` over the :math:`K` distinct tokens that best explains the
    counts :math:`f_r`, maximising :math:`s \sum_r f_r \log r - N \log \sum_{j=1}^{K} j^{s}`.

    Least squares on log rank-frequency (:func:`zipf_fit`) is a biased estimator whose value moves with the
    fitted rank range (Clauset, Shalizi and Newman, 2009); the difference of the two measures that method error.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = 1 / np.arange(1, 201); p /= p.sum()
    >>> round(zipf_mle(rng.choice(200, size=200_000, p=p)), 2)
    -1.0
    """
    from scipy.optimize import minimize_scalar

    freq = rank_frequency(tokens).astype(float)
    if len(freq) < 2:
        raise ValueError(f"tokens must hold at least two distinct values, got {len(freq)}")
    log_r = np.log(np.arange(1, len(freq) + 1))
    n, weighted = freq.sum(), float(freq @ log_r)

    def negative_log_likelihood(s: float) -> float:
        return -(s * weighted - n * float(np.log(np.exp(s * log_r).sum())))

    return float(minimize_scalar(negative_log_likelihood, bounds=(-6.0, 0.0), method="bounded",
                                 options={"xatol": 1e-6}).x)


def unigram_entropy(tokens: Sequence[int] | np.ndarray | None = None, *,
                    counts: Sequence[float] | np.ndarray | None = None) -> float:
    r"""Plug-in entropy of the token frequencies, :math:`-\sum_k \hat p_k \log_2 \hat p_k` bits per token, from
    a token sequence *or* (keyword ``counts``) from the count of each token type.

    Counts are not tokens, and a count vector passed as ``tokens`` is refused rather than read as a token
    sequence: ``tokens`` that never increase and are not all equal (``[4, 2, 1, 1]``, or ``np.bincount(ids)`` of
    frequency-ranked ids, as :func:`~causal_lessons.tokenization.tokenizers.words_to_ids` makes them) raise a
    ``ValueError`` that points to ``counts=``. A token sequence that happens to be sorted that way has the same
    entropy as ``counts=np.bincount(tokens)``.

    Examples
    --------
    >>> unigram_entropy([0, 1, 2, 3] * 10)
    2.0
    >>> unigram_entropy(counts=[4, 2, 1, 1])
    1.75
    >>> unigram_entropy([4, 2, 1, 1])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: tokens never increase (4, 2, 1, ...), as counts sorted by frequency do: ...
    """
    if (tokens is None) == (counts is None):
        raise TypeError("pass exactly one of tokens (a token sequence) or counts= (the count of each type)")
    if tokens is not None:
        t = _as_tokens(tokens)
        if len(t) > 1 and (np.diff(t) <= 0).all() and t[0] != t[-1]:
            head = ", ".join(str(v) for v in t[:3]) + (", ..." if len(t) > 3 else "")
            raise ValueError(f"tokens never increase ({head}), as counts sorted by frequency do: for the entropy of "
                             "counts (np.bincount(ids), rank_frequency(ids)) pass counts=...; for a token "
                             "sequence that is sorted, pass counts=np.bincount(tokens) (the same entropy)")
        c = np.bincount(t).astype(float)
    else:
        if isinstance(counts, (str, bytes)):
            raise TypeError(f"counts must be a 1-D sequence of non-negative numbers, got {type(counts).__name__}")
        try:
            raw = np.asarray(counts)
            # A cast to float would silently drop an imaginary part.
            c = None if np.iscomplexobj(raw) else raw.astype(float)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"counts must be a 1-D sequence of non-negative numbers, got {counts!r:.80}") from exc
        if c is None:
            raise TypeError("counts must hold real numbers, got complex ones")
        if c.ndim != 1 or c.size == 0:
            raise ValueError(f"counts must be a non-empty 1-D sequence, got shape {c.shape}")
        if not np.all(np.isfinite(c)) or c.min() < 0 or c.sum() <= 0:
            raise ValueError("counts must be finite, non-negative and not all zero")
    p = c[c > 0] / c.sum()
    return float(-(p * np.log2(p)).sum() + 0.0)


def _pair_counts(sequences: list[np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray, sparse.csr_matrix]:
    """Per-sequence counts: first tokens ``(n, k)``, all tokens ``(n, k)``, adjacent pairs ``(n, k * k)`` (sparse:
    a sequence of length T has at most T - 1 distinct pairs)."""
    n = len(sequences)
    first, unigram = np.zeros((n, k)), np.zeros((n, k))
    rows, cols = [], []
    for i, s in enumerate(sequences):
        first[i, s[0]] = 1
        unigram[i] = np.bincount(s, minlength=k)
        rows.append(np.full(len(s) - 1, i))
        cols.append(s[:-1] * k + s[1:])
    r, c = np.concatenate(rows), np.concatenate(cols)
    pairs = sparse.csr_matrix((np.ones(len(r)), (r, c)), shape=(n, k * k))
    pairs.sum_duplicates()
    return first, unigram, pairs


def _check_smoothing(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive number, got {type(value).__name__}")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return float(value)


def _unigram(counts: np.ndarray, alpha: float) -> np.ndarray:
    return (counts + alpha) / (counts.sum() + alpha * len(counts))


def _bigram(pairs: np.ndarray, p_uni: np.ndarray, beta: float) -> np.ndarray:
    k = len(p_uni)
    table = pairs.reshape(k, k)
    return (table + beta * p_uni) / (table.sum(1, keepdims=True) + beta)


def bigram_cross_entropy(train: Sequence[np.ndarray], test: Sequence[np.ndarray], k: int, alpha: float = 0.1,
                         beta: float = 10.0) -> float:
    r"""Bits per token of the bigram model of the module docstring, fitted on ``train`` and scored on ``test``.

    :math:`p(b) = (\#b + \alpha) / (N + \alpha K)` and :math:`p(b \mid a) = (\#(a, b) + \beta p(b)) / (\#a +
    \beta)`, counted on ``train``; each test sequence's first token is scored by :math:`p(b)`, every later token
    by :math:`p(b \mid a)` given the token before it.

    Examples
    --------
    >>> seqs = [np.array([0, 1, 0, 1, 0, 1])] * 4
    >>> bigram_cross_entropy(seqs, seqs, k=2, alpha=0.01, beta=0.01) < 0.2
    True
    """
    k = check_positive_int(k, "k")
    alpha, beta = _check_smoothing(alpha, "alpha"), _check_smoothing(beta, "beta")
    tr = _as_sequences(train, k, "train", 1)
    te = _as_sequences(test, k, "test", 1)
    _, uni, pairs = _pair_counts(tr, k)
    p_uni = _unigram(uni.sum(0), alpha)
    p_bi = _bigram(np.asarray(pairs.sum(0)).ravel(), p_uni, beta)
    first, uni_te, pairs_te = _pair_counts(te, k)
    bits = -(first.sum(0) @ np.log2(p_uni) + np.asarray(pairs_te.sum(0)).ravel() @ np.log2(p_bi).ravel())
    return float(bits / uni_te.sum())


@dataclass(frozen=True)
class OrderGap:
    """The three held-out models of the order gap (module docstring), scored sequence by sequence.

    Attributes
    ----------
    unigram, ordered, shuffled
        Bits of each held-out test sequence under the unigram, ordered bigram and shuffled bigram models.
    lengths
        Tokens in each test sequence.
    alpha, beta_ordered, beta_shuffled
        The smoothing constants chosen on the validation sequences.
    ordered_curve, shuffled_curve
        Bits per token on the test sequences for each prior strength of :data:`BETAS`: what a smoothing constant
        fixed by hand would have given (a diagnostic; the gap uses the validated ones).
    """

    unigram: np.ndarray
    ordered: np.ndarray
    shuffled: np.ndarray
    lengths: np.ndarray
    alpha: float
    beta_ordered: float
    beta_shuffled: float
    ordered_curve: np.ndarray
    shuffled_curve: np.ndarray

    def _rows(self, rows: Sequence[int] | np.ndarray | None) -> np.ndarray:
        if rows is None:
            return np.arange(len(self.lengths))
        idx = np.asarray(rows)
        if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
            raise ValueError("rows must be a non-empty 1-D array of test-sequence indices")
        return idx

    def rates(self, rows: Sequence[int] | np.ndarray | None = None) -> dict[str, float]:
        """Bits per token of each model over the test sequences ``rows`` (all by default; a bootstrap passes
        resampled indices)."""
        idx = self._rows(rows)
        n = self.lengths[idx].sum()
        return {name: float(getattr(self, name)[idx].sum() / n) for name in ("unigram", "ordered", "shuffled")}

    def gap(self, rows: Sequence[int] | np.ndarray | None = None) -> float:
        """Shuffled minus ordered bits per token."""
        r = self.rates(rows)
        return r["shuffled"] - r["ordered"]

    def normalised(self, rows: Sequence[int] | np.ndarray | None = None) -> float:
        """The gap as a share of the unigram model's bits per token."""
        r = self.rates(rows)
        return (r["shuffled"] - r["ordered"]) / r["unigram"]


def order_gap(sequences: Sequence[np.ndarray], k: int, seed: int = 0,
              fractions: tuple[float, float] = (0.25, 0.25)) -> OrderGap:
    r"""The order gap of the module docstring.

    Parameters
    ----------
    sequences
        Integer token sequences in ``[0, k)``, at least 8 of them, each at least 2 tokens long.
    k
        The vocabulary size.
    seed
        Seeds the split and the shuffles.
    fractions
        The shares of sequences held out for validation and for test; the rest trains.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> iid = [rng.integers(0, 8, 200) for _ in range(40)]
    >>> abs(order_gap(iid, k=8).gap()) < 0.02
    True
    >>> repeat = [np.repeat(rng.integers(0, 8, 50), 4) for _ in range(40)]  # each token said four times
    >>> order_gap(repeat, k=8).gap() > 1.5
    True
    """
    k = check_positive_int(k, "k", minimum=2)
    seqs = _as_sequences(sequences, k, "sequences", 8)
    if min(len(s) for s in seqs) < 2:
        raise ValueError("each sequence of sequences must hold at least 2 tokens")
    if seed is None or isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
    if (isinstance(fractions, (str, bytes)) or not isinstance(fractions, (Sequence, np.ndarray))
            or len(fractions) != 2):
        raise TypeError(f"fractions must be a pair (validation, test) of shares, got {fractions!r}")
    val_share, test_share = (float(f) for f in fractions)
    if not (0 < val_share and 0 < test_share and val_share + test_share < 1):
        raise ValueError(f"fractions must be two positive shares summing to less than 1, got {fractions}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(seqs))
    n_val = max(1, int(round(val_share * len(seqs))))
    n_test = max(1, int(round(test_share * len(seqs))))
    test, val, train = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]
    shuffled = [rng.permutation(s) for s in seqs]

    scored = {}
    for name, group in (("ordered", seqs), ("shuffled", shuffled)):
        first, uni, pairs = _pair_counts(group, k)
        counts = uni[train].sum(0)
        alpha = ALPHAS[int(np.argmax([uni[val].sum(0) @ np.log2(_unigram(counts, a)) for a in ALPHAS]))]
        p_uni = _unigram(counts, alpha)
        train_pairs, val_pairs = (np.asarray(pairs[rows].sum(0)).ravel() for rows in (train, val))
        val_first = first[val].sum(0)
        fits = [val_first @ np.log2(p_uni) + val_pairs @ np.log2(_bigram(train_pairs, p_uni, b)).ravel()
                for b in BETAS]
        beta = BETAS[int(np.argmax(fits))]
        log_bi = np.log2(_bigram(train_pairs, p_uni, beta)).ravel()
        scored[name] = -(first[test] @ np.log2(p_uni) + pairs[test] @ log_bi), beta
        test_first, test_pairs = first[test].sum(0), np.asarray(pairs[test].sum(0)).ravel()
        scored[f"{name}_curve"] = np.array([
            -(test_first @ np.log2(p_uni) + test_pairs @ np.log2(_bigram(train_pairs, p_uni, b)).ravel())
            for b in BETAS]) / uni[test].sum()
        if name == "ordered":
            scored["unigram"] = -(uni[test] @ np.log2(p_uni)), alpha
    lengths = np.array([len(seqs[i]) for i in test], dtype=float)
    return OrderGap(scored["unigram"][0], scored["ordered"][0], scored["shuffled"][0], lengths,
                    float(scored["unigram"][1]), float(scored["ordered"][1]), float(scored["shuffled"][1]),
                    scored["ordered_curve"], scored["shuffled_curve"])

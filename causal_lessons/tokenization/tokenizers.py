r"""Tokenizers: words of a text, raster patch tokens and coarse-to-fine (multi-scale residual) tokens of images.

- :class:`PatchTokenizer` cuts an image into :math:`p \times p` patches in raster order and replaces each by the
  nearest of :math:`K` k-means centroids (scikit-learn). A prefix of :math:`n` tokens is the top-left part of the
  image: a *partial* image.
- :class:`CoarseToFineTokenizer` codes the image scale by scale: at scale :math:`s` the residual (image minus the
  reconstruction so far) is averaged over an :math:`s \times s` grid of cells and each cell value is quantised with
  that scale's codebook of :math:`K` levels. Every prefix decodes to a *whole* image, coarser for shorter prefixes
  (recursive in the talk's sense: prefix-decodable, coarse-to-fine; not in the linguistic sense of nested
  phrases).

Images are the photos bundled with scikit-learn and scikit-image (no download), in grayscale.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

import numpy as np

from .._checks import check_positive_int
from .token_stats import unigram_entropy

#: Photos used by the chapter: (package, loader name). Licences: scikit-learn's china and flower are CC BY 2.0;
#: scikit-image's camera, coffee and chelsea are CC0, astronaut and rocket public domain.
PHOTOS = (("sklearn", "china"), ("sklearn", "flower"), ("skimage", "camera"), ("skimage", "astronaut"),
          ("skimage", "coffee"), ("skimage", "chelsea"), ("skimage", "rocket"))


#: The largest crop :func:`random_crops` can cut: the shorter side of the smallest photo after downsampling.
MAX_CROP = 150


def load_photos() -> list[np.ndarray]:
    """The bundled photos as grayscale float arrays in [0, 1], downsampled by 2 (2 x 2 averages).

    Examples
    --------
    >>> photos = load_photos()
    >>> len(photos), photos[2].shape
    (7, (256, 256))
    """
    return [p.copy() for p in _photos()]


@functools.lru_cache(maxsize=1)
def _photos() -> tuple[np.ndarray, ...]:
    from skimage import color, data
    from sklearn.datasets import load_sample_images

    sample = load_sample_images()
    out = []
    for package, name in PHOTOS:
        if package == "sklearn":
            img = sample.images[sample.filenames.index(next(f for f in sample.filenames if f.endswith(f"{name}.jpg")))]
        else:
            img = getattr(data, name)()
        img = np.asarray(img, dtype=np.float64)
        img = color.rgb2gray(img / 255.0) if img.ndim == 3 else img / 255.0
        h, w = (img.shape[0] // 2) * 2, (img.shape[1] // 2) * 2
        out.append(img[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3)))
    return tuple(out)


def random_crops(n: int, size: int = 32, seed: int = 0) -> np.ndarray:
    """``n`` random ``size x size`` crops from the bundled photos, ``(n, size, size)``.

    ``size`` is at most :data:`MAX_CROP`, the shorter side of the smallest photo.

    Examples
    --------
    >>> random_crops(5, 16).shape
    (5, 16, 16)
    """
    n = check_positive_int(n, "n")
    size = check_positive_int(size, "size", minimum=2)
    if size > MAX_CROP:
        raise ValueError(f"size must be at most {MAX_CROP} (the shorter side of the smallest photo), got {size}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
    photos = _photos()
    rng = np.random.default_rng(seed)
    crops = np.empty((n, size, size))
    for i in range(n):
        img = photos[rng.integers(len(photos))]
        r, c = rng.integers(0, img.shape[0] - size + 1), rng.integers(0, img.shape[1] - size + 1)
        crops[i] = img[r:r + size, c:c + size]
    return crops


_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")


def word_tokens(text: str) -> list[str]:
    """Lower-cased words (letters, with internal apostrophes).

    Examples
    --------
    >>> word_tokens("'Curiouser and curiouser!' cried Alice.")
    ['curiouser', 'and', 'curiouser', 'cried', 'alice']
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return _WORD.findall(text.lower())


#: The token that stands for every word outside a capped vocabulary.
UNK = "<unk>"


def words_to_ids(words: Sequence[str], vocab_size: int | None = None) -> tuple[np.ndarray, list[str]]:
    """Integer ids by frequency rank (0 = most frequent; ties broken alphabetically) and the vocabulary.

    With ``vocab_size``, the ``vocab_size - 1`` most frequent words keep their ids and every other word becomes
    :data:`UNK`, id ``vocab_size - 1``: a capped vocabulary of exactly ``vocab_size`` types (if the text has
    more).

    Examples
    --------
    >>> ids, vocab = words_to_ids(["b", "a", "b"])
    >>> ids.tolist(), vocab
    ([0, 1, 0], ['b', 'a'])
    >>> words_to_ids(["b", "a", "b", "c", "c", "c"], vocab_size=2)[0].tolist()
    [1, 1, 1, 0, 0, 0]
    """
    if isinstance(words, (str, bytes)) or not isinstance(words, (Sequence, np.ndarray)):
        raise TypeError(f"words must be a list of str (e.g. from word_tokens), got {type(words).__name__}")
    if len(words) == 0:
        raise ValueError("words must not be empty")
    bad = next((w for w in words if not isinstance(w, str)), None)
    if bad is not None:
        raise TypeError(f"words must hold only str, got an element of type {type(bad).__name__}")
    if vocab_size is not None:
        vocab_size = check_positive_int(vocab_size, "vocab_size", minimum=2)
    counts: dict[str, int] = {}
    for w in words:
        counts[w] = counts.get(w, 0) + 1
    vocab = sorted(counts, key=lambda w: (-counts[w], w))
    if vocab_size is not None and len(vocab) > vocab_size:
        vocab = vocab[:vocab_size - 1] + [UNK]
    index = {w: i for i, w in enumerate(vocab)}
    unk = len(vocab) - 1
    return np.array([index.get(w, unk) for w in words], dtype=np.int64), vocab


#: Marks the last symbol of a word in :func:`bpe_ids`, so that word boundaries survive without an UNK.
END = "</w>"


def bpe_ids(words: Sequence[str], vocab_size: int) -> tuple[np.ndarray, list[str]]:
    """Byte-pair encoding (Sennrich et al., 2016) of the words, learned on the words themselves, with exactly
    ``vocab_size`` symbols (if that many can be made) and no UNK: token ids by frequency rank and the symbols.

    The base symbols are the characters, with the last one of each word marked by :data:`END`; then, while
    fewer than ``vocab_size`` symbols exist, the most frequent adjacent pair inside words (ties broken
    alphabetically) becomes a new symbol. Every word is spelled by its symbols, so nothing is lost.

    Examples
    --------
    >>> ids, symbols = bpe_ids(["low", "lower", "low"], vocab_size=7)
    >>> symbols, ids.tolist()
    (['lo', 'w</w>', 'e', 'r</w>', 'w', 'l', 'o'], [0, 1, 0, 4, 2, 3, 0, 1])
    """
    if isinstance(words, (str, bytes)) or not isinstance(words, (Sequence, np.ndarray)):
        raise TypeError(f"words must be a list of str (e.g. from word_tokens), got {type(words).__name__}")
    if len(words) == 0:
        raise ValueError("words must not be empty")
    if any(not isinstance(w, str) or not w for w in words):
        raise TypeError("words must hold only non-empty str")
    vocab_size = check_positive_int(vocab_size, "vocab_size", minimum=2)
    freq: dict[str, int] = {}
    for w in words:
        freq[w] = freq.get(w, 0) + 1
    spell = {w: [*w[:-1], w[-1] + END] for w in freq}
    symbols = sorted({c for seg in spell.values() for c in seg})
    if len(symbols) > vocab_size:
        raise ValueError(f"vocab_size must be at least the {len(symbols)} base symbols of the words, got {vocab_size}")
    while len(symbols) < vocab_size:
        pairs: dict[tuple[str, str], int] = {}
        for w, seg in spell.items():
            for pair in zip(seg, seg[1:]):
                pairs[pair] = pairs.get(pair, 0) + freq[w]
        if not pairs:
            break
        a, b = min(pairs, key=lambda pair: (-pairs[pair], pair))
        for w, seg in spell.items():
            i, out = 0, []
            while i < len(seg):
                if i + 1 < len(seg) and seg[i] == a and seg[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(seg[i])
                    i += 1
            spell[w] = out
        symbols.append(a + b)
    counts = dict.fromkeys(symbols, 0)
    for w, seg in spell.items():
        for sym in seg:
            counts[sym] += freq[w]
    ranked = sorted(symbols, key=lambda sym: (-counts[sym], sym))
    index = {sym: i for i, sym in enumerate(ranked)}
    return np.array([index[sym] for w in words for sym in spell[w]], dtype=np.int64), ranked


def _check_images(images: np.ndarray, multiple: int = 1, name: str = "images") -> np.ndarray:
    if isinstance(images, (str, bytes)):
        raise TypeError(f"{name} must be an array (n, H, W) of grey levels, got {type(images).__name__}")
    try:
        arr = np.asarray(images, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array (n, H, W) of grey levels, got {type(images).__name__}") from exc
    if arr.ndim != 3 or arr.shape[0] == 0:
        raise ValueError(f"{name} must have shape (n, H, W) with n >= 1, got {arr.shape}")
    if arr.shape[1] % multiple or arr.shape[2] % multiple or arr.shape[1] == 0 or arr.shape[2] == 0:
        raise ValueError(f"{name}: height and width must be positive multiples of {multiple}, got {arr.shape[1:]}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must hold only finite grey levels (no NaN or inf)")
    return arr


def _check_tokens(tokens: np.ndarray, k: int, length: int | None = None) -> np.ndarray:
    if isinstance(tokens, (str, bytes)):
        raise TypeError(f"tokens must be an integer array (n, T), got {type(tokens).__name__}")
    arr = np.asarray(tokens)
    want = f"(n, {length})" if length is not None else "(n, T)"
    if arr.ndim != 2 or arr.size == 0 or (length is not None and arr.shape[1] != length):
        raise ValueError(f"tokens must be a non-empty integer array {want}, got shape {arr.shape}")
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"tokens must be an integer array {want}, got dtype {arr.dtype}")
    if arr.min() < 0 or arr.max() >= k:
        raise ValueError(f"tokens must lie in [0, {k}), got values from {arr.min()} to {arr.max()}")
    return arr


def _check_prefix(n_tokens: int | None, length: int) -> int:
    if n_tokens is None:
        return length
    if isinstance(n_tokens, bool) or not isinstance(n_tokens, (int, np.integer)):
        raise TypeError(f"n_tokens must be an integer or None, got {type(n_tokens).__name__}")
    if not 0 <= n_tokens <= length:
        raise ValueError(f"n_tokens must lie in [0, {length}], got {n_tokens}")
    return int(n_tokens)


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
    return int(seed)


class PatchTokenizer:
    """Raster patch tokens: k-means over ``patch x patch`` patches; ``normalise`` tokenizes contrast-normalised
    patches (each patch minus its mean, divided by its standard deviation), which cannot be decoded.

    Examples
    --------
    >>> crops = random_crops(50, 16)
    >>> tok = PatchTokenizer(k=8, patch=4).fit(crops)
    >>> tokens = tok.encode(crops)
    >>> tokens.shape, tok.decode(tokens).shape
    ((50, 16), (50, 16, 16))
    """

    def __init__(self, k: int = 64, patch: int = 4, normalise: bool = False, seed: int = 0) -> None:
        self.k = check_positive_int(k, "k", minimum=2)
        self.patch = check_positive_int(patch, "patch")
        if not isinstance(normalise, (bool, np.bool_)):
            raise TypeError(f"normalise must be True or False, got {type(normalise).__name__}")
        self.normalise = bool(normalise)
        self.seed = _check_seed(seed)
        self.centroids: np.ndarray | None = None
        self.fill: float = 0.0

    def _patches(self, images: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
        arr = _check_images(images, self.patch)
        n, h, w = arr.shape
        p = self.patch
        patches = arr.reshape(n, h // p, p, w // p, p).transpose(0, 1, 3, 2, 4).reshape(n, -1, p * p)
        if self.normalise:
            patches = (patches - patches.mean(-1, keepdims=True)) / (patches.std(-1, keepdims=True) + 1e-3)
        return patches, (h // p, w // p)

    def fit(self, images: np.ndarray) -> "PatchTokenizer":
        """Fit the codebook on every patch of ``images`` (mini-batch k-means, k-means++ initialisation)."""
        from sklearn.cluster import MiniBatchKMeans

        patches, _ = self._patches(images)
        flat = patches.reshape(-1, patches.shape[-1])
        if len(flat) < self.k:
            raise ValueError(f"images must hold at least k = {self.k} patches to fit, got {len(flat)}")
        km = MiniBatchKMeans(n_clusters=self.k, random_state=self.seed, n_init=3, batch_size=4096).fit(flat)
        self.centroids = km.cluster_centers_
        self.fill = float(np.mean(images))
        return self

    def encode(self, images: np.ndarray) -> np.ndarray:
        """Tokens in raster order, ``(n, (H / p) * (W / p))``."""
        if self.centroids is None:
            raise ValueError("the tokenizer is not fitted: call fit(images) first")
        patches, _ = self._patches(images)
        d = (patches**2).sum(-1)[..., None] - 2 * patches @ self.centroids.T + (self.centroids**2).sum(-1)
        return d.argmin(-1)

    def decode(self, tokens: np.ndarray, n_tokens: int | None = None,
               grid: tuple[int, int] | None = None) -> np.ndarray:
        """Images from tokens; with ``n_tokens``, only the first ``n_tokens`` patches (raster order) are drawn and
        the rest is the training images' mean grey: a partial image."""
        if self.centroids is None:
            raise ValueError("the tokenizer is not fitted: call fit(images) first")
        if self.normalise:
            raise ValueError("contrast-normalised tokens cannot be decoded: the patch means and scales are lost")
        tokens = _check_tokens(tokens, self.k)
        n, t = tokens.shape
        if grid is None:
            side = int(round(np.sqrt(t)))
            gh, gw = side, side
        elif (isinstance(grid, (tuple, list)) and len(grid) == 2
              and all(isinstance(g, (int, np.integer)) and not isinstance(g, bool) for g in grid)):
            gh, gw = int(grid[0]), int(grid[1])
        else:
            raise TypeError(f"grid must be a pair (rows, columns) of integers, got {grid!r}")
        if gh * gw != t:
            raise ValueError(f"grid: {t} tokens do not fill a {gh} x {gw} grid; pass grid=(rows, columns)")
        limit = _check_prefix(n_tokens, t)
        p = self.patch
        patches = self.centroids[tokens]
        if limit < t:
            patches = patches.copy()
            patches[:, limit:] = self.fill
        return patches.reshape(n, gh, gw, p, p).transpose(0, 1, 3, 2, 4).reshape(n, gh * p, gw * p)


def _cell_means(x: np.ndarray, s: int) -> np.ndarray:
    n, h, w = x.shape
    return x.reshape(n, s, h // s, s, w // s).mean(axis=(2, 4))


def _upsample(cells: np.ndarray, h: int, w: int) -> np.ndarray:
    s = cells.shape[-1]
    return np.repeat(np.repeat(cells, h // s, axis=1), w // s, axis=2)


#: The most cell values a scale's codebook is fitted on (a random sample of them when there are more).
FIT_SAMPLE = 50_000


class CoarseToFineTokenizer:
    """Multi-scale residual tokens: scales ``(1, 2, 4, ...)``, ``s * s`` tokens at scale ``s``, each the index of
    one of ``k`` levels of that scale's codebook (1-D k-means on the residual cell values).

    Examples
    --------
    >>> crops = random_crops(50, 16)
    >>> tok = CoarseToFineTokenizer(k=8, scales=(1, 2, 4)).fit(crops)
    >>> tokens = tok.encode(crops)
    >>> tokens.shape, tok.decode(tokens, n_tokens=1).shape
    ((50, 21), (50, 16, 16))
    """

    def __init__(self, k: int = 64, scales: tuple[int, ...] = (1, 2, 4, 8, 16), seed: int = 0) -> None:
        self.k = check_positive_int(k, "k", minimum=2)
        if isinstance(scales, (str, bytes)) or not isinstance(scales, (Sequence, np.ndarray)):
            raise TypeError(f"scales must be a sequence of increasing positive integers, got {scales!r}")
        if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in scales):
            raise TypeError(f"scales must be a sequence of increasing positive integers, got {scales!r}")
        if len(scales) == 0 or any(s < 1 for s in scales) or list(scales) != sorted(set(scales)):
            raise ValueError(f"scales must be increasing positive integers, got {scales}")
        self.scales = tuple(int(s) for s in scales)
        self.seed = _check_seed(seed)
        self.codebooks: list[np.ndarray] | None = None
        self.shape: tuple[int, int] = (0, 0)

    @property
    def length(self) -> int:
        """Tokens per image: the sum of ``s * s`` over the scales."""
        return sum(s * s for s in self.scales)

    def _images(self, images: np.ndarray) -> np.ndarray:
        arr = _check_images(images, max(self.scales))
        if self.codebooks is not None and arr.shape[1:] != self.shape:
            raise ValueError(f"images must be {self.shape[0]} x {self.shape[1]} like the fitted ones, "
                             f"got {arr.shape[1]} x {arr.shape[2]}")
        return arr

    def fit(self, images: np.ndarray) -> "CoarseToFineTokenizer":
        """Fit each scale's codebook on the residuals left by the coarser scales."""
        from sklearn.cluster import KMeans

        self.codebooks = None
        arr = self._images(images)
        self.shape = arr.shape[1:]
        recon = np.zeros_like(arr)
        books = []
        rng = np.random.default_rng(self.seed)
        for s in self.scales:
            cells = _cell_means(arr - recon, s).reshape(-1, 1)
            k = min(self.k, len(np.unique(cells)))
            # 1-D k-means settles on far fewer points than the finest scale has; a sample keeps the fit fast.
            sample = cells if len(cells) <= FIT_SAMPLE else cells[rng.choice(len(cells), FIT_SAMPLE, replace=False)]
            km = KMeans(n_clusters=k, random_state=self.seed, n_init=1).fit(sample)
            book = np.sort(km.cluster_centers_.ravel())
            books.append(book)
            q = book[np.abs(cells - book[None, :]).argmin(1)].reshape(len(arr), s, s)
            recon = recon + _upsample(q, *arr.shape[1:])
        self.codebooks = books
        return self

    def encode(self, images: np.ndarray) -> np.ndarray:
        """Tokens, coarse to fine: ``(n, length)``."""
        if self.codebooks is None:
            raise ValueError("the tokenizer is not fitted: call fit(images) first")
        arr = self._images(images)
        recon = np.zeros_like(arr)
        out = []
        for s, book in zip(self.scales, self.codebooks):
            cells = _cell_means(arr - recon, s)
            idx = np.abs(cells[..., None] - book).argmin(-1)
            out.append(idx.reshape(len(arr), -1))
            recon = recon + _upsample(book[idx], *arr.shape[1:])
        return np.concatenate(out, axis=1)

    def decode(self, tokens: np.ndarray, n_tokens: int | None = None) -> np.ndarray:
        """Images from the first ``n_tokens`` tokens (all by default): a whole image at every prefix; the cells not
        yet coded add nothing."""
        if self.codebooks is None:
            raise ValueError("the tokenizer is not fitted: call fit(images) first")
        tokens = _check_tokens(tokens, self.k, self.length)
        limit = _check_prefix(n_tokens, self.length)
        recon = np.zeros((len(tokens), *self.shape))
        start = 0
        for s, book in zip(self.scales, self.codebooks):
            idx = tokens[:, start:start + s * s]
            values = book[np.minimum(idx, len(book) - 1)]
            keep = np.arange(start, start + s * s) < limit
            recon = recon + _upsample((values * keep).reshape(-1, s, s), *self.shape)
            start += s * s
        return recon


def codebook_usage(tokens: np.ndarray, k: int) -> dict[str, float]:
    r"""How much of a codebook of ``k`` entries the ``tokens`` use: the number of codes used at least once, and
    the code perplexity :math:`2^{H}` (``H`` the unigram entropy in bits): ``k`` when every code is equally
    frequent, 1 when one code takes everything.

    Examples
    --------
    >>> codebook_usage(np.array([[0, 1], [1, 1]]), k=4)
    {'used': 2, 'perplexity': 1.7548}
    """
    k = check_positive_int(k, "k", minimum=1)
    arr = np.asarray(tokens) if not isinstance(tokens, (str, bytes)) else None
    if arr is None or arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError("tokens must be an integer array of codebook indices")
    if arr.size == 0:
        raise ValueError("tokens must not be empty")
    flat = arr.ravel()
    if flat.min() < 0 or flat.max() >= k:
        raise ValueError(f"tokens must lie in [0, {k}), got values from {flat.min()} to {flat.max()}")
    # From counts: a grid whose codes happen to run in decreasing order is still a grid of codes.
    return {"used": int(len(np.unique(flat))),
            "perplexity": round(float(2 ** unigram_entropy(counts=np.bincount(flat))), 4)}


def prefix_errors(tokenizer: PatchTokenizer | CoarseToFineTokenizer, images: np.ndarray,
                  lengths: Sequence[int]) -> np.ndarray:
    """Mean squared error of the decoded prefix of each length, averaged over ``images``.

    A raster prefix of ``n`` tokens draws the first ``n`` patches and leaves the rest at the mean grey; a
    coarse-to-fine prefix decodes the whole image from its first ``n`` tokens.

    Examples
    --------
    >>> crops = random_crops(40, 16)
    >>> c2f = CoarseToFineTokenizer(k=8, scales=(1, 2, 4)).fit(crops)
    >>> errors = prefix_errors(c2f, crops, [1, 5, 21])
    >>> bool(errors[0] > errors[1] > errors[2])
    True
    """
    if not isinstance(tokenizer, (PatchTokenizer, CoarseToFineTokenizer)):
        raise TypeError(f"tokenizer must be a PatchTokenizer or a CoarseToFineTokenizer, "
                        f"got {type(tokenizer).__name__}")
    if isinstance(lengths, (str, bytes)) or not isinstance(lengths, (Sequence, np.ndarray)):
        raise TypeError(f"lengths must be a list of prefix lengths (integers), got {type(lengths).__name__}; "
                        "for one length write [5]")
    if len(lengths) == 0:
        raise ValueError("lengths must hold at least one prefix length")
    if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in lengths):
        raise TypeError(f"lengths must hold integers, got {list(lengths)!r:.80}")
    arr = _check_images(images)
    tokens = tokenizer.encode(arr)
    bad = [int(n) for n in lengths if not 0 <= n <= tokens.shape[1]]
    if bad:
        raise ValueError(f"lengths must lie in [0, {tokens.shape[1]}] (tokens per image), got {bad}")
    out = []
    for n in lengths:
        if isinstance(tokenizer, CoarseToFineTokenizer):
            recon = tokenizer.decode(tokens, n_tokens=int(n))
        else:
            recon = tokenizer.decode(tokens, n_tokens=int(n), grid=(arr.shape[1] // tokenizer.patch,
                                                                    arr.shape[2] // tokenizer.patch))
        out.append(float(((recon - arr) ** 2).mean()))
    return np.array(out)

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

import re

import numpy as np

from .._checks import check_positive_int

#: Photos used by the chapter: (package, loader name). Licences: scikit-learn's china and flower are CC BY 2.0;
#: scikit-image's camera, coffee and chelsea are CC0, astronaut and rocket public domain.
PHOTOS = (("sklearn", "china"), ("sklearn", "flower"), ("skimage", "camera"), ("skimage", "astronaut"),
          ("skimage", "coffee"), ("skimage", "chelsea"), ("skimage", "rocket"))


def load_photos() -> list[np.ndarray]:
    """The bundled photos as grayscale float arrays in [0, 1], downsampled by 2 (2 x 2 averages).

    Examples
    --------
    >>> photos = load_photos()
    >>> len(photos), photos[2].shape
    (7, (256, 256))
    """
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
    return out


def random_crops(n: int, size: int = 32, seed: int = 0) -> np.ndarray:
    """``n`` random ``size x size`` crops from the bundled photos, ``(n, size, size)``.

    Examples
    --------
    >>> random_crops(5, 16).shape
    (5, 16, 16)
    """
    n = check_positive_int(n, "n")
    size = check_positive_int(size, "size", minimum=2)
    photos = load_photos()
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


def words_to_ids(words: list[str]) -> tuple[np.ndarray, list[str]]:
    """Integer ids by frequency rank (0 = most frequent; ties broken alphabetically) and the vocabulary.

    Examples
    --------
    >>> ids, vocab = words_to_ids(["b", "a", "b"])
    >>> ids.tolist(), vocab
    ([0, 1, 0], ['b', 'a'])
    """
    if not words:
        raise ValueError("words must not be empty")
    counts: dict[str, int] = {}
    for w in words:
        counts[w] = counts.get(w, 0) + 1
    vocab = sorted(counts, key=lambda w: (-counts[w], w))
    index = {w: i for i, w in enumerate(vocab)}
    return np.array([index[w] for w in words], dtype=np.int64), vocab


def _check_images(images: np.ndarray, multiple: int = 1) -> np.ndarray:
    arr = np.asarray(images, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[0] == 0:
        raise ValueError(f"images must have shape (n, H, W) with n >= 1, got {arr.shape}")
    if arr.shape[1] % multiple or arr.shape[2] % multiple:
        raise ValueError(f"image height and width must be multiples of {multiple}, got {arr.shape[1:]}")
    return arr


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
        self.normalise = bool(normalise)
        self.seed = seed
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
        """Fit the codebook on every patch of ``images``."""
        from sklearn.cluster import MiniBatchKMeans

        patches, _ = self._patches(images)
        flat = patches.reshape(-1, patches.shape[-1])
        if len(flat) < self.k:
            raise ValueError(f"need at least k = {self.k} patches to fit, got {len(flat)}")
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

    def decode(self, tokens: np.ndarray, n_tokens: int | None = None, grid: tuple[int, int] | None = None) -> np.ndarray:
        """Images from tokens; with ``n_tokens``, only the first ``n_tokens`` patches (raster order) are drawn and
        the rest is the training images' mean grey: a partial image."""
        if self.centroids is None:
            raise ValueError("the tokenizer is not fitted: call fit(images) first")
        if self.normalise:
            raise ValueError("contrast-normalised tokens cannot be decoded: the patch means and scales are lost")
        tokens = np.asarray(tokens)
        if tokens.ndim != 2 or not np.issubdtype(tokens.dtype, np.integer):
            raise ValueError(f"tokens must be an integer array (n, T), got {tokens.shape} {tokens.dtype}")
        if tokens.min() < 0 or tokens.max() >= self.k:
            raise ValueError(f"tokens must lie in [0, {self.k})")
        n, t = tokens.shape
        gh, gw = grid if grid is not None else (int(round(np.sqrt(t))),) * 2
        if gh * gw != t:
            raise ValueError(f"{t} tokens do not fill a {gh} x {gw} grid; pass grid=(rows, columns)")
        p = self.patch
        patches = self.centroids[tokens]
        if n_tokens is not None:
            patches = patches.copy()
            patches[:, n_tokens:] = self.fill
        return patches.reshape(n, gh, gw, p, p).transpose(0, 1, 3, 2, 4).reshape(n, gh * p, gw * p)


def _cell_means(x: np.ndarray, s: int) -> np.ndarray:
    n, h, w = x.shape
    return x.reshape(n, s, h // s, s, w // s).mean(axis=(2, 4))


def _upsample(cells: np.ndarray, h: int, w: int) -> np.ndarray:
    s = cells.shape[-1]
    return np.repeat(np.repeat(cells, h // s, axis=1), w // s, axis=2)


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
        if not scales or any(s < 1 for s in scales) or list(scales) != sorted(set(scales)):
            raise ValueError(f"scales must be increasing positive integers, got {scales}")
        self.scales = tuple(int(s) for s in scales)
        self.seed = seed
        self.codebooks: list[np.ndarray] | None = None
        self.shape: tuple[int, int] = (0, 0)

    @property
    def length(self) -> int:
        """Tokens per image: the sum of ``s * s`` over the scales."""
        return sum(s * s for s in self.scales)

    def fit(self, images: np.ndarray) -> "CoarseToFineTokenizer":
        """Fit each scale's codebook on the residuals left by the coarser scales."""
        from sklearn.cluster import KMeans

        arr = _check_images(images, max(self.scales))
        self.shape = arr.shape[1:]
        recon = np.zeros_like(arr)
        self.codebooks = []
        for s in self.scales:
            cells = _cell_means(arr - recon, s).reshape(-1, 1)
            k = min(self.k, len(np.unique(cells)))
            km = KMeans(n_clusters=k, random_state=self.seed, n_init=1).fit(cells)
            book = np.sort(km.cluster_centers_.ravel())
            self.codebooks.append(book)
            q = book[np.abs(cells - book[None, :]).argmin(1)].reshape(len(arr), s, s)
            recon = recon + _upsample(q, *arr.shape[1:])
        return self

    def encode(self, images: np.ndarray) -> np.ndarray:
        """Tokens, coarse to fine: ``(n, length)``."""
        if self.codebooks is None:
            raise ValueError("the tokenizer is not fitted: call fit(images) first")
        arr = _check_images(images, max(self.scales))
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
        tokens = np.asarray(tokens)
        if tokens.ndim != 2 or tokens.shape[1] != self.length or not np.issubdtype(tokens.dtype, np.integer):
            raise ValueError(f"tokens must be an integer array (n, {self.length}), got {tokens.shape} {tokens.dtype}")
        if tokens.min() < 0 or tokens.max() >= self.k:
            raise ValueError(f"tokens must lie in [0, {self.k})")
        limit = self.length if n_tokens is None else int(n_tokens)
        recon = np.zeros((len(tokens), *self.shape))
        start = 0
        for s, book in zip(self.scales, self.codebooks):
            idx = tokens[:, start:start + s * s]
            values = book[np.minimum(idx, len(book) - 1)]
            keep = np.arange(start, start + s * s) < limit
            recon = recon + _upsample((values * keep).reshape(-1, s, s), *self.shape)
            start += s * s
        return recon


def prefix_errors(tokenizer: PatchTokenizer | CoarseToFineTokenizer, images: np.ndarray,
                  lengths: list[int]) -> np.ndarray:
    """Mean squared error of the decoded prefix of each length, averaged over ``images``.

    Examples
    --------
    >>> crops = random_crops(40, 16)
    >>> c2f = CoarseToFineTokenizer(k=8, scales=(1, 2, 4)).fit(crops)
    >>> errors = prefix_errors(c2f, crops, [1, 5, 21])
    >>> bool(errors[0] > errors[1] > errors[2])
    True
    """
    arr = _check_images(images)
    tokens = tokenizer.encode(arr)
    out = []
    for n in lengths:
        if not 0 <= n <= tokens.shape[1]:
            raise ValueError(f"lengths must lie in [0, {tokens.shape[1]}], got {n}")
        if isinstance(tokenizer, CoarseToFineTokenizer):
            recon = tokenizer.decode(tokens, n_tokens=n)
        else:
            recon = tokenizer.decode(tokens, n_tokens=n, grid=(arr.shape[1] // tokenizer.patch,
                                                               arr.shape[2] // tokenizer.patch))
        out.append(float(((recon - arr) ** 2).mean()))
    return np.array(out)

"""The data shipped with the package, each file checked against its SHA-256 checksum when loaded.

Provenance and licences: ``causal_lessons/data/SOURCES.md`` and the book page "Data sources".
Nothing is downloaded: every loader reads a file inside the installed package.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

DATA_DIR = Path(__file__).resolve().parent / "data"

#: SHA-256 of every shipped data file (the same as in the course's shared/data/SOURCES.md).
CHECKSUMS: dict[str, str] = {
    "chocolate_nobel.csv": "cef982ba746f7e2971caff3d7465ec0f3f373883d3cc4d5d7f6475a722ab1b5e",
    "coco2017_multilabel.npz": "5ddbd15c6df81661d423ee41739b20dbf553fa534683955e46b1810150e42e87",
    "coco_train2014_cooccurrence_mlgcn.npz": "b26a27fc9187391fc916015d2725de8310c03c99827c65f8c672ee196cdbb5d7",
    "voc2007_multilabel.npz": "b74eb6984394d2e75022926e10214c1706c82371817441e7cc74058138074ee8",
    "alice_in_wonderland_pg11.txt": "502852fbc4554f16a4ddce92d6262702894976a2b3a8c5504b02af93b55a067e",
    "tinyshakespeare.txt": "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
    "talk_claims.md": "3b0128877baff16a9375c06fa51634bbe25b3d4d2e1b1b985d545bb48521206b",
}

COCO_SPLITS = ("train2017", "val2017", "train2014")
VOC_SPLITS = ("trainval", "test")
TEXTS = {"alice": "alice_in_wonderland_pg11.txt", "shakespeare": "tinyshakespeare.txt"}


class DataFileError(ValueError):
    """A shipped data file is altered (its checksum does not match)."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@lru_cache(maxsize=None)
def _verified(path: Path, mtime_ns: int, size: int) -> str:
    # Keyed on mtime and size so a file changed on disk is hashed again.
    return _sha256(path)


def data_path(filename: str) -> Path:
    """Path of a shipped data file after checking that it exists and is unaltered.

    Parameters
    ----------
    filename
        One of the keys of :data:`CHECKSUMS`.

    Raises
    ------
    ValueError
        If ``filename`` is not a shipped file.
    FileNotFoundError
        If the file is missing from the installed package.
    DataFileError
        If the file's SHA-256 differs from the recorded one.

    Examples
    --------
    >>> data_path("chocolate_nobel.csv").name
    'chocolate_nobel.csv'
    """
    if filename not in CHECKSUMS:
        raise ValueError(f"filename must be one of {sorted(CHECKSUMS)}, got {filename!r}")
    path = DATA_DIR / filename
    if not path.is_file():
        raise FileNotFoundError(
            f"data file {filename!r} is missing from {DATA_DIR}; reinstall causal-lessons "
            "(the file ships inside the package)"
        )
    stat = path.stat()
    actual = _verified(path, stat.st_mtime_ns, stat.st_size)
    expected = CHECKSUMS[filename]
    if actual != expected:
        raise DataFileError(
            f"data file {path} is altered: its SHA-256 is {actual}, expected {expected}; "
            "reinstall causal-lessons to restore it"
        )
    return path


def verify_all() -> dict[str, str]:
    """Check every shipped file; return ``{filename: "ok"}`` or raise on the first problem.

    Examples
    --------
    >>> set(verify_all().values())
    {'ok'}
    """
    return {name: "ok" for name in CHECKSUMS if data_path(name)}


def load_chocolate_nobel() -> pd.DataFrame:
    """Chocolate consumption and Nobel laureates of 23 countries (Messerli 2012).

    Columns: ``country``, ``iso2``, ``chocolate_kg_per_capita``, ``nobel_laureates_per_10m``,
    ``gdp_per_capita`` (undocumented year and source, as in Friendly & Wainer's file),
    ``ikea_stores_per_10m``, ``tea``, ``wine_l_per_capita`` and ``gdp_per_capita_gapminder_2007``
    (documented: Gapminder, 2007, CC0).

    Examples
    --------
    >>> df = load_chocolate_nobel()
    >>> df.shape
    (23, 9)
    >>> round(float(df["chocolate_kg_per_capita"].corr(df["nobel_laureates_per_10m"])), 3)
    0.791
    """
    return pd.read_csv(data_path("chocolate_nobel.csv"))


@dataclass(frozen=True)
class LabelSet:
    """Image-level multi-label annotations.

    Attributes
    ----------
    labels
        ``(n_images, n_classes)`` uint8 matrix, 1 where the class occurs in the image.
    names
        Class names, one per column.
    image_ids
        One id per row.
    """

    labels: np.ndarray
    names: tuple[str, ...]
    image_ids: np.ndarray

    @property
    def n_images(self) -> int:
        """Number of images (rows)."""
        return int(self.labels.shape[0])


@lru_cache(maxsize=1)
def _coco_arrays() -> dict[str, np.ndarray]:
    with np.load(data_path("coco2017_multilabel.npz")) as npz:
        return {key: npz[key] for key in npz.files}


def load_coco_labels(split: str = "train2014") -> LabelSet:
    """COCO image-level labels (80 categories in COCO order).

    Parameters
    ----------
    split
        ``"train2017"`` (117,266 labelled images), ``"val2017"`` (5,000 images, 48 without labels) or
        ``"train2014"`` (82,081 labelled images: the data of VC R-CNN and of the talk's numbers).

    Returns
    -------
    LabelSet
        Labels as a 0/1 ``uint8`` matrix, the 80 names, and COCO image ids.

    Examples
    --------
    >>> coco = load_coco_labels("train2014")
    >>> coco.labels.shape, coco.names[0]
    ((82081, 80), 'person')
    """
    if split not in COCO_SPLITS:
        raise ValueError(f"split must be one of {COCO_SPLITS}, got {split!r}")
    arrays = _coco_arrays()
    names = tuple(str(n) for n in arrays["category_names"])
    if split == "val2017":
        return LabelSet(arrays["val2017_labels"], names, arrays["val2017_image_ids"])
    labels, ids = arrays["train2017_labels"], arrays["train2017_image_ids"]
    if split == "train2014":
        keep = arrays["train2017_in_train2014"]
        labels, ids = labels[keep], ids[keep]
    return LabelSet(labels, names, ids)


def load_coco_cooccurrence_mlgcn() -> dict[str, np.ndarray]:
    """ML-GCN's published train2014 counts (an independent cross-check of :func:`load_coco_labels`).

    Returns
    -------
    dict
        ``category_names`` (80,), ``image_counts`` (80,), ``cooccurrence`` (80, 80) with a zero diagonal,
        ``n_images``.

    Examples
    --------
    >>> int(load_coco_cooccurrence_mlgcn()["n_images"])
    82081
    """
    with np.load(data_path("coco_train2014_cooccurrence_mlgcn.npz")) as npz:
        return {key: npz[key] for key in npz.files}


def load_voc_labels(split: str = "trainval", difficult_as_present: bool = False) -> LabelSet:
    """PASCAL VOC 2007 image-level labels (20 classes).

    Parameters
    ----------
    split
        ``"trainval"`` (5,011 images) or ``"test"`` (4,952 images).
    difficult_as_present
        VOC marks some objects "difficult" (flag 0). The default counts only the official positives
        (flag 1); ``True`` counts difficult-only images as present too.

    Examples
    --------
    >>> voc = load_voc_labels("trainval")
    >>> voc.labels.shape, int(voc.labels[:, voc.names.index("person")].sum())
    ((5011, 20), 2008)
    """
    if split not in VOC_SPLITS:
        raise ValueError(f"split must be one of {VOC_SPLITS}, got {split!r}")
    with np.load(data_path("voc2007_multilabel.npz")) as npz:
        flags = npz[f"{split}_labels"]
        names = tuple(str(n) for n in npz["class_names"])
        ids = npz[f"{split}_image_ids"]
    present = flags != -1 if difficult_as_present else flags == 1
    return LabelSet(present.astype(np.uint8), names, ids)


def load_text(name: str = "alice") -> str:
    """A shipped public-domain English text.

    Parameters
    ----------
    name
        ``"alice"`` (Carroll, *Alice's Adventures in Wonderland*, Project Gutenberg #11, header removed)
        or ``"shakespeare"`` (Karpathy's tiny Shakespeare).

    Examples
    --------
    >>> text = load_text("alice")
    >>> len(text) > 100_000, "Alice" in text
    (True, True)
    """
    if name not in TEXTS:
        raise ValueError(f"name must be one of {sorted(TEXTS)}, got {name!r}")
    return data_path(TEXTS[name]).read_text(encoding="utf-8")


def load_talk_claims() -> pd.DataFrame:
    """The claims of the talk the course follows (Zhang, GAIR 2023), one row each, as the course lists them.

    Columns: ``id`` (``"T1"`` .. ``"T27"``), ``original`` (the talk's words, quoted from the published report in
    Chinese), ``english`` (the course's rendering) and ``where`` (the chapter that answers it). The file is
    ``talk_claims.md``; it quotes short passages of the report (Leiphone, 2023-08-31), not the report itself.

    Examples
    --------
    >>> claims = load_talk_claims()
    >>> len(claims), claims["id"].iloc[0], claims.set_index("id").loc["T3", "where"]
    (27, 'T1', 'correlation')
    """
    rows = []
    for line in data_path("talk_claims.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0][:1] == "T" and cells[0][1:].isdigit():
            rows.append(dict(zip(("id", "original", "english", "where"), cells, strict=True)))
    return pd.DataFrame(rows)

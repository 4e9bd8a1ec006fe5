"""The shipped data: shapes, checksums, and known numbers from the sources."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from causal_lessons import datasets


def test_chocolate_table_reproduces_messerli():
    df = datasets.load_chocolate_nobel()
    assert df.shape == (23, 9)
    r = np.corrcoef(df["chocolate_kg_per_capita"], df["nobel_laureates_per_10m"])[0, 1]
    assert round(r, 3) == 0.791


@pytest.mark.parametrize("split, shape", [("train2017", (117_266, 80)), ("val2017", (5_000, 80)),
                                          ("train2014", (82_081, 80))])
def test_coco_shapes(split, shape):
    coco = datasets.load_coco_labels(split)
    assert coco.labels.shape == shape
    assert coco.labels.dtype == np.uint8 and set(np.unique(coco.labels)) <= {0, 1}
    assert len(coco.names) == 80 and coco.names[0] == "person"
    assert len(coco.image_ids) == shape[0]


def test_coco_known_counts():
    coco = datasets.load_coco_labels("train2014")
    idx = {n: i for i, n in enumerate(coco.names)}
    hair, sink = coco.labels[:, idx["hair drier"]] == 1, coco.labels[:, idx["sink"]] == 1
    assert (hair.sum(), (hair & sink).sum()) == (128, 72)
    assert int(datasets.load_coco_labels("train2017").labels[:, 0].sum()) == 64_115
    assert int((datasets.load_coco_labels("val2017").labels.sum(1) == 0).sum()) == 48


def test_coco_train2014_equals_mlgcn_counts():
    coco = datasets.load_coco_labels("train2014")
    ref = datasets.load_coco_cooccurrence_mlgcn()
    labels = coco.labels.astype(np.int64)
    co = labels.T @ labels
    assert list(ref["category_names"]) == list(coco.names)
    np.testing.assert_array_equal(np.diag(co), ref["image_counts"])
    np.fill_diagonal(co, 0)
    np.testing.assert_array_equal(co, ref["cooccurrence"])


def test_voc_and_text():
    voc = datasets.load_voc_labels("trainval")
    assert voc.labels.shape == (5_011, 20)
    assert int(voc.labels[:, voc.names.index("person")].sum()) == 2_008
    assert datasets.load_voc_labels("test").labels.shape == (4_952, 20)
    text = datasets.load_text("alice")
    assert "Gutenberg" not in text and len(text) > 100_000


@pytest.mark.parametrize("call, match", [
    (lambda: datasets.load_coco_labels("train2015"), "split must be one of"),
    (lambda: datasets.load_voc_labels("val"), "split must be one of"),
    (lambda: datasets.load_text("hamlet"), "name must be one of"),
    (lambda: datasets.data_path("nope.csv"), "filename must be one of"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.fixture
def copied_data(tmp_path, monkeypatch):
    target = tmp_path / "data"
    shutil.copytree(datasets.DATA_DIR, target)
    monkeypatch.setattr(datasets, "DATA_DIR", target)
    datasets._coco_arrays.cache_clear()
    yield target
    datasets._coco_arrays.cache_clear()


def test_missing_file_is_reported(copied_data):
    (copied_data / "chocolate_nobel.csv").unlink()
    with pytest.raises(FileNotFoundError, match="chocolate_nobel.csv.*missing"):
        datasets.load_chocolate_nobel()


def test_altered_file_is_reported(copied_data):
    path = copied_data / "chocolate_nobel.csv"
    path.write_text(path.read_text().replace("Sweden", "Swedem"))
    with pytest.raises(datasets.DataFileError, match="altered.*SHA-256"):
        datasets.load_chocolate_nobel()


def test_verify_all_covers_every_shipped_file():
    shipped = {p.name for p in datasets.DATA_DIR.iterdir() if p.suffix in {".csv", ".npz", ".txt", ".md"} and p.name != "SOURCES.md"}
    assert shipped == set(datasets.CHECKSUMS)
    assert datasets.verify_all() == {name: "ok" for name in datasets.CHECKSUMS}

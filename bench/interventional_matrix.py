"""Benchmark: the full 80 x 80 VC R-CNN interventional table on COCO train2017, vectorised (one matrix product
per class) against a straightforward per-pair implementation (for each pair, select the images with X and count
over them). Prints times and their ratio, measured in this run; not a test.

The per-pair version is timed on a random sample of pairs and scaled to all 6,320 pairs (it would take minutes);
its values are checked against the vectorised table on that sample.

Second, one bootstrap resample of the talk's estimate P(sink | do(hair drier)) on train2014 (what the chapter's
intervals repeat a thousand times): ``resampled_pair`` (image multiplicities as weights, one sparse product for
the prior) against rebuilding the resampled label matrix and recomputing.

    python bench/interventional_matrix.py
"""

from __future__ import annotations

import time

import numpy as np

from causal_lessons.confounders.cooccurrence import interventional, interventional_matrix, resampled_pair
from causal_lessons.datasets import load_coco_labels


def per_pair(labels: np.ndarray, x: int, y: int, prior: np.ndarray) -> float:
    rows = labels[labels[:, x] == 1]
    n_xz = rows.sum(0)
    n_xzy = rows[rows[:, y] == 1].sum(0)
    strata = [z for z in range(labels.shape[1]) if z not in (x, y) and n_xz[z] > 0]
    w = prior[strata]
    return float((w * n_xzy[strata] / n_xz[strata]).sum() / w.sum())


def main(sample: int = 200) -> None:
    labels = load_coco_labels("train2017").labels
    k = labels.shape[1]
    start = time.perf_counter()
    table = interventional_matrix(labels)
    t_vec = time.perf_counter() - start

    rng = np.random.default_rng(0)
    pairs = [(int(x), int(y)) for x, y in rng.choice(k, size=(sample * 2, 2)) if x != y][:sample]
    prior = labels.mean(0)
    start = time.perf_counter()
    values = [per_pair(labels, x, y, prior) for x, y in pairs]
    t_sample = time.perf_counter() - start
    t_pairs = t_sample / len(pairs) * k * (k - 1)
    worst = max(abs(v - table[x, y]) for v, (x, y) in zip(values, pairs))

    print(f"COCO train2017: {labels.shape[0]:,} images x {k} classes")
    print(f"vectorised 80 x 80 table: {t_vec:.3f} s")
    print(f"per-pair implementation: {t_sample:.2f} s for {len(pairs)} pairs -> {t_pairs:.1f} s for all "
          f"{k * (k - 1):,} pairs (scaled)")
    print(f"ratio per-pair / vectorised: {t_pairs / t_vec:.0f}x; largest difference on the sample: {worst:.1e}")
    bootstrap_step(sample=50)


def bootstrap_step(sample: int) -> None:
    coco = load_coco_labels("train2014")
    n = coco.n_images
    stat = resampled_pair(coco, "sink", "hair drier")
    rng = np.random.default_rng(0)
    draws = [rng.integers(0, n, n) for _ in range(sample)]
    start = time.perf_counter()
    fast = [stat(idx)[1] for idx in draws]
    t_fast = (time.perf_counter() - start) / sample
    start = time.perf_counter()
    slow = [interventional(coco.labels[idx], coco.names.index("sink"), coco.names.index("hair drier"))
            for idx in draws]
    t_slow = (time.perf_counter() - start) / sample
    worst = max(abs(a - b) for a, b in zip(fast, slow))
    print(f"one bootstrap resample of P(sink | do(hair drier)), train2014 ({n:,} images): "
          f"resampled_pair {1e3 * t_fast:.2f} ms, recomputing {1e3 * t_slow:.2f} ms, "
          f"ratio {t_slow / t_fast:.1f}x; largest difference {worst:.1e}")


if __name__ == "__main__":
    main()

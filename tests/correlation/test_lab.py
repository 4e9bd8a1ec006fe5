"""The lab's configuration: sizes at each size, the smoke size's full shapes with at most two steps, and a job
description that is cheap at any size."""

from __future__ import annotations

import time

import pytest

from causal_lessons import runtime
from causal_lessons.correlation.lab import job, settings


def test_smoke_runs_the_full_shapes_with_at_most_two_steps():
    smoke, full, quick = settings("smoke"), settings("full"), settings("quick")
    for field in ("n_obs", "n_truth", "batch_size", "hidden"):
        assert getattr(smoke, field) == getattr(full, field)
    assert smoke.steps <= runtime.SMOKE_STEPS and smoke.seeds == (0,)
    assert quick.n_obs < full.n_obs and quick.steps < full.steps and len(quick.seeds) >= 3
    assert full.batch_size >= 65_536  # fills a GPU at the full size


def test_job_counts_the_flops_of_one_training_step():
    for size in ("quick", "full", "smoke"):
        s, j = settings(size), job(size)
        batch, h = s.batch_size, s.hidden
        forward = 2 * batch * (2 * h + h * h + h)
        # backward: weight gradients of every layer, input gradients of all but the first
        assert j.flops_per_step == 2 * forward + 2 * batch * (h * h + h)
        assert j.steps == s.steps * len(s.seeds) and j.size == size


def test_job_is_cheap_at_the_full_size():
    start = time.perf_counter()
    j = job("full")
    assert time.perf_counter() - start < 2.0
    assert j.total_flops > 10**13 and "full size" in str(j)


def test_sizes_are_checked():
    with pytest.raises(ValueError, match="size must be one of"):
        settings("huge")

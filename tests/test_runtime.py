from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from causal_lessons import runtime


@pytest.mark.parametrize("value, quick", [("1", True), ("true", True), ("0", False), ("off", False)])
def test_quick_variable(monkeypatch, value, quick):
    monkeypatch.setenv(runtime.QUICK_ENV, value)
    assert runtime.is_quick() is quick
    assert runtime.pick("q", "f") == ("q" if quick else "f")


def test_unset_variable_follows_cuda(monkeypatch):
    monkeypatch.delenv(runtime.QUICK_ENV, raising=False)
    assert runtime.is_quick() is (not torch.cuda.is_available())


def test_bad_quick_value_names_the_variable(monkeypatch):
    monkeypatch.setenv(runtime.QUICK_ENV, "maybe")
    with pytest.raises(ValueError, match="CAUSAL_LESSONS_QUICK"):
        runtime.is_quick()


def test_device_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert runtime.get_device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert runtime.get_device().type == "mps"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert runtime.get_device().type == "cpu"


def test_seed_everything_makes_all_three_generators_repeat():
    runtime.seed_everything(3)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    runtime.seed_everything(3)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


@pytest.mark.parametrize("seed, error", [(-1, ValueError), (1.5, TypeError), ("0", TypeError)])
def test_seed_errors(seed, error):
    with pytest.raises(error, match="seed"):
        runtime.seed_everything(seed)


@pytest.mark.parametrize("value, size, steps, seeds, pick", [
    ("1", "quick", 10, [0, 1, 2], "q"), ("0", "full", 500, [0, 1, 2, 3, 4], "f"), ("smoke", "smoke", 2, [0], "f"),
    (" Smoke ", "smoke", 2, [0], "f"),
])
def test_sizes_steps_and_seeds(monkeypatch, value, size, steps, seeds, pick):
    monkeypatch.setenv(runtime.QUICK_ENV, value)
    assert runtime.size() == size
    assert runtime.steps(10, 500) == steps
    assert runtime.seeds(3, 5) == seeds
    assert runtime.pick("q", "f") == pick


def test_smoke_never_takes_more_steps_than_full(monkeypatch):
    monkeypatch.setenv(runtime.QUICK_ENV, "smoke")
    assert runtime.steps(10, 1) == 1


@pytest.mark.parametrize("args, error, match", [((0, 5), ValueError, "quick"), ((5, 1.5), TypeError, "full")])
def test_steps_errors_name_the_argument(args, error, match):
    with pytest.raises(error, match=match):
        runtime.steps(*args)


def test_size_override_and_its_error():
    assert runtime.pick("q", "f", at="quick") == "q" and runtime.steps(5, 50, at="full") == 50
    assert runtime.seeds(3, 5, at="smoke") == [0]
    with pytest.raises(ValueError, match="size must be one of"):
        runtime.size("tiny")


def test_flops_of_a_linear_layer_and_job_text():
    layer = torch.nn.Linear(10, 5)
    x = torch.zeros(4, 10, requires_grad=True)
    # forward 2*4*10*5, backward twice that (input and weight gradients)
    assert runtime.count_flops(lambda: layer(x).sum().backward()) == 3 * 400
    job = runtime.Job("net", "full", 1_000, 3_000_000)
    assert job.total_flops == 3_000_000_000 and "3.0 GFLOP in all" in str(job)
    with pytest.raises(TypeError, match="step must be a callable"):
        runtime.count_flops(5)


def test_the_seed_offset_shifts_every_seed_list(monkeypatch):
    monkeypatch.delenv(runtime.SEED_OFFSET_ENV, raising=False)
    assert runtime.seeds(3, 5, at="quick") == [0, 1, 2] and runtime.seed_offset() == 0
    monkeypatch.setenv(runtime.SEED_OFFSET_ENV, "100")
    assert runtime.seeds(3, 5, at="quick") == [100, 101, 102]
    assert runtime.seeds(3, 5, at="smoke") == [100]
    assert "seeds offset by 100" in runtime.describe()
    for bad in ("-1", "two", "1.5"):
        monkeypatch.setenv(runtime.SEED_OFFSET_ENV, bad)
        with pytest.raises(ValueError, match="CAUSAL_LESSONS_SEED_OFFSET must be a non-negative integer"):
            runtime.seeds(3, 5)


def test_the_thread_variable_sets_torchs_thread_count(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv(runtime.THREADS_ENV, "1")
        assert runtime.configure_threads() == 1 == torch.get_num_threads()
        assert "1 CPU thread" in runtime.describe()
        monkeypatch.setenv(runtime.THREADS_ENV, "0")
        with pytest.raises(ValueError, match="CAUSAL_LESSONS_THREADS must be at least 1"):
            runtime.configure_threads()
    finally:
        torch.set_num_threads(before)


def test_progress_bars_show_unless_hidden_or_switched_off_from_outside(monkeypatch):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    assert not runtime.progress(range(3), "steps").disable
    assert runtime.progress(range(3), "steps", show=False).disable
    monkeypatch.setenv("TQDM_DISABLE", runtime.KERNEL_ENV["TQDM_DISABLE"])  # what a book build sets
    assert runtime.progress(range(3), "steps").disable
    assert list(runtime.progress(range(3), "steps")) == [0, 1, 2]


def test_a_notebook_bar_is_switched_off_too(monkeypatch):
    # tqdm.notebook passes disable itself, so tqdm's own reading of TQDM_DISABLE never reaches it.
    pytest.importorskip("ipywidgets")
    import tqdm.notebook

    monkeypatch.setattr("tqdm.auto.tqdm", tqdm.notebook.tqdm)
    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert runtime.progress(range(3), "steps").disable

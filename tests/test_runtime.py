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

"""The course's one answer normaliser (``causal_lessons.answers``): which forms each type of answer accepts, and a
check that a patched interpreter cannot fool."""

from __future__ import annotations

import builtins

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from causal_lessons import answers as A


@given(st.sampled_from("abcd"), st.sampled_from(["{}", "{}.", "({})", " {} ", "({}).", " ( {} ) "]), st.booleans())
def test_every_written_form_of_a_letter_reads_as_the_letter(choice, form, upper):
    written = form.format(choice.upper() if upper else choice)
    assert A.letter(written) == choice


@pytest.mark.parametrize("written", ["e", "ab", "", "a)b", "1"])
def test_a_letter_that_is_not_a_choice_is_refused(written):
    with pytest.raises(ValueError, match="letters a, b, c, d"):
        A.letter(written)


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e30, max_value=1e30))
def test_a_real_number_reads_the_same_in_every_form(x):
    forms = [x, np.float64(x), np.array(x), np.array([[x]]), torch.tensor(x, dtype=torch.float64), [x], (x,)]
    assert all(A.real(form) == x for form in forms)
    assert A.real(np.float32(x)) == float(np.float32(x))


@pytest.mark.parametrize("value, error", [
    ("0.5", TypeError), (True, TypeError), (np.bool_(False), TypeError), (None, TypeError), (1 + 2j, TypeError),
    ([0.1, 0.2], ValueError), (np.zeros(3), ValueError), (print, TypeError),
])
def test_what_is_not_one_real_number_is_refused(value, error):
    with pytest.raises(error, match="store"):
        A.real(value)


@pytest.mark.parametrize("value, expected", [
    (True, True), (False, False), (np.bool_(True), True), (np.array([False]), False), (torch.tensor(True), True),
    ("False", False), (" TRUE ", True), ("yes", True), ("No", False),
])
def test_true_and_false_in_every_form(value, expected):
    assert A.boolean(value) is expected


@pytest.mark.parametrize("value", [None, [], 0, 1, 0.0, "maybe", ""])
def test_none_empty_and_numbers_are_never_read_as_false(value):
    with pytest.raises((TypeError, ValueError), match="True or False"):
        A.boolean(value)


def test_a_fraction_is_a_real_number():
    from fractions import Fraction

    assert A.real(Fraction(1, 4)) == 0.25


def test_whole_numbers_and_arrays():
    assert A.integer(np.int32(4)) == 4 and A.integer(torch.tensor(4.0)) == 4
    with pytest.raises(ValueError, match="whole number"):
        A.integer(4.5)
    assert A.array(torch.ones(2, 3), shape=(2, 3)).shape == (2, 3)
    with pytest.raises(TypeError, match="real numbers"):
        A.array(["a", "b"])


def test_check_grades_right_wrong_and_unreadable_answers():
    reference = "import numpy as np; reference = np.arange(6.0).reshape(2, 3)"
    assert A.check(torch.arange(6.0).reshape(2, 3), "array", reference, atol=1e-9, shape=(2, 3))
    assert not A.check(np.arange(6.0), "array", reference, atol=1e-9, shape=(2, 3))
    assert not A.check(lambda: 1, "real", "reference = 1.0")  # cannot be sent to the checking interpreter

    class Anything(float):
        def __eq__(self, other):
            return True

    assert not A.check(Anything(2.0), "real", "reference = 1.0")


def test_patching_this_interpreter_does_not_fool_the_check(monkeypatch):
    """What the students' cheats do to their kernel -- builtins redefined, numpy's comparisons and the package
    function of the reference replaced -- does not reach the interpreter that compares."""
    import causal_lessons.correlation.estimation as estimation

    monkeypatch.setattr(builtins, "abs", lambda value: 0)
    monkeypatch.setattr(builtins, "all", lambda values: True)
    monkeypatch.setattr(np, "allclose", lambda *args, **kwargs: True)
    monkeypatch.setattr(np, "isclose", lambda *args, **kwargs: True)
    monkeypatch.setattr(estimation, "pearson", lambda x, y: type("Result", (), {"r": 0.5})())
    reference = """
from causal_lessons.correlation.estimation import pearson
from causal_lessons.datasets import load_chocolate_nobel
d = load_chocolate_nobel()
reference = pearson(d["chocolate_kg_per_capita"], d["nobel_laureates_per_10m"]).r
"""
    assert not A.check(0.5, "real", reference, atol=1e-6)


def test_a_reference_that_fails_is_an_error_not_a_wrong_answer():
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        A.check(1.0, "real", "reference = 1 / 0")

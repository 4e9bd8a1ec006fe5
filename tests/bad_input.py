"""The harness of the bad-input tests: a public function fed NaN, inf, empty, mis-shaped or mistyped input raises
ValueError or TypeError whose message names the argument -- never a silent wrong result.

Each chapter's ``tests/<slug>/test_bad_input_<slug>.py`` lists its public functions as :class:`Case` rows (a call
with valid arguments, and which arguments to spoil) in a module-level ``CASES`` list, plus ``EXEMPT``
(``{dotted name: reason}``) for public callables that take no data. It tests them with :func:`check_case`.
``tests/test_bad_input.py`` checks that every public callable of the package is covered by some chapter's table.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

#: The spoilers every case gets unless it names its own; ``"unknown"`` (a misspelt name for an argument that
#: names something: a split, a column, a model), ``"complex"`` (one entry given an imaginary part, which a cast to
#: float would silently drop) and ``"negative"`` (-1 for an integer such as a seed) are asked for explicitly.
KINDS = ("nan", "inf", "empty", "shape", "type")


@dataclass(frozen=True)
class Case:
    """A public callable, valid keyword arguments for it, and the arguments to spoil.

    ``target`` is the dotted name of the public object the case covers (derived from ``call`` when it is a plain
    function); ``call`` may be a lambda that builds an object first, e.g.
    ``Case(lambda x: LiftingConvC4(1, 2, 3)(x), {"x": ...}, ("x",), target="...group_conv.LiftingConvC4")``.
    ``kinds`` limits the spoilers (see :func:`spoilt`); ``message`` overrides the text the error must contain
    (by default the argument's name).
    """

    call: Callable[..., Any]
    kwargs: dict[str, Any]
    spoil: tuple[str, ...]
    target: str = ""
    kinds: tuple[str, ...] = KINDS
    message: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.target or f"{self.call.__module__}.{self.call.__qualname__}"


def _nan_of(value: Any, fill: float) -> Any:
    if isinstance(value, torch.Tensor):
        out = value.detach().clone().to(torch.float64 if not value.is_floating_point() else value.dtype)
        out.view(-1)[0] = fill
        return out
    if isinstance(value, pd.DataFrame):
        out = value.copy()
        numeric = out.select_dtypes("number").columns
        if not len(numeric):
            return None
        out[numeric[0]] = out[numeric[0]].astype(float)
        out.iloc[0, out.columns.get_loc(numeric[0])] = fill
        return out
    if isinstance(value, pd.Series):
        out = value.astype(float).copy()
        out.iloc[0] = fill
        return out
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf" or arr.size == 0:
        return None
    out = arr.astype(float).copy()
    out.flat[0] = fill
    return out.tolist() if isinstance(value, (list, tuple)) else out


def _complex_of(value: Any) -> Any:
    """``value`` with its first entry given an imaginary part of 1 (None where it holds no numbers)."""
    if isinstance(value, torch.Tensor):
        if value.is_complex() or value.dtype == torch.bool:
            return None
        out = value.detach().clone().to(torch.complex128)
        out.view(-1)[0] += 1j
        return out
    if isinstance(value, (pd.DataFrame, pd.Series)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return complex(value) + 1j
    arr = np.asarray(value) if isinstance(value, (list, tuple, np.ndarray)) else None
    if arr is None or arr.dtype.kind not in "iuf" or arr.size == 0:
        return None
    out = arr.astype(complex)
    out.flat[0] += 1j
    return out.tolist() if isinstance(value, (list, tuple)) else out


def spoilt(value: Any) -> dict[str, Any]:
    """Bad versions of a valid argument, by kind: ``nan`` and ``inf`` (one entry replaced), ``empty`` (no rows),
    ``shape`` (one dimension too many), ``type`` (a string, or a number where a string is expected), for numbers
    ``complex`` (an imaginary part), for an integer ``negative`` (-1) and, for a string, ``unknown`` (a misspelt
    name). Kinds that make no sense for the value are left out.
    """
    out: dict[str, Any] = {}
    for kind, fill in (("nan", math.nan), ("inf", math.inf)):
        bad = _nan_of(value, fill)
        if bad is not None:
            out[kind] = bad
    bad = _complex_of(value)
    if bad is not None:
        out["complex"] = bad
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        out["negative"] = -1
    if isinstance(value, torch.Tensor):
        out["empty"] = value[:0]
        out["shape"] = value.unsqueeze(0)
    elif isinstance(value, (pd.DataFrame, pd.Series)):
        out["empty"] = value.iloc[:0]
    elif isinstance(value, np.ndarray):
        out["empty"] = value[:0]
        out["shape"] = value[None]
    elif isinstance(value, (list, tuple)):
        out["empty"] = type(value)()
        if value and not isinstance(value[0], (list, tuple, str)):
            out["shape"] = [list(value)]
    out["type"] = 42 if isinstance(value, str) else "not data"
    if isinstance(value, str):
        out["unknown"] = value + "-no-such-name"
    return out


def assert_clear_error(call: Callable[..., Any], kwargs: dict[str, Any], argument: str, bad: Any,
                       expect: str | None = None) -> None:
    """``call(**kwargs)`` with ``argument`` replaced by ``bad`` raises ValueError or TypeError naming it."""
    args = {k: copy.deepcopy(v) for k, v in kwargs.items()}
    args[argument] = bad
    try:
        result = call(**args)
    except (ValueError, TypeError) as exc:
        text = expect or argument
        assert text in str(exc), f"the error for a bad {argument!r} does not name it: {exc}"
        return
    except Exception as exc:  # noqa: BLE001 -- any other exception is the failure being reported
        pytest.fail(f"a bad {argument!r} raised {type(exc).__name__} (not ValueError/TypeError): {exc}")
    pytest.fail(f"a bad {argument!r} ({type(bad).__name__}) gave a result instead of an error: {result!r:.200}")


def check_case(case: Case, argument: str, kind: str) -> None:
    """Run one spoiler of one case."""
    assert_clear_error(case.call, case.kwargs, argument, spoilt(case.kwargs[argument])[kind],
                       case.message.get(argument))


def params(cases: list[Case]) -> list[Any]:
    """pytest parameters: one per case, spoilt argument and kind that applies to the argument's value (a case
    that asks only for kinds that apply to none of its arguments is an error, not a silent pass)."""
    out = []
    for c in cases:
        found = [(a, k) for a in c.spoil for k in c.kinds if k in spoilt(c.kwargs[a])]
        if not found:
            raise ValueError(f"{c.name}: none of the kinds {c.kinds} applies to {c.spoil}")
        out += [pytest.param(c, a, k, id=f"{c.name.rsplit('.', 1)[-1]}-{a}-{k}") for a, k in found]
    return out

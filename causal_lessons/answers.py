r"""Answers to the graded exercises: what each type of answer accepts, and a check the student's code cannot reach.

One normaliser per type of answer decides, for every exercise, which forms count:

- :func:`real` -- a real number: a Python number (a fraction too) or a NumPy number, or a one-element array, tensor
  or series (not a bool, not text);
- :func:`integer` -- a whole number in any of those forms (``3.0`` counts, ``3.5`` does not);
- :func:`letter` -- one letter of a multiple-choice question: ``"b"``, ``"B"``, ``"b."``, ``"(b)"`` and ``" b "``
  all read as ``"b"``;
- :func:`boolean` -- ``True`` or ``False``: a Python or NumPy bool, a one-element bool array or tensor, or the text
  ``"true"``/``"false"``/``"yes"``/``"no"`` in any case (``None``, ``[]`` and numbers are refused, never read as
  false);
- :func:`text` -- a name or a word, compared without case and surrounding spaces;
- :func:`array` -- an array of real numbers (a list, tuple, NumPy array, tensor or pandas object), of a given shape.

A refused form raises a :class:`ValueError` or :class:`TypeError` that says what to store instead; the public
checks call the same normaliser, so a student sees the message before grading.

:func:`check` grades an answer against its reference in a fresh Python interpreter (``python -I``): the answer is
normalised in the student's kernel only as far as making it plain data (a tensor becomes a NumPy array), pickled
and sent to the new interpreter, which normalises it, computes the reference from the package and compares them.
A student cell that redefines ``abs``, patches ``numpy.allclose`` or replaces the package function the reference
uses changes the student's interpreter, not that one. (A student can still patch this module or ``subprocess``
in their own kernel; ``make grade`` flags every such assignment, see the instructor guide.)
"""

from __future__ import annotations

import json
import numbers
import pickle
import struct
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

#: Texts :func:`boolean` reads as True and as False (compared without case and surrounding spaces).
TRUE_TEXTS = ("true", "yes")
FALSE_TEXTS = ("false", "no")


def _plain(value: Any) -> Any:
    """``value`` as plain data: a tensor as a NumPy array on the CPU, a pandas object as its NumPy values."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        return value.detach().cpu().numpy()
    if hasattr(value, "to_numpy") and not isinstance(value, (str, bytes)):
        return value.to_numpy()
    return value


def _one(value: Any, what: str) -> Any:
    """The single element of a one-element array-like, else ``value`` itself."""
    value = _plain(value)
    if isinstance(value, (list, tuple, np.ndarray)):
        arr = np.asarray(value, dtype=object)
        if arr.size != 1:
            raise ValueError(f"store one {what}, not {arr.size} values")
        return arr.reshape(-1)[0]
    return value


def real(value: Any) -> float:
    """A real number, from any form that means one.

    Examples
    --------
    >>> real(0.5), real(np.float32(0.25)), real(np.array([[2]]))
    (0.5, 0.25, 2.0)
    >>> real("0.5")
    Traceback (most recent call last):
    ...
    TypeError: store a number, not text: got '0.5'
    """
    item = _one(value, "number")
    if isinstance(item, (str, bytes)):
        raise TypeError(f"store a number, not text: got {item!r}")
    if isinstance(item, (bool, np.bool_)):
        raise TypeError(f"store a number, not True or False: got {item!r}")
    if item is None:
        raise TypeError("store a number: the answer is None (did the cell assign it?)")
    if isinstance(item, (complex, np.complexfloating)):
        raise TypeError(f"store a real number, not a complex one: got {item!r}")
    if not isinstance(item, (numbers.Real, np.integer, np.floating)):  # Fraction is a real number too
        raise TypeError(f"store a number: got a {type(item).__name__}")
    return float(item)


def integer(value: Any) -> int:
    """A whole number, from any form that means one (``3.0`` counts, ``3.5`` does not).

    Examples
    --------
    >>> integer(3), integer(np.int64(3)), integer(3.0)
    (3, 3, 3)
    >>> integer(3.5)
    Traceback (most recent call last):
    ...
    ValueError: store a whole number: got 3.5
    """
    number = real(value)
    if not np.isfinite(number) or number != int(number):
        raise ValueError(f"store a whole number: got {number!r}")
    return int(number)


def letter(value: Any, choices: str = "abcd") -> str:
    """One letter of a multiple-choice question, lower case: ``"b"``, ``"B"``, ``"b."`` and ``"(b)"`` read ``"b"``.

    Examples
    --------
    >>> [letter(x) for x in ("b", "B", "b.", "(b)", " (B). ")]
    ['b', 'b', 'b', 'b', 'b']
    >>> letter("e")
    Traceback (most recent call last):
    ...
    ValueError: store one of the letters a, b, c, d as text: got 'e'
    """
    if not isinstance(choices, str) or not choices.isalpha():
        raise ValueError(f"choices must be a string of letters; got {choices!r}")
    options = ", ".join(choices.lower())
    item = _one(value, "letter")
    if not isinstance(item, str):
        raise TypeError(f"store one of the letters {options} as text (in quotes): got {item!r}")
    cleaned = item.strip().strip(".").strip().strip("()").strip().lower()
    if len(cleaned) != 1 or cleaned not in choices.lower():
        raise ValueError(f"store one of the letters {options} as text: got {item!r}")
    return cleaned


def boolean(value: Any) -> bool:
    """True or False, from a bool of any kind or the text true/false/yes/no; never from ``None``, ``[]`` or a number.

    Examples
    --------
    >>> boolean(True), boolean(np.bool_(False)), boolean("False"), boolean(" yes ")
    (True, False, False, True)
    >>> boolean(None)
    Traceback (most recent call last):
    ...
    TypeError: store True or False: got None
    """
    item = _one(value, "True or False")
    if isinstance(item, (bool, np.bool_)):
        return bool(item)
    if isinstance(item, str):
        word = item.strip().lower()
        if word in TRUE_TEXTS or word in FALSE_TEXTS:
            return word in TRUE_TEXTS
        raise ValueError(f"store True or False: got the text {item!r}")
    raise TypeError(f"store True or False: got {item!r}")


def text(value: Any) -> str:
    """A name or a word, without case and surrounding spaces.

    Examples
    --------
    >>> text("  Switzerland ")
    'switzerland'
    """
    item = _one(value, "name")
    if not isinstance(item, str):
        raise TypeError(f"store the answer as text (in quotes): got {item!r}")
    return item.strip().casefold()


def array(value: Any, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """An array of real numbers of the given shape, from a list, tuple, NumPy array, tensor or pandas object.

    Examples
    --------
    >>> array([[1, 2], [3, 4]], shape=(2, 2)).dtype
    dtype('float64')
    >>> array([1, 2, 3], shape=(2,))
    Traceback (most recent call last):
    ...
    ValueError: store an array of shape (2,): got shape (3,)
    """
    item = _plain(value)
    if isinstance(item, (str, bytes)) or item is None:
        raise TypeError(f"store an array of numbers: got {item!r}")
    try:
        arr = np.asarray(item)
    except (TypeError, ValueError) as err:
        raise TypeError(f"store an array of numbers: {err}") from err
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"store an array of real numbers: got an array of {arr.dtype}")
    if shape is not None and arr.shape != tuple(shape):
        raise ValueError(f"store an array of shape {tuple(shape)}: got shape {arr.shape}")
    return arr.astype(float)


#: The normaliser of each kind of answer.
NORMALISERS: dict[str, Callable[..., Any]] = {"real": real, "integer": integer, "letter": letter,
                                               "boolean": boolean, "text": text, "array": array}


def _same(value: Any, reference: Any, atol: float = 0.0, rtol: float = 0.0) -> bool:
    """Whether a normalised answer equals its reference: numbers within ``atol + rtol * |reference|`` (element by
    element for arrays, which must have the same shape), anything else exactly.

    >>> _same(0.7910001, 0.791, atol=1e-6), _same(0.79, 0.791, atol=1e-6), _same("b", "b")
    (True, False, True)
    """
    if isinstance(value, np.ndarray) or isinstance(reference, np.ndarray):
        a, b = np.asarray(value, dtype=float), np.asarray(reference, dtype=float)
        return a.shape == b.shape and bool(np.all(np.abs(a - b) <= atol + rtol * np.abs(b)))
    if isinstance(value, float) or isinstance(reference, float):
        return bool(abs(float(value) - float(reference)) <= atol + rtol * abs(float(reference)))
    return value == reference


def _judge(spec: dict, payload: bytes) -> dict:
    """In the checking interpreter: normalise the answer, compute the reference, compare."""
    normalise = NORMALISERS[spec["kind"]]
    options = {k: tuple(v) if isinstance(v, list) else v for k, v in spec["options"].items()}
    try:
        answer = pickle.loads(payload)  # noqa: S301 -- the student's own answer, in a process of its own
    except Exception as err:  # noqa: BLE001 -- e.g. an instance of a class defined in the notebook: no accepted form
        return {"ok": False, "why": f"the answer could not be read outside the notebook: {err}"}
    try:
        value = normalise(answer, **options)
    except (TypeError, ValueError) as err:
        return {"ok": False, "why": str(err)}
    namespace: dict[str, Any] = {}
    exec(spec["reference"], namespace)  # noqa: S102 -- the hidden test's own code, in this clean interpreter
    ok = _same(value, normalise(namespace["reference"], **options), spec["atol"], spec["rtol"])
    return {"ok": ok, "why": "" if ok else "not the expected value"}


#: The checking interpreter's loop: each request is two lengths, a JSON spec and the pickled answer; each reply a
#: length and a JSON verdict. It lives as long as the kernel, so the package is imported once per submission.
_LOOP = r"""
import json, struct, sys, traceback
from causal_lessons.answers import _judge
inp, out = sys.stdin.buffer, sys.stdout.buffer
while len(head := inp.read(8)) == 8:
    n_spec, n_payload = struct.unpack("<II", head)
    spec, payload = json.loads(inp.read(n_spec)), inp.read(n_payload)
    try:
        reply = _judge(spec, payload)
    except Exception:
        reply = {"error": traceback.format_exc()[-2000:]}
    data = json.dumps(reply).encode()
    out.write(struct.pack("<I", len(data)) + data)
    out.flush()
"""

_checker: subprocess.Popen | None = None


def _ask(spec: str, payload: bytes) -> dict:
    """Send one request to the checking interpreter (started on first use, restarted if it died)."""
    global _checker
    if _checker is None or _checker.poll() is not None:
        _checker = subprocess.Popen([sys.executable, "-I", "-c", _LOOP], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE)
    data = spec.encode()
    _checker.stdin.write(struct.pack("<II", len(data), len(payload)) + data + payload)
    _checker.stdin.flush()
    head = _checker.stdout.read(4)
    if len(head) != 4:
        raise RuntimeError("the checking interpreter stopped before it answered")
    (size,) = struct.unpack("<I", head)
    return json.loads(_checker.stdout.read(size))


def check(answer: Any, kind: str, reference: str, *, atol: float = 0.0, rtol: float = 0.0,
          **options: Any) -> bool:
    """Whether ``answer`` is right: normalised by ``NORMALISERS[kind]`` and compared (equal within ``atol`` and
    ``rtol``) with the value that the code ``reference`` assigns to the name ``reference``, both in a separate,
    clean interpreter.

    Parameters
    ----------
    answer
        The student's answer, as stored.
    kind
        A key of :data:`NORMALISERS`; ``options`` go to its normaliser (``choices`` of a letter, ``shape`` of an
        array).
    reference
        Python code that computes the reference from the package and assigns it to ``reference``.
    atol, rtol
        The tolerance of a numeric answer.

    Examples
    --------
    >>> check("(C)", "letter", "reference = 'c'")
    True
    >>> check(0.5, "real", "import math; reference = math.sqrt(0.25)", atol=1e-9)
    True
    >>> check(True, "real", "reference = 1.0")
    False
    """
    if kind not in NORMALISERS:
        raise ValueError(f"kind must be one of {sorted(NORMALISERS)}; got {kind!r}")
    if not isinstance(reference, str) or "reference" not in reference:
        raise ValueError("reference must be code (text) that assigns the name reference")
    for name, tol in (("atol", atol), ("rtol", rtol)):
        if not isinstance(tol, (int, float)) or isinstance(tol, bool) or not tol >= 0:
            raise ValueError(f"{name} must be a number >= 0; got {tol!r}")
    try:
        payload = pickle.dumps(_plain(answer))
    except Exception:  # noqa: BLE001 -- an object that cannot be sent is an answer of no accepted form
        return False
    spec = json.dumps({"kind": kind, "options": {k: list(v) if isinstance(v, tuple) else v
                                                 for k, v in options.items()},
                       "reference": reference, "atol": float(atol), "rtol": float(rtol)})
    reply = _ask(spec, payload)
    if "error" in reply:
        raise RuntimeError(f"the reference could not be computed:\n{reply['error']}")
    return bool(reply["ok"])

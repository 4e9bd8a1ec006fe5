r"""One way to turn a number into the book's text: :func:`number`, :func:`table` for a data frame, and
:func:`constant` for a number that was set rather than measured.

Every number the book shows -- in a sentence, a claim row, a table, a caption or a figure's annotation -- is
written by :func:`number`, so that it reads the same everywhere and never claims more precision than was
measured:

- an integer (a count) gets thousands separators: ``82,081``;
- a real number gets a fixed number of decimals :math:`d`: the caller's ``digits``; else, when it comes with an
  interval of width :math:`w > 0`, enough to resolve a tenth of the interval,

  .. math:: d = \min\bigl(4,\ \max(0,\ 1 - \lfloor \log_{10} w \rfloor)\bigr),

  (4 is :data:`MAX_DECIMALS`), so a difference whose interval is 0.03 wide is shown to 3 decimals and one 0.3
  wide to 2; else 3 decimals below 10, 2 below 100, 1 below 1,000 and none above (one fewer for a percentage);
- a non-zero number that would read as zero at :math:`d` decimals is written in scientific notation with two
  significant digits (``8.6 × 10⁻⁴``), never as ``0.000`` and never as a long run of digits;
- ``percent=True`` shows :math:`100 x` followed by ``%``, with the same rules in percentage points.

No output ever has more than :data:`MAX_DECIMALS` decimals: the book's page check (``tests/book_pages.py``) calls a
number with five or more an unrounded number, and ``tests/test_formatting.py`` proves, over values from
:math:`10^{-9}` to :math:`10^6` of both signs and intervals of any width, that no output of :func:`number` is one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np

#: The most decimals any number in the book shows.
MAX_DECIMALS = 4

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _real(value: Any, name: str) -> float | int:
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        value = value.item()  # a 0-d numpy array or torch tensor
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if isinstance(value, Integral):
        return int(value)
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def decimals_for(width: float) -> int:
    r"""Decimals that resolve a tenth of an interval of width ``width``: :math:`1 - \lfloor\log_{10} w\rfloor`,
    clipped to ``[0, MAX_DECIMALS]``.

    Examples
    --------
    >>> decimals_for(0.03), decimals_for(0.3), decimals_for(4.0), decimals_for(120.0), decimals_for(1e-7)
    (3, 2, 1, 0, 4)
    """
    width = _real(width, "width")
    if not width > 0:
        raise ValueError(f"width must be > 0, got {width}")
    return min(MAX_DECIMALS, max(0, 1 - math.floor(math.log10(width))))


def _default_decimals(value: float) -> int:
    magnitude = abs(value)
    return 3 if magnitude < 10 else 2 if magnitude < 100 else 1 if magnitude < 1_000 else 0


def scientific(value: float) -> str:
    """``value`` in scientific notation with two significant digits: ``8.6 × 10⁻⁴``.

    Examples
    --------
    >>> scientific(0.000857), scientific(-3.1e-9), scientific(2.0e6)
    ('8.6 × 10⁻⁴', '-3.1 × 10⁻⁹', '2.0 × 10⁶')
    """
    value = float(_real(value, "value"))
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa} × 10{str(int(exponent)).translate(_SUPERSCRIPT)}"


def constant(value: Any) -> str:
    """A number the text states as it was set, not measured (a threshold, a setting): its shortest form, with
    thousands separators and powers of ten written out.

    Examples
    --------
    >>> constant(0.05), constant(1e-5), constant(2.5e-5), constant(100000), constant(3.0)
    ('0.05', '10⁻⁵', '2.5 × 10⁻⁵', '100,000', '3')
    """
    value = _real(value, "value")
    if isinstance(value, int) or float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    text = f"{value:g}"
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    power = "10" + str(int(exponent)).translate(_SUPERSCRIPT)
    if mantissa in {"1", "-1"}:
        return mantissa.replace("1", "") + power
    return f"{mantissa} × {power}"


def number(value: Any, digits: int | None = None, *, width: float | None = None, percent: bool = False,
           signed: bool = False) -> str:
    """The book's text for ``value`` (see the module docstring for the rules).

    Parameters
    ----------
    value
        A real number: a Python or numpy scalar, or a 0-d array or tensor. Integers are counts.
    digits
        Decimals to show, 0 to :data:`MAX_DECIMALS`; by default chosen from ``width`` or the magnitude.
    width
        The width of the value's confidence interval (the precision it supports); ignored when ``digits`` is given.
    percent
        Show ``100 * value`` followed by ``%`` (``width`` is then a width of the share, not in points).
    signed
        Write a ``+`` before a positive number (a difference).

    Examples
    --------
    >>> number(82081), number(0.78912), number(0.78912, 2), number(0.000457), number(0.000457, width=0.03)
    ('82,081', '0.789', '0.79', '4.6 × 10⁻⁴', '4.6 × 10⁻⁴')
    >>> number(0.0412, width=0.03), number(0.0412, width=0.3), number(1234.5678), number(-0.25, signed=True)
    ('0.041', '0.04', '1,235', '-0.250')
    >>> number(0.1234, percent=True), number(0.1234, 1, percent=True), number(0.02, signed=True)
    ('12.3%', '12.3%', '+0.020')
    """
    value = _real(value, "value")
    if digits is not None:
        if isinstance(digits, bool) or not isinstance(digits, Integral):
            raise TypeError(f"digits must be an integer, got {type(digits).__name__}")
        if not 0 <= digits <= MAX_DECIMALS:
            raise ValueError(f"digits must be between 0 and {MAX_DECIMALS}, got {digits}")
    if width is not None:
        width = float(_real(width, "width"))
        if width < 0:
            raise ValueError(f"width must be >= 0, got {width}")
    plus = "+" if signed else ""
    suffix = "%" if percent else ""
    if isinstance(value, int) and not percent:
        return f"{value:{plus},}"
    shown = 100.0 * value if percent else float(value)
    scale = 100.0 if percent else 1.0
    if digits is None:
        digits = decimals_for(width * scale) if width else max(0, _default_decimals(shown) - percent)
    if shown != 0 and round(abs(shown), digits) == 0:
        return (plus if shown > 0 else "") + scientific(shown) + suffix
    text = f"{shown:{plus},.{digits}f}"
    if float(text.replace(",", "")) == 0:
        text = text.lstrip("+-")  # -0.000 is zero
    return text + suffix


def table(frame: Any, digits: int | Mapping[str, int] | None = None, *, percent: Sequence[str] = (),
          na: str = "–", index: bool = False, escape: str | None = None) -> Any:
    """A data frame styled for the book: every number written by :func:`number`, the index hidden.

    Parameters
    ----------
    frame
        A ``pandas.DataFrame``.
    digits
        Decimals for every real column, or a mapping from column name to decimals (others by :func:`number`'s
        rule).
    percent
        Columns shown as percentages.
    na
        The text of a missing value.
    index
        Whether to show the index (a named index that labels the rows).
    escape
        ``"html"`` to show text cells' ``<``, ``>`` and ``&`` as characters (a claim's ``X <- Z``). Pass it here:
        a later ``.format(escape=...)`` on the returned Styler would replace the number formatting.

    Returns
    -------
    pandas.io.formats.style.Styler
        Chain ``.set_caption`` on it as needed.

    Examples
    --------
    >>> import pandas as pd
    >>> html = table(pd.DataFrame({"n": [1200], "r": [0.123456], "share": [0.5]}), percent=["share"]).to_html()
    >>> "1,200" in html and "0.123" in html and "50.0%" in html and "0.123456" not in html
    True
    >>> "X &lt;- Z" in table(pd.DataFrame({"path": ["X <- Z"], "r": [0.5]}), escape="html").to_html()
    True
    """
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    if isinstance(digits, Mapping):
        unknown = sorted(set(digits) - set(frame.columns))
        if unknown:
            raise ValueError(f"digits names columns the frame does not have: {unknown}")
    missing = sorted(set(percent) - set(frame.columns))
    if missing:
        raise ValueError(f"percent names columns the frame does not have: {missing}")

    def formatter(column: str):
        places = digits.get(column) if isinstance(digits, Mapping) else digits
        as_percent = column in percent

        def write(cell: Any) -> str:
            if np.ndim(cell) == 0 and pd.isna(cell):
                return na
            if isinstance(cell, (bool, np.bool_)) or not isinstance(cell, (Real, np.number)):
                return str(cell)
            return number(cell, places, percent=as_percent)

        return write

    styled = frame.style.format({column: formatter(column) for column in frame.columns}, escape=escape)
    return styled if index else styled.hide(axis="index")

"""The book's one number formatter (``causal_lessons.formatting``): its output always passes the page check, and
every number the book's sources turn into text goes through it."""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path

import book_pages
import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from causal_lessons import claims as C
from causal_lessons import notebook
from causal_lessons.formatting import MAX_DECIMALS, constant, decimals_for, number, scientific, table

ROOT = Path(__file__).resolve().parent.parent

magnitudes = st.floats(min_value=1e-9, max_value=1e6, allow_nan=False, allow_infinity=False)
values = st.one_of(magnitudes, magnitudes.map(lambda x: -x), st.just(0.0))
widths = st.one_of(st.none(), st.floats(min_value=0, max_value=1e7, allow_nan=False, allow_infinity=False))


def page_check(text: str) -> list[str]:
    """What the page check says of a sentence holding ``text`` (``tests/book_pages.py``)."""
    found = {"search_boxes": 1, "page_width": 100, "viewport": 100, "wide": [], "output_scroll": [],
             "input_scroll": [], "math_scroll": [], "errors": 0, "figures": [], "svgs": [], "inputs": [],
             "outputs": [], "prose": text, "paragraphs": [f"the difference is {text} here"],
             "tables": [{"index": [None], "cells": [text]}]}
    return book_pages.problems(found, 1280, "file:///page.html")


def parsed(text: str) -> float:
    """The number a reader reads in ``number``'s output."""
    text = text.replace(",", "").rstrip("%")
    if "×" in text:
        mantissa, power = text.split(" × 10")
        exponent = power.translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789"))
        return float(mantissa) * 10.0 ** int(exponent)
    return float(text)


@given(value=values, width=widths, percent=st.booleans(), signed=st.booleans())
def test_every_output_passes_the_page_check_and_reads_back(value, width, percent, signed):
    text = number(value, width=width, percent=percent, signed=signed)
    assert page_check(text) == [], text
    assert not re.search(r"\.\d{5,}", text), text
    assert "e" not in text and "nan" not in text.lower() and not text.startswith("-0.0" if value >= 0 else "+"), text
    target = 100 * value if percent else value
    if "×" in text:  # two significant digits
        tolerance = 0.051 * abs(target)
    else:
        decimals = len(text.rstrip("%").split(".")[1]) if "." in text else 0
        tolerance = 0.5 * 10.0 ** -decimals
    assert math.isclose(parsed(text), target, abs_tol=tolerance + 1e-9 * abs(target)), (value, text)


@given(value=values, low=st.floats(0, 1e3), high=st.floats(0, 1e3))
def test_every_interval_text_passes_the_page_check(value, low, high):
    ci = C.Interval(value, value - low, value + high, method="t over 10 seeds")
    text = ci.text()
    assert page_check(text) == [], text
    assert all(page_check(number(v, width=high + low)) == [] for v in (ci.low, ci.high))


@given(value=values, digits=st.integers(0, MAX_DECIMALS))
def test_explicit_digits_are_kept_unless_the_value_would_read_as_zero(value, digits):
    text = number(value, digits)
    if value != 0 and round(abs(value), digits) == 0:
        assert text == scientific(value)
    else:
        decimals = r"\.\d{%d}" % digits if digits else ""
        assert re.fullmatch(r"-?[\d,]+" + decimals, text), text


def test_the_precision_follows_the_interval():
    assert [decimals_for(w) for w in (0.03, 0.1, 0.5, 1.0, 12.0, 1e-9)] == [3, 2, 2, 1, 0, MAX_DECIMALS]
    assert C.Interval(0.0412, 0.0262, 0.0562).text() == "0.041 (95% CI 0.026 to 0.056)"
    assert C.Interval(0.412, 0.262, 0.562).text() == "0.41 (95% CI 0.26 to 0.56)"
    # The case: a difference near zero with an interval 0.03 wide.
    assert C.Interval(0.00042, -0.014, 0.016).text() == "4.2 × 10⁻⁴ (95% CI -0.014 to 0.016)"
    # An end that would read as zero gets the decimals it needs, its sign kept.
    assert C.Interval(0.27, 0.003, 0.53).text() == "0.27 (95% CI 0.003 to 0.53)"
    assert C.Interval(0.27, -0.00002, 0.53).text() == "0.27 (95% CI -2.0 × 10⁻⁵ to 0.53)"
    assert C.Interval(0.000855, -0.014, 0.016).text() == "0.001 (95% CI -0.014 to 0.016)"


def test_counts_percentages_and_scalars_of_every_kind():
    assert number(82081) == "82,081" and number(np.int64(1200)) == "1,200" and number(-3) == "-3"
    assert number(np.float32(0.25)) == "0.250" and number(torch.tensor(0.25)) == "0.250"
    assert number(np.array(0.5)) == "0.500" and number(-0.0) == "0.000" and number(-0.0001, 2) == "-1.0 × 10⁻⁴"
    assert number(0.05, percent=True) == "5.00%" and number(0.5, 0, percent=True) == "50%"
    assert number(1e-5, percent=True) == "1.0 × 10⁻³%"
    assert constant(0.05) == "0.05" and constant(1e-5) == "10⁻⁵" and constant(2.5e-5) == "2.5 × 10⁻⁵"
    assert constant(100000) == "100,000" and constant(3.0) == "3"


@pytest.mark.parametrize("bad, error, words", [
    (dict(value=float("nan")), ValueError, "value must be finite"),
    (dict(value=float("inf")), ValueError, "value must be finite"),
    (dict(value=True), TypeError, "value must be a real number"),
    (dict(value="0.5"), TypeError, "value must be a real number"),
    (dict(value=0.5, digits=5), ValueError, "digits must be between 0 and 4"),
    (dict(value=0.5, digits=1.0), TypeError, "digits must be an integer"),
    (dict(value=0.5, width=-1.0), ValueError, "width must be >= 0"),
    (dict(value=0.5, width=float("nan")), ValueError, "width must be finite"),
])
def test_bad_input_is_refused_by_name(bad, error, words):
    with pytest.raises(error, match=words):
        number(**bad)


def test_a_table_writes_every_number_by_the_formatter():
    frame = pd.DataFrame({"model": ["a", "b"], "n": [1200, 82081], "r": [0.123456, float("nan")],
                          "share": [0.5, 0.000001]})
    html = table(frame, {"r": 2}, percent=["share"]).to_html()
    for text in ("1,200", "82,081", "0.12", "–", "50.0%", "1.0 × 10⁻⁴%"):
        assert text in html, text
    assert "0.123456" not in html and "nan" not in html and ">0<" not in html
    escaped = table(frame.assign(model=["X <- Z", "b"]), escape="html").to_html()
    assert "X &lt;- Z" in escaped and "0.123" in escaped and "0.123456" not in escaped
    with pytest.raises(ValueError, match="percent names columns the frame does not have"):
        table(frame, percent=["missing"])
    with pytest.raises(TypeError, match="frame must be a pandas DataFrame"):
        table([[1, 2]])


def test_glue_writes_numbers_by_the_formatter():
    assert notebook.text(0.00042) == "4.2 × 10⁻⁴" and notebook.text(0.78912, digits=2) == "0.79"
    assert notebook.text(82081) == "82,081" and notebook.text("a phrase") == "a phrase"
    assert notebook.text(0.25, percent=True) == "25.0%" and notebook.text(True) is True


# ---------------------------------------------------------------------------------------------------------------
# Every number the book shows goes through the formatter: no format specs for real numbers in the book's sources.

#: A format spec that writes a real number: a precision, or the e/f/g/% types.
REAL_SPEC = re.compile(r"\.\d|[eEfFgG%]$")
#: The same inside a string literal: "{:.3f}", "{x:.0%}", "%.2f" (pandas and matplotlib format strings).
LITERAL_SPEC = re.compile(r"\{[\w.\[\]]*:[^{}\s'\"]*(?:\.\d+[eEfFgG%]?|[eEfFgG%])\}|%[-+ 0#]*\d*\.\d+[eEfFgG]")
MYST_SPEC = re.compile(r"\{glue(?::text)?\}`[^`:]+:[^`]+`")


def _code_of(path: Path) -> list[str]:
    """The Python code of a module, or the code cells of a notebook page (every cell: glue cells too)."""
    if path.suffix == ".py":
        return [path.read_text()]
    if not book_pages.toc_order.is_notebook(path):
        return []  # a page that is not executed: its code blocks are shell commands and examples
    import jupytext

    cells = [c.source for c in jupytext.read(path).cells if c.cell_type == "code"]
    return ["\n".join(line for line in c.splitlines() if not line.lstrip().startswith(("%", "!"))) for c in cells]


def _in_error_message(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Whether ``node`` is part of a ``raise`` or a ``warnings.warn`` call: an error message, not the book's text."""
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.Raise) or (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                                           and node.func.attr == "warn"):
            return True
    return False


def spec_problems(code: str) -> list[str]:
    """Where ``code`` writes a real number as text without ``causal_lessons.formatting`` (error messages aside)."""
    tree = ast.parse(code)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    out = []
    for node in ast.walk(tree):
        if _in_error_message(node, parents):
            continue
        if isinstance(node, ast.FormattedValue) and node.format_spec is not None:
            spec = "".join(v.value for v in node.format_spec.values if isinstance(v, ast.Constant))
            if REAL_SPEC.search(spec):
                out.append(f"line {node.lineno}: f-string spec {{{ast.unparse(node.value)}:{spec}}}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and LITERAL_SPEC.search(node.value):
            if not isinstance(parents.get(node), ast.JoinedStr):
                out.append(f"line {node.lineno}: format string {node.value!r}")
        elif isinstance(node, ast.keyword) and node.arg in {"precision", "float_format"}:
            out.append(f"line {node.value.lineno}: {node.arg}= (use causal_lessons.formatting.table)")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "round"
              and node.args and isinstance(node.args[0], ast.Constant)):
            out.append(f"line {node.lineno}: .round() for display (use causal_lessons.formatting)")
    return out


def book_sources() -> list[Path]:
    """The sources whose numbers reach a reader: the package (but the formatter), the book's pages and labs."""
    package = [p for p in (ROOT / "causal_lessons").rglob("*.py") if p.name != "formatting.py"]
    pages = [p for p in (ROOT / "book").rglob("*") if p.suffix in {".md", ".ipynb"} and p.name != "exercise.ipynb"
             and "_build" not in p.parts]
    return sorted(package + pages)


@pytest.mark.parametrize("path", book_sources(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_number_goes_through_the_formatter(path):
    problems = [f"{{glue:text}} with a format spec: {m.group(0)} (glue the number with digits=...)"
                for m in MYST_SPEC.finditer(path.read_text())] if path.suffix == ".md" else []
    for code in _code_of(path):
        problems += spec_problems(code)
    assert not problems, (f"{path.relative_to(ROOT)} writes numbers as text without causal_lessons.formatting "
                          "(number, table, or notebook.glue's digits/percent):\n" + "\n".join(problems))


def test_the_scan_catches_each_way_to_write_a_number():
    code = '''
x = 0.123456
a = f"{x:.3f} {x:.1%} {x:+.2e} {x:>8.2f} {x:g}"
b = "{:.2f}".format(x)
c = "%.3f" % x
frame.style.format(precision=3)
shown = frame.round(3)
ok = f"{n:,} {name:<6} {number(x)}"
raise ValueError(f"x must be below {x:.3g}")
'''
    found = "\n".join(spec_problems(code))
    for needle in ("{x:.3f}", "{x:.1%}", "{x:+.2e}", "{x:>8.2f}", "{x:g}", "'{:.2f}'", "'%.3f'", "precision=",
                   ".round()"):
        assert needle in found, needle
    assert "{n:,}" not in found and "name:<6" not in found and "below" not in found
    assert MYST_SPEC.search("the slope is {glue:text}`slope:.3f` per unit")
    assert not MYST_SPEC.search("the slope is {glue:text}`slope` per unit")

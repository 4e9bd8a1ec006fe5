"""Every notebook of the book (pages and labs) executed at the smoke size: the full size's data, shapes and models,
at most two optimisation steps per training loop and one seed (``CAUSAL_LESSONS_QUICK=smoke``). It proves on a CPU
that the full-size configuration builds, trains a step and plots, before a student with a GPU finds out.

Run by ``make smoke`` (``pytest -m smoke``), which reports each notebook's time; a plain ``pytest`` deselects these
tests (``conftest.py``). The runner is ``bench/full_size.py``'s, which also writes the full-size table.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import full_size  # noqa: E402  (bench/ is not a package)

from causal_lessons.runtime import TOLERANCE  # noqa: E402

pytestmark = pytest.mark.smoke

#: Seconds a notebook may take at the smoke size on two idle CPU cores: two steps per loop leave data generation,
#: model building and evaluation at full size, which must stay within minutes (and the pass within CI's time). A
#: notebook is stopped, and fails, only past ``runtime.TOLERANCE`` times as long (a busy machine is slower);
#: ``make smoke`` prints each notebook's time. The kernels use torch's default threads (unlike the book build's
#: one): the full size's large matrix products gain from a second core when the pass runs alone, as in CI.
BUDGET_S = 300


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """One claims cache for the whole pass, as in a book build: the appendix reuses the chapters' measurements."""
    return tmp_path_factory.mktemp("smoke-claims-cache")


@pytest.mark.parametrize("page", full_size.executed_docnames(ROOT))
def test_notebook_runs_at_the_smoke_size(page, cache, record_property):
    row = full_size.run(page, "smoke", cache, timeout=TOLERANCE * BUDGET_S)
    record_property("seconds", round(row.seconds, 1))
    print(f"{page} at the smoke size: {row.seconds:.1f} s on {row.device}")
    assert row.error is None, f"{page} fails at the smoke size: {row.error}"
    if re.fullmatch(r"book/\w+/(index|lab)", page):
        assert row.key_value is not None, (f"{page} reports no key result: call "
                                           "causal_lessons.notebook.key_result(what, value) once (bench/full_size.py)")

"""Test-run set-up: the quick size, a headless matplotlib, and the network guard (see netguard/sitecustomize.py)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUARD_DIR = Path(__file__).resolve().parent / "netguard"

os.environ["CAUSAL_LESSONS_QUICK"] = "1"
os.environ.setdefault("MPLBACKEND", "Agg")
_log = Path(tempfile.mkdtemp(prefix="causal-lessons-net-")) / "attempts.log"
_log.touch()
os.environ["CAUSAL_LESSONS_NETLOG"] = str(_log)
# Every Python subprocess (kernels, otter, jupyter-book) loads the guard through sitecustomize.
os.environ["PYTHONPATH"] = os.pathsep.join([str(GUARD_DIR), *filter(None, [os.environ.get("PYTHONPATH")])])
sys.path.insert(0, str(GUARD_DIR))

import sitecustomize as _guard  # noqa: E402  (the guard module above, loaded by path)

_guard.install(str(_log))

NETLOG = _log


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The smoke pass (every notebook at the full size's shapes, ``make smoke``) runs only when ``-m`` names it."""
    if "smoke" in (config.getoption("markexpr") or ""):
        return
    smoke = [item for item in items if item.get_closest_marker("smoke")]
    if smoke:
        config.hook.pytest_deselected(items=smoke)
        items[:] = [item for item in items if not item.get_closest_marker("smoke")]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    attempts = NETLOG.read_text(encoding="utf-8").strip()
    if attempts:
        print(f"\nNETWORK ACCESS ATTEMPTED during the tests (the run fails):\n{attempts}", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository root."""
    return ROOT


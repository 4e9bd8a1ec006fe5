"""``ruff check`` passes on the whole repository with the rule set in ``pyproject.toml`` (pyflakes, isort, bugbear
and pycodestyle's errors); the book's notebooks wrap imports at 88 characters (``book/ruff.toml``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _ruff() -> str:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is needed: pip install -e '.[dev]'"
    return ruff


def test_ruff_check_is_clean():
    proc = subprocess.run([_ruff(), "check", "--no-cache", "--output-format", "concise", str(ROOT)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_check_catches_each_rule_family(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import sys\nimport os\n\n\ndef f(x=[]):\n    return undefined_name\n")
    proc = subprocess.run([_ruff(), "check", "--no-cache", "--output-format", "concise",
                           "--config", str(ROOT / "pyproject.toml"), str(bad)], capture_output=True, text=True)
    for code in ("F401", "F821", "I001", "B006"):
        assert code in proc.stdout, f"ruff did not report {code}:\n{proc.stdout}"

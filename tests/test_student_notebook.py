"""A student's view: each generated student notebook, copied alone into an empty folder and run top to bottom in
a fresh virtual environment that has only what Colab preinstalls (torch, ipykernel). Its set-up cell installs the
course package (from a copy of this checkout, through CAUSAL_LESSONS_PIP_SOURCE) and otter-grader from the package
registry; with the answers filled in, ``grader.check`` passes every question.

This is the one test that reaches the network, and only the package registry, from pip in the fresh environment:
the network guard is off for that environment alone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from exercise_tools import ROOT, build, check_cells, reference_answers, submission

pytestmark = pytest.mark.fresh_env

TORCH_SPEC = os.environ.get("TORCH_SPEC", "torch==2.13.0")


def _unguarded_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"CAUSAL_LESSONS_NETLOG", "PYTHONPATH", "VIRTUAL_ENV"}}
    return {**env, **extra}


@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory) -> Path:
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", TORCH_SPEC, "ipykernel", "nbclient", "nbformat"],
                   check=True, env=_unguarded_env())
    return python


@pytest.fixture(scope="module")
def checkout_copy(tmp_path_factory) -> Path:
    """The package's sources, copied so that pip's build leaves the working tree untouched."""
    dest = tmp_path_factory.mktemp("checkout") / "causal-lessons"
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, dest / name)
    shutil.copytree(ROOT / "causal_lessons", dest / "causal_lessons",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


RUNNER = textwrap.dedent("""
    import sys, nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(sys.argv[1], as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="python3").execute()
    nbformat.write(nb, sys.argv[1])
""")


@pytest.mark.parametrize("slug", build.masters())
def test_student_notebook_runs_alone_in_a_fresh_environment(built, fresh_python, checkout_copy, slug, tmp_path):
    dist = built[slug]
    nb = submission(dist, slug, reference_answers(dist, slug))
    questions = list(check_cells(nb))
    nb.cells.append(nbformat.v4.new_code_cell(textwrap.dedent(f"""
        import sys
        assert sys.prefix == {str(fresh_python.parent.parent)!r}, sys.prefix
        scores = {{q: grader.check(q).grade for q in {questions!r}}}
        print("SCORES", scores)
        assert all(s == 1 for s in scores.values()), scores
    """)))
    folder = tmp_path / "student"
    folder.mkdir()
    path = folder / f"{slug}.ipynb"
    nbformat.write(nb, path)
    env = _unguarded_env(CAUSAL_LESSONS_PIP_SOURCE=str(checkout_copy), CAUSAL_LESSONS_QUICK="1",
                         JUPYTER_PATH="", JUPYTER_DATA_DIR=str(tmp_path / "jupyter"))
    proc = subprocess.run([str(fresh_python), "-c", RUNNER, str(path)], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-6000:]
    executed = nbformat.read(path, as_version=4)
    printed = "".join(o.get("text", "") for o in executed.cells[-1].outputs)
    assert "SCORES" in printed and all(f"'{q}': 1.0" in printed for q in questions), printed
    assert (folder / build.public_tests_dir(slug)).is_dir()

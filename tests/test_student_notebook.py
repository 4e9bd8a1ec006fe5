"""A student's view: each generated student notebook run top to bottom in a fresh virtual environment that has
only what Colab preinstalls (torch, ipykernel), with its kernel in an empty folder that does not hold the notebook
(in Colab the notebook is not a file beside the kernel). Its set-up cell installs the course package (from a copy
of this checkout, through CAUSAL_LESSONS_PIP_SOURCE) and otter-grader from the package registry; with the answers
filled in, ``grader.check`` passes every question.

This is the one test that reaches the network, and only the package registry, from pip in the fresh environment:
the network guard is off for that environment alone.
"""

from __future__ import annotations

import ast
import subprocess
import textwrap
from pathlib import Path

import nbformat
import pytest
from exercise_tools import (
    TORCH_SPEC,
    Builds,
    build,
    check_cells,
    copy_checkout,
    fresh_venv,
    reference_answers,
    submission,
    unguarded_env,
)

pytestmark = pytest.mark.fresh_env


@pytest.fixture(scope="session")
def built() -> Builds:
    return Builds()


@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory) -> Path:
    return fresh_venv(tmp_path_factory.mktemp("fresh") / "venv", TORCH_SPEC, "ipykernel", "nbclient", "nbformat")


@pytest.fixture(scope="module")
def checkout_copy(tmp_path_factory) -> Path:
    return copy_checkout(tmp_path_factory.mktemp("checkout") / "causal-lessons")


RUNNER = textwrap.dedent("""
    import os, sys, nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(sys.argv[1], as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": os.getcwd()}}).execute()
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
    folder = tmp_path / "student"  # the kernel's folder: empty, as in Colab
    folder.mkdir()
    (tmp_path / "opened").mkdir()
    path = tmp_path / "opened" / f"{slug}.ipynb"
    nbformat.write(nb, path)
    env = unguarded_env(CAUSAL_LESSONS_PIP_SOURCE=str(checkout_copy), CAUSAL_LESSONS_QUICK="1",
                         JUPYTER_PATH="", JUPYTER_DATA_DIR=str(tmp_path / "jupyter"))
    proc = subprocess.run([str(fresh_python), "-c", RUNNER, str(path)], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-6000:]
    executed = nbformat.read(path, as_version=4)
    printed = "".join(o.get("text", "") for o in executed.cells[-1].outputs)
    assert printed.startswith("SCORES ") and ast.literal_eval(printed.removeprefix("SCORES ")) == dict.fromkeys(
        questions, 1), printed
    assert (folder / build.public_tests_dir(slug)).is_dir()

"""Where instructors grade: each autograder zip installs what it needs in a fresh environment and grades there.

``otter grade`` (Docker) and Gradescope build a container from the zip: its ``setup.sh`` creates the conda
environment of its ``environment.yml`` -- a Python version, ``jupyter_server``, and with pip the pinned otter-grader
and the requirements that ``exercises/build.py`` declares (the course package, from the same source as the student
set-up cell). Docker is not available where these tests run, so this test does the same without conda: a fresh
virtual environment of the zip's Python version (checked) gets the zip's packages from the package registry and the
course package from the source the zip names (here a copy of this checkout); then that environment's ``otter run``
grades each exercise's reference solution at full marks and its blank notebook at zero, with the kernel importing
the package from the fresh environment.

``torch==2.13.0`` is installed first, as in the student test (Colab has it): the package's ``torch>=2.0`` is then
satisfied, where the registry's newest torch would be a CUDA build of several gigabytes. pip reaches the package
registry (the network guard is off for pip alone); the gradings run under the guard.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
import yaml
from exercise_tools import (
    GUARD_DIR,
    TORCH_SPEC,
    build,
    copy_checkout,
    fresh_venv,
    grade,
    reference_answers,
    student_notebook,
    submission,
    unguarded_env,
)

pytestmark = pytest.mark.fresh_env
SLUGS = build.masters()


def declared(zip_path: Path) -> tuple[str, list[str], list[str]]:
    """The zip's environment: (Python version, other conda packages, pip requirements)."""
    with zipfile.ZipFile(zip_path) as zf:
        env = yaml.safe_load(zf.read("environment.yml"))
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    python = next(d.removeprefix("python=") for d in conda if d.startswith("python="))
    return python, [d for d in conda if not d.startswith("python=") and d != "pip"], pip


@pytest.fixture(scope="module")
def zips(tmp_path_factory) -> dict[str, Path]:
    """Every exercise built with a copy of this checkout as the package's source."""
    source = copy_checkout(tmp_path_factory.mktemp("checkout") / "causal-lessons")
    out = tmp_path_factory.mktemp("zips")
    return {slug: build.build(slug, out / slug, source=str(source)) / f"{slug}-autograder.zip" for slug in SLUGS}


@pytest.fixture(scope="module")
def grader_python(zips, tmp_path_factory) -> Path:
    environments = {slug: declared(path) for slug, path in zips.items()}
    python, conda, pip = environments[SLUGS[0]]
    assert all(e == (python, conda, pip) for e in environments.values()), environments
    assert python == f"{sys.version_info.major}.{sys.version_info.minor}", "the zip declares another Python"
    assert any(str(Path(tmp_path_factory.getbasetemp())) in p for p in pip), f"the package is not required: {pip}"
    venv = fresh_venv(tmp_path_factory.mktemp("autograder") / "venv", TORCH_SPEC)
    subprocess.run([str(venv), "-m", "pip", "install", "-q", *conda, *pip], check=True, env=unguarded_env())
    return venv


@pytest.mark.parametrize("slug", SLUGS)
def test_autograder_installs_what_it_needs_and_grades_in_a_fresh_environment(zips, grader_python, slug, tmp_path):
    dist = zips[slug].parent
    where = tmp_path / "package.txt"
    reference = submission(dist, slug, reference_answers(dist, slug))
    reference.cells.append(nbformat.v4.new_code_cell(
        f"import pathlib, causal_lessons\npathlib.Path({str(where)!r}).write_text(causal_lessons.__file__)"))
    paths = [tmp_path / "reference.ipynb", tmp_path / "blank.ipynb"]
    nbformat.write(reference, paths[0])
    nbformat.write(student_notebook(dist, slug), paths[1])
    # As in the container: no size chosen, no kernels but the environment's own; the network guard stays on.
    env = unguarded_env(PYTHONPATH=str(GUARD_DIR), CAUSAL_LESSONS_NETLOG=os.environ.get("CAUSAL_LESSONS_NETLOG", ""),
                        JUPYTER_PATH="", JUPYTER_DATA_DIR=str(tmp_path / "jupyter"))
    env.pop("CAUSAL_LESSONS_QUICK", None)
    autograder = grade.Autograder.read(zips[slug])
    full, blank = grade.grade_many(autograder, paths, timeout=600, jobs=2, env=env, python=grader_python)
    assert full.status == grade.GRADED, f"{full.reason}\n{full.log[-4000:]}"
    assert full.scores == autograder.points, full.scores
    assert blank.status == grade.GRADED and not any(blank.scores.values()), blank.scores
    assert Path(where.read_text()).is_relative_to(grader_python.parent.parent), "the kernel imported another package"

"""Generate, for every otter master notebook in ``exercises/<slug>/<slug>.ipynb``, the student notebook,
its public tests and the autograder zip, in ``exercises/<slug>/dist/`` (generated: never edit by hand).

Usage::

    python exercises/build.py            # every exercise
    python exercises/build.py warmup     # one exercise

Otter Assign writes ``dist/student/<slug>.ipynb`` and ``dist/autograder/<slug>-autograder_<date>.zip``.
This script then

- renames the zip to ``dist/<slug>-autograder.zip`` (a stable name for instructors and tests), and
- replaces the student notebook's otter initialisation cell by a set-up cell that works in Colab: it installs
  the course package and otter-grader when they are missing (from ``CAUSAL_LESSONS_PIP_SOURCE``, default the
  course repository) and writes the public tests into ``./<slug>_public_tests``, where ``grader.check`` finds
  them (otter refuses tests kept in notebook metadata on Colab).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

EXERCISES = Path(__file__).resolve().parent
REPOSITORY = "https://github.com/causal-lessons/causal-lessons"
DEFAULT_PIP_SOURCE = f"causal-lessons @ git+{REPOSITORY}.git@main"
SETUP_MARKER = "# Course set-up"

SETUP_TEMPLATE = '''{marker}: installs the course package and otter-grader when they are missing (Colab, a fresh
# environment) and writes this exercise's public tests to ./{tests_dir}, where grader.check finds them.
# To install from elsewhere (a local checkout, a fork), set CAUSAL_LESSONS_PIP_SOURCE before starting Jupyter.
import importlib.util
import os
import pathlib
import subprocess
import sys

if importlib.util.find_spec("causal_lessons") is None or importlib.util.find_spec("otter") is None:
    source = os.environ.get("CAUSAL_LESSONS_PIP_SOURCE", {default!r})
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", source, "otter-grader"], check=True)

PUBLIC_TESTS = {tests}
pathlib.Path("{tests_dir}").mkdir(exist_ok=True)
for _name, _text in PUBLIC_TESTS.items():
    pathlib.Path("{tests_dir}", _name).write_text(_text)

import otter

grader = otter.Notebook("{notebook}", tests_dir="{tests_dir}")'''


def masters() -> list[str]:
    """Slugs of every exercise: folders holding a master notebook of the same name."""
    return sorted(p.name for p in EXERCISES.iterdir() if (p / f"{p.name}.ipynb").is_file())


def setup_cell_source(slug: str, public_tests: dict[str, str]) -> str:
    """The student notebook's first code cell (see the module docstring)."""
    tests = "{\n" + "".join(f"    {name!r}: {text!r},\n" for name, text in sorted(public_tests.items())) + "}"
    return SETUP_TEMPLATE.format(
        marker=SETUP_MARKER, default=DEFAULT_PIP_SOURCE, tests=tests, notebook=f"{slug}.ipynb",
        tests_dir=public_tests_dir(slug),
    )


def public_tests_dir(slug: str) -> str:
    """Folder the student notebook writes its public tests to. It must not be ``tests``: when the autograder
    executes a submission, ``./tests`` holds the hidden tests, and overwriting them would grade public tests only."""
    return f"{slug}_public_tests"


def build(slug: str, out: Path | None = None) -> Path:
    """Run Otter Assign on one master and post-process its output; return the output folder."""
    master = EXERCISES / slug / f"{slug}.ipynb"
    if not master.is_file():
        raise ValueError(f"slug must name a folder of exercises/ with a master notebook; {master} is missing")
    out = Path(out) if out is not None else EXERCISES / slug / "dist"
    if out.exists():
        shutil.rmtree(out)
    subprocess.run(
        [sys.executable, "-m", "otter", "assign", "--no-pdfs", str(master), str(out)],
        check=True, cwd=master.parent, env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    (zip_path,) = (out / "autograder").glob(f"{slug}-autograder_*.zip")
    zip_path.rename(out / f"{slug}-autograder.zip")

    student = out / "student" / f"{slug}.ipynb"
    nb = nbformat.read(student, as_version=4)
    public = {p.name: p.read_text() for p in sorted((out / "student" / "tests").glob("*.py"))}
    init = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "otter.Notebook(" in c.source]
    if len(init) != 1:
        raise RuntimeError(f"expected one otter initialisation cell in {student}, found {len(init)}")
    setup = nb.cells.pop(init[0])
    setup.source = setup_cell_source(slug, public)
    # The set-up cell goes right after the title, so the notebook opens with what it is about.
    title = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"), -1)
    nb.cells.insert(title + 1, setup)
    nbformat.write(nb, student)
    return out


def main(argv: list[str]) -> int:
    slugs = argv or masters()
    unknown = sorted(set(slugs) - set(masters()))
    if unknown:
        print(f"unknown exercises {unknown}; known: {masters()}", file=sys.stderr)
        return 2
    for slug in slugs:
        out = build(slug)
        print(json.dumps({"exercise": slug, "student": str(out / "student" / f"{slug}.ipynb"),
                          "autograder": str(out / f"{slug}-autograder.zip")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

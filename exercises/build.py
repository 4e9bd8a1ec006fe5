"""Generate, for every otter master notebook in ``exercises/<slug>/<slug>.ipynb``, the student notebook, its public
tests and the autograder zip in ``exercises/<slug>/dist/``, and the student version as a book page.

Usage::

    python exercises/build.py            # every exercise, into exercises/<slug>/dist/
    python exercises/build.py warmup     # one exercise
    python exercises/build.py --book     # the book pages book/<slug>/exercise.ipynb (committed to git)

Otter Assign writes ``dist/student/<slug>.ipynb`` and ``dist/autograder/<slug>-autograder_<date>.zip``. This
script

- declares the autograder's requirements before Otter Assign runs: the course package from the same pip source as
  the student set-up cell (``CAUSAL_LESSONS_PIP_SOURCE`` at build time, default the course repository), in a conda
  environment with this Python's version and the otter-grader version that built the zip, and torch's CPU build
  at this environment's torch version (PyTorch's CPU index as an extra index: the registry's Linux torch is a
  CUDA build of several gigabytes, slower to install and to grade with); ``tests/test_autograder_env.py``
  installs them into a fresh environment and grades there;
- renames the zip to ``dist/<slug>-autograder.zip`` (a stable name for instructors and tests) and writes
  ``dist/build.json`` (the hash of what the build read, so ``exercises/grade.py`` can warn about a stale zip);
- replaces the student notebook's otter initialisation cell by a set-up cell that works in Colab: it installs the
  course package and otter-grader when they are missing and writes the public tests into ``./<slug>_public_tests``,
  where ``grader.check`` finds them (otter refuses tests kept in notebook metadata on Colab).

Otter Assign runs with ``--no-run-tests``: the grading proofs (``tests/test_grading.py``) grade the reference
solution, and much more, with the zip itself.

``--book`` writes, for every exercise, the student notebook as ``book/<slug>/exercise.ipynb``: a title, a note on
how to work on it, the questions and public checks, no solutions, hidden tests or outputs, and notebook metadata
that keeps the book build from executing it. The pages use the default pip source (the published repository)
whatever ``CAUSAL_LESSONS_PIP_SOURCE`` says, and are committed; a test checks they equal what this script writes.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import yaml

EXERCISES = Path(__file__).resolve().parent
ROOT = EXERCISES.parent
# The course repository is set in one place, _config.yml, read by book/_ext/course_repo.py.
sys.path.insert(0, str(ROOT / "book" / "_ext"))
from course_repo import repository  # noqa: E402

REPO = repository()
DEFAULT_PIP_SOURCE = REPO.pip_requirement
SETUP_MARKER = "# Course set-up"
#: PyTorch's index of CPU-only wheels, an extra index of the autograder's pip requirements.
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# Exercises that belong to no chapter: their book page sits under "Getting started".
NOT_CHAPTERS = ("warmup",)

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
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", source, {otter!r}], check=True)

PUBLIC_TESTS = {tests}
pathlib.Path("{tests_dir}").mkdir(exist_ok=True)
for _name, _text in PUBLIC_TESTS.items():
    pathlib.Path("{tests_dir}", _name).write_text(_text)

import otter

# No notebook path: in Colab the notebook is not a file beside the kernel.
grader = otter.Notebook(tests_dir="{tests_dir}")'''

HOW_TO = """> **How to work on this exercise.** This is the student version of a graded exercise: the questions and the
> public checks, without solutions or hidden tests. [Open it in Colab]({colab}) or download the notebook (the
> download button at the top of the page) and run it in Jupyter. Its first code cell, hidden on this page, installs
> the course package and otter-grader when they are missing and writes the public checks. Replace each `...`, run
> the `grader.check(...)` cell below it, and hand in the executed notebook. The public checks test the form of an
> answer; the points come from hidden tests that your instructor runs."""


def masters() -> list[str]:
    """Slugs of every exercise: folders of ``exercises/`` holding a master notebook of the same name."""
    return sorted(p.name for p in EXERCISES.iterdir() if (p / f"{p.name}.ipynb").is_file())


def pip_source(source: str | None = None) -> str:
    """The pip requirement of the course package: ``source``, else ``CAUSAL_LESSONS_PIP_SOURCE``, else the
    course repository."""
    return source or os.environ.get("CAUSAL_LESSONS_PIP_SOURCE") or DEFAULT_PIP_SOURCE


def otter_requirement() -> str:
    """The otter-grader that builds the zips, pinned, so that students check with the version that grades."""
    return f"otter-grader=={importlib.metadata.version('otter-grader')}"


def torch_requirement() -> str:
    """The torch of the autograder's environment: this environment's version (the one that builds and, in the tests,
    proves the zips) without its local label (``+cpu``, ``+cu121``). ``2.13.0+cpu`` satisfies ``torch==2.13.0``
    and ranks above the registry's ``2.13.0``, so with :data:`TORCH_CPU_INDEX` as an extra index pip installs the
    CPU build."""
    return f"torch=={importlib.metadata.version('torch').split('+')[0]}"


def autograder_requirements(source: str) -> list[str]:
    """The lines of the autograder's ``requirements.txt``: PyTorch's CPU index, the pinned torch and the course
    package from ``source``. Otter copies them into the pip section of the zip's ``environment.yml``; conda and
    mamba write that section to a requirements file for ``pip install -r``, where an option line is valid."""
    return [f"--extra-index-url {TORCH_CPU_INDEX}", torch_requirement(), source]


def python_version() -> str:
    """The Python of the autograder's environment: the one that builds (and, in the tests, proves) the zip."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def public_tests_dir(slug: str) -> str:
    """Folder the student notebook writes its public tests to. It must not be ``tests``: when the autograder
    executes a submission, ``./tests`` holds the hidden tests, and overwriting them would grade public tests only."""
    return f"{slug}_public_tests"


def setup_cell_source(slug: str, public_tests: dict[str, str], source: str) -> str:
    """The student notebook's first code cell (see the module docstring)."""
    tests = "{\n" + "".join(f"    {name!r}: {text!r},\n" for name, text in sorted(public_tests.items())) + "}"
    return SETUP_TEMPLATE.format(marker=SETUP_MARKER, default=source, otter=otter_requirement(), tests=tests,
                                 tests_dir=public_tests_dir(slug))


def build_hash(folder: Path, slug: str, source: str) -> str:
    """What a build's output depends on: the master, this script, otter's, torch's and Python's versions, the pip
    source. (Otter Assign runs without executing the notebook, so the package's code does not enter.)"""
    digest = hashlib.sha256()
    for part in ((folder / f"{slug}.ipynb").read_bytes(), Path(__file__).read_bytes(),
                 otter_requirement().encode(), torch_requirement().encode(), python_version().encode(),
                 source.encode()):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def _prepare_master(folder: Path, slug: str, work: Path, source: str) -> Path:
    """Copy the exercise folder to ``work`` and declare the autograder's requirements in the master's
    ASSIGNMENT CONFIG there (the master in git stays as its authors wrote it)."""
    shutil.copytree(folder, work, ignore=shutil.ignore_patterns("dist", "__pycache__", ".ipynb_checkpoints"))
    master = work / f"{slug}.ipynb"
    nb = nbformat.read(master, as_version=4)
    configs = [c for c in nb.cells if c.cell_type == "raw" and c.source.lstrip().startswith("# ASSIGNMENT CONFIG")]
    if len(configs) != 1:
        raise ValueError(f"{folder / master.name}: expected one '# ASSIGNMENT CONFIG' raw cell, found {len(configs)}")
    config = yaml.safe_load(configs[0].source.split("\n", 1)[1]) or {}
    declared = sorted({"requirements", "environment", "python_version"} & set(config))
    if declared:
        raise ValueError(f"{folder / master.name}: remove {declared} from ASSIGNMENT CONFIG; exercises/build.py "
                         "declares the autograder's requirements (the course package, a CPU torch)")
    (work / "requirements.txt").write_text("\n".join(autograder_requirements(source)) + "\n")
    config.update(requirements="requirements.txt", python_version=python_version())
    configs[0].source = "# ASSIGNMENT CONFIG\n" + yaml.safe_dump(config, sort_keys=False)
    nbformat.write(nb, master)
    return master


def build(slug: str, out: Path | None = None, *, folder: Path | None = None, source: str | None = None) -> Path:
    """Run Otter Assign on one master and post-process its output; return the output folder.

    ``folder`` holds ``<slug>.ipynb`` (default ``exercises/<slug>``); ``out`` defaults to ``<folder>/dist``;
    ``source`` is the pip requirement of the course package (default :func:`pip_source`).
    """
    folder = Path(folder) if folder is not None else EXERCISES / slug
    if not (folder / f"{slug}.ipynb").is_file():
        raise ValueError(f"slug must name a master notebook; {folder / f'{slug}.ipynb'} is missing")
    source = pip_source(source)
    out = Path(out) if out is not None else folder / "dist"
    if out.exists():
        shutil.rmtree(out)
    with tempfile.TemporaryDirectory(prefix=f"assign-{slug}-") as tmp:
        master = _prepare_master(folder, slug, Path(tmp) / slug, source)
        subprocess.run([sys.executable, "-m", "otter", "assign", "--no-pdfs", "--no-run-tests", str(master), str(out)],
                       check=True, cwd=master.parent, stdout=subprocess.DEVNULL)
    (zip_path,) = (out / "autograder").glob(f"{slug}-autograder_*.zip")
    zip_path.rename(out / f"{slug}-autograder.zip")
    (out / "build.json").write_text(json.dumps({"exercise": slug, "hash": build_hash(folder, slug, source),
                                                "pip_source": source}, indent=1) + "\n")

    student = out / "student" / f"{slug}.ipynb"
    nb = nbformat.read(student, as_version=4)
    public = {p.name: p.read_text() for p in sorted((out / "student" / "tests").glob("*.py"))}
    init = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "otter.Notebook(" in c.source]
    if len(init) != 1:
        raise RuntimeError(f"expected one otter initialisation cell in {student}, found {len(init)}")
    setup = nb.cells.pop(init[0])
    setup.source = setup_cell_source(slug, public, source)
    # The set-up cell goes right after the title, so the notebook opens with what it is about.
    title = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"), -1)
    nb.cells.insert(title + 1, setup)
    nbformat.write(nb, student)
    format_notebook(student)
    return out


def format_notebook(path: Path) -> None:
    """Format a notebook's code cells as the book's column wants them (``ruff format``, 88 characters): the student
    notebook is also a page of the book."""
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        raise RuntimeError("ruff is needed to format the student notebook: pip install -e '.[grade]'")
    subprocess.run([ruff, "format", "--quiet", "--no-cache", "--line-length=88", str(path)], check=True)


def book_page_path(slug: str) -> Path:
    return ROOT / "book" / slug / "exercise.ipynb"


def colab_url(slug: str) -> str:
    """The Colab link of a committed book page (Colab opens notebooks straight from GitHub)."""
    return REPO.colab_url(book_page_path(slug).relative_to(ROOT).as_posix())


def book_page(slug: str, dist: Path) -> nbformat.NotebookNode:
    """The book page of an exercise, from its generated student notebook (see the module docstring)."""
    nb = nbformat.read(dist / "student" / f"{slug}.ipynb", as_version=4)
    first = nb.cells[0] if nb.cells else None
    if first is None or first.cell_type != "markdown" or not first.source.startswith("# "):
        raise ValueError(f"exercises/{slug}/{slug}.ipynb: the first cell after ASSIGNMENT CONFIG must be a "
                         "markdown title ('# ...'): it titles the book page")
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(HOW_TO.format(colab=colab_url(slug))))
    for i, cell in enumerate(nb.cells):
        cell.id = f"{slug}-{i}"  # stable ids: the committed page must equal a fresh build
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            if SETUP_MARKER in cell.source:
                cell.metadata["tags"] = sorted({*cell.metadata.get("tags", []), "remove-cell"})
    nb.metadata["mystnb"] = {"execution_mode": "off"}
    return nb


def toc_entry(slug: str) -> str:
    where = 'the "Getting started" part' if slug in NOT_CHAPTERS else f"the sections of book/{slug}/index"
    return f"- file: book/{slug}/exercise    # in _toc.yml, under {where}"


def write_book_pages(slugs: list[str]) -> list[Path]:
    """Write ``book/<slug>/exercise.ipynb`` for each slug, built with the published pip source."""
    written = []
    with tempfile.TemporaryDirectory(prefix="book-exercises-") as tmp:
        for slug in slugs:
            page = book_page(slug, build(slug, Path(tmp) / slug, source=DEFAULT_PIP_SOURCE))
            path = book_page_path(slug)
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(page, path)
            written.append(path)
    return written


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("slugs", nargs="*", help="exercises to build (default: all)")
    parser.add_argument("--book", action="store_true", help="write the book pages book/<slug>/exercise.ipynb")
    args = parser.parse_args(argv)
    slugs = args.slugs or masters()
    unknown = sorted(set(slugs) - set(masters()))
    if unknown:
        print(f"unknown exercises {unknown}; known: {masters()}", file=sys.stderr)
        return 2
    if args.book:
        for path in write_book_pages(slugs):
            print(f"wrote {path.relative_to(ROOT)}")
        print("Each page must be listed in _toc.yml (only pages listed there are built):")
        for slug in slugs:
            print("  " + toc_entry(slug))
        return 0
    for slug in slugs:
        out = build(slug)
        print(json.dumps({"exercise": slug, "student": str(out / "student" / f"{slug}.ipynb"),
                          "autograder": str(out / f"{slug}-autograder.zip")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

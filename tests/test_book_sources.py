"""The book's sources, checked without building it: code formatted to the column, notebooks stored without
outputs, and the course repository's address written in one place (``_config.yml``) and generated everywhere else
(``book/_ext/course_repo.py``)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import course_repo  # noqa: E402  (book/_ext is not a package)
from book_pages import is_notebook, source_of, toc_files  # noqa: E402

#: The column of a code cell at 1280 px holds 88 characters (book/_static/causal-lessons.css).
LINE_LENGTH = 88


def ruff() -> str:
    found = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert found, "ruff is a dev dependency: pip install -e '.[dev]'"
    return found


def code_cells(path: Path) -> list[str]:
    """The code cells a reader sees on a notebook page, ``.ipynb`` or MyST markdown (read by jupytext, as the book
    build does); cells tagged ``remove-cell`` (set-up, glue) are not on the page."""
    import jupytext

    return [cell.source for cell in jupytext.read(path).cells
            if cell.cell_type == "code" and "remove-cell" not in cell.metadata.get("tags", [])]


def format_problems(path: Path, tmp: Path) -> list[str]:
    """Lines longer than the column, and ``ruff format``'s diff, for the code cells of ``path``."""
    cells = code_cells(path)
    out = [f"cell {i + 1}: {len(line)} characters: {line.strip()[:70]}..." for i, cell in enumerate(cells)
           for line in cell.splitlines() if len(line) > LINE_LENGTH]
    copy = tmp / (path.stem + ".ipynb")
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]), copy)
    proc = subprocess.run([ruff(), "format", "--check", "--diff", "--no-cache", f"--line-length={LINE_LENGTH}",
                           str(copy)], capture_output=True, text=True)
    if proc.returncode:
        out.append(f"not formatted as `ruff format --line-length {LINE_LENGTH}` writes it:\n{proc.stdout[-3000:]}"
                   f"{proc.stderr[-500:]}")
    return out


def fix_command(path: Path) -> str:
    rel = path.relative_to(ROOT)
    if path.suffix == ".ipynb":
        return f"ruff format --line-length {LINE_LENGTH} {rel}"
    return f'jupytext --pipe "ruff format --line-length {LINE_LENGTH} {{}}" {rel}'


@pytest.mark.parametrize("page", [page for page in toc_files() if is_notebook(page)])
def test_code_is_formatted_to_the_column(page, tmp_path):
    path = source_of(page)
    problems = format_problems(path, tmp_path)
    assert not problems, (f"{page}: code cells must fit the {LINE_LENGTH}-character column (fix: "
                          f"{fix_command(path)}; a long string is split by hand):\n" + "\n".join(problems))


def test_the_format_check_fails_unformatted_code(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n"
                    "kernelspec:\n  display_name: Python 3\n  language: python\n  name: python3\n---\n\n# Page\n\n"
                    "```{code-cell} ipython3\nx = {'a':1}\nprint(f'" + "y" * 90 + "')\n```\n")
    (tmp_path / "out").mkdir()
    problems = "\n".join(format_problems(page, tmp_path / "out"))
    assert "cell 1: 100 characters" in problems and "not formatted" in problems, problems


def test_notebooks_in_git_carry_no_outputs():
    for path in ROOT.glob("**/*.ipynb"):
        if any(part in {".venv", "_build", "dist", ".ipynb_checkpoints"} for part in path.parts):
            continue
        nb = nbformat.read(path, as_version=4)
        dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
        assert not dirty, f"{path.relative_to(ROOT)} has outputs in cells {dirty}"


# ---------------------------------------------------------------------------------------------------------------
# The repository's address: one line of _config.yml.

def test_every_notebook_installs_from_the_configured_repository():
    repo = course_repo.repository()
    stale = {str(p.relative_to(ROOT)): course_repo.install_cell_problems(p, repo) for p in course_repo.book_notebooks()}
    stale = {p: problems for p, problems in stale.items() if problems}
    assert not stale, f"run `python book/_ext/course_repo.py sync`: {json.dumps(stale, indent=1)}"


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split("\n")
    out = []
    for name in filter(None, listed):
        path = ROOT / name
        if path.is_file() and "causal_lessons/data" not in name and path.suffix not in {".npz", ".png", ".zip"}:
            out.append(path)
    return out


def address_written_outside_its_place(root: Path, files: list[Path], repo: course_repo.Repository) -> list[str]:
    """Files (other than ``_config.yml``, the README, the notebooks' generated install cells and the exercises'
    generated student pages) that spell out the course repository's address, and README addresses that differ
    from the configured one."""
    pattern = course_repo.address_pattern(repo)
    out = []
    for path in files:
        rel = path.relative_to(root).as_posix()
        if rel == "_config.yml":
            continue
        text = path.read_text(errors="replace")
        if path.suffix == ".ipynb" and path in course_repo.book_notebooks(root):
            nb = nbformat.reads(text, as_version=4)
            code = [c for c in nb.cells if c.cell_type == "code"]
            text = "\n".join(c.source for c in code[1:])  # the first is the install cell, checked above
        if path.name == "exercise.ipynb" and path.parent.parent == root / "book":
            # exercises/build.py writes the set-up cell from course_repo: only the configured requirement may appear
            text = text.replace(repo.pip_requirement, "")
        if rel == "README.md":
            if course_repo.readme_text(text, repo) != text:
                out.append("README.md: an address differs from _config.yml (python book/_ext/course_repo.py sync)")
            continue
        for match in pattern.finditer(text):
            line = text[:match.start()].count("\n") + 1
            out.append(f"{rel}:{line}: {match.group(0)}")
    return out


def test_the_repository_address_is_written_in_one_place():
    repo = course_repo.repository()
    found = address_written_outside_its_place(ROOT, tracked_text_files(), repo)
    assert not found, ("the course repository's address is set in _config.yml only; read it with "
                       "book/_ext/course_repo.py (repository(), .pip_requirement, .colab_url()):\n" + "\n".join(found))


def test_a_fork_changes_one_line_and_syncs(tmp_path):
    """Change the address in _config.yml: the checks name every stale place, and `sync` fixes them all."""
    (tmp_path / "book" / "lab").mkdir(parents=True)
    # Spelt in parts, so that this file does not itself hold the address it checks for.
    old = course_repo.Repository(f"https://github.com/{course_repo.PACKAGE}/{course_repo.PACKAGE}")
    fork = course_repo.Repository(f"https://github.com/a-fork/{course_repo.PACKAGE}", branch="teaching")
    (tmp_path / "_config.yml").write_text(f"repository:\n  url: {fork.url}\n  branch: {fork.branch}\n")
    lab = tmp_path / "book" / "lab" / "lab.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Lab"),
                                         nbformat.v4.new_code_cell(course_repo.install_cell(old)),
                                         nbformat.v4.new_code_cell("print(1)")])
    nbformat.write(nb, lab)
    readme = tmp_path / "README.md"
    readme.write_text(f"git clone {old.url}.git\n`pip install \"{old.pip_requirement}\"`\n"
                      f"{old.colab_url('book/lab/lab.ipynb')}.\n")
    notes = tmp_path / "notes.md"
    notes.write_text(f"see {old.url}/issues\n")
    exercise = tmp_path / "book" / "lab" / "exercise.ipynb"  # written by exercises/build.py from course_repo
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"source = {fork.pip_requirement!r}")]),
                   exercise)
    assert address_written_outside_its_place(tmp_path, [exercise], fork) == []
    assert address_written_outside_its_place(tmp_path, [exercise], old) != [], "a stale exercise page is caught"
    assert course_repo.repository(tmp_path / "_config.yml") == course_repo.Repository(fork.url, "teaching")
    assert course_repo.install_cell_problems(lab, fork) == [
        "its first code cell is not the install cell generated from _config.yml",
        "its install cell is not tagged remove-cell (Colab runs it, the book hides it)"]
    found = address_written_outside_its_place(tmp_path, [readme, notes, lab], fork)
    assert found == ["README.md: an address differs from _config.yml (python book/_ext/course_repo.py sync)",
                     f"notes.md:1: github.com/{course_repo.PACKAGE}/{course_repo.PACKAGE}"]

    changed = course_repo.sync(tmp_path, fork)
    assert sorted(p.name for p in changed) == ["README.md", "lab.ipynb"]
    assert course_repo.install_cell_problems(lab, fork) == []
    assert nbformat.read(lab, as_version=4).cells[2].source == "print(1)"
    assert readme.read_text() == (f"git clone {fork.url}.git\n`pip install \"{fork.pip_requirement}\"`\n"
                                  f"{fork.colab_url('book/lab/lab.ipynb')}.\n")
    assert address_written_outside_its_place(tmp_path, [readme, lab], fork) == []


def test_repository_addresses():
    repo = course_repo.Repository("https://github.com/owner/name", "dev", "docs")
    assert repo.pip_requirement == "causal-lessons @ git+https://github.com/owner/name.git@dev"
    assert repo.colab_url("book/x/lab.ipynb") == \
        "https://colab.research.google.com/github/owner/name/blob/dev/docs/book/x/lab.ipynb"
    for bad in ("github.com/owner/name", "https://github.com/owner/name.git", "https://gitlab.com/a/b"):
        with pytest.raises(ValueError, match="repository.url"):
            course_repo.Repository(bad)
    with pytest.raises(ValueError, match="repository.branch"):
        course_repo.Repository("https://github.com/owner/name", "two words")


def test_the_install_cell_is_formatted_and_installs_nothing_here(tmp_path, monkeypatch):
    source = course_repo.install_cell(course_repo.repository())
    copy = tmp_path / "cell.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]), copy)
    assert subprocess.run([ruff(), "format", "--check", "--no-cache", f"--line-length={LINE_LENGTH}", str(copy)],
                          capture_output=True).returncode == 0, source
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *args, **kwargs: calls.append(args))
    exec(compile(source, "install-cell", "exec"), {"__name__": "cell"})
    assert calls == [], "where the package is importable (the book build) the install cell must not run pip"


def test_the_colab_badge_is_served_with_the_book():
    svg = (ROOT / "book" / "_static" / "colab-badge.svg").read_text()
    assert "<svg" in svg and "Open in Colab" in svg
    assert "href" not in svg and "url(" not in svg, "the badge must not load anything from the network"


def test_the_lab_job_table_reads_each_labs_job(tmp_path, monkeypatch):
    """``{lab-jobs}`` on "How to use": one row per lab and size from ``<slug>.lab.job(at)``; a chapter without a
    lab module is named (the build warns, so fails)."""
    import course_pages

    package = tmp_path / "fakecourse"
    (package / "one").mkdir(parents=True)
    (package / "two").mkdir()
    for folder in (package, package / "one", package / "two"):
        (folder / "__init__.py").write_text("")
    (package / "one" / "lab.py").write_text(
        "from causal_lessons.runtime import Job, steps\n\n"
        "def job(at=None):\n"
        "    return Job('an MLP', at, steps(100, 4_000, at=at), 2_500_000)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    rows, missing = course_pages.lab_job_rows(["one", "two"], package="fakecourse")
    assert rows == [("one", "an MLP", "quick", 100, 2_500_000, 250_000_000),
                    ("one", "an MLP", "full", 4_000, 2_500_000, 10_000_000_000)]
    assert missing == ["two"]


def test_the_build_report_lists_pages_in_the_books_order_with_a_status_in_words():
    import course_pages

    executed = {"book/b/lab": {"runtime": 75.25, "succeeded": True, "error": None},
                "book/a/index": {"runtime": 3.04, "succeeded": True, "error": None},
                "book/z/extra": {"runtime": 1.0, "succeeded": True, "error": None},
                "book/c/lab": {"runtime": 2.0, "succeeded": False, "error": "NameError: x\nTraceback ..."}}
    rows = course_pages.build_report_rows(executed, ["intro", "book/a/index", "book/b/lab", "book/c/lab"], 60)
    assert rows == [("book/a/index", "3.0", "ran"), ("book/b/lab", "75.2", "ran, over the 60 s budget"),
                    ("book/c/lab", "2.0", "failed: NameError: x"), ("book/z/extra", "1.0", "ran")]


@pytest.mark.parametrize("master", sorted(ROOT.glob("exercises/*/*.ipynb")), ids=lambda p: p.parent.name)
def test_the_teaching_plan_reads_every_question_of_every_master(master):
    from exercise_tools import master_questions

    from causal_lessons.notebook import exercise_questions

    plan = exercise_questions(master)
    questions = master_questions(master)
    assert [q["name"] for q in plan] == list(questions)
    assert [q["points"] for q in plan] == [float(q["config"]["points"]) for q in questions.values()]
    assert all(q["title"] and q["title"] in questions[q["name"]]["text"] for q in plan)


def test_prose_words_count_prose_only(tmp_path):
    from causal_lessons.notebook import prose_words

    page = tmp_path / "page.md"
    page.write_text("---\nkernelspec: {}\n---\n# A title\n\nSome prose here.\n")
    base = prose_words(page)
    page.write_text(page.read_text() + "\n```{code-cell} ipython3\nlots = of + code * words\n```\n")
    assert prose_words(page) == base
    page.write_text(page.read_text() + "\nFive more words of prose.\n")
    assert prose_words(page) == base + 5

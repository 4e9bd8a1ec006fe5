"""Helpers for the grading proofs: build exercises, make submissions, grade them with otter's autograder."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("exercise_build", ROOT / "exercises" / "build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)

CHECK = re.compile(r'grader\.check\("([^"]+)"\)')


def check_cells(nb: nbformat.NotebookNode) -> dict[str, int]:
    """``{question: index of its grader.check cell}``."""
    found = {}
    for i, cell in enumerate(nb.cells):
        match = CHECK.fullmatch(cell.source.strip()) if cell.cell_type == "code" else None
        if match:
            found[match.group(1)] = i
    return found


def answer_cell(nb: nbformat.NotebookNode, question: str) -> int:
    """Index of the answer cell of ``question``: by the course's convention, the code cell before its check."""
    idx = check_cells(nb)[question] - 1
    if nb.cells[idx].cell_type != "code":
        raise AssertionError(f"{question}: the cell before grader.check must be the answer cell")
    return idx


def reference_answers(dist: Path, slug: str) -> dict[str, str]:
    """The solution code of every question, from the generated solution notebook."""
    nb = nbformat.read(dist / "autograder" / f"{slug}.ipynb", as_version=4)
    return {q: nb.cells[answer_cell(nb, q)].source for q in check_cells(nb)}


def wrong_answers(slug: str) -> dict[str, list[str]]:
    """``{question: [wrong answer code, ...]}`` from ``exercises/<slug>/wrong_answers.yml`` (a string or a list
    of strings per question)."""
    return _answers(slug, "wrong_answers.yml")


def right_answers(slug: str) -> dict[str, list[str]]:
    """``{question: [right-but-different answer code, ...]}`` from ``exercises/<slug>/right_answers.yml``."""
    return _answers(slug, "right_answers.yml")


def _answers(slug: str, filename: str) -> dict[str, list[str]]:
    path = ROOT / "exercises" / slug / filename
    if not path.is_file():
        return {}
    raw = yaml.safe_load(path.read_text()) or {}
    return {q: [v] if isinstance(v, str) else list(v) for q, v in raw.items()}


def master_questions(slug: str) -> dict[str, dict]:
    """``{question: {"config": its BEGIN QUESTION config, "text": its markdown, "answers": names the solution
    assigns}}`` read from the master notebook."""
    nb = nbformat.read(ROOT / "exercises" / slug / f"{slug}.ipynb", as_version=4)
    questions: dict[str, dict] = {}
    current = None
    for cell in nb.cells:
        source = cell.source.strip()
        if cell.cell_type == "raw" and source.startswith("# BEGIN QUESTION"):
            config = yaml.safe_load(source.split("\n", 1)[1])
            current = questions.setdefault(config["name"], {"config": config, "text": "", "answers": []})
        elif cell.cell_type == "raw" and source.startswith("# END QUESTION"):
            current = None
        elif current is not None and cell.cell_type == "markdown":
            current["text"] += cell.source + "\n"
        elif current is not None and cell.cell_type == "code" and "# SOLUTION" in cell.source:
            for line in cell.source.splitlines():
                match = re.match(r"([A-Za-z_]\w*)\s*=[^=]", line)
                if match and "# SOLUTION" in line and match.group(1) not in current["answers"]:
                    current["answers"].append(match.group(1))
    return questions


def student_notebook(dist: Path, slug: str) -> nbformat.NotebookNode:
    return nbformat.read(dist / "student" / f"{slug}.ipynb", as_version=4)


def submission(dist: Path, slug: str, answers: dict[str, str]) -> nbformat.NotebookNode:
    """The student notebook with the given questions answered (others left blank)."""
    nb = student_notebook(dist, slug)
    for question, code in answers.items():
        nb.cells[answer_cell(nb, question)].source = code
    return nb


def grade(dist: Path, slug: str, nb: nbformat.NotebookNode, workdir: Path) -> dict[str, float]:
    """Grade a submission with the autograder zip (``otter run``, no Docker); ``{question: fraction}``."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"{slug}.ipynb"
    nbformat.write(nb, path)
    out = workdir / "out"
    out.mkdir(exist_ok=True)
    proc = subprocess.run(
        [sys.executable, "-m", "otter", "run", "-a", str(dist / f"{slug}-autograder.zip"), "-o", str(out), str(path)],
        capture_output=True, text=True, cwd=workdir, env=os.environ.copy(), timeout=600,
    )
    results = out / "results.json"
    if not results.exists():
        raise AssertionError(f"otter run wrote no results:\n{proc.stdout}\n{proc.stderr}")
    tests = json.loads(results.read_text())["tests"]
    return {t["name"]: t["score"] / t["max_score"] for t in tests if t.get("max_score")}

"""The instructors' batch command (``exercises/grade.py``, ``make grade``): one CSV with a row per submission and a
column per question, which survives a submission that crashes its kernel, one that never finishes (killed at the
time limit, with every process it started) and a file that is not a notebook. It grades in its bubblewrap sandbox
(``make sandbox``); ``tests/test_grade_sandbox.py`` proves the isolation and the integrity flags."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import uuid

import nbformat
import psutil
import pytest
from exercise_tools import ROOT, Exercise, built, grade, reference_answers, student_notebook, submission

pytestmark = pytest.mark.grading
GRADE = ROOT / "exercises" / "grade.py"
TIMEOUT = 30  # seconds: far above the warm-up's grading time, and what the hanging submission costs


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    problem = grade.sandbox_problem()
    if problem:
        pytest.fail(f"the grading sandbox cannot run here: {problem}")
    dist = built(Exercise.course("warmup"))
    folder = tmp_path_factory.mktemp("submissions")
    tmproot = folder.parent / "tmproot"  # the gradings' folders: every process of theirs names it
    tmproot.mkdir()
    marker = f"hanging-child-{uuid.uuid4().hex}"
    answers = reference_answers(dist, "warmup")
    first = next(iter(answers))
    # The hanging cell starts a process of its own (named by the marker), then sleeps.
    hang = (f"import subprocess, sys, time\nsubprocess.Popen([sys.executable, '-c', 'import time; time.sleep(3600)  "
            f"# {marker}'], start_new_session=True)\ntime.sleep(3600)")
    nbformat.write(submission(dist, "warmup", answers), folder / "full.ipynb")
    nbformat.write(student_notebook(dist, "warmup"), folder / "blank.ipynb")
    nbformat.write(submission(dist, "warmup", {**answers, first: "import os\nos._exit(1)"}), folder / "crash.ipynb")
    nbformat.write(submission(dist, "warmup", {**answers, first: hang}), folder / "hang.ipynb")
    (folder / "broken.ipynb").write_text("not a notebook")
    (folder / "notes.txt").write_text("not a submission: ignored")
    out = folder.parent / "scores.csv"
    proc = subprocess.run([sys.executable, str(GRADE), "--autograder", str(dist / "warmup-autograder.zip"),
                           str(folder), "--out", str(out), "--timeout", str(TIMEOUT), "--jobs", "2"],
                          capture_output=True, text=True, timeout=600, env={**os.environ, "TMPDIR": str(tmproot)})
    assert proc.returncode == 0, proc.stderr
    with open(out, newline="") as f:
        rows = list(csv.reader(f))
    left = [p.pid for p in psutil.process_iter(["cmdline", "status"])
            if p.info["status"] != psutil.STATUS_ZOMBIE
            and any(n in " ".join(p.info["cmdline"] or []) for n in (marker, str(tmproot)))]
    return {"header": rows[0], "rows": {r[0]: dict(zip(rows[0], r)) for r in rows[1:]},
            "order": [r[0] for r in rows[1:]], "stdout": proc.stdout, "left": left,
            "logs": folder.parent / "scores-logs", "questions": list(answers)}


def test_one_row_per_notebook_and_one_column_per_question(graded):
    assert graded["header"] == ["submission", *graded["questions"], "total", "status", "reason", "seconds", "flags"]
    assert graded["order"] == ["blank.ipynb", "broken.ipynb", "crash.ipynb", "full.ipynb", "hang.ipynb"]
    assert "2 of 5 submissions graded in the bubblewrap sandbox" in graded["stdout"]


def test_reference_scores_every_point_and_the_blank_none(graded):
    full, blank = graded["rows"]["full.ipynb"], graded["rows"]["blank.ipynb"]
    assert [full[q] for q in graded["questions"]] == ["1"] * len(graded["questions"])
    assert full["total"] == str(len(graded["questions"])) and full["status"] == "graded" and not full["reason"]
    assert [blank[q] for q in graded["questions"]] == ["0"] * len(graded["questions"]) and blank["total"] == "0"
    assert 0 < float(full["seconds"]) < TIMEOUT
    assert full["flags"] == blank["flags"] == "", "the handed-out cells and the reference raise no flag"


def test_crashed_kernel_gives_a_row_with_the_reason(graded):
    row = graded["rows"]["crash.ipynb"]
    assert row["status"] == "failed" and "kernel died" in row["reason"]
    assert all(row[q] == "" for q in graded["questions"]) and row["total"] == "", "not graded is not zero"
    assert (graded["logs"] / "crash.log").read_text()


def test_hanging_notebook_is_killed_at_the_time_limit(graded):
    row = graded["rows"]["hang.ipynb"]
    assert row["status"] == "timeout" and f"{TIMEOUT} s" in row["reason"]
    assert TIMEOUT <= float(row["seconds"]) < TIMEOUT + 30
    assert not graded["left"], "the hanging kernel, or the process it started, outlived the grading"
    assert "processes" in row["flags"], row["flags"]


def test_a_file_that_is_not_a_notebook_gives_a_row_with_the_reason(graded):
    row = graded["rows"]["broken.ipynb"]
    assert row["status"] == "failed" and "JSON" in row["reason"]


def test_bad_arguments_are_refused_with_a_message(tmp_path):
    def refused(*args: str) -> str:
        proc = subprocess.run([sys.executable, str(GRADE), *args], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2
        return proc.stderr

    zip_path = str(built(Exercise.course("warmup")) / "warmup-autograder.zip")
    assert "exercise must be one of" in refused("no-such-exercise", str(tmp_path))
    assert "not a zip file" in refused("--autograder", str(tmp_path / "x.zip"), str(tmp_path))
    assert "no .ipynb files" in refused("--autograder", zip_path, str(tmp_path))
    assert "not a folder" in refused("warmup", str(tmp_path / "missing"))
    assert "one of them" in refused("warmup", "--autograder", zip_path, str(tmp_path))
    assert "--jobs" in refused("--autograder", zip_path, str(tmp_path), "--jobs", "0")


def test_make_grade_runs_the_command(tmp_path):
    dry = subprocess.run(["make", "-n", "grade", f"SUBMISSIONS={tmp_path}", "EXERCISE=warmup"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    assert f"exercises/grade.py warmup {tmp_path}" in dry.stdout
    missing = subprocess.run(["make", "-n", "grade"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0 and "SUBMISSIONS" in missing.stdout + missing.stderr


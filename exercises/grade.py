"""Grade a folder of submitted notebooks with an exercise's autograder zip and write one CSV of scores.

Usage::

    python exercises/grade.py correlation submissions/    # with exercises/correlation/dist/correlation-autograder.zip
    python exercises/grade.py correlation submissions/ --timeout 600 --jobs 4 --out scores.csv
    python exercises/grade.py --autograder path/to/x-autograder.zip submissions/
    make grade SUBMISSIONS=submissions EXERCISE=correlation [TIMEOUT=300] [JOBS=1]

Every ``*.ipynb`` directly in the folder is graded by ``otter run`` with the zip, in a folder of its own, under a
time limit. The CSV (default ``<folder>/<exercise>-scores.csv``) has one row per submission and the columns

``submission``, one column per question (points earned), ``total``, ``status``, ``reason``, ``seconds``

where ``status`` is ``graded``, ``timeout`` (the notebook ran past the limit: it hangs or is too slow; every
process it started is killed) or ``failed`` (no result: the kernel died, the file is not a notebook of this
exercise, ...). A submission that is not graded has empty scores, not zeros, and its ``reason`` says why; its
otter log is kept in ``<csv name>-logs/``. Grading executes each notebook from the top, so a cell that raises
costs its own question only.

Not isolated: ``otter run`` executes each student's code on this machine, as this user, with this user's files and
network. Grade on a machine or account that holds nothing to protect, or use ``otter grade`` (Docker), which
isolates each submission in a container.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psutil

EXERCISES = Path(__file__).resolve().parent
GRADED, TIMEOUT, FAILED = "graded", "timeout", "failed"


@dataclass
class Result:
    """The grading of one submission. ``scores`` maps each question to the points earned (empty unless graded)."""

    submission: str
    status: str
    reason: str = ""
    scores: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    log: str = ""

    @property
    def total(self) -> float | None:
        return sum(self.scores.values()) if self.status == GRADED else None


@dataclass(frozen=True)
class Autograder:
    """An autograder zip: its assignment name and the points of each question (in natural order)."""

    path: Path
    name: str
    points: dict[str, float]

    @classmethod
    def read(cls, path: Path) -> Autograder:
        with warnings.catch_warnings():
            # Importing otter imports ipylab, whose trait declarations raise traitlets' DeprecationWarning
            # "Traits should be given as instances"; it is theirs, and harmless.
            warnings.filterwarnings("ignore", "Traits should be given as instances", DeprecationWarning)
            from otter.nbmeta_config import NBMetadataConfig
            from otter.test_files import create_test_file

        path = Path(path)
        if not zipfile.is_zipfile(path):
            raise ValueError(f"autograder must be an otter autograder zip; {path} is not a zip file")
        with zipfile.ZipFile(path) as zf, tempfile.TemporaryDirectory() as tmp:
            name = json.loads(zf.read("otter_config.json"))["assignment_name"]
            tests = [n for n in zf.namelist() if re.fullmatch(r"tests/[^/]+\.py", n)]
            zf.extractall(tmp, members=tests)
            points = {}
            for member in sorted(tests, key=_natural):
                test = create_test_file(str(Path(tmp, member)), NBMetadataConfig())
                points[test.name] = float(test.possible)
        return cls(path, name, points)


def _natural(text: str) -> list:
    """Sort key that puts q2 before q10."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


def _kill_tree(pid: int) -> None:
    """Kill a process and every process under it (the kernel runs in a session of its own, so killing the
    process group would miss it)."""
    try:
        parent = psutil.Process(pid)
        procs = [*parent.children(recursive=True), parent]
    except psutil.NoSuchProcess:
        return
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(procs, timeout=30)


def _failure_reason(log: str) -> str:
    if "DeadKernelError" in log or "Kernel died" in log:
        return "the kernel died while running the notebook (os._exit, a crash or out of memory)"
    errors = [line.strip() for line in log.splitlines() if re.match(r"\s*[\w.]*(Error|Exception)\b.*:", line)]
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    return (errors or lines or ["otter run wrote no results"])[-1][:300]


def grade_one(autograder: Autograder, notebook: Path, *, timeout: float, env: dict[str, str] | None = None,
              python: str | Path = sys.executable) -> Result:
    """Grade one notebook with ``otter run`` (of the environment of ``python``) in a temporary folder, killing it
    after ``timeout`` seconds."""
    notebook = Path(notebook)
    with tempfile.TemporaryDirectory(prefix="grade-") as tmp:
        work = Path(tmp)
        (work / "in").mkdir()
        (work / "out").mkdir()
        (work / "tmp").mkdir()
        # The submission takes the assignment's name, as the notebook the students were given.
        submission = work / "in" / f"{autograder.name}.ipynb"
        shutil.copyfile(notebook, submission)
        # otter run unpacks the zip (hidden tests included) into a temporary folder: keep it inside ours, so that
        # it is removed even when the run is killed.
        child_env = {**(env if env is not None else os.environ), "TMPDIR": str(work / "tmp")}
        start = time.perf_counter()
        proc = subprocess.Popen(
            [str(python), "-m", "otter", "run", "--no-logo", "-a", str(autograder.path.resolve()),
             "-o", str(work / "out"), str(submission)],
            cwd=work / "in", env=child_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        try:
            log, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_tree(proc.pid)
            log, _ = proc.communicate()
            return Result(notebook.name, TIMEOUT, f"no result within {timeout:g} s (the notebook hangs or is too "
                          "slow); every process it started was killed", seconds=time.perf_counter() - start, log=log)
        seconds = time.perf_counter() - start
        results = work / "out" / "results.json"
        if not results.is_file():
            return Result(notebook.name, FAILED, _failure_reason(log), seconds=seconds, log=log)
        tests = json.loads(results.read_text())["tests"]
    scores = {t["name"]: float(t["score"]) for t in tests if t.get("max_score")}
    missing = sorted(set(autograder.points) - set(scores))
    if missing:
        return Result(notebook.name, FAILED, f"otter reported no score for {missing}", seconds=seconds, log=log)
    return Result(notebook.name, GRADED, scores=scores, seconds=seconds)


def grade_many(autograder: Autograder, notebooks: list[Path], *, timeout: float, jobs: int = 1,
               env: dict[str, str] | None = None, python: str | Path = sys.executable) -> list[Result]:
    """Grade ``notebooks`` (``jobs`` at a time), in the given order. With several jobs, each kernel gets an equal
    share of the CPU threads unless ``OMP_NUM_THREADS`` is set (oversubscribed torch threads slow every kernel)."""
    if jobs < 1:
        raise ValueError(f"jobs must be a positive integer; got {jobs}")
    env = dict(os.environ if env is None else env)
    if jobs > 1:
        env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // jobs)))
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(lambda nb: grade_one(autograder, nb, timeout=timeout, env=env, python=python),
                             notebooks))


def write_csv(results: list[Result], autograder: Autograder, path: Path) -> None:
    """One row per submission: ``submission``, each question's points, ``total``, ``status``, ``reason``,
    ``seconds`` (scores empty when the submission was not graded)."""
    questions = list(autograder.points)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["submission", *questions, "total", "status", "reason", "seconds"])
        for r in results:
            points = [f"{r.scores[q]:g}" if r.status == GRADED else "" for q in questions]
            total = f"{r.total:g}" if r.total is not None else ""
            writer.writerow([r.submission, *points, total, r.status, r.reason, f"{r.seconds:.1f}"])


def _build_module():
    spec = importlib.util.spec_from_file_location("exercise_build", EXERCISES / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def exercise_autograder(slug: str) -> Path:
    """The zip of ``exercises/<slug>``: built if missing; a warning if its master changed since."""
    build = _build_module()
    if slug not in build.masters():
        raise ValueError(f"exercise must be one of {build.masters()}; got {slug!r}")
    dist = EXERCISES / slug / "dist"
    zip_path = dist / f"{slug}-autograder.zip"
    if not zip_path.is_file():
        print(f"building {zip_path.relative_to(EXERCISES.parent)} (python exercises/build.py {slug})", file=sys.stderr)
        build.build(slug)
        return zip_path
    info = json.loads((dist / "build.json").read_text()) if (dist / "build.json").is_file() else {}
    if info.get("hash") != build.build_hash(EXERCISES / slug, slug, info.get("pip_source", build.pip_source())):
        print(f"warning: {slug}'s master or build changed since {zip_path} was built; grade with the zip built with "
              "the student notebook you handed out", file=sys.stderr)
    return zip_path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("exercise", nargs="?", help="exercise slug (its zip: exercises/<slug>/dist/)")
    parser.add_argument("submissions", type=Path, help="folder of submitted .ipynb files")
    parser.add_argument("--autograder", type=Path, help="an autograder zip, instead of an exercise's")
    parser.add_argument("--out", type=Path, help="CSV to write (default: <submissions>/<exercise>-scores.csv)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per submission (default 300)")
    parser.add_argument("--jobs", type=int, default=1, help="submissions graded at once (default 1)")
    args = parser.parse_intermixed_args(argv)
    if (args.exercise is None) == (args.autograder is None):
        parser.error("give an exercise slug or --autograder ZIP (one of them)")
    if not args.submissions.is_dir():
        parser.error(f"submissions must be a folder of .ipynb files; {args.submissions} is not a folder")
    if args.timeout <= 0 or args.jobs < 1:
        parser.error("--timeout must be positive and --jobs at least 1")
    try:
        autograder = Autograder.read(args.autograder or exercise_autograder(args.exercise))
    except ValueError as err:
        parser.error(str(err))
    notebooks = sorted(args.submissions.glob("*.ipynb"))
    if not notebooks:
        parser.error(f"no .ipynb files in {args.submissions}")
    out = args.out or args.submissions / f"{autograder.name}-scores.csv"
    results = grade_many(autograder, notebooks, timeout=args.timeout, jobs=args.jobs)
    write_csv(results, autograder, out)
    logs = out.with_name(f"{out.stem}-logs")
    for r in results:
        if r.status != GRADED:
            logs.mkdir(exist_ok=True)
            (logs / f"{Path(r.submission).stem}.log").write_text(r.log)
    graded = sum(r.status == GRADED for r in results)
    print(f"{out}: {graded} of {len(results)} submissions graded (out of {sum(autograder.points.values()):g} points)")
    for r in results:
        if r.status != GRADED:
            print(f"  {r.submission}: {r.status}: {r.reason} (log: {logs / (Path(r.submission).stem + '.log')})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""Grading one submission of each exercise against its time budget.

    python bench/grading.py                       # every exercise
    python bench/grading.py correlation context   # some of them

The house budget is ``causal_lessons.runtime.GRADING_BUDGET_S`` seconds of wall time to grade one submission with
the exercise's autograder zip (``otter run``, as ``make grade`` runs it) on two CPU cores. Each exercise is built
into a temporary folder, then its solution notebook is graded ``--repeats`` times, one after another, as
``make grade`` grades it (in the bubblewrap sandbox; ``--no-sandbox`` without it); this prints the fastest and the
slowest time and the fastest over the budget. The grading test (``tests/test_grading.py``)
times one grading of a heavier submission (the reference with every printed number probed) and fails only past
``runtime.TOLERANCE`` times the budget, as a busy machine is slower.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from causal_lessons.formatting import number  # noqa: E402
from causal_lessons.runtime import GRADING_BUDGET_S  # noqa: E402


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def main(argv: list[str]) -> int:
    build = _load("exercise_build", ROOT / "exercises" / "build.py")
    grade = _load("exercise_grade", ROOT / "exercises" / "grade.py")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("slugs", nargs="*", default=build.masters())
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-sandbox", action="store_true", help="grade outside the bubblewrap sandbox")
    args = parser.parse_args(argv)
    sandbox = None if args.no_sandbox else grade.Sandbox.find()
    where = "outside the sandbox" if sandbox is None else "in the bubblewrap sandbox"
    print(f"budget: {GRADING_BUDGET_S} s of wall time to grade one submission; {args.repeats} gradings each, "
          f"{where}\n")
    print(f"{'exercise':<18}{'fastest (s)':>12}{'slowest (s)':>12}{'fastest / budget':>18}", flush=True)
    for slug in args.slugs:
        with tempfile.TemporaryDirectory(prefix=f"bench-{slug}-") as tmp:
            dist = build.build(slug, Path(tmp) / "dist")
            autograder = grade.Autograder.read(dist / f"{slug}-autograder.zip")
            solution = dist / "autograder" / f"{slug}.ipynb"
            results = [grade.grade_one(autograder, solution, timeout=20 * GRADING_BUDGET_S, sandbox=sandbox)
                       for _ in range(args.repeats)]
        failed = [r for r in results if r.status != grade.GRADED]
        if failed:
            print(f"{slug:<18}not graded: {failed[0].reason}", flush=True)
            continue
        seconds = [r.seconds for r in results]
        flag = "  over budget" if min(seconds) > GRADING_BUDGET_S else ""
        print(f"{slug:<18}{number(min(seconds), 1):>12}{number(max(seconds), 1):>12}"
              f"{number(min(seconds) / GRADING_BUDGET_S, 2):>18}{flag}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The grading proofs' machinery: build exercises (cached by what the build reads), make submissions, grade them with
the autograder zip through ``exercises/grade.py`` (the instructors' batch command), and list what each proof finds.

Each ``*_violations`` function returns the findings of one proof as messages (empty: the proof holds), so that
``tests/test_grading.py`` asserts them empty for every exercise and shows, on a deliberately lenient master in
``tests/grading_fixtures/``, that each proof fails when it should.
"""

from __future__ import annotations

import ast
import builtins
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

from causal_lessons.runtime import GRADING_BUDGET_S, TOLERANCE

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "grading_fixtures"
CACHE = ROOT / "_build" / ".exercise-cache"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


build = _load("exercise_build", ROOT / "exercises" / "build.py")
grade = _load("exercise_grade", ROOT / "exercises" / "grade.py")

CHECK = re.compile(r'grader\.check\("([^"]+)"\)')
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:[.,]\d+)*(?:\.\d+)?(?:e-?\d+)?")
RAISE = 'raise RuntimeError("a student bug")'
BUILTINS = frozenset(dir(builtins))


# ---------------------------------------------------------------------------------------------------- exercises
@dataclass(frozen=True)
class Exercise:
    """A master notebook ``<folder>/<slug>.ipynb`` with ``wrong_answers.yml`` and ``right_answers.yml`` beside it."""

    slug: str
    folder: Path

    @classmethod
    def course(cls, slug: str) -> Exercise:
        return cls(slug, ROOT / "exercises" / slug)

    @classmethod
    def fixture(cls, slug: str) -> Exercise:
        return cls(slug, FIXTURES / slug)

    def questions(self) -> dict[str, dict]:
        return master_questions(self.folder / f"{self.slug}.ipynb")

    def wrong_answers(self) -> dict[str, list[str]]:
        """``{question: [wrong answer code, ...]}`` (a string or a list of strings per question in the file)."""
        return _answers(self.folder / "wrong_answers.yml")

    def right_answers(self) -> dict[str, list[str]]:
        """``{question: [right-but-different answer code, ...]}``."""
        return _answers(self.folder / "right_answers.yml")


def _answers(path: Path) -> dict[str, list[str]]:
    if not path.is_file():
        return {}
    raw = yaml.safe_load(path.read_text()) or {}
    return {q: [v] if isinstance(v, str) else list(v) for q, v in raw.items()}


def built(exercise: Exercise, source: str | None = None) -> Path:
    """The exercise's build (``exercises/build.py``, with the pip ``source`` of the package), cached under
    ``_build/.exercise-cache`` by the hash of what the build reads, so that an unchanged master is not rebuilt from
    one test run to the next."""
    source = build.pip_source(source)
    key = build.build_hash(exercise.folder, exercise.slug, source)[:16]
    out = CACHE / f"{exercise.slug}-{key}"
    if not (out / "build.json").is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f"{exercise.slug}-", dir=CACHE))
        build.build(exercise.slug, tmp / "dist", folder=exercise.folder, source=source)
        shutil.rmtree(out, ignore_errors=True)
        (tmp / "dist").rename(out)  # atomic: a concurrent run sees a whole build or none
        shutil.rmtree(tmp)
    return out


class Builds(Mapping):
    """``{slug: build folder}`` for the course's exercises, built on first access."""

    def __init__(self) -> None:
        self._done: dict[str, Path] = {}

    def __getitem__(self, slug: str) -> Path:
        if slug not in build.masters():
            raise KeyError(slug)
        if slug not in self._done:
            self._done[slug] = built(Exercise.course(slug))
        return self._done[slug]

    def __iter__(self) -> Iterator[str]:
        return iter(build.masters())

    def __len__(self) -> int:
        return len(build.masters())


# ---------------------------------------------------------------------------------------------------- notebooks
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


def student_notebook(dist: Path, slug: str) -> nbformat.NotebookNode:
    return nbformat.read(dist / "student" / f"{slug}.ipynb", as_version=4)


def submission(dist: Path, slug: str, answers: dict[str, str]) -> nbformat.NotebookNode:
    """The student notebook with the given questions answered (others left blank)."""
    nb = student_notebook(dist, slug)
    for question, code in answers.items():
        nb.cells[answer_cell(nb, question)].source = code
    return nb


def master_questions(master: Path) -> dict[str, dict]:
    """``{question: {"config": its BEGIN QUESTION config, "text": its markdown, "answers": names the solution
    assigns, "tests": [(hidden, source), ...]}}`` read from a master notebook."""
    nb = nbformat.read(master, as_version=4)
    questions: dict[str, dict] = {}
    current, in_tests = None, False
    for cell in nb.cells:
        source = cell.source.strip()
        if cell.cell_type == "raw" and source.startswith("# BEGIN QUESTION"):
            config = yaml.safe_load(source.split("\n", 1)[1])
            current = questions.setdefault(config["name"],
                                           {"config": config, "text": "", "answers": [], "tests": []})
        elif cell.cell_type == "raw" and source.startswith("# END QUESTION"):
            current = None
        elif cell.cell_type == "raw" and source.startswith(("# BEGIN TESTS", "# END TESTS")):
            in_tests = source.startswith("# BEGIN TESTS")
        elif current is not None and cell.cell_type == "code" and in_tests:
            current["tests"].append((source.startswith("# HIDDEN"), cell.source))
        elif current is not None and cell.cell_type == "markdown":
            current["text"] += cell.source + "\n"
        elif current is not None and cell.cell_type == "code" and "# SOLUTION" in cell.source:
            for line in cell.source.splitlines():
                match = re.match(r"([A-Za-z_]\w*)\s*(?::[^=]+)?=[^=]", line)
                if match and "# SOLUTION" in line and match.group(1) not in current["answers"]:
                    current["answers"].append(match.group(1))
            # A function the student writes (its body carries the solution) is an answer too.
            for name in re.findall(r"^def ([A-Za-z_]\w*)\(", cell.source, re.M):
                if name not in current["answers"]:
                    current["answers"].append(name)
    for q in questions.values():
        # An intermediate name of the solution (a helper variable) is not an answer: the answers are the names the
        # hidden tests read. With none read, all are kept, and the soundness check reports it.
        hidden = set().union(*(_names(code)[0] for is_hidden, code in q["tests"] if is_hidden))
        read = [a for a in q["answers"] if a in hidden]
        q["answers"] = read or q["answers"]
    return questions


# ---------------------------------------------------------------------------------------------------- structure
def _names(source: str) -> tuple[set[str], set[str], set[str]]:
    """Names a test cell reads, names it binds anywhere, and names it binds in the notebook's namespace (outside
    functions, lambdas, comprehensions and classes)."""
    tree = ast.parse(source)
    reads, binds = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (reads if isinstance(node.ctx, ast.Load) else binds).add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            binds |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            binds.add(node.name)
        elif isinstance(node, ast.arg):
            binds.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            binds.add(node.name)
    top: set[str] = set()
    scopes = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.ListComp, ast.SetComp,
              ast.DictComp, ast.GeneratorExp)
    stack = list(ast.iter_child_nodes(tree))
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            top.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            top |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            top.add(node.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            top.add(node.name)
        if not isinstance(node, scopes):
            stack.extend(ast.iter_child_nodes(node))
    return reads, binds, top


def structure_violations(exercise: Exercise) -> list[str]:
    """What the master and its answer files must satisfy before any grading:

    - every question is ``all_or_nothing: true`` and its solution assigns named answers (``# SOLUTION`` lines);
    - ``wrong_answers.yml`` and ``right_answers.yml`` answer exactly the master's questions, each at least once;
    - hidden tests read only their question's answers, builtins and names the tests bind themselves (never an
      object the student can change: ``df``, ``np``, a set-up variable, another question's answer), bind only
      private names (``_ref``: a test runs in the student's namespace), and read at least one answer.
    """
    found = []
    questions = exercise.questions()
    for name, q in questions.items():
        if q["config"].get("all_or_nothing") is not True:
            found.append(f"{name}: set all_or_nothing: true (points only from value tests)")
        if not q["answers"]:
            found.append(f"{name}: no answer variable found (mark solution lines '# SOLUTION')")
        if not any(not hidden for hidden, _ in q["tests"]):
            found.append(f"{name}: no public test (otter then writes no grader.check cell for the question)")
        bound: set[str] = set()
        hidden_reads: set[str] = set()
        for hidden, source in q["tests"]:
            reads, binds, top = _names(source)
            bound |= binds
            if not hidden:
                continue
            hidden_reads |= reads
            free = sorted(reads - bound - BUILTINS - set(q["answers"]))
            if free:
                found.append(f"{name}: a hidden test reads {free}, which the student can change; rebuild the "
                             "reference from the package under private names, or compare with a constant")
            public = sorted(n for n in top if not n.startswith("_"))
            if public:
                found.append(f"{name}: a hidden test binds {public} in the student's namespace; use private names")
        if q["answers"] and not hidden_reads & set(q["answers"]):
            found.append(f"{name}: no hidden test reads the answer {q['answers']}")
    for label, answers in (("wrong_answers.yml", exercise.wrong_answers()), ("right_answers.yml",
                                                                              exercise.right_answers())):
        if set(answers) != set(questions):
            found.append(f"{label} must answer exactly {sorted(questions)}; it answers {sorted(answers)}")
        found += [f"{label}: {q} has no answer" for q, codes in answers.items() if not codes]
    return found


# ---------------------------------------------------------------------------------------------------- grading
def rounds(per_question: dict[str, list[str]]) -> list[dict[str, str]]:
    """Submissions that together try every answer once: round ``i`` answers each question with its ``i``-th
    answer (questions with fewer answers keep the reference). Questions are graded independently, so one
    grading per round proves a whole column of answers."""
    n = max((len(v) for v in per_question.values()), default=0)
    return [{q: answers[i] for q, answers in per_question.items() if i < len(answers)} for i in range(n)]


def printed_numbers(exercise: Exercise) -> dict[str, list[str]]:
    """For each question, code that answers it with a number printed in its text: each answer variable alone set
    to the number (the others keep the reference), and all of them at once."""
    out = {}
    for name, q in exercise.questions().items():
        numbers = sorted({n.replace(",", "") for n in NUMBER.findall(q["text"])})
        tries = []
        for number in numbers:
            tries += [f"{var} = {number}" for var in q["answers"]]
            if len(q["answers"]) > 1:
                tries.append("\n".join(f"{var} = {number}" for var in q["answers"]))
        if tries:
            out[name] = tries
    return out


PROBE = '''# Grading proof: each candidate answer to {question!r} is run in a copy of this namespace and graded by the
# question's test file, exactly as grader.check grades it; the notebook itself goes on with the reference answer.
def _grading_probe():
    import json
    from otter import Notebook
    from otter.nbmeta_config import NBMetadataConfig
    from otter.test_files import create_test_file

    scores = []
    for code in {candidates!r}:
        env = dict(globals())
        try:
            exec(code, env)
        except Exception:
            scores.append(0.0)
            continue
        # The folder the grading run reads tests from (otter's grading mode sets it).
        test = create_test_file(f"{{Notebook._tests_dir_override}}/{question}.py", NBMetadataConfig())
        test.run(env)
        scores.append(test.score / test.possible)
    with open({out!r}, "a") as f:
        f.write(json.dumps({{"question": {question!r}, "answers": {candidates!r}, "scores": scores}}) + "\\n")


_grading_probe()
del _grading_probe'''


def probe_submission(dist: Path, slug: str, candidates: dict[str, list[str]], out: Path) -> nbformat.NotebookNode:
    """The reference submission with, before each question's check, a cell that grades ``candidates`` for it in
    copies of the namespace and appends the scores to ``out`` (JSON lines). The reference grading is unchanged."""
    nb = submission(dist, slug, reference_answers(dist, slug))
    for question in sorted(candidates, key=lambda q: -check_cells(nb)[q]):  # from the end: indices stay valid
        code = PROBE.format(question=question, candidates=candidates[question], out=str(out))
        nb.cells.insert(check_cells(nb)[question], nbformat.v4.new_code_cell(code))
    return nb


@dataclass
class Proof:
    """Every grading the proofs need for one exercise."""

    exercise: Exercise
    points: dict[str, float]
    reference: grade.Result
    probes: dict[str, list[tuple[str, float]]]
    blank: grade.Result
    wrong: list[tuple[dict[str, str], grade.Result]]
    right: list[tuple[dict[str, str], grade.Result]]
    raising: str

    def fractions(self, result: grade.Result) -> dict[str, float]:
        return {q: result.scores[q] / p for q, p in self.points.items() if q in result.scores}


def prove(exercise: Exercise, dist: Path, workdir: Path, *, raising: str | None = None,
          jobs: int | None = None, timeout: float = 600) -> Proof:
    """Grade, with the autograder zip: the reference solution (with the printed numbers probed in the same run),
    the blank notebook, one submission per round of wrong answers and one per round of right answers. The answer
    :data:`RAISE` joins the right answers of question ``raising`` (default: the first question, so that every
    other question is graded after the error)."""
    slug = exercise.slug
    autograder = grade.Autograder.read(dist / f"{slug}-autograder.zip")
    reference = reference_answers(dist, slug)
    right = exercise.right_answers()
    raising = raising or next(iter(reference))
    right_rounds = rounds({**right, raising: [*right.get(raising, []), RAISE]})
    wrong_rounds = rounds(exercise.wrong_answers())
    probe_out = workdir / "probes.jsonl"
    notebooks = {"reference": probe_submission(dist, slug, printed_numbers(exercise), probe_out),
                 "blank": student_notebook(dist, slug)}
    notebooks |= {f"wrong-{i}": submission(dist, slug, {**reference, **r}) for i, r in enumerate(wrong_rounds)}
    notebooks |= {f"right-{i}": submission(dist, slug, {**reference, **r}) for i, r in enumerate(right_rounds)}
    workdir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for label, nb in notebooks.items():
        paths[label] = workdir / f"{label}.ipynb"
        nbformat.write(nb, paths[label])
    # The reference alone first, as an instructor grades (its time is the speed proof's); then the rest at once.
    results = {"reference": grade.grade_one(autograder, paths.pop("reference"), timeout=timeout)}
    jobs = jobs or min(4, os.cpu_count() or 1)
    results |= dict(zip(paths, grade.grade_many(autograder, list(paths.values()), timeout=timeout, jobs=jobs)))
    probes: dict[str, list[tuple[str, float]]] = {}
    if probe_out.is_file():
        for line in probe_out.read_text().splitlines():
            record = json.loads(line)
            probes[record["question"]] = list(zip(record["answers"], record["scores"]))
    return Proof(exercise, autograder.points, results["reference"], probes, results["blank"],
                 [(r, results[f"wrong-{i}"]) for i, r in enumerate(wrong_rounds)],
                 [(r, results[f"right-{i}"]) for i, r in enumerate(right_rounds)], raising)


def _not_graded(label: str, result: grade.Result) -> list[str]:
    return [] if result.status == grade.GRADED else [f"{label}: {result.status}: {result.reason}"]


def reference_violations(proof: Proof) -> list[str]:
    """The reference solution scores full marks on every question."""
    lost = {q: s for q, s in proof.fractions(proof.reference).items() if s != 1.0}
    return _not_graded("reference", proof.reference) + ([f"the reference solution lost points: {lost}"] if lost else [])


def blank_violations(proof: Proof) -> list[str]:
    """The blank student notebook scores zero on every question."""
    earned = {q: s for q, s in proof.fractions(proof.blank).items() if s != 0.0}
    return _not_graded("blank", proof.blank) + ([f"the blank notebook earned points: {earned}"] if earned else [])


def wrong_violations(proof: Proof) -> list[str]:
    """Each wrong answer scores exactly 0 on its question; the questions it does not answer keep full marks."""
    found = []
    for answers, result in proof.wrong:
        found += _not_graded(f"wrong answers {answers}", result)
        scores = proof.fractions(result)
        found += [f"{q}: the wrong answer {answers[q]!r} earned {scores[q]:g} of its points"
                  for q in answers if q in scores and scores[q] != 0.0]
        found += [f"{q}: lost points (reference answer) beside wrong answers to other questions"
                  for q in scores if q not in answers and scores[q] != 1.0]
    return found


def right_violations(proof: Proof) -> list[str]:
    """Each right-but-different answer scores full marks."""
    found = []
    for answers, result in proof.right:
        found += _not_graded(f"right answers {answers}", result)
        scores = proof.fractions(result)
        found += [f"{q}: the right answer {answers.get(q, '(reference)')!r} scored {scores[q]:g} of its points"
                  for q in scores if answers.get(q) != RAISE and scores[q] != 1.0]
    return found


def raising_violations(proof: Proof) -> list[str]:
    """A cell that raises fails its own question, and the grading of the others goes on."""
    answers, result = next((a, r) for a, r in proof.right if a.get(proof.raising) == RAISE)
    scores = proof.fractions(result)
    found = _not_graded("the round with a raising cell", result)
    if scores.get(proof.raising) != 0.0:
        found.append(f"{proof.raising}: a cell that raises earned {scores.get(proof.raising)} of its points")
    return found


def printed_violations(proof: Proof) -> list[str]:
    """No number printed in a question, given as its answer, earns any of its points."""
    wanted = printed_numbers(proof.exercise)
    found = [f"{q}: the probe of printed numbers did not run" for q in wanted if q not in proof.probes]
    for q, tries in proof.probes.items():
        found += [f"{q}: the number printed in the question ({code!r}) earned {score:g} of its points"
                  for code, score in tries if score != 0.0]
    return found


def speed_violations(proof: Proof, budget: float = GRADING_BUDGET_S, tolerance: float = TOLERANCE) -> list[str]:
    """Grading one submission (the reference, with its printed numbers probed) takes under ``tolerance`` times
    ``budget`` seconds (``bench/grading.py`` measures it against the budget itself)."""
    seconds = proof.reference.seconds
    if seconds <= tolerance * budget:
        return []
    return [f"grading the reference took {seconds:.1f} s, over {tolerance:g} x the budget of {budget:g} s"]


def describe(found: list[str]) -> str:
    return "\n" + textwrap.indent("\n".join(found), "  ")


# ---------------------------------------------------------------------------------------------- fresh environments
TORCH_SPEC = os.environ.get("TORCH_SPEC", "torch==2.13.0")
GUARD_DIR = ROOT / "tests" / "netguard"


def unguarded_env(**extra: str) -> dict[str, str]:
    """This process's environment without the network guard and without PYTHONPATH (so that a fresh environment
    imports what it installed, not this checkout)."""
    env = {k: v for k, v in os.environ.items() if k not in {"CAUSAL_LESSONS_NETLOG", "PYTHONPATH", "VIRTUAL_ENV"}}
    return {**env, **extra}


def fresh_venv(folder: Path, *packages: str) -> Path:
    """A new virtual environment with ``packages`` installed from the package registry; its python."""
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    python = folder / "bin" / "python"
    if packages:
        subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], check=True, env=unguarded_env())
    return python


def copy_checkout(dest: Path) -> Path:
    """The package's sources, copied so that pip's build leaves the working tree untouched."""
    dest.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, dest / name)
    shutil.copytree(ROOT / "causal_lessons", dest / "causal_lessons",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest

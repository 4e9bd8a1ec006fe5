"""Grading is proven, for every exercise that exists (found automatically), with its autograder zip:

- the master is sound before any grading: every question is all-or-nothing (points only from value tests), has a
  public check and named answers; hidden tests read only their question's answers (never ``df``, ``np``, set-up
  variables or other answers: the student can change those) and bind only private names;
  ``wrong_answers.yml`` and ``right_answers.yml`` answer every question;
- the reference solution scores full marks, and the blank student notebook scores zero on every question;
- each plausible wrong answer (``wrong_answers.yml``) scores **0** on its question, the others keeping full marks;
- each right-but-different answer (``right_answers.yml``: another type, form or method) scores full marks;
- no number printed in a question, given as the answer, earns its points;
- a student cell that raises fails its own question without stopping the grading of the others;
- grading one submission takes under ``runtime.GRADING_BUDGET_S`` seconds (the test fails only past
  ``runtime.TOLERANCE`` times as long: a busy machine is slower).

Answers are tried in rounds (one grading answers every question with one of its answers), so an exercise of six
questions with two wrong answers each takes two gradings, not twelve; the printed numbers, which can be many, are
graded inside the reference grading, each in a copy of the namespace (see ``exercise_tools.probe_submission``).
The reference is graded alone (its time is the speed proof's); the other gradings of an exercise then run
at once, one per CPU core (at most four).

The proofs can fail: ``tests/grading_fixtures/lenient`` is a master whose tests are lenient in each of these ways,
and the last tests check that every proof catches exactly the questions it should.
"""

from __future__ import annotations

import zipfile

import nbformat
import pytest
from exercise_tools import (
    Builds,
    Exercise,
    blank_violations,
    build,
    check_cells,
    describe,
    printed_violations,
    prove,
    raising_violations,
    reference_answers,
    reference_violations,
    right_violations,
    rounds,
    speed_violations,
    structure_violations,
    student_notebook,
    wrong_violations,
)
from exercise_tools import built as build_cached

pytestmark = pytest.mark.grading
SLUGS = build.masters()
MIN_QUESTIONS = 5


@pytest.fixture(scope="session")
def built() -> Builds:
    return Builds()


@pytest.fixture(scope="session")
def proofs(built, tmp_path_factory):
    """``proofs(slug)``: every grading of an exercise, run once per test session on first use."""
    done = {}

    def get(slug: str):
        if slug not in done:
            done[slug] = prove(Exercise.course(slug), built[slug], tmp_path_factory.mktemp(f"proof-{slug}"))
        return done[slug]

    return get


@pytest.mark.parametrize("slug", SLUGS)
def test_master_and_answer_files_are_sound(slug):
    exercise = Exercise.course(slug)
    found = structure_violations(exercise)
    if slug not in build.NOT_CHAPTERS and len(exercise.questions()) < MIN_QUESTIONS:
        found.append(f"a chapter exercise needs at least {MIN_QUESTIONS} questions")
    assert not found, describe(found)


@pytest.mark.parametrize("slug", SLUGS)
def test_student_notebook_has_blanks_and_colab_setup(built, slug):
    nb = student_notebook(built[slug], slug)
    setup = [c for c in nb.cells if c.cell_type == "code" and build.SETUP_MARKER in c.source]
    assert len(setup) == 1 and "PUBLIC_TESTS" in setup[0].source
    assert f'tests_dir="{build.public_tests_dir(slug)}"' in setup[0].source
    assert build.otter_requirement() in setup[0].source, "students check with the otter that grades"
    assert nb.cells[0].cell_type == "markdown"
    for question, idx in check_cells(nb).items():
        assert "..." in nb.cells[idx - 1].source, f"{slug}/{question}: the student's answer cell must hold a blank"
    text = repr(nb.cells)
    assert "# HIDDEN" not in text and "BEGIN SOLUTION" not in text and "# SOLUTION" not in text


@pytest.mark.parametrize("slug", SLUGS)
def test_autograder_declares_the_package_and_grades_all_or_nothing(built, slug):
    with zipfile.ZipFile(built[slug] / f"{slug}-autograder.zip") as zf:
        environment = zf.read("environment.yml").decode()
        tests = [zf.read(n).decode() for n in zf.namelist() if n.startswith("tests/") and n.endswith(".py")]
    assert build.pip_source() in environment, "the zip must install the course package"
    assert f"python={build.python_version()}" in environment
    assert tests and all("'all_or_nothing': True" in t for t in tests)


@pytest.mark.parametrize("slug", SLUGS)
def test_reference_solution_scores_full_marks(proofs, slug):
    found = reference_violations(proofs(slug))
    assert not found, describe(found)


@pytest.mark.parametrize("slug", SLUGS)
def test_blank_notebook_scores_zero(proofs, slug):
    found = blank_violations(proofs(slug))
    assert not found, describe(found)


@pytest.mark.parametrize("slug", SLUGS)
def test_wrong_answers_score_zero(proofs, slug):
    found = wrong_violations(proofs(slug))
    assert not found, describe(found)


@pytest.mark.parametrize("slug", SLUGS)
def test_right_answers_in_another_form_score_full_marks(proofs, slug):
    found = right_violations(proofs(slug))
    assert not found, describe(found)


@pytest.mark.parametrize("slug", SLUGS)
def test_no_number_printed_in_a_question_earns_its_points(proofs, slug):
    found = printed_violations(proofs(slug))
    assert not found, describe(found)


@pytest.mark.parametrize("slug", SLUGS)
def test_raising_cell_fails_only_its_question(proofs, slug):
    found = raising_violations(proofs(slug))
    assert not found, describe(found)


@pytest.mark.parametrize("slug", SLUGS)
def test_grading_one_submission_is_within_its_budget(proofs, slug):
    found = speed_violations(proofs(slug))
    assert not found, describe(found)


# ------------------------------------------------------------------------------------------------ book pages
@pytest.mark.parametrize("slug", SLUGS)
def test_book_page_is_the_student_notebook_and_is_up_to_date(slug):
    dist = build_cached(Exercise.course(slug), source=build.DEFAULT_PIP_SOURCE)
    page = build.book_page(slug, dist)
    assert page.metadata["mystnb"] == {"execution_mode": "off"}, "the book build must not execute the exercise"
    assert page.cells[0].source.startswith("# ") and build.colab_url(slug) in page.cells[1].source
    setup = [c for c in page.cells if build.SETUP_MARKER in c.source]
    assert len(setup) == 1 and "remove-cell" in setup[0].metadata["tags"]
    assert build.DEFAULT_PIP_SOURCE in setup[0].source
    assert all(not c.get("outputs") for c in page.cells)
    solutions = [code for code in reference_answers(dist, slug).values() if code.strip() not in {"", "..."}]
    text = nbformat.writes(page)
    assert not [code for code in solutions if code in text], "a solution leaked into the book page"
    path = build.book_page_path(slug)
    assert path.is_file() and path.read_text().rstrip("\n") == text.rstrip("\n"), \
        f"{path.relative_to(build.ROOT)} is missing or stale: run `python exercises/build.py --book`"


# ------------------------------------------------------------------------------------------ the proofs can fail
def test_rounds_try_every_answer_once():
    assert rounds({"q1": ["a", "b"], "q2": ["c"], "q3": []}) == [{"q1": "a", "q2": "c"}, {"q1": "b"}]


@pytest.fixture(scope="module")
def lenient(tmp_path_factory):
    """The proofs run on a deliberately lenient master (see tests/grading_fixtures/lenient/lenient.ipynb)."""
    exercise = Exercise.fixture("lenient")
    return prove(exercise, build_cached(exercise), tmp_path_factory.mktemp("lenient"), raising="q4_vacuous")


def mentioned(found: list[str]) -> set[str]:
    questions = Exercise.fixture("lenient").questions()
    return {q for q in questions if any(q in message for message in found)}


def test_structure_check_catches_lenient_masters():
    assert mentioned(structure_violations(Exercise.fixture("lenient"))) == {
        "q1_form",  # not all-or-nothing
        "q2_printed",  # the hidden test binds `ref` in the student's namespace
        "q4_vacuous",  # no hidden test reads the answer
        "q6_setup",  # the hidden test reads the student's `df`
    }


@pytest.mark.parametrize(("proof", "caught"), [
    (reference_violations, {"q5_broken"}),
    (blank_violations, {"q4_vacuous"}),
    (wrong_violations, {"q1_form", "q4_vacuous", "q6_setup"}),  # a form check's half point; anything; an edited df
    (right_violations, {"q3_strict", "q5_broken"}),  # a NumPy integer refused; the broken reference
    (raising_violations, {"q4_vacuous"}),
    (printed_violations, {"q2_printed"}),
], ids=lambda v: getattr(v, "__name__", "-"))
def test_each_proof_catches_the_lenient_questions_and_only_them(lenient, proof, caught):
    assert mentioned(proof(lenient)) == caught, describe(proof(lenient))


def test_speed_proof_fails_past_its_budget(lenient):
    seconds = lenient.reference.seconds
    assert speed_violations(lenient, budget=seconds / 3, tolerance=2)
    assert not speed_violations(lenient, budget=seconds / 1.5, tolerance=2)


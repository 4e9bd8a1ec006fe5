"""Grading is proven, for every exercise that exists (found automatically):

- the reference solution scores full marks, and the blank student notebook scores zero on every question;
- every question is all-or-nothing: its points come only from its value tests;
- each plausible wrong answer (``wrong_answers.yml``) scores **0** on its question and leaves the others at full;
- each right-but-different answer (``right_answers.yml``: another type, form or method) scores full marks;
- no number printed in a question, given as the answer, earns its points;

Answers are tried in rounds (one grading answers every question with one of its answers), so an exercise of six
questions with two wrong answers each takes two gradings, not twelve.
- a student cell that raises fails its own question without stopping the grading of the others.
"""

from __future__ import annotations

import re

import pytest

from exercise_tools import (
    build, check_cells, grade, master_questions, reference_answers, right_answers, student_notebook, submission,
    wrong_answers,
)

pytestmark = pytest.mark.grading
SLUGS = build.masters()
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:[.,]\d+)*(?:\.\d+)?(?:e-?\d+)?")


def test_every_question_is_all_or_nothing_with_wrong_and_right_answers():
    for slug in SLUGS:
        questions = master_questions(slug)
        assert len(questions) >= 5 or slug == "warmup", f"{slug} needs at least 5 questions"
        for name, q in questions.items():
            assert q["config"].get("all_or_nothing") is True, f"{slug}/{name}: set all_or_nothing: true"
            assert q["answers"], f"{slug}/{name}: no answer variable found (mark solution lines '# SOLUTION')"
        assert set(wrong_answers(slug)) == set(questions), f"{slug}: wrong_answers.yml must cover {sorted(questions)}"
        assert set(right_answers(slug)) == set(questions), f"{slug}: right_answers.yml must cover {sorted(questions)}"


def test_student_notebook_has_blanks_and_colab_setup(built):
    for slug, dist in built.items():
        nb = student_notebook(dist, slug)
        setup = [c for c in nb.cells if c.cell_type == "code" and build.SETUP_MARKER in c.source]
        assert len(setup) == 1 and "PUBLIC_TESTS" in setup[0].source
        assert f'tests_dir="{build.public_tests_dir(slug)}"' in setup[0].source
        assert nb.cells[0].cell_type == "markdown"
        for question in check_cells(nb):
            answer = nb.cells[check_cells(nb)[question] - 1].source
            assert "..." in answer, f"{slug}/{question}: the student's answer cell must hold a blank"
        assert "# HIDDEN" not in nb.cells.__repr__() and "BEGIN SOLUTION" not in nb.cells.__repr__()


@pytest.mark.parametrize("slug", SLUGS)
def test_reference_solution_scores_full_marks(built, slug, tmp_path):
    dist = built[slug]
    scores = grade(dist, slug, submission(dist, slug, reference_answers(dist, slug)), tmp_path)
    assert scores and all(s == 1.0 for s in scores.values()), scores


@pytest.mark.parametrize("slug", SLUGS)
def test_blank_notebook_scores_zero(built, slug, tmp_path):
    dist = built[slug]
    scores = grade(dist, slug, student_notebook(dist, slug), tmp_path)
    assert set(scores) == set(check_cells(student_notebook(dist, slug)))
    assert all(s == 0.0 for s in scores.values()), scores


def rounds(per_question: dict[str, list[str]]) -> list[dict[str, str]]:
    """Submissions that together try every answer once: round ``i`` answers each question with its ``i``-th
    answer (questions with fewer answers keep the reference). Questions are graded independently, so one
    grading per round proves a whole column of answers."""
    n = max((len(v) for v in per_question.values()), default=0)
    return [{q: answers[i] for q, answers in per_question.items() if i < len(answers)} for i in range(n)]


@pytest.mark.parametrize("slug", SLUGS)
def test_wrong_answers_score_zero(built, slug, tmp_path):
    dist = built[slug]
    for i, wrong in enumerate(rounds(wrong_answers(slug))):
        scores = grade(dist, slug, submission(dist, slug, {**reference_answers(dist, slug), **wrong}), tmp_path / str(i))
        earned = {q: scores[q] for q in wrong if scores[q] != 0.0}
        assert not earned, f"{slug}: wrong answers earned points: {earned}"
        assert all(scores[q] == 1.0 for q in scores if q not in wrong), scores


@pytest.mark.parametrize("slug", SLUGS)
def test_right_answers_in_another_form_score_full_marks(built, slug, tmp_path):
    dist = built[slug]
    for i, right in enumerate(rounds(right_answers(slug))):
        scores = grade(dist, slug, submission(dist, slug, {**reference_answers(dist, slug), **right}), tmp_path / str(i))
        lost = {q: s for q, s in scores.items() if s != 1.0}
        assert not lost, f"{slug}: right answers in another form lost credit: {lost}"


def printed_numbers(slug: str) -> dict[str, list[str]]:
    """For each question, code that answers it with each number printed in its text."""
    out = {}
    for name, q in master_questions(slug).items():
        numbers = sorted({n.replace(",", "") for n in NUMBER.findall(q["text"])})
        out[name] = ["\n".join(f"{var} = {number}" for var in q["answers"]) for number in numbers]
    return {q: v for q, v in out.items() if v}


@pytest.mark.parametrize("slug", SLUGS)
def test_no_number_printed_in_a_question_earns_its_points(built, slug, tmp_path):
    dist = built[slug]
    tries = rounds(printed_numbers(slug))
    if not tries:
        pytest.skip(f"{slug}: no numbers in the questions")
    for i, numbers in enumerate(tries):
        scores = grade(dist, slug, submission(dist, slug, {**reference_answers(dist, slug), **numbers}), tmp_path / str(i))
        earned = {q: numbers[q] for q in numbers if scores[q] != 0.0}
        assert not earned, f"{slug}: numbers printed in the question earned points: {earned}"


@pytest.mark.parametrize("slug", SLUGS)
def test_raising_cell_fails_only_its_question(built, slug, tmp_path):
    dist = built[slug]
    answers = reference_answers(dist, slug)
    first = next(iter(answers))
    answers[first] = 'raise RuntimeError("a student bug")'
    scores = grade(dist, slug, submission(dist, slug, answers), tmp_path)
    assert scores[first] == 0.0
    assert all(s == 1.0 for q, s in scores.items() if q != first), scores

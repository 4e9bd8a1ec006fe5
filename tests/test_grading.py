"""Grading is proven, for every exercise that exists (found automatically):

- the reference solution scores full marks;
- the blank student notebook scores zero;
- each question's plausible wrong answer (``wrong_answers.yml``) fails that question, and only that one;
- a student cell that raises fails its own question without stopping the grading of the others.
"""

from __future__ import annotations

import pytest

from exercise_tools import build, check_cells, grade, reference_answers, student_notebook, submission, wrong_answers

pytestmark = pytest.mark.grading
SLUGS = build.masters()


def test_every_exercise_has_wrong_answers_for_every_question(built):
    for slug, dist in built.items():
        questions = set(check_cells(student_notebook(dist, slug)))
        assert questions, f"{slug} has no questions"
        assert set(wrong_answers(slug)) == questions, f"{slug}: wrong_answers.yml must cover {sorted(questions)}"


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


@pytest.mark.parametrize("slug, question", [(s, q) for s in SLUGS for q in wrong_answers(s)])
def test_wrong_answer_fails_its_question(built, slug, question, tmp_path):
    dist = built[slug]
    answers = {**reference_answers(dist, slug), question: wrong_answers(slug)[question]}
    scores = grade(dist, slug, submission(dist, slug, answers), tmp_path)
    assert scores[question] < 1.0, f"the wrong answer to {question} passed: {scores}"
    assert all(s == 1.0 for q, s in scores.items() if q != question), scores


@pytest.mark.parametrize("slug", SLUGS)
def test_raising_cell_fails_only_its_question(built, slug, tmp_path):
    dist = built[slug]
    answers = reference_answers(dist, slug)
    first = next(iter(answers))
    answers[first] = 'raise RuntimeError("a student bug")'
    scores = grade(dist, slug, submission(dist, slug, answers), tmp_path)
    assert scores[first] == 0.0
    assert all(s == 1.0 for q, s in scores.items() if q != first), scores

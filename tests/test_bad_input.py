"""Bad input to the core's public functions raises a clear error, and every public callable of the package is
covered by some bad-input table (this file's for the core, ``tests/<slug>/test_bad_input_<slug>.py`` for a
chapter) or exempt with a reason."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bad_input import Case, check_case, params

import causal_lessons
from causal_lessons import _checks, answers, claims, datasets, diagrams, formatting, notebook, runtime

TESTS = Path(__file__).resolve().parent

CASES = [
    Case(claims.over_seeds, {"values": [0.7, 0.72, 0.74]}, ("values",)),
    Case(claims.proportion, {"successes": 3, "n": 10}, ("successes", "n"), kinds=("type",)),
    Case(claims.bootstrap, {"statistic": lambda idx: float(np.mean(idx)), "n_rows": 10}, ("n_rows",),
         kinds=("type",)),
    Case(claims.Interval, {"value": 0.5, "low": 0.4, "high": 0.6}, ("value", "low", "high"), kinds=("type",)),
    Case(claims.above, {"estimate": claims.Interval.exact(1.0), "threshold": 0.5, "what": "x"}, ("estimate",),
         kinds=("type",)),
    Case(claims.below, {"estimate": claims.Interval.exact(1.0), "threshold": 0.5, "what": "x"}, ("estimate",),
         kinds=("type",)),
    Case(claims.within, {"estimate": claims.Interval.exact(1.0), "target": 1.0, "tolerance": 0.1, "what": "x"},
         ("estimate",), kinds=("type",)),
    Case(claims.combine, {"verdicts": [claims.HOLDS]}, ("verdicts",), kinds=("empty",)),
    Case(claims.provided, {"finding": claims.Finding("a = 1", "a > 0", claims.HOLDS), "condition": True,
                           "reason": "trained to a plateau"}, ("finding", "condition", "reason"), kinds=("type",)),
    Case(claims.make_claim, {"chapter": "x", "claim": "c", "findings": [claims.above(claims.Interval.exact(1.0),
         0.0, "x")], "source": claims.course("q")}, ("findings",), kinds=("empty", "type")),
    Case(claims.claims_table, {"claims": [claims.Claim("x", "c", "m", "r", claims.HOLDS, claims.course("q"))]},
         ("claims",), kinds=("empty",)),
    Case(claims.Claim, {"chapter": "x", "claim": "c", "measured": "m", "rule": "r", "verdict": claims.HOLDS,
                        "source": claims.course("q")}, ("verdict",), kinds=("type",)),
    Case(claims.talk, {"claim_id": "T3"}, ("claim_id",), kinds=("type", "unknown")),
    Case(claims.badge, {"verdict": claims.HOLDS}, ("verdict",), kinds=("type", "unknown")),
    Case(answers.check, {"answer": 1.0, "kind": "real", "reference": "reference = 1.0", "atol": 1e-6}, ("kind",),
         kinds=("type", "unknown")),
    Case(answers.check, {"answer": 1.0, "kind": "real", "reference": "reference = 1.0", "atol": 1e-6},
         ("reference", "atol"), kinds=("nan", "type", "empty")),
    Case(claims.tally, {"claims": [claims.Claim("x", "c", "m", "r", claims.HOLDS, claims.course("q"))]},
         ("claims",), kinds=("empty",)),
    Case(claims.tally_html, {"claims": [claims.Claim("x", "c", "m", "r", claims.HOLDS, claims.course("q"))]},
         ("claims",), kinds=("empty",)),
    Case(claims.cards, {"claims": [claims.Claim("x", "c", "m", "r", claims.HOLDS, claims.course("q"))]},
         ("claims",), kinds=("empty",)),
    Case(claims.paper, {"citation": "Arjovsky et al. 2019"}, ("citation",), kinds=("type", "empty")),
    Case(claims.course, {"question": "is it so?"}, ("question",), kinds=("type", "empty")),
    Case(claims.Source, {"kind": "paper", "reference": "Arjovsky et al. 2019"}, ("kind", "reference"),
         kinds=("type", "empty")),
    Case(diagrams.dag, {"edges": [("A", "B")]}, ("edges",), kinds=("empty", "type")),
    Case(diagrams.edges_through_nodes, {"svg": "<svg></svg>"}, ("svg",), kinds=("type",)),
    Case(runtime.steps, {"quick": 5, "full": 10}, ("quick", "full"), kinds=("type",)),
    Case(runtime.seeds, {"quick": 2, "full": 3}, ("quick", "full"), kinds=("type",)),
    Case(runtime.seed_everything, {"seed": 0}, ("seed",), kinds=("type",)),
    Case(runtime.size, {"override": "quick"}, ("override",), kinds=("type",), message={"override": "size"}),
    Case(runtime.count_flops, {"step": lambda: None}, ("step",), kinds=("type",)),
    Case(runtime.progress, {"iterable": range(3), "desc": "steps"}, ("desc",), kinds=("type",)),
    Case(notebook.glue, {"name": "x", "value": 1}, ("name",), kinds=("type",)),
    Case(datasets.load_coco_labels, {"split": "val2017"}, ("split",), kinds=("type", "unknown")),
    Case(datasets.load_voc_labels, {"split": "test"}, ("split",), kinds=("type", "unknown")),
    Case(datasets.load_text, {"name": "alice"}, ("name",), kinds=("type", "unknown")),
    Case(datasets.data_path, {"filename": "chocolate_nobel.csv"}, ("filename",), kinds=("type", "unknown")),
    Case(_checks.as_1d_float, {"value": [1.0, 2.0], "name": "xs"}, ("value",), message={"value": "xs"}),
    Case(_checks.check_probability, {"value": 0.5, "name": "p"}, ("value",), kinds=("type",),
         message={"value": "p"}),
    Case(_checks.check_positive_int, {"value": 3, "name": "n"}, ("value",), kinds=("type",),
         message={"value": "n"}),
    Case(notebook.key_result, {"what": "accuracy", "value": 0.9}, ("what", "value"), kinds=("nan", "inf", "type")),
    # text() passes a phrase through, so a string is no bad input to it.
    Case(notebook.text, {"value": 0.9}, ("value",), kinds=("nan", "inf")),
    Case(notebook.exercise_questions, {"master": Path(__file__).parent.parent / "exercises/warmup/warmup.ipynb"},
         ("master",), kinds=("type", "empty")),
    Case(notebook.prose_words, {"page": Path(__file__).parent.parent / "book/correlation/index.md"}, ("page",),
         kinds=("type", "empty")),
    Case(formatting.number, {"value": 0.9}, ("value",), kinds=("nan", "inf", "type")),
    Case(formatting.constant, {"value": 0.05}, ("value",), kinds=("nan", "inf", "type")),
    Case(formatting.scientific, {"value": 0.001}, ("value",), kinds=("nan", "inf", "type")),
    Case(formatting.decimals_for, {"width": 0.03}, ("width",), kinds=("nan", "inf", "type")),
    # A table may be empty and may hold missing values (shown as a dash): only its type is checked.
    Case(formatting.table, {"frame": pd.DataFrame({"r": [0.5]})}, ("frame",), kinds=("type",)),
]

EXEMPT = {
    "causal_lessons.runtime.is_quick": "no arguments",
    "causal_lessons.runtime.get_device": "no arguments",
    "causal_lessons.runtime.describe": "no arguments",
    "causal_lessons.runtime.seed_offset": "no arguments (its variable is checked: tests/test_runtime.py)",
    "causal_lessons.runtime.configure_threads": "no arguments (its variable is checked: tests/test_runtime.py)",
    "causal_lessons.runtime.pick": "returns one of its two arguments, whatever they are",
    "causal_lessons.runtime.Job": "a record of computed figures",
    "causal_lessons.claims.Finding": "a record made by above/below/within",
    "causal_lessons.claims.cached": "a decorator",
    "causal_lessons.notebook.setup": "a seed only, checked by runtime.seed_everything",
    "causal_lessons.datasets.load_chocolate_nobel": "no arguments",
    "causal_lessons.datasets.load_talk_claims": "no arguments",
    **{f"causal_lessons.answers.{name}": "refusing a malformed answer with a message for the student is its job "
       "(tests/test_answers.py)" for name in ("real", "integer", "letter", "boolean", "text", "array")},
    "causal_lessons.datasets.load_coco_cooccurrence_mlgcn": "no arguments",
    "causal_lessons.datasets.verify_all": "no arguments",
    "causal_lessons.datasets.LabelSet": "a record made by the loaders",
}


@pytest.mark.parametrize("case, argument, kind", params(CASES))
def test_core_rejects_bad_input(case, argument, kind):
    check_case(case, argument, kind)


def public_callables() -> set[str]:
    """Dotted names of every public function and class defined in the package."""
    found = set()
    for info in pkgutil.walk_packages(causal_lessons.__path__, "causal_lessons."):
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if name.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isclass(obj) and issubclass(obj, Exception):
                continue
            found.add(f"{module.__name__}.{name}")
    return found


def tables() -> tuple[set[str], dict[str, str]]:
    covered, exempt = {c.name for c in CASES}, dict(EXEMPT)
    for path in sorted(TESTS.glob("*/test_bad_input_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        covered |= {c.name for c in module.CASES}
        exempt |= module.EXEMPT
    return covered, exempt


def test_every_public_callable_is_covered():
    covered, exempt = tables()
    missing = sorted(public_callables() - covered - set(exempt))
    assert not missing, "public callables without a bad-input case or an exemption:\n" + "\n".join(missing)
    assert all(reason.strip() for reason in exempt.values())

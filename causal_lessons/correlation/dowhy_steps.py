"""DoWhy's four steps -- model, identify, estimate, refute -- for a backdoor-adjusted linear effect.

The function returns plain data (numbers and a table), so the chapter, the lab and the exercise show the
same results and the tests can check them.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx
import pandas as pd

REFUTERS = ("placebo_treatment_refuter", "random_common_cause", "data_subset_refuter")


@dataclass(frozen=True)
class FourSteps:
    """The outcome of :func:`four_steps`.

    Attributes
    ----------
    backdoor_set
        The adjustment set DoWhy identified.
    estimate
        The backdoor linear-regression estimate of the effect.
    refutations
        One row per refuter: the new effect and DoWhy's p-value.
    """

    backdoor_set: tuple[str, ...]
    estimate: float
    refutations: pd.DataFrame


def four_steps(
    data: pd.DataFrame, treatment: str, outcome: str, common_causes: Sequence[str],
    refuters: Sequence[str] = REFUTERS, num_simulations: int = 50, seed: int = 0,
) -> FourSteps:
    """Model the graph ``common_causes -> treatment -> outcome <- common_causes``, identify the backdoor
    estimand, estimate it by linear regression and run DoWhy's refuters.

    Examples
    --------
    >>> from causal_lessons.correlation.scm import LinearTriangle
    >>> df = LinearTriangle(a=1.0, b=1.0, beta=0.3).scm().sample(2_000, seed=0)
    >>> res = four_steps(df, "C", "N", ["G"], refuters=("placebo_treatment_refuter",), num_simulations=10)
    >>> res.backdoor_set == ("G",), round(res.estimate, 1)
    (True, 0.3)
    """
    from dowhy import CausalModel

    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    for arg, name in [("treatment", treatment), ("outcome", outcome), *[("common_causes", c) for c in common_causes]]:
        if name not in data.columns:
            raise ValueError(f"{arg} names {name!r}, which is not a column of data; columns: {list(data.columns)}")
    unknown = [r for r in refuters if r not in REFUTERS]
    if unknown:
        raise ValueError(f"refuters must be among {REFUTERS}, got {unknown}")
    graph = nx.DiGraph([(treatment, outcome)])
    graph.add_edges_from((c, v) for c in common_causes for v in (treatment, outcome))
    rows = []
    logging.getLogger("dowhy").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = CausalModel(data=data, treatment=treatment, outcome=outcome, graph=graph)
        estimand = model.identify_effect(proceed_when_unidentifiable=True)
        estimate = model.estimate_effect(estimand, method_name="backdoor.linear_regression")
        for refuter in refuters:
            kwargs: dict = {"num_simulations": num_simulations, "random_seed": seed}
            if refuter == "placebo_treatment_refuter":
                kwargs["placebo_type"] = "permute"
            if refuter == "data_subset_refuter":
                kwargs["subset_fraction"] = 0.8
            result = model.refute_estimate(estimand, estimate, method_name=refuter, **kwargs)
            p_value = (result.refutation_result or {}).get("p_value")
            rows.append({
                "refuter": refuter,
                "estimated effect": float(result.estimated_effect),
                "new effect": float(result.new_effect),
                "p-value": None if p_value is None else float(p_value),
            })
    return FourSteps(
        backdoor_set=tuple(str(v) for v in estimand.get_backdoor_variables()),
        estimate=float(estimate.value),
        refutations=pd.DataFrame(rows),
    )

"""DoWhy's four steps -- model, identify, estimate, refute -- for a backdoor-adjusted linear effect.

The function returns plain data (numbers and a table), so the chapter, the lab and the exercise show the
same results and the tests can check them.
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd

from .._checks import check_positive_int

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
    hook = sys.displayhook
    from dowhy import CausalModel

    # Importing DoWhy runs sympy's init_printing, which replaces the interpreter's display hook (a session
    # would then print 'text' as text): put it back.
    sys.displayhook = hook

    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if isinstance(common_causes, (str, bytes)):
        raise TypeError(f"common_causes must be a sequence of column names, not a single string: "
                        f"write [{common_causes!r}]")
    if isinstance(refuters, (str, bytes)):
        raise TypeError(f"refuters must be a sequence of refuter names, not a single string: write [{refuters!r}]")
    common_causes, refuters = list(common_causes), list(refuters)
    for arg, name in [("treatment", treatment), ("outcome", outcome), *[("common_causes", c) for c in common_causes]]:
        if not isinstance(name, str) or name not in data.columns:
            raise ValueError(f"{arg} names {name!r}, which is not a column of data; columns: {list(data.columns)}")
    columns = [treatment, outcome, *common_causes]
    if len(set(columns)) != len(columns):
        raise ValueError(f"treatment, outcome and common_causes must be different columns, got {columns}")
    unknown = [r for r in refuters if r not in REFUTERS]
    if unknown:
        raise ValueError(f"refuters must be among {REFUTERS}, got {unknown}")
    num_simulations = check_positive_int(num_simulations, "num_simulations")
    seed = check_positive_int(seed, "seed", minimum=0)
    try:
        values = data[columns].to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"data must hold numbers in the columns {columns}") from None
    if len(values) < len(columns) + 2:
        raise ValueError(f"data needs at least {len(columns) + 2} rows, got {len(values)}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"data must hold only finite numbers (no NaN or inf) in the columns {columns}")
    graph = nx.DiGraph([(treatment, outcome)])
    graph.add_edges_from((c, v) for c in common_causes for v in (treatment, outcome))
    rows = []
    logger = logging.getLogger("dowhy")
    level = logger.level
    logger.setLevel(logging.ERROR)  # DoWhy logs every step at INFO/WARNING; the table says what matters
    try:
        with warnings.catch_warnings():
            # DoWhy's regression estimator passes copy= to DataFrame.astype, which pandas 3 deprecates: a
            # warning for DoWhy's maintainers, not for the reader.
            warnings.filterwarnings("ignore", message="The copy keyword is deprecated")
            # DoWhy tests the refuters' simulated effects for normality with scipy's kurtosistest, which
            # warns when there are fewer than 20 of them (small num_simulations, as in quick runs).
            warnings.filterwarnings("ignore", message="`kurtosistest` p-value may be inaccurate")
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
    finally:
        logger.setLevel(level)
    return FourSteps(
        backdoor_set=tuple(str(v) for v in estimand.get_backdoor_variables()),
        estimate=float(estimate.value),
        refutations=pd.DataFrame(rows),
    )

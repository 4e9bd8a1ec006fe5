"""Benchmark: the package's linear backdoor adjustment against DoWhy's estimate_effect on the same data.

Prints wall times and their ratio, measured in this run (informative, not a test). Both compute the same
number (the test suite checks agreement to 1e-6); DoWhy's time covers only ``estimate_effect`` on a model and
estimand built beforehand, so the comparison is estimator against estimator.

    python bench/adjusted_vs_dowhy.py
"""

from __future__ import annotations

import logging
import warnings

import networkx as nx
from timing import best_of  # bench/timing.py, beside this script

from causal_lessons.correlation.estimation import adjusted_effect
from causal_lessons.correlation.scm import LinearTriangle
from causal_lessons.datasets import load_chocolate_nobel


def main() -> None:
    from dowhy import CausalModel

    # DoWhy's regression estimator passes copy= to DataFrame.astype, deprecated by pandas 3: DoWhy's to fix.
    warnings.filterwarnings("ignore", message="The copy keyword is deprecated")
    logging.getLogger("dowhy").setLevel(logging.ERROR)  # DoWhy logs each step; the table is the output
    real = load_chocolate_nobel().rename(columns={
        "chocolate_kg_per_capita": "C", "nobel_laureates_per_10m": "N", "gdp_per_capita_gapminder_2007": "G"})
    cases = {
        "real data, n = 23": real[["C", "G", "N"]],
        "simulated, n = 100,000": LinearTriangle(a=1.0, b=1.0, beta=0.3).scm().sample(100_000, seed=0),
    }
    print(f"{'data':<24}{'package (ms)':>14}{'DoWhy (ms)':>12}{'DoWhy / package':>18}{'|difference|':>15}")
    for name, data in cases.items():
        graph = nx.DiGraph([("G", "C"), ("G", "N"), ("C", "N")])
        model = CausalModel(data=data, treatment="C", outcome="N", graph=graph)
        estimand = model.identify_effect(proceed_when_unidentifiable=True)
        ours = adjusted_effect(data, "C", "N", ["G"])
        theirs = model.estimate_effect(estimand, method_name="backdoor.linear_regression").value
        t_ours = best_of(lambda data=data: adjusted_effect(data, "C", "N", ["G"]), 20)
        t_theirs = best_of(lambda model=model, estimand=estimand: model.estimate_effect(estimand, method_name="backdoor.linear_regression"),
                           5)
        print(f"{name:<24}{t_ours * 1e3:>14.2f}{t_theirs * 1e3:>12.2f}{t_theirs / t_ours:>18.1f}"
              f"{abs(ours - theirs):>15.1e}")


if __name__ == "__main__":
    main()

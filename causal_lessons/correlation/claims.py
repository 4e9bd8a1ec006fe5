"""Chapter 1's rows of the claim check, measured once by :func:`measure` (the chapter page glues its numbers
from the same call) and judged by :func:`claims`."""

from __future__ import annotations

from dataclasses import dataclass

from ..claims import Claim, Interval, above, below, bootstrap, cached, make_claim, proportion, within
from ..datasets import load_chocolate_nobel
from .discovery import pc_skeleton, skeleton_recovery_rate
from .estimation import Correlation, partial_correlation, pearson
from .scm import LinearTriangle

GDP_COLUMNS = ("gdp_per_capita", "gdp_per_capita_gapminder_2007")


@dataclass(frozen=True)
class CorrelationResults:
    """What chapter 1 measures: the correlation, the partial correlations given GDP (with bootstrap intervals)
    and the PC algorithm's findings on simulated and real data."""

    r: Correlation
    partial: dict[str, Interval]
    recovered: int
    seeds: int
    real_edges: list[str]


@cached
def measure() -> CorrelationResults:
    """Run chapter 1's measurements (a few seconds).

    Examples
    --------
    >>> round(measure().r.r, 3)
    0.791
    """
    df = load_chocolate_nobel()
    r = pearson(df["chocolate_kg_per_capita"], df["nobel_laureates_per_10m"])
    partial = {}
    for col in GDP_COLUMNS:
        def stat(idx, col=col):
            return partial_correlation(df.iloc[idx], "chocolate_kg_per_capita", "nobel_laureates_per_10m", [col])
        partial[col] = bootstrap(stat, len(df))
    model = LinearTriangle(a=2.0, b=2.0, beta=0.0).scm()
    truth = {frozenset({"C", "G"}), frozenset({"G", "N"})}
    seeds = 20
    rate = skeleton_recovery_rate(model.sample, truth, n=2_000, seeds=range(seeds), alpha=0.01)
    real = df.rename(columns={"chocolate_kg_per_capita": "C", "nobel_laureates_per_10m": "N",
                              "gdp_per_capita_gapminder_2007": "G"})[["C", "G", "N"]]
    real_edges = sorted("-".join(sorted(e)) for e in pc_skeleton(real, alpha=0.01))
    return CorrelationResults(r, partial, round(rate * seeds), seeds, real_edges)


def claims(results: CorrelationResults | None = None) -> list[Claim]:
    """Rows for chapter 1, "Correlation is not causation".

    Examples
    --------
    >>> [c.verdict for c in claims()]
    ['holds', 'does not hold', 'holds in part']
    """
    res = measure() if results is None else results
    r = res.r
    return [
        make_claim("correlation", "Chocolate consumption and Nobel laureates correlate (Messerli: r = 0.791)", [
            within(Interval.exact(r.r, "computed from the shipped table"), 0.791, 0.0005, "r", 3),
            above(Interval(r.r, r.ci_low, r.ci_high, method="Fisher z"), 0.0, "r"),
        ], f"{r.n} countries"),
        make_claim("correlation", "GDP, the common cause, explains the correlation", [
            below(ci, 0.3, f"partial r given {col}", 2) for col, ci in res.partial.items()
        ], "23 countries, bootstrap over countries"),
        make_claim("correlation", "The triangle C <- G -> N can be found from data (PC algorithm, alpha = 0.01)", [
            above(proportion(res.recovered, res.seeds), 0.8, "share of simulated data sets (n = 2,000) whose "
                  "skeleton PC recovers", 2),
            above(Interval.exact(float(set(res.real_edges) == {"C-G", "G-N"}), "yes = 1, no = 0"), 0.5,
                  f"PC recovers the skeleton on the 23 real countries (found: {', '.join(res.real_edges) or 'none'})"),
        ]),
    ]

r"""Chapter 1's rows of the claim check, measured once by :func:`measure` (the chapter page glues every number
it shows from the same call) and judged by :func:`claims`.

The rows and their rules:

1. **Messerli's correlation** (the talk's opening example): the shipped table reproduces :math:`r = 0.791`
   (to the three decimals published) and its Fisher-:math:`z` interval excludes 0.
2. **GDP explains the correlation** (the talk's causal triangle :math:`C \leftarrow G \rightarrow N`): if GDP were
   the common cause behind it, the partial correlation of chocolate and Nobel prizes given GDP would be small.
   Rule: below 0.3 (less than 9% of the remaining variance shared), judged on a percentile bootstrap interval
   over the 23 countries (10,000 resamples) for each GDP column.
   The documented (Gapminder) column decides; the undocumented column is a robustness check.
3. **PC recovers the fork's skeleton from the 23 countries** (the part of the talk's question "can the triangle
   be proven from data?" that data can answer): PC tests conditional independences and returns a skeleton.
   Rule: it finds :math:`C - G - N` on the 23 countries, and it has the power to (finds the skeleton in more than
   80% of simulated 23-country data sets from a fork with the real GDP correlations). A "holds" would still not
   prove the fork: the fork and both chains share the skeleton, and hidden causes are not excluded.
4. **A laptop-or-TV proxy of the office scene accounts for most of the keyboard-mouse association** (the talk's
   example in images, through a proxy): rule: the share of the risk difference removed by adjusting for the proxy
   (standardised to all images) is above 0.5, and the adjusted risk difference is below 0.05.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import runtime
from ..claims import Claim, Interval, above, below, bootstrap, cached, make_claim, paper, proportion, talk, within
from ..datasets import load_chocolate_nobel, load_coco_labels
from ..formatting import constant, number
from .discovery import pc_skeleton, pc_skeletons
from .dowhy_steps import four_steps
from .estimation import Correlation, adjusted_effect, partial_pearson, pearson
from .scm import LinearTriangle

CHOCOLATE, NOBEL = "chocolate_kg_per_capita", "nobel_laureates_per_10m"
#: The two GDP columns of the table, the documented one first, with the names the page shows.
GDP_COLUMNS = {
    "gdp_per_capita_gapminder_2007": "GDP per head, Gapminder 2007",
    "gdp_per_capita": "GDP per head, undocumented column",
}
#: Significance level of PC's independence tests.
ALPHA = 0.01
#: The partial correlation below which GDP would "explain" the correlation: r^2 < 0.09 of the rest shared.
PARTIAL_THRESHOLD = 0.3
#: Sample sizes of the PC power study; 23 is the real table's.
PC_SIZES = (23, 50, 200)
#: The objects whose presence stands in for an office/desk scene in COCO (a crude proxy: the scene is unlabelled).
DESK_PROXY = ("laptop", "tv")
#: Bootstrap resamples of the 23 countries: the interval's ends move by about 0.003 between seeds.
BOOTSTRAP = 10_000
SKELETON = {frozenset({"C", "G"}), frozenset({"G", "N"})}


@dataclass(frozen=True)
class CorrelationResults:
    r"""Everything chapter 1 measures (see :func:`measure`).

    Attributes
    ----------
    r
        Pearson's correlation of chocolate and Nobel laureates over the countries, with Fisher's interval.
    gdp_r
        ``{gdp column: (corr(GDP, chocolate), corr(GDP, Nobel))}``.
    slopes
        One row per GDP column: naive slope, slope adjusted for GDP (package and DoWhy).
    partial
        ``{gdp column: bootstrap interval of the partial correlation given it}``.
    partial_fisher
        ``{gdp column: the same partial correlation with Fisher's z interval and test}``.
    refutations
        DoWhy's refuters on the documented GDP column (one row each).
    pc_tests
        The Fisher-z tests PC runs on the real data (documented GDP column): partial correlations and p-values.
    pc_real
        One row per GDP column and level: the skeleton PC finds on the real data.
    pc_power
        The PC power study: one row per world and sample size, with counts of data sets.
    null_r
        Correlations of chocolate and Nobel prizes in simulated 23-country worlds with no causal effect, from a
        fork built to have correlation 0.791 (GDP correlating :math:`\sqrt{0.791} = 0.89` with each variable).
    null_r_real
        The same from a fork with the real data's GDP correlations (implied correlation about 0.36).
    coco
        Keyboard and mouse in COCO train2017 by stratum of the desk proxy (counts and probabilities).
    coco_rd
        Risk differences P(mouse | keyboard) - P(mouse | no keyboard): crude, adjusted for the proxy and the
        share removed (standardised to all images), and adjusted and share removed standardised to the images
        with a keyboard ("... (keyboard images)"), each with a bootstrap interval over images.
    """

    r: Correlation
    gdp_r: dict[str, tuple[float, float]]
    slopes: pd.DataFrame
    partial: dict[str, Interval]
    partial_fisher: dict[str, Correlation]
    refutations: pd.DataFrame
    pc_tests: pd.DataFrame
    pc_real: pd.DataFrame
    pc_power: pd.DataFrame
    null_r: np.ndarray
    null_r_real: np.ndarray
    coco: pd.DataFrame
    coco_rd: dict[str, Interval]

    @property
    def n(self) -> int:
        """Number of countries."""
        return self.r.n

    def power(self, world: str, n: int) -> Interval:
        """PC's power (share of data sets in which it finds exactly C - G - N) with its Wilson interval.

        Examples
        --------
        >>> measure().power("fork with the real GDP correlations", 23).method
        'Wilson'
        """
        row = self.pc_power[(self.pc_power["world"] == world) & (self.pc_power["n"] == n)]
        if len(row) != 1:
            raise ValueError(f"no power measured for world {world!r} at n = {n}; "
                             f"worlds: {sorted(set(self.pc_power['world']))}, sizes: {sorted(set(self.pc_power['n']))}")
        return proportion(int(row["triangle found"].iloc[0]), int(row["data sets"].iloc[0]))


def _partial_r(columns: np.ndarray) -> float:
    r"""Partial correlation of columns 0 and 1 given column 2, from the correlation matrix:
    :math:`(r_{01} - r_{02} r_{12}) / \sqrt{(1 - r_{02}^2)(1 - r_{12}^2)}`, equal to
    :func:`~causal_lessons.correlation.estimation.partial_correlation` (tested) and four times faster, which
    matters inside a bootstrap of 10,000 resamples."""
    c = np.corrcoef(columns.T)
    return float((c[0, 1] - c[0, 2] * c[1, 2]) / np.sqrt((1 - c[0, 2] ** 2) * (1 - c[1, 2] ** 2)))


def _real_data_frame(df: pd.DataFrame, gdp: str) -> pd.DataFrame:
    return df.rename(columns={CHOCOLATE: "C", NOBEL: "N", gdp: "G"})[["C", "G", "N"]]


def _edges(skeleton: set[frozenset[str]]) -> str:
    return ", ".join(sorted(" - ".join(sorted(e, key="GCN".index)) for e in skeleton)) or "none"


def _coco(size: str, seed: int = 0) -> tuple[pd.DataFrame, dict[str, Interval]]:
    """Keyboard/mouse by desk-proxy stratum and the risk differences with bootstrap intervals over images."""
    coco = load_coco_labels("train2017")
    col = {name: coco.labels[:, coco.names.index(name)].astype(np.int64) for name in
           ("keyboard", "mouse", *DESK_PROXY)}
    desk = np.zeros(coco.n_images, dtype=np.int64)
    for name in DESK_PROXY:
        desk |= col[name]
    cell = desk * 4 + col["keyboard"] * 2 + col["mouse"]  # stratum, keyboard, mouse: one code per image

    def counts(idx: np.ndarray) -> np.ndarray:
        return np.bincount(cell[idx], minlength=8).reshape(2, 2, 2).astype(float)  # [desk, keyboard, mouse]

    def rd(c: np.ndarray) -> tuple[float, float, float]:
        """Crude risk difference, and the stratum differences standardised to all images (weights P(desk))
        and to the images with a keyboard (weights P(desk | keyboard)): the strata differ, so the target
        population matters."""
        crude = c.sum(0)
        crude_rd = crude[1, 1] / crude[1].sum() - crude[0, 1] / crude[0].sum()
        with np.errstate(invalid="ignore", divide="ignore"):  # a resample may empty a cell: NaN, dropped
            strata = c[:, 1, 1] / c[:, 1].sum(1) - c[:, 0, 1] / c[:, 0].sum(1)
        everyone = c.sum((1, 2)) / c.sum()
        treated = c[:, 1].sum(1) / c[:, 1].sum()
        return float(crude_rd), float(np.sum(everyone * strata)), float(np.sum(treated * strata))

    rows = np.arange(coco.n_images)
    whole = counts(rows)
    table = []
    for label, c in (("all images", whole.sum(0)), ("no laptop or TV", whole[0]), ("laptop or TV", whole[1])):
        table.append({"images": label, "n": int(c.sum()), "with keyboard": int(c[1].sum()),
                      "P(mouse | keyboard)": c[1, 1] / c[1].sum(), "P(mouse | no keyboard)": c[0, 1] / c[0].sum()})
    table = pd.DataFrame(table)
    table["difference"] = table["P(mouse | keyboard)"] - table["P(mouse | no keyboard)"]
    resamples = runtime.pick(500, 2_000, at=size)
    statistics = {
        "crude": lambda d: d[0],
        "adjusted": lambda d: d[1],
        "share removed": lambda d: 1 - d[1] / d[0],
        "adjusted (keyboard images)": lambda d: d[2],
        "share removed (keyboard images)": lambda d: 1 - d[2] / d[0],
    }
    rd_ci = {name: bootstrap(lambda i, f=f: f(rd(counts(i))), coco.n_images, resamples, seed)
             for name, f in statistics.items()}
    return table, rd_ci


@cached
def measure() -> CorrelationResults:
    """Run chapter 1's measurements (about ten seconds at the quick size on one CPU core).

    The real data: Pearson's r, the partial correlations given each GDP column (bootstrap over countries with
    10,000 resamples, and Fisher's z), the naive and adjusted slopes, DoWhy's four steps with its refuters, PC
    on the 23 countries and the tests that decide its edges. Simulations: PC's power on forks of 23 to 200
    samples, and worlds of 23 countries with no causal effect. COCO: keyboard and mouse by desk-proxy stratum.
    Within one process the results are computed once per size (the page, the appendix and the doctests ask
    for them several times); across processes :func:`~causal_lessons.claims.cached` stores them.

    Examples
    --------
    >>> res = measure()
    >>> round(res.r.r, 3), res.n
    (0.791, 23)
    """
    return _measure(runtime.size())


@functools.lru_cache(maxsize=None)
def _measure(size: str) -> CorrelationResults:
    df = load_chocolate_nobel()
    r = pearson(df[CHOCOLATE], df[NOBEL])
    gdp_r, partial, fisher, slopes, pc_real = {}, {}, {}, [], []
    refutations = pd.DataFrame()
    for i, gdp in enumerate(GDP_COLUMNS):
        gdp_r[gdp] = (float(np.corrcoef(df[gdp], df[CHOCOLATE])[0, 1]), float(np.corrcoef(df[gdp], df[NOBEL])[0, 1]))

        columns = df[[CHOCOLATE, NOBEL, gdp]].to_numpy(dtype=float)
        partial[gdp] = bootstrap(lambda idx, columns=columns: _partial_r(columns[idx]), len(df), BOOTSTRAP, seed=0)
        fisher[gdp] = partial_pearson(df, CHOCOLATE, NOBEL, [gdp])
        steps = four_steps(df, CHOCOLATE, NOBEL, [gdp], refuters=() if i else
                           ("placebo_treatment_refuter", "random_common_cause", "data_subset_refuter"),
                           num_simulations=runtime.pick(50, 500, at=size), seed=0)
        if not i:
            refutations = steps.refutations
        slopes.append({"GDP column": GDP_COLUMNS[gdp], "backdoor set found by DoWhy": ", ".join(steps.backdoor_set),
                       "naive slope": adjusted_effect(df, CHOCOLATE, NOBEL),
                       "adjusted (least squares)": adjusted_effect(df, CHOCOLATE, NOBEL, [gdp]),
                       "adjusted (DoWhy)": steps.estimate})
        for alpha in (ALPHA, 0.05):
            pc_real.append({"GDP column": GDP_COLUMNS[gdp], "alpha": alpha,
                            "edges PC keeps": _edges(pc_skeleton(_real_data_frame(df, gdp), alpha))})

    real = _real_data_frame(df, next(iter(GDP_COLUMNS)))
    tests = []
    for x, y, given in (("C", "N", []), ("C", "G", []), ("G", "N", []), ("C", "N", ["G"]), ("C", "G", ["N"]),
                        ("G", "N", ["C"])):
        res = partial_pearson(real, x, y, given)
        tests.append({"test": f"{x} ⊥ {y}" + (f" | {given[0]}" if given else ""), "correlation": res.r,
                      "p-value": res.p_value,
                      f"PC at alpha = {constant(ALPHA)}": "remove edge" if res.p_value > ALPHA else "keep"})

    r_gc, r_gn = gdp_r[next(iter(GDP_COLUMNS))]
    worlds = {"fork with the real GDP correlations": LinearTriangle.fork(r_gc, r_gn),
              "fork strong enough for r = 0.791": LinearTriangle.fork(np.sqrt(0.791), np.sqrt(0.791))}
    data_sets = runtime.seeds(100, 400, at=size)
    power = []
    for name, world in worlds.items():
        for n in PC_SIZES:
            runs = pc_skeletons(world.scm().sample, n, data_sets, ALPHA)
            power.append({"world": name, "implied r(C, N)": world.correlation, "n": n, "data sets": len(runs),
                          "triangle found": sum(run == SKELETON for run in runs),
                          "C - N kept": sum(frozenset({"C", "N"}) in run for run in runs)})

    null_worlds = runtime.pick(20_000, 200_000, at=size)
    null_r, null_r_real = (_world_correlations(worlds[name], r.n, null_worlds, seed) for name, seed in
                           (("fork strong enough for r = 0.791", 3), ("fork with the real GDP correlations", 5)))

    coco, coco_rd = _coco(size)
    return CorrelationResults(r=r, gdp_r=gdp_r, slopes=pd.DataFrame(slopes), partial=partial, partial_fisher=fisher,
                              refutations=refutations, pc_tests=pd.DataFrame(tests), pc_real=pd.DataFrame(pc_real),
                              pc_power=pd.DataFrame(power), null_r=null_r, null_r_real=null_r_real, coco=coco,
                              coco_rd=coco_rd)


def _world_correlations(world: LinearTriangle, n: int, worlds: int, seed: int) -> np.ndarray:
    """Pearson's r of C and N in each of ``worlds`` independent samples of ``n`` units of ``world``."""
    sims = world.scm().sample(n * worlds, seed=seed)
    cs = sims["C"].to_numpy().reshape(worlds, n)
    ns = sims["N"].to_numpy().reshape(worlds, n)
    cs, ns = cs - cs.mean(1, keepdims=True), ns - ns.mean(1, keepdims=True)
    return (cs * ns).sum(1) / np.sqrt((cs**2).sum(1) * (ns**2).sum(1))


def _other_reading(res: CorrelationResults) -> str:
    """The undocumented GDP column's verdict, in words, for the GDP row's setting."""
    other = list(GDP_COLUMNS)[1]
    ci = res.partial[other]
    verdict = below(ci, PARTIAL_THRESHOLD, "partial r").verdict
    return f"{verdict}: its interval runs from {number(ci.low, 2)} to {number(ci.high, 2)}"


def claims(results: CorrelationResults | None = None) -> list[Claim]:
    """Rows for chapter 1, "Correlation is not causation" (see the module docstring for the rules).

    Examples
    --------
    >>> [c.verdict for c in claims()]
    ['holds', 'does not hold', 'does not hold', 'does not hold']
    """
    res = measure() if results is None else results
    if not isinstance(res, CorrelationResults):
        raise TypeError(f"results must be the CorrelationResults of measure(), got {type(res).__name__}")
    r = res.r
    documented = next(iter(GDP_COLUMNS))
    real_pc = res.pc_real[(res.pc_real["alpha"] == ALPHA) & (res.pc_real["GDP column"] == GDP_COLUMNS[documented])]
    found = real_pc["edges PC keeps"].iloc[0]
    power = res.power("fork with the real GDP correlations", 23)
    big = res.power("fork with the real GDP correlations", max(PC_SIZES))
    return [
        make_claim("correlation", "Chocolate consumption and Nobel laureates per head correlate across countries, "
                   "r = 0.791 (Messerli 2012, the talk's opening example)", [
                       within(Interval.exact(r.r, "computed from the table"), 0.791, 0.0005, "r", 4),
                       above(Interval(r.r, r.ci_low, r.ci_high, method="Fisher z"), 0.0, "r"),
                   ], f"{r.n} countries of the shipped table",
                   source=paper("Messerli 2012, the correlation the talk opens with (T7)"), evidence="fig-chocolate-scatter"),
        make_claim("correlation", "GDP, the common cause of the talk's triangle C <- G -> N, explains the "
                   "correlation (then the partial correlation given GDP would be small)", [
                       below(ci, PARTIAL_THRESHOLD, f"partial r given {GDP_COLUMNS[gdp]}", 2)
                       for gdp, ci in res.partial.items()
                   ], f"{r.n} countries, percentile bootstrap over countries; GDP per head is itself a crude "
                      "proxy of wealth and research funding; the documented (Gapminder) column decides, the "
                      "undocumented column is a robustness check (" + _other_reading(res) + ")",
                   source=talk("T7"), evidence="dowhy-on-the-real-data"),
        make_claim("correlation", "PC recovers the fork's skeleton C - G - N from the 23 countries (the part of "
                   "the talk's question 'can the triangle be proven from data?' that data can answer; a recovered "
                   "skeleton would still not orient the fork or exclude hidden causes)", [
                       above(Interval.exact(float(found == "C - G, G - N"), "1 = found, 0 = not"), 0.5,
                             f"PC finds C - G - N on the {r.n} countries (it keeps: {found})", 0),
                       above(power, 0.8, f"share of {int(res.pc_power['data sets'].iloc[0]):,} "
                             f"simulated {r.n}-country data sets from a fork with the real GDP correlations in "
                             "which PC finds C - G - N", 2),
                   ], f"causal-learn PC, Fisher z at alpha = {constant(ALPHA)}, {GDP_COLUMNS[documented]}; control: "
                      f"with {max(PC_SIZES):,} samples PC finds the fork in {big.text(2)} of data sets; a 'holds' here "
                      "would not prove the fork (the fork and both chains share its skeleton)",
                   source=talk("T14"), evidence="fig-pc-power"),
        make_claim("correlation", "A laptop-or-TV proxy of the office scene accounts for most of the "
                   "keyboard-mouse association (the talk's example in images, through a proxy)", [
                       above(res.coco_rd["share removed"], 0.5, "share of the risk difference removed by "
                             "adjusting for the proxy (standardised to all images)"),
                       below(res.coco_rd["adjusted"], 0.05, "P(mouse | keyboard) - P(mouse | no keyboard) adjusted "
                             "for the proxy"),
                   ], f"COCO train2017, {int(res.coco['n'].iloc[0]):,} images, bootstrap over images; standardised "
                      "to the images with a keyboard the share removed is "
                      f"{res.coco_rd['share removed (keyboard images)'].text(2)}; the scene is "
                      f"not labelled, so a crude proxy stands in for it: a laptop or a TV in the image. What "
                      "adjustment leaves may be residual confounding through the scene the proxy misses, not a "
                      "direct dependence: these labels cannot tell which", source=talk("T8"),
                   evidence="fig-scene-proxy"),
    ]

r"""The claim check: each measurable claim, what was measured, the rule, and the verdict the rule gives.

Every chapter has a module ``causal_lessons.<slug>.claims`` with a function ``measure()`` that runs the chapter's
experiments once (its page glues its numbers from the same call) and a function ``claims(results)`` that turns
the results into :class:`Claim` rows. The appendix "What holds up" gathers every chapter's rows.

A verdict is never typed in. It is computed from an estimate *with its confidence interval* by a stated rule:

- :func:`above` / :func:`below` -- the claim is that a quantity exceeds (falls short of) a threshold: it
  **holds** when the whole interval lies on the claimed side, **does not hold** when the whole interval lies on
  the other side, and is **inconclusive** when the interval straddles the threshold;
- :func:`within` -- the claim is a number (a published value): it holds when the interval lies inside the
  tolerance band around it, does not hold when the interval misses the band entirely, else inconclusive;
- :func:`combine` -- a claim with several parts holds when every part holds, **holds in part** when some parts
  hold and others do not (or are inconclusive), does not hold when no part holds and at least one fails.

Intervals: :func:`bootstrap` (percentile bootstrap of any statistic of the rows of a data set), :func:`over_seeds`
(Student's *t* interval of a mean over independent seeds), :func:`proportion` (Wilson interval of a share) and
:meth:`Interval.exact` (a count or a deterministic computation: no sampling error to speak of).

:func:`cached` computes a chapter's measurements once per book build: when ``CAUSAL_LESSONS_CACHE`` names a
folder, results are stored there by joblib, keyed by the function, its arguments, the size and a hash of the
package's source; unset (Colab, the tests), every call computes afresh.
"""

from __future__ import annotations

import functools
import hashlib
import html
import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from scipy import stats

from . import runtime
from ._checks import as_1d_float, check_probability
from .formatting import MAX_DECIMALS, constant, decimals_for, number

HOLDS, PARTLY, FAILS, INCONCLUSIVE = "holds", "holds in part", "does not hold", "inconclusive"
#: The four verdicts a claim can get.
VERDICTS = (HOLDS, PARTLY, FAILS, INCONCLUSIVE)
CACHE_ENV = "CAUSAL_LESSONS_CACHE"

F = TypeVar("F", bound=Callable[..., Any])


def _bound(value: float, digits: int) -> str:
    """An end of an interval: a non-zero end that would read as zero gets the decimals it needs (up to the most the
    book shows) before scientific notation, so that "0.27 (95% CI 0.003 to 0.53)" keeps its sign visible."""
    while value != 0 and round(abs(value), digits) == 0 and digits < MAX_DECIMALS:
        digits += 1
    return number(value, digits)


@dataclass(frozen=True)
class Interval:
    """An estimate and its confidence interval.

    Attributes
    ----------
    value, low, high
        The estimate and the ends of its interval, ``low <= value <= high``.
    level
        The confidence level (0.95 for a 95% interval).
    method
        How the interval was made ("bootstrap, 2,000 resamples", "t over 3 seeds", "exact").

    Examples
    --------
    >>> Interval(0.6, 0.25, 0.82, method="bootstrap").text(3)
    '0.600 (95% CI 0.250 to 0.820)'
    >>> Interval(0.6, 0.25, 0.82, method="bootstrap").text()  # the interval is 0.57 wide: two decimals
    '0.60 (95% CI 0.25 to 0.82)'
    >>> Interval.exact(72 / 128).text(4)
    '0.5625 (exact)'
    """

    value: float
    low: float
    high: float
    level: float = 0.95
    method: str = ""

    def __post_init__(self) -> None:
        for name in ("value", "low", "high"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) or not math.isfinite(v):
                raise ValueError(f"Interval {name} must be a finite number, got {v!r}")
        slack = 1e-12 * max(1.0, abs(self.value))
        if not self.low - slack <= self.value <= self.high + slack:
            raise ValueError(f"Interval needs low <= value <= high, got {self.low}, {self.value}, {self.high}")
        if not 0 < self.level < 1:
            raise ValueError(f"Interval level must be in (0, 1), got {self.level}")

    @classmethod
    def exact(cls, value: float, method: str = "exact") -> "Interval":
        """A computed number with no sampling error (a count from the whole data set, a closed form)."""
        return cls(float(value), float(value), float(value), method=method)

    @property
    def is_exact(self) -> bool:
        """Whether the interval has zero width."""
        return self.low == self.high

    def text(self, digits: int | None = None) -> str:
        """The estimate with its interval, for a table or a sentence, written by
        :func:`causal_lessons.formatting.number`: to ``digits`` decimals, or by default to the precision the
        interval supports (:func:`causal_lessons.formatting.decimals_for` of its width)."""
        if self.is_exact:
            return f"{number(self.value, digits)} ({self.method or 'exact'})"
        if digits is None:
            digits = decimals_for(self.high - self.low)
        return (f"{number(self.value, digits)} ({number(self.level, 0, percent=True)} CI {_bound(self.low, digits)} "
                f"to {_bound(self.high, digits)})")


def bootstrap(statistic: Callable[[np.ndarray], float], n_rows: int, n_resamples: int = 2_000, seed: int = 0,
              level: float = 0.95) -> Interval:
    r"""Percentile bootstrap interval of a statistic of a data set's rows.

    ``statistic(idx)`` computes the statistic on the rows ``idx`` (an integer array); it is called once on all rows
    for the estimate and on ``n_resamples`` resamples of the rows drawn with replacement; the interval runs between
    the resampled statistics' quantiles :math:`\alpha/2` and :math:`1 - \alpha/2`. Resamples whose statistic is
    undefined (NaN, e.g. a stratum that vanished) are dropped; if more than 5% are, the interval is refused.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=400)
    >>> ci = bootstrap(lambda idx: float(x[idx].mean()), len(x))
    >>> bool(ci.low < 0 < ci.high), ci.method
    (True, 'bootstrap, 2,000 resamples')
    """
    if isinstance(n_rows, bool) or not isinstance(n_rows, (int, np.integer)) or n_rows < 2:
        raise ValueError(f"n_rows must be an integer >= 2, got {n_rows!r}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 100:
        raise ValueError(f"n_resamples must be an integer >= 100, got {n_resamples!r}")
    level = check_probability(level, "level")
    rows = np.arange(n_rows)
    value = float(statistic(rows))
    if not math.isfinite(value):
        raise ValueError("statistic must be finite on the whole data set")
    rng = np.random.default_rng(seed)
    draws = np.array([statistic(rng.integers(0, n_rows, n_rows)) for _ in range(n_resamples)], dtype=float)
    finite = draws[np.isfinite(draws)]
    if len(finite) < 0.95 * n_resamples:
        raise ValueError(f"the statistic is undefined on {n_resamples - len(finite)} of {n_resamples} resamples: "
                         "too few rows to bootstrap it")
    alpha = (1 - level) / 2
    low, high = np.quantile(finite, [alpha, 1 - alpha])
    return Interval(value, min(float(low), value), max(float(high), value), level,
                    f"bootstrap, {n_resamples:,} resamples")


def over_seeds(values: Sequence[float], level: float = 0.95) -> Interval:
    r"""Mean over independent seeds with Student's *t* interval, :math:`\bar x \pm t_{n-1} s / \sqrt n`.

    Examples
    --------
    >>> ci = over_seeds([0.70, 0.72, 0.74])
    >>> round(ci.value, 2), round(ci.high - ci.low, 3), ci.method
    (0.72, 0.099, 't over 3 seeds')
    """
    x = as_1d_float(values, "values", min_len=2)
    level = check_probability(level, "level")
    mean, sem = float(x.mean()), float(x.std(ddof=1) / math.sqrt(len(x)))
    half = float(stats.t.ppf(0.5 + level / 2, len(x) - 1)) * sem
    return Interval(mean, mean - half, mean + half, level, f"t over {len(x)} seeds")


def proportion(successes: int, n: int, level: float = 0.95) -> Interval:
    """A share ``successes / n`` with its Wilson score interval.

    Examples
    --------
    >>> proportion(20, 20).text(2)
    '1.00 (95% CI 0.84 to 1.00)'
    """
    for name, v in (("successes", successes), ("n", n)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{name} must be an integer, got {type(v).__name__}")
    if n < 1 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n >= 1, got successes = {successes}, n = {n}")
    level = check_probability(level, "level")
    ci = stats.binomtest(int(successes), int(n)).proportion_ci(confidence_level=level, method="wilson")
    share = successes / n
    return Interval(share, min(float(ci.low), share), max(float(ci.high), share), level, "Wilson")


@dataclass(frozen=True)
class Finding:
    """One tested part of a claim: what was measured (with its interval), the rule, and the verdict."""

    measured: str
    rule: str
    verdict: str


def _check_estimate(estimate: Any, what: str) -> Interval:
    if not isinstance(estimate, Interval):
        raise TypeError(f"estimate must be an Interval (see bootstrap, over_seeds, proportion), "
                        f"got {type(estimate).__name__}")
    if not isinstance(what, str) or not what.strip():
        raise ValueError("what must name the measured quantity")
    return estimate


def above(estimate: Interval, threshold: float, what: str, digits: int | None = None) -> Finding:
    """The claim "``what`` exceeds ``threshold``", decided by the estimate's interval.

    Examples
    --------
    >>> above(Interval(0.6, 0.25, 0.82), 0.3, "partial r").verdict
    'inconclusive'
    >>> above(Interval(0.9, 0.8, 0.95), 0.3, "r").verdict, below(Interval(0.9, 0.8, 0.95), 0.3, "r").verdict
    ('holds', 'does not hold')
    """
    estimate = _check_estimate(estimate, what)
    verdict = HOLDS if estimate.low > threshold else FAILS if estimate.high <= threshold else INCONCLUSIVE
    side = "interval" if not estimate.is_exact else "value"
    return Finding(f"{what} = {estimate.text(digits)}",
                   f"{what} > {constant(threshold)}: holds if the {side} lies above, fails if it lies at or below, "
                   "else inconclusive", verdict)


def below(estimate: Interval, threshold: float, what: str, digits: int | None = None) -> Finding:
    """The claim "``what`` is less than ``threshold``" (see :func:`above`).

    Examples
    --------
    >>> below(Interval(0.02, 0.01, 0.03), 0.05, "error").verdict
    'holds'
    """
    estimate = _check_estimate(estimate, what)
    verdict = HOLDS if estimate.high < threshold else FAILS if estimate.low >= threshold else INCONCLUSIVE
    side = "interval" if not estimate.is_exact else "value"
    return Finding(f"{what} = {estimate.text(digits)}",
                   f"{what} < {constant(threshold)}: holds if the {side} lies below, fails if it lies at or above, "
                   "else inconclusive", verdict)


def within(estimate: Interval, target: float, tolerance: float, what: str,
           digits: int | None = None) -> Finding:
    """The claim "``what`` equals ``target``" up to ``tolerance`` (a published number, reproduced).

    Holds when the interval lies inside ``[target - tolerance, target + tolerance]``, does not hold when it lies
    entirely outside, else inconclusive.

    Examples
    --------
    >>> within(Interval.exact(0.5625), 0.56, 0.01, "P(sink | hair drier)", 4).verdict
    'holds'
    >>> within(Interval(0.40, 0.29, 0.52), 0.39, 0.01, "estimate").verdict
    'inconclusive'
    """
    estimate = _check_estimate(estimate, what)
    if not tolerance > 0:
        raise ValueError(f"tolerance must be > 0, got {tolerance}")
    lo, hi = target - tolerance, target + tolerance
    inside = lo <= estimate.low and estimate.high <= hi
    outside = estimate.high < lo or estimate.low > hi
    verdict = HOLDS if inside else FAILS if outside else INCONCLUSIVE
    return Finding(f"{what} = {estimate.text(digits)}",
                   f"{what} = {constant(target)} +- {constant(tolerance)}: holds if the interval lies inside, fails if it lies "
                   "outside, else inconclusive", verdict)


def provided(finding: Finding, condition: bool, reason: str) -> Finding:
    """``finding`` as it is where ``condition`` holds; else the same measurement, inconclusive, with ``reason``.

    For a verdict that means something only under a condition the measurement itself does not check: models
    trained to a plateau, a pick inside its grid, a measure with a positive control.

    Examples
    --------
    >>> f = above(Interval(0.9, 0.8, 0.95), 0.5, "accuracy")
    >>> provided(f, True, "x").verdict, provided(f, False, "every run still improving").verdict
    ('holds', 'inconclusive')
    """
    if not isinstance(finding, Finding):
        raise TypeError(f"finding must be a Finding (from above, below or within), got {type(finding).__name__}")
    if not isinstance(condition, (bool, np.bool_)):
        raise TypeError(f"condition must be a bool, got {type(condition).__name__}")
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError("reason must say why the verdict needs the condition")
    if condition:
        return finding
    return Finding(f"{finding.measured} (inconclusive: {reason})", f"{finding.rule}, where it applies", INCONCLUSIVE)


def combine(verdicts: Sequence[str]) -> str:
    """The verdict of a claim with several parts (see the module docstring).

    Examples
    --------
    >>> combine([HOLDS, HOLDS]), combine([HOLDS, FAILS]), combine([HOLDS, INCONCLUSIVE])
    ('holds', 'holds in part', 'holds in part')
    >>> combine([FAILS, INCONCLUSIVE]), combine([INCONCLUSIVE]), combine([FAILS])
    ('does not hold', 'inconclusive', 'does not hold')
    """
    verdicts = list(verdicts)
    if not verdicts:
        raise ValueError("verdicts must not be empty")
    unknown = sorted(set(verdicts) - set(VERDICTS))
    if unknown:
        raise ValueError(f"unknown verdicts {unknown}; expected some of {VERDICTS}")
    if all(v == HOLDS for v in verdicts):
        return HOLDS
    if any(v in (HOLDS, PARTLY) for v in verdicts):
        return PARTLY
    if any(v == FAILS for v in verdicts):
        return FAILS
    return INCONCLUSIVE


#: The three kinds of source a claim row can have.
SOURCE_KINDS = ("talk", "paper", "course")


@dataclass(frozen=True)
class Source:
    """Whose claim a row tests: the talk (its claim id and words), a paper, or the course's own question.

    Attributes
    ----------
    kind
        One of :data:`SOURCE_KINDS`.
    reference
        The talk's claim id (``"T19"``), the paper ("Arjovsky et al. 2019") or the course's question.
    quote
        For the talk: its words in the original and the course's English rendering.

    Build one with :func:`talk`, :func:`paper` or :func:`course`.
    """

    kind: str
    reference: str
    quote: str = ""

    def __post_init__(self) -> None:
        if self.kind not in SOURCE_KINDS:
            raise ValueError(f"kind must be one of {SOURCE_KINDS}, got {self.kind!r}")
        _check_text(self.reference, "reference")
        _check_text(self.quote, "quote", empty=True)

    def text(self) -> str:
        """The source as the claim table shows it.

        Examples
        --------
        >>> paper("Arjovsky et al. 2019").text()
        'paper: Arjovsky et al. 2019'
        >>> talk("T3").text()
        'the talk, T3: 共生不等于因果，经常发生的事情不一定是因果关系 (co-occurrence is not causation)'
        """
        if self.kind == "talk":
            return f"the talk, {self.reference}: {self.quote}"
        return f"{'paper' if self.kind == 'paper' else 'the course asks'}: {self.reference}"


def _check_text(value: object, name: str, empty: bool = False) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__}")
    if not empty and not value.strip():
        raise ValueError(f"{name} must not be empty")


def talk(claim_id: str) -> Source:
    """The talk's claim ``claim_id`` (``"T1"`` .. ``"T27"``, :func:`causal_lessons.datasets.load_talk_claims`).

    Examples
    --------
    >>> talk("T19").reference, talk("T19").kind
    ('T19', 'talk')
    >>> talk("T99")
    Traceback (most recent call last):
    ...
    ValueError: claim_id must be one of the talk's claims T1 .. T27, got 'T99'
    """
    from .datasets import load_talk_claims

    table = load_talk_claims().set_index("id")
    if not isinstance(claim_id, str) or claim_id not in table.index:
        raise ValueError(f"claim_id must be one of the talk's claims T1 .. T{len(table)}, got {claim_id!r}")
    row = table.loc[claim_id]
    return Source("talk", claim_id, f"{row['original']} ({row['english']})")


def paper(citation: str) -> Source:
    """A claim of a paper (the talk does not make it): ``citation`` names it ("Arjovsky et al. 2019").

    Examples
    --------
    >>> paper("Wang et al. 2023").kind
    'paper'
    """
    _check_text(citation, "citation")
    return Source("paper", citation)


def course(question: str) -> Source:
    """A question the course asks itself (neither the talk nor a paper claims it).

    Examples
    --------
    >>> course("does the D4 G-CNN cost accuracy?").kind
    'course'
    """
    _check_text(question, "question")
    return Source("course", question)


#: What :attr:`Claim.evidence` may hold: an HTML id as MyST writes a figure's or section's label, or nothing.
EVIDENCE_LABEL = re.compile(r"(?:[a-z0-9][a-z0-9-]*)?")


@dataclass(frozen=True)
class Claim:
    """One row of the claim check.

    Attributes
    ----------
    chapter
        The chapter's slug.
    claim
        The claim, in its author's sense.
    measured
        Exactly what was measured, with intervals; a toy proxy is named a proxy.
    rule
        The rule that turns the measurement into the verdict.
    verdict
        One of ``VERDICTS``.
    source
        Whose claim it is (:class:`Source`).
    evidence
        Where the chapter's page shows the evidence: the label of its figure or section (an HTML id such as
        ``fig-context-curves``), or ``""`` for the page as a whole.
    """

    chapter: str
    claim: str
    measured: str
    rule: str
    verdict: str
    source: Source
    evidence: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")
        if not isinstance(self.source, Source):
            raise TypeError("source must be a Source (from claims.talk, claims.paper or claims.course)")
        if not isinstance(self.evidence, str) or not EVIDENCE_LABEL.fullmatch(self.evidence):
            raise ValueError(f"evidence must be a figure's or section's label (letters, digits and hyphens) or '', "
                             f"got {self.evidence!r}")


def make_claim(chapter: str, claim: str, findings: Sequence[Finding], setting: str = "", *,
               source: Source, evidence: str = "") -> Claim:
    """A claim row from its findings: the verdict by :func:`combine`, the rules and measurements joined.

    Parameters
    ----------
    chapter, claim
        See :class:`Claim`.
    findings
        The tested parts, from :func:`above`, :func:`below` or :func:`within`.
    setting
        What the measurement was made on ("COCO train2014, 82,081 images"), put before the numbers.
    source
        Whose claim it is: :func:`talk`, :func:`paper` or :func:`course`.
    evidence
        The label of the figure or section of the chapter's page that shows the evidence (see :class:`Claim`).

    Examples
    --------
    >>> row = make_claim("correlation", "r is large", [above(Interval(0.79, 0.56, 0.91), 0.5, "r")], "23 countries",
    ...                  source=talk("T7"))
    >>> row.verdict, row.measured
    ('holds', '23 countries: r = 0.79 (95% CI 0.56 to 0.91)')
    """
    findings = list(findings)
    if not findings or not all(isinstance(f, Finding) for f in findings):
        raise ValueError("findings must be a non-empty list of Finding (from above, below or within)")
    measured = "; ".join(f.measured for f in findings)
    return Claim(chapter, claim, f"{setting}: {measured}" if setting else measured,
                 "; ".join(f.rule for f in findings), combine([f.verdict for f in findings]), source, evidence)


def claims_table(claims: Sequence[Claim]) -> pd.DataFrame:
    """The claims as a table, one row each (columns: chapter, source, claim, measured, rule, verdict; the source
    as :meth:`Source.text` writes it).

    Examples
    --------
    >>> claims_table([Claim("x", "a claim", "1.0", "a rule", HOLDS, course("is it?"))]).columns.tolist()
    ['chapter', 'source', 'claim', 'measured', 'rule', 'verdict']
    """
    claims = _claim_list(claims)
    return pd.DataFrame([{"chapter": c.chapter, "source": c.source.text(), "claim": c.claim, "measured": c.measured,
                          "rule": c.rule, "verdict": c.verdict} for c in claims])


def _source_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).resolve().parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cached(fn: F) -> F:
    """Compute ``fn`` once per book build: cached by joblib under ``$CAUSAL_LESSONS_CACHE`` when it is set.

    The cache key holds the function, its arguments, the size (quick/full/smoke), the seed offset and a hash of the
    package's source, so a changed package, size or seed never reads a stale result.

    Examples
    --------
    >>> @cached
    ... def square(x):
    ...     return x * x
    >>> square(3)
    9
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        location = os.environ.get(CACHE_ENV, "").strip()
        if not location:
            return fn(*args, **kwargs)
        from joblib import Memory

        memory = Memory(Path(location) / f"{runtime.size()}-{runtime.seed_offset()}-{_source_hash()}", verbose=0)
        return memory.cache(fn)(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


#: The badge of each verdict: a symbol and a class (the colour), so that it reads without colour too.
BADGES = {HOLDS: ("✓", "holds"), PARTLY: ("◐", "partly"), FAILS: ("✗", "fails"), INCONCLUSIVE: ("?", "inconclusive")}


def tally(claims: Sequence[Claim]) -> dict[str, int]:
    """How many of ``claims`` got each verdict, in the order of :data:`VERDICTS`.

    Examples
    --------
    >>> tally([Claim("x", "c", "m", "r", HOLDS, course("q"))])
    {'holds': 1, 'holds in part': 0, 'does not hold': 0, 'inconclusive': 0}
    """
    claims = _claim_list(claims)
    return {verdict: sum(c.verdict == verdict for c in claims) for verdict in VERDICTS}


def _claim_list(claims: Sequence[Claim]) -> list[Claim]:
    claims = list(claims)
    if not claims:
        raise ValueError("claims must not be empty")
    if not all(isinstance(c, Claim) for c in claims):
        raise TypeError("claims must hold only Claim rows")
    return claims


def badge(verdict: str) -> str:
    """The verdict as an HTML badge: symbol and words, coloured by the book's style sheet.

    Examples
    --------
    >>> badge("holds")
    '<span class="verdict-badge verdict-holds">✓ holds</span>'
    """
    if verdict not in BADGES:
        raise ValueError(f"verdict must be one of {VERDICTS}, got {verdict!r}")
    symbol, name = BADGES[verdict]
    return f'<span class="verdict-badge verdict-{name}">{symbol} {html.escape(verdict)}</span>'


def tally_html(claims: Sequence[Claim]) -> str:
    """One line counting the verdicts of ``claims``, each count beside its badge.

    Examples
    --------
    >>> "1 ×" in tally_html([Claim("x", "c", "m", "r", HOLDS, course("q"))])
    True
    """
    counts = tally(claims)
    parts = [f"{count} × {badge(verdict)}" for verdict, count in counts.items() if count]
    return f'<p class="verdict-tally">{len(_claim_list(claims))} claims: {", ".join(parts)}</p>'


def cards(claims: Sequence[Claim], show_source: bool = True, page: str | None = None) -> str:
    """The claims as cards that read at any width: the claim, its verdict badge, its source, what was measured
    (the estimates with their intervals), a link to the evidence and, folded, the rule that gave the verdict.

    Parameters
    ----------
    claims
        The rows.
    show_source
        Whether each card names its source.
    page
        Where the cards are shown: ``None`` on the chapter's own page (the link goes to the row's
        :attr:`Claim.evidence` there, and a row without one gets no link), else the address of a row's chapter page
        from there, with ``{chapter}`` for its slug, e.g. ``"../{chapter}/index.html"``.

    Examples
    --------
    >>> row = Claim("x", "r > 0 <b>", "r = 0.8", "r above 0", HOLDS, talk("T3"), evidence="fig-scatter")
    >>> out = cards([row])
    >>> out.count('class="verdict-card '), "&lt;b&gt;" in out, "T3" in out, 'href="#fig-scatter"' in out
    (1, True, True, True)
    >>> 'href="../x/index.html#fig-scatter"' in cards([row], page="../{chapter}/index.html")
    True
    """
    if page is not None and (not isinstance(page, str) or "{chapter}" not in page):
        raise ValueError(f"page must be None or an address with {{chapter}} in it, got {page!r}")
    out = ['<div class="verdict-cards">']
    for c in _claim_list(claims):
        source = f'<p class="verdict-source">{html.escape(c.source.text())}</p>' if show_source else ""
        anchor = f"#{c.evidence}" if c.evidence else ""
        href = anchor if page is None else page.replace("{chapter}", c.chapter) + anchor
        words = "The evidence on the chapter's page" if page is not None else "The evidence above"
        link = f'<p class="verdict-evidence"><a href="{html.escape(href)}">{words}</a></p>' if href else ""
        out.append(
            f'<div class="verdict-card verdict-card-{BADGES[c.verdict][1]}">'
            f'<p class="verdict-head">{badge(c.verdict)}</p>'
            f'<p class="verdict-claim">{html.escape(c.claim)}</p>{source}'
            f'<p class="verdict-measured"><strong>Measured:</strong> {html.escape(c.measured)}</p>{link}'
            f'<details class="verdict-rule"><summary>The rule</summary><p>{html.escape(c.rule)}</p></details>'
            "</div>")
    out.append("</div>")
    return "".join(out)

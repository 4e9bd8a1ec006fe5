r"""Structural causal models: named variables, their parents and mechanisms; sampling and :math:`do`.

A variable :math:`V` is set by its mechanism :math:`V := f_V(\mathrm{pa}(V), U_V)` with independent noise
:math:`U_V \sim \mathcal N(0, \sigma_V^2)`. Sampling evaluates the mechanisms in topological order.
The intervention :math:`do(X = x)` is *graph surgery*: :math:`X`'s mechanism is replaced by the constant
:math:`x`, which removes exactly :math:`X`'s incoming edges and leaves every other mechanism as it was.

The same model samples numpy arrays (``sample``) or torch tensors on any device (``sample_torch``),
provided its mechanisms use operations that both understand (``+``, ``*``, ``**``) or the module's
:func:`tanh` and :func:`sigmoid`, which dispatch on the input type.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
import pandas as pd

from .._checks import check_positive_int

if TYPE_CHECKING:
    import torch

Array = Any  # numpy.ndarray or torch.Tensor


def _is_tensor(x: Any) -> bool:
    """Whether ``x`` is a torch tensor, without importing torch: torch is imported only when tensors are used
    (``sample_torch``), so the numpy side (exercises, the page) starts a second faster."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def tanh(x: Array) -> Array:
    """Hyperbolic tangent for numpy arrays and torch tensors alike.

    Examples
    --------
    >>> import torch
    >>> float(tanh(np.array(0.0))), float(tanh(torch.tensor(0.0)))
    (0.0, 0.0)
    """
    return x.tanh() if _is_tensor(x) else np.tanh(x)


def sigmoid(x: Array) -> Array:
    """Logistic function for numpy arrays and torch tensors alike.

    Examples
    --------
    >>> float(sigmoid(np.array(0.0)))
    0.5
    """
    return x.sigmoid() if _is_tensor(x) else 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class Mechanism:
    """How one variable is made from its parents and its own noise.

    Parameters
    ----------
    parents
        Names of the parent variables.
    fn
        Called as ``fn(**parent_values, noise=u)``; its parameters must be exactly the parents and ``noise``.
    noise_std
        Standard deviation of the Gaussian noise ``u``.

    Examples
    --------
    >>> Mechanism(("G",), lambda G, noise: 2 * G + noise, noise_std=0.5).parents
    ('G',)
    """

    parents: tuple[str, ...]
    fn: Callable[..., Array]
    noise_std: float = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.parents, (str, bytes)) or not all(isinstance(p, str) for p in self.parents):
            raise TypeError(f"parents must be a sequence of variable names, got {self.parents!r}")
        object.__setattr__(self, "parents", tuple(self.parents))
        if not callable(self.fn):
            raise TypeError(f"fn must be callable, got {type(self.fn).__name__}")
        object.__setattr__(self, "noise_std", _real(self.noise_std, "noise_std"))
        if self.noise_std < 0:
            raise ValueError(f"noise_std must be >= 0, got {self.noise_std}")


def constant(value: float) -> Mechanism:
    """The mechanism of an intervened variable: a constant, no parents, no noise.

    Examples
    --------
    >>> constant(2.0).parents
    ()
    """
    value = _real(value, "value")

    def fn(noise: Array) -> Array:
        return noise * 0 + value

    return Mechanism(parents=(), fn=fn, noise_std=0.0)


@dataclass(frozen=True)
class SCM:
    """A structural causal model over named variables.

    Parameters
    ----------
    mechanisms
        ``{name: Mechanism}``. Every parent must be a variable of the model and the graph must be acyclic.

    Examples
    --------
    >>> model = SCM({
    ...     "G": Mechanism((), lambda noise: noise),
    ...     "C": Mechanism(("G",), lambda G, noise: 2 * G + noise),
    ...     "N": Mechanism(("G",), lambda G, noise: 2 * G + noise),
    ... })
    >>> model.order
    ('G', 'C', 'N')
    >>> sorted(model.do(C=1.0).graph().edges())
    [('G', 'N')]
    """

    mechanisms: Mapping[str, Mechanism]
    order: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.mechanisms, Mapping) or not self.mechanisms:
            raise ValueError("mechanisms must be a non-empty mapping from variable names to Mechanism")
        for name, mech in self.mechanisms.items():
            if not isinstance(mech, Mechanism):
                raise TypeError(f"mechanisms[{name!r}] must be a Mechanism, got {type(mech).__name__}")
            unknown = [p for p in mech.parents if p not in self.mechanisms]
            if unknown:
                raise ValueError(f"variable {name!r} has parents {unknown} that are not variables of the model")
            _check_signature(name, mech)
        graph = self._build_graph()
        try:
            cycle = nx.find_cycle(graph)
        except nx.NetworkXNoCycle:
            cycle = None
        if cycle:
            path = " -> ".join([u for u, _ in cycle] + [cycle[0][0]])
            raise ValueError(f"the causal graph must be acyclic, but it has the cycle {path}")
        order = tuple(nx.lexicographical_topological_sort(graph, key=list(self.mechanisms).index))
        object.__setattr__(self, "mechanisms", dict(self.mechanisms))
        object.__setattr__(self, "order", order)

    def _build_graph(self) -> nx.DiGraph:
        graph = nx.DiGraph()
        graph.add_nodes_from(self.mechanisms)
        graph.add_edges_from((p, name) for name, m in self.mechanisms.items() for p in m.parents)
        return graph

    @property
    def variables(self) -> tuple[str, ...]:
        """Variable names in topological order."""
        return self.order

    def graph(self) -> nx.DiGraph:
        """The causal DAG (an edge ``parent -> child`` per parent)."""
        return self._build_graph()

    def do(self, **interventions: float) -> "SCM":
        """The intervened model :math:`do(X=x, \\ldots)`: a new SCM; ``self`` is unchanged.

        Raises
        ------
        ValueError
            If a name is not a variable of the model, or no intervention is given.

        Examples
        --------
        >>> m = SCM({"X": Mechanism((), lambda noise: noise), "Y": Mechanism(("X",), lambda X, noise: X + noise)})
        >>> m.do(X=3.0).sample(4, seed=0)["X"].tolist()
        [3.0, 3.0, 3.0, 3.0]
        """
        if not interventions:
            raise ValueError("do() needs at least one intervention, e.g. do(X=1.0)")
        unknown = [v for v in interventions if v not in self.mechanisms]
        if unknown:
            raise ValueError(f"do() got unknown variables {unknown}; the model's variables are {list(self.order)}")
        new = dict(self.mechanisms)
        for var, value in interventions.items():
            try:
                new[var] = constant(value)
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"do({var}=...): {exc}") from None
        return SCM(new)

    def _sample(self, n: int, noise: Callable[[float], Array]) -> dict[str, Array]:
        values: dict[str, Array] = {}
        for name in self.order:
            mech = self.mechanisms[name]
            u = noise(mech.noise_std)
            values[name] = mech.fn(**{p: values[p] for p in mech.parents}, noise=u)
        return values

    def sample(self, n: int, seed: int | np.random.Generator | None = None) -> pd.DataFrame:
        """Draw ``n`` joint samples as a DataFrame with one column per variable (numpy backend).

        Examples
        --------
        >>> m = SCM({"X": Mechanism((), lambda noise: noise)})
        >>> m.sample(5, seed=1).shape
        (5, 1)
        """
        n = check_positive_int(n, "n")
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        values = self._sample(n, lambda std: rng.normal(0.0, 1.0, size=n) * std)
        return pd.DataFrame({name: np.broadcast_to(values[name], (n,)).astype(float) for name in self.order})

    def sample_torch(
        self, n: int, seed: int | None = None, device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> dict[str, torch.Tensor]:
        """Draw ``n`` joint samples as torch tensors on ``device`` (for millions of samples on a GPU).

        Examples
        --------
        >>> m = SCM({"X": Mechanism((), lambda noise: noise), "Y": Mechanism(("X",), lambda X, noise: tanh(X))})
        >>> out = m.sample_torch(3, seed=0)
        >>> out["Y"].shape
        torch.Size([3])
        """
        n = check_positive_int(n, "n")
        import torch

        dtype = torch.float32 if dtype is None else dtype
        gen = torch.Generator(device=device or "cpu")
        if seed is not None:
            gen.manual_seed(int(seed))
        values = self._sample(
            n, lambda std: torch.randn(n, generator=gen, device=device, dtype=dtype) * std
        )
        return {name: values[name].expand(n) for name in self.order}

    def diagram(self, highlight: Sequence[str] = (), latent: Sequence[str] = (),
                labels: Mapping[str, str] | None = None, ranks: Sequence[Sequence[str]] = (),
                direction: str = "TB") -> Any:
        """The model's DAG drawn by graphviz (:func:`causal_lessons.diagrams.dag`): ``highlight`` nodes (e.g. the
        intervened ones) filled orange, ``latent`` ones dashed, ``labels`` shown instead of names, ``ranks``
        groups of nodes on one level, ``direction`` ``"TB"`` or ``"LR"``. Every edge is visible: ``dot`` routes
        each one around the nodes it does not join.

        Examples
        --------
        >>> m = SCM({"X": Mechanism((), lambda noise: noise), "Y": Mechanism(("X",), lambda X, noise: X)})
        >>> m.diagram().source.count("->")
        1
        """
        from ..diagrams import dag

        return dag(list(self.graph().edges), nodes=list(self.order), highlight=list(highlight), latent=list(latent),
                   labels=labels, ranks=ranks, direction=direction)


def _check_signature(name: str, mech: Mechanism) -> None:
    try:
        params = inspect.signature(mech.fn).parameters
    except (TypeError, ValueError):
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    takes = [p for p in params if p != "noise"]
    if "noise" not in params or set(takes) != set(mech.parents):
        raise ValueError(
            f"the mechanism of {name!r} takes arguments {tuple(params)}, but it must take exactly its parents "
            f"{mech.parents} and 'noise'"
        )


@dataclass(frozen=True)
class LinearTriangle:
    r"""The linear-Gaussian confounding triangle with closed-form answers.

    .. math::
        \begin{aligned}
        G &:= \mu_G + U_G, & U_G &\sim \mathcal N(0, v_G),\\
        C &:= c_0 + aG + U_C, & U_C &\sim \mathcal N(0, \sigma_C^2),\\
        N &:= n_0 + bG + \beta C + U_N, & U_N &\sim \mathcal N(0, \sigma_N^2).
        \end{aligned}

    The naive slope of :math:`N` on :math:`C` is
    :math:`\beta + \dfrac{a b\, v_G}{a^2 v_G + \sigma_C^2}`; adjusting for :math:`G` gives :math:`\beta`.
    With :math:`\beta = 0` the model has no edge :math:`C \to N`: the fork :math:`C \leftarrow G \rightarrow N`.

    Parameters
    ----------
    a, b, beta
        Path coefficients of :math:`G \to C`, :math:`G \to N` and :math:`C \to N`.
    var_g, sigma_c, sigma_n
        :math:`v_G = \operatorname{Var}(U_G) > 0`, and the noise standard deviations :math:`\sigma_C > 0`,
        :math:`\sigma_N \ge 0`.
    mean_g, c0, n0
        :math:`\mu_G = E[G]` and the intercepts of :math:`C` and :math:`N`.

    Examples
    --------
    >>> t = LinearTriangle(a=2.0, b=2.0, beta=0.0)
    >>> t.naive_slope, t.adjusted_slope, round(t.correlation, 3)
    (0.8, 0.0, 0.8)
    >>> sorted(t.scm().graph().edges())
    [('G', 'C'), ('G', 'N')]
    """

    a: float
    b: float
    beta: float
    var_g: float = 1.0
    sigma_c: float = 1.0
    sigma_n: float = 1.0
    mean_g: float = 0.0
    c0: float = 0.0
    n0: float = 0.0

    def __post_init__(self) -> None:
        for name in ("a", "b", "beta", "var_g", "sigma_c", "sigma_n", "mean_g", "c0", "n0"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
            if not np.isfinite(value):
                raise ValueError(f"{name} must be finite, got {value}")
            object.__setattr__(self, name, float(value))
        if self.var_g <= 0 or self.sigma_c <= 0 or self.sigma_n < 0:
            raise ValueError("var_g and sigma_c must be > 0 and sigma_n >= 0, got "
                             f"var_g = {self.var_g}, sigma_c = {self.sigma_c}, sigma_n = {self.sigma_n}")

    @classmethod
    def fork(cls, r_gc: float, r_gn: float) -> "LinearTriangle":
        r"""The fork :math:`C \leftarrow G \rightarrow N` in standard units with the given correlations of
        :math:`G` with :math:`C` and :math:`N` (no direct effect): :math:`a = r_{GC}`,
        :math:`\sigma_C^2 = 1 - r_{GC}^2`, and the same for :math:`N`. It implies
        :math:`\operatorname{corr}(C, N) = r_{GC}\, r_{GN}`.

        Examples
        --------
        >>> round(LinearTriangle.fork(0.6, 0.5).correlation, 6)
        0.3
        """
        for name, r in (("r_gc", r_gc), ("r_gn", r_gn)):
            r = _real(r, name)
            if not -1 < r < 1:
                raise ValueError(f"{name} must lie strictly between -1 and 1, got {r}")
        return cls(a=float(r_gc), b=float(r_gn), beta=0.0, sigma_c=float(np.sqrt(1 - r_gc**2)),
                   sigma_n=float(np.sqrt(1 - r_gn**2)))

    @property
    def var_c(self) -> float:
        """:math:`\\operatorname{Var}(C) = a^2 v_G + \\sigma_C^2`."""
        return self.a**2 * self.var_g + self.sigma_c**2

    @property
    def cov_cn(self) -> float:
        """:math:`\\operatorname{Cov}(C, N) = a b v_G + \\beta \\operatorname{Var}(C)`."""
        return self.a * self.b * self.var_g + self.beta * self.var_c

    @property
    def var_n(self) -> float:
        """:math:`\\operatorname{Var}(N) = b^2 v_G + \\beta^2 \\operatorname{Var}(C) + 2ab\\beta v_G + \\sigma_N^2`."""
        return (self.b**2 * self.var_g + self.beta**2 * self.var_c
                + 2 * self.a * self.b * self.beta * self.var_g + self.sigma_n**2)

    @property
    def mean_c(self) -> float:
        """:math:`E[C] = c_0 + a\\mu_G`."""
        return self.c0 + self.a * self.mean_g

    @property
    def mean_n(self) -> float:
        """:math:`E[N] = n_0 + b\\mu_G + \\beta E[C]`."""
        return self.n0 + self.b * self.mean_g + self.beta * self.mean_c

    @property
    def naive_slope(self) -> float:
        """Slope of :math:`N` on :math:`C` alone, :math:`\\operatorname{Cov}(C, N) / \\operatorname{Var}(C)`."""
        return self.cov_cn / self.var_c

    @property
    def adjusted_slope(self) -> float:
        """Slope of :math:`N` on :math:`C` adjusting for :math:`G`: the causal effect :math:`\\beta`."""
        return float(self.beta)

    @property
    def correlation(self) -> float:
        """:math:`\\operatorname{corr}(C, N)`."""
        return float(self.cov_cn / np.sqrt(self.var_c * self.var_n))

    def conditional_mean(self, c: float) -> float:
        r"""What conditioning gives: :math:`E[N \mid C = c] = E[N] + \dfrac{\operatorname{Cov}(C, N)}
        {\operatorname{Var}(C)}\,(c - E[C])` (jointly Gaussian variables).

        Examples
        --------
        >>> LinearTriangle(a=2.0, b=2.0, beta=0.0).conditional_mean(2.0)
        1.6
        """
        c = _real(c, "c")
        return self.mean_n + self.naive_slope * (c - self.mean_c)

    def interventional_mean(self, c: float) -> float:
        r"""What intervening gives: :math:`E[N \mid do(C = c)] = n_0 + b\mu_G + \beta c` (the mechanism of
        :math:`N` with :math:`C` set to :math:`c` and :math:`G` left alone).

        Examples
        --------
        >>> LinearTriangle(a=2.0, b=2.0, beta=0.0).interventional_mean(2.0)
        0.0
        """
        c = _real(c, "c")
        return self.n0 + self.b * self.mean_g + self.beta * c

    def scm(self) -> SCM:
        """The model as an :class:`SCM` with variables ``G``, ``C``, ``N`` (no edge ``C -> N`` when ``beta == 0``).

        Examples
        --------
        >>> LinearTriangle(a=1.0, b=1.0, beta=0.5).scm().mechanisms["N"].parents
        ('G', 'C')
        """
        a, b, beta, c0, n0 = self.a, self.b, self.beta, self.c0, self.n0
        mean_g = self.mean_g
        if beta == 0:
            n_mechanism = Mechanism(("G",), lambda G, noise: n0 + b * G + noise, noise_std=self.sigma_n)
        else:
            n_mechanism = Mechanism(("G", "C"), lambda G, C, noise: n0 + b * G + beta * C + noise,
                                    noise_std=self.sigma_n)
        return SCM({
            "G": Mechanism((), lambda noise: mean_g + noise, noise_std=float(np.sqrt(self.var_g))),
            "C": Mechanism(("G",), lambda G, noise: c0 + a * G + noise, noise_std=self.sigma_c),
            "N": n_mechanism,
        })


def _real(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return float(value)

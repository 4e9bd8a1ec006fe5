r"""Environment inference: find the partition of the training set that *maximises* a reference model's IRM
penalty (EIIL, Creager et al. 2021), then train IRM on it.

A reference model (ERM) gives logits :math:`z_i`. A soft assignment :math:`q_i = \sigma(a_i) \in (0, 1)` puts
example :math:`i` in environment A with weight :math:`q_i` and in B with weight :math:`1 - q_i`; EIIL maximises
the two environments' IRMv1 penalties

.. math::

   \max_{a}\; \Bigl(\frac1N \sum_i q_i\, g_i\Bigr)^2 + \Bigl(\frac1N \sum_i (1 - q_i)\, g_i\Bigr)^2,
   \qquad g_i = (\sigma(z_i) - y_i)\, z_i,

by gradient ascent on :math:`a` (Adam, as Creager et al.'s code). With :math:`S = \sum_i g_i` fixed, the
objective is :math:`A^2 + (S - A)^2` in :math:`A = \sum_i q_i g_i`, convex, so it is largest at an end of the
range of :math:`A`: all examples with :math:`g_i > 0` on one side, all with :math:`g_i < 0` on the other
(:func:`best_split`). Since :math:`g_i > 0` exactly when the reference model gets example :math:`i` wrong, the
inferred environments are "where the reference model errs" and "where it is right": for a model that reads the
colour, that is where the colour disagrees with the label, and where it agrees.

IP-IRM (Wang et al. 2021) uses the same "maximise the penalty, then be invariant" loop in self-supervised
learning. IRMCon (Qi et al. 2022) argues against it: a context estimated from a biased classifier's predictions is
incomplete or wrong, so IRMCon takes the classes as environments instead. This module implements the EIIL step
only -- exactly the prediction-based estimate that IRMCon criticises.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .. import runtime
from .._checks import check_positive_int
from .coloured_digits import Environment
from .penalty import example_gradients


def _bool_mask(value: torch.Tensor, name: str, n: int | None = None) -> torch.Tensor:
    if not isinstance(value, torch.Tensor) or value.ndim != 1 or len(value) == 0:
        raise ValueError(f"{name} must be a non-empty 1-D tensor, got "
                         f"{tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__}")
    if n is not None and len(value) != n:
        raise ValueError(f"{name} must have {n} entries, got {len(value)}")
    if value.dtype != torch.bool:
        if not torch.isfinite(value.double()).all() or not ((value == 0) | (value == 1)).all():
            raise ValueError(f"{name} must be boolean (or 0/1)")
        value = value.bool()
    return value


def eiil_objective(assignment: torch.Tensor, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""The sum of the two inferred environments' IRMv1 penalties for a soft assignment :math:`q` (see the module
    docstring), each risk averaged over all :math:`N` examples as in Creager et al.'s code.

    Examples
    --------
    >>> z, y = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([1.0, 0.0, 0.0])
    >>> float(eiil_objective(torch.tensor([0.0, 0.0, 1.0]), z, y)) > float(eiil_objective(torch.ones(3), z, y))
    True
    """
    g = example_gradients(logits, y)
    if not isinstance(assignment, torch.Tensor) or assignment.shape != g.shape:
        raise ValueError(f"assignment must be a tensor of shape {tuple(g.shape)}, one weight per example")
    if not torch.isfinite(assignment).all() or (assignment < 0).any() or (assignment > 1).any():
        raise ValueError("assignment must hold weights in [0, 1]")
    q = assignment.to(g.dtype)
    return (q * g).mean() ** 2 + ((1 - q) * g).mean() ** 2


def infer_environments(logits: torch.Tensor, y: torch.Tensor, steps: int = 2_000, lr: float = 0.01,
                       seed: int = 0, progress: bool = False) -> torch.Tensor:
    """EIIL's environment inference: the soft assignment that maximises :func:`eiil_objective`.

    The assignment starts at :math:`\\sigma(a)` with random normal :math:`a` (seeded) and follows Adam on
    :math:`a` for ``steps`` steps. The reference model is fixed, so its logits are computed once.

    Parameters
    ----------
    logits
        The reference model's logits on the pooled training set, ``(N,)``.
    y
        The labels, ``(N,)`` in {0, 1}.
    steps, lr, seed
        Adam's steps, step size and the seed of the starting assignment (an integer >= 0).
    progress
        Show a progress bar.

    Returns
    -------
    torch.Tensor
        :math:`q_i \\in (0, 1)`: the weight of example :math:`i` in inferred environment A.

    Examples
    --------
    >>> z = torch.tensor([3.0, -2.0, 1.0, -1.5])
    >>> y = torch.tensor([1.0, 1.0, 0.0, 0.0])        # the model is wrong on examples 1 and 2
    >>> (infer_environments(z, y, steps=500, lr=0.1) > 0.5).tolist()
    [False, True, True, False]
    """
    return infer_many([logits], [y], steps, lr, [seed], progress)[0]


def infer_many(logits: Sequence[torch.Tensor], ys: Sequence[torch.Tensor], steps: int = 2_000, lr: float = 0.01,
               seeds: Sequence[int] | None = None, progress: bool = False) -> list[torch.Tensor]:
    """:func:`infer_environments` for several reference models at once (one Adam on the stacked assignments).

    The objectives are summed; each depends only on its own assignment and Adam acts element by element, so each
    assignment follows the path it would follow alone.

    Parameters
    ----------
    logits, ys
        One reference model's logits and the labels per problem, all of the same length.
    steps, lr
        Adam's steps and step size.
    seeds
        The seed of each problem's starting assignment (default ``0, 1, ...``).
    progress
        Show a progress bar.

    Returns
    -------
    list of torch.Tensor
        Each problem's soft assignment (see :func:`infer_environments`).

    Examples
    --------
    >>> z, y = torch.tensor([3.0, -2.0, 1.0, -1.5]), torch.tensor([1.0, 1.0, 0.0, 0.0])
    >>> [(q > 0.5).tolist() for q in infer_many([z, -z], [y, y], steps=500, lr=0.1)]
    [[False, True, True, False], [True, False, False, True]]
    """
    for name, value in (("logits", logits), ("ys", ys)):
        if isinstance(value, (torch.Tensor, str, bytes)) or not isinstance(value, Sequence) or not value:
            raise TypeError(f"{name} must be a non-empty sequence of tensors")
    if len(logits) != len(ys):
        raise ValueError(f"logits and ys must have the same length, got {len(logits)} and {len(ys)}")
    g = [example_gradients(z, y).detach() for z, y in zip(logits, ys)]
    if len({len(gi) for gi in g}) != 1:
        raise ValueError("logits must all have the same number of examples")
    g = torch.stack(g)
    steps = check_positive_int(steps, "steps")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < float("inf"):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    seeds = list(range(len(g))) if seeds is None else seeds
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence) or len(seeds) != len(g):
        raise TypeError(f"seeds must be a sequence of {len(g)} integers >= 0, one per problem")
    # torch's generator would take a negative seed (as 2**64 + seed): every seed of the course is an integer >= 0.
    seeds = [check_positive_int(seed, "seed", minimum=0) for seed in seeds]
    a = torch.stack([torch.randn(g.shape[1], generator=torch.Generator().manual_seed(seed), dtype=g.dtype)
                     for seed in seeds]).to(g.device)
    a.requires_grad_(True)
    opt = torch.optim.Adam([a], lr=lr)
    for _ in runtime.progress(range(steps), "inferring environments", progress):
        q = torch.sigmoid(a)
        objective = (q * g).mean(1) ** 2 + ((1 - q) * g).mean(1) ** 2
        opt.zero_grad()
        (-objective.sum()).backward()
        opt.step()
    q = torch.sigmoid(a.detach())
    # Name the environments so that A is the one with the larger sum of g (where the reference model errs):
    # the objective is symmetric in A and B, and a fixed naming makes seeds comparable.
    swap = (q * g).sum(1) < ((1 - q) * g).sum(1)
    q = torch.where(swap[:, None], 1 - q, q)
    return list(q)


def colour_only_logits(env: Environment) -> torch.Tensor:
    r"""A reference model that reads nothing but the colour: logistic regression of the label on the colour,
    fitted by maximum likelihood on ``env``, which gives every example the empirical log-odds of its colour,
    :math:`z_i = \log \frac{P(y = 1 \mid c_i)}{P(y = 0 \mid c_i)}`.

    Its mistakes are exactly the examples whose colour disagrees with the label (when each colour mostly goes
    with one label), so the partition it gives :func:`infer_environments` is the pure colour bias.

    Examples
    --------
    >>> from causal_lessons.context.coloured_digits import coloured_digits, pool
    >>> env = pool(coloured_digits().train)
    >>> bool(torch.equal(best_split(colour_only_logits(env), env.y), ~env.colour_agrees))
    True
    """
    if not isinstance(env, Environment) or len(env) == 0:
        raise TypeError("env must be a non-empty Environment")
    logits = torch.zeros(len(env), dtype=torch.float64)
    for colour in (0, 1):
        mask = env.colour == colour
        share = env.y[mask].double().mean()
        if not mask.any() or not 0 < float(share) < 1:
            raise ValueError("env must hold both labels in each colour: the log-odds are infinite otherwise")
        logits[mask] = torch.log(share / (1 - share))
    return logits


def best_split(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""The hard partition that maximises :func:`eiil_objective`: environment A holds the examples with
    :math:`g_i > 0`, those the reference model gets wrong (see the module docstring).

    Examples
    --------
    >>> best_split(torch.tensor([3.0, -2.0, 1.0, -1.5]), torch.tensor([1, 1, 0, 0])).tolist()
    [False, True, True, False]
    """
    return example_gradients(logits, y) > 0


def split_environment(env: Environment, assignment: torch.Tensor) -> tuple[Environment, Environment]:
    """Two environments from one: A where ``assignment > 0.5``, B elsewhere.

    Examples
    --------
    >>> from causal_lessons.context.coloured_digits import coloured_digits
    >>> env = coloured_digits().test
    >>> a, b = split_environment(env, env.colour_agrees.float())
    >>> len(a) + len(b) == len(env), bool(a.colour_agrees.all())
    (True, True)
    """
    if not isinstance(env, Environment):
        raise TypeError(f"env must be an Environment, got {type(env).__name__}")
    if not isinstance(assignment, torch.Tensor) or assignment.shape != (len(env),):
        raise ValueError(f"assignment must be a tensor of shape ({len(env)},), one weight per example")
    if not torch.isfinite(assignment.double()).all():
        raise ValueError("assignment must hold only finite numbers")
    in_a = assignment.double() > 0.5
    if in_a.all() or not in_a.any():
        raise ValueError("assignment puts every example in one environment: nothing to split")
    return env.subset(in_a), env.subset(~in_a)


def partition_agreement(inferred: torch.Tensor, truth: torch.Tensor) -> float:
    """Share of examples whose inferred environment matches a true indicator, up to naming the two environments.

    The two inferred environments have no names, so the agreement is ``max(m, 1 - m)`` where ``m`` is the share
    of examples with ``inferred == truth``.

    Examples
    --------
    >>> partition_agreement(torch.tensor([1, 1, 0, 0]), torch.tensor([False, False, True, False]))
    0.75
    """
    inferred = _bool_mask(inferred, "inferred")
    truth = _bool_mask(truth, "truth", len(inferred))
    match = float((inferred == truth).double().mean())
    return max(match, 1 - match)


def partition_kappa(inferred: torch.Tensor, truth: torch.Tensor) -> float:
    r"""Cohen's kappa of an inferred partition with a true indicator, after naming the environments to agree best.

    With :math:`p_o` the agreement (:func:`partition_agreement`) and :math:`p_a`, :math:`p_b` the shares of
    examples in environment A under each labelling, :math:`\kappa = (p_o - p_e) / (1 - p_e)` with
    :math:`p_e = p_a p_b + (1 - p_a)(1 - p_b)`, the agreement expected by chance from the two shares alone. A
    partition that puts almost everything on one side agrees with an unbalanced truth often, but scores
    :math:`\kappa \approx 0`.

    Examples
    --------
    >>> truth = torch.arange(100) < 85
    >>> partition_kappa(torch.ones(100), truth)          # everything in one environment: agreement 0.85
    0.0
    >>> round(partition_kappa(truth, truth), 3), round(partition_kappa(~truth, truth), 3)
    (1.0, 1.0)
    """
    inferred = _bool_mask(inferred, "inferred")
    truth = _bool_mask(truth, "truth", len(inferred))
    if float((inferred == truth).double().mean()) < 0.5:
        inferred = ~inferred
    po = float((inferred == truth).double().mean())
    pa, pb = float(inferred.double().mean()), float(truth.double().mean())
    pe = pa * pb + (1 - pa) * (1 - pb)
    if pe == 1.0:
        raise ValueError("inferred and truth must each put examples on both sides: kappa is undefined otherwise")
    return (po - pe) / (1 - pe)

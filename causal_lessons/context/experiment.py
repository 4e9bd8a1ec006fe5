"""The chapter's experiment: ERM, IRMv1 with the true environments (at the chapter's penalty weight and over a
sweep of weights), IRMv1 on inferred environments, the same inferred environments with penalty weight 0
(group-balanced ERM, the control for the penalty), IRMv1 on the environments inferred from a colour-only
reference, and the grayscale oracle, trained on the same coloured digits
and tested on the reversed-colour test set; and IRMv1 on the inferred environments at several annealing steps,
trained without a held-out share of the training examples, one of which a training-only rule picks.

Every model is the same :class:`~causal_lessons.context.training.MLP` trained for the same number of full-batch
steps (:class:`Settings`); the models of all seeds are trained together
(:func:`~causal_lessons.context.training.train_many`). The training environments hold disjoint halves of the training digits. IRM on inferred
environments and its control also use the ERM model of the same seed as their reference and the inference steps
of :func:`~causal_lessons.context.inference.infer_environments`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import torch
import torch.nn.functional as F

from .._checks import check_positive_int
from ..runtime import SIZES
from .coloured_digits import N_DIGITS, TRAIN_AGREEMENTS, Environment, coloured_digits, pool, remove_colour
from .inference import colour_only_logits, infer_many, partition_agreement, partition_kappa, split_environment
from .training import MLP, Task, logits_of, n_parameters, train_many

#: The five models compared, in the order of the tables.
METHODS = ("ERM", "IRM (true environments)", "IRM (inferred environments)", "balanced ERM (inferred environments)",
           "grayscale oracle")
#: What the penalty-weight sweep records for each weight: three numbers a practitioner has without a test
#: environment, and the test accuracy.
SWEEP_COLUMNS = ("train accuracy", "penalty", "worst-environment risk", "test accuracy")


@dataclass(frozen=True)
class Settings:
    """Sizes and hyper-parameters of one run (from :func:`causal_lessons.context.lab.settings`).

    Attributes
    ----------
    seeds
        Seeds repeated over (data draws and initialisation).
    copies
        Randomly shifted copies of each digit per environment (1: none).
    hidden
        Hidden width of the MLP.
    steps
        Full-batch optimisation steps of every model.
    anneal_step, penalty_weight
        When the IRM penalty weight jumps from 1 to ``penalty_weight``.
    lr, l2
        Adam's step size and the weight decay of the loss.
    infer_steps, infer_lr
        Steps and step size of environment inference.
    every
        Steps between points of the learning curves.
    n_test
        Test digits.
    sweep
        Further penalty weights for IRMv1 with the true environments (same annealing step).
    size
        The size these settings belong to (``"quick"``, ``"full"`` or ``"smoke"``), for the pages' text.
    schedule
        Where the penalty schedule comes from, in words (e.g. ``"set by hand"``), for the pages' text.
    anneal_steps
        Annealing steps among which the training-only rule chooses for IRMv1 on the inferred environments
        (:meth:`ContextResults.chosen_anneal <causal_lessons.context.claims.ContextResults.chosen_anneal>`);
        empty: none.
    holdout
        Share of the pooled training examples held out of those runs (the rule's validation data).
    """

    seeds: tuple[int, ...]
    copies: int
    hidden: int
    steps: int
    anneal_step: int
    penalty_weight: float
    lr: float
    l2: float
    infer_steps: int
    infer_lr: float
    every: int
    n_test: int = 597
    sweep: tuple[float, ...] = ()
    size: str = "quick"
    schedule: str = "set by hand"
    anneal_steps: tuple[int, ...] = ()
    holdout: float = 0.2

    def __post_init__(self) -> None:
        if not isinstance(self.seeds, tuple) or not self.seeds:
            raise TypeError(f"seeds must be a non-empty tuple of integers, got {self.seeds!r}")
        for seed in self.seeds:
            check_positive_int(seed, "seeds", minimum=0)
        for name in ("copies", "hidden", "steps", "infer_steps", "n_test"):
            check_positive_int(getattr(self, name), name)
        for name in ("anneal_step", "every"):
            check_positive_int(getattr(self, name), name, minimum=0)
        if self.size not in SIZES:
            raise ValueError(f"size must be one of {SIZES}, got {self.size!r}")
        if not isinstance(self.schedule, str) or not self.schedule.strip():
            raise TypeError(f"schedule must be a non-empty string, got {self.schedule!r}")
        if not isinstance(self.anneal_steps, tuple):
            raise TypeError(f"anneal_steps must be a tuple of steps, got {type(self.anneal_steps).__name__}")
        for step in self.anneal_steps:
            check_positive_int(step, "anneal_steps", minimum=0)
        if isinstance(self.holdout, bool) or not isinstance(self.holdout, (int, float)) or not 0 < self.holdout < 1:
            raise ValueError(f"holdout must be a share strictly between 0 and 1, got {self.holdout!r}")
        if not isinstance(self.sweep, tuple):
            raise TypeError(f"sweep must be a tuple of penalty weights, got {type(self.sweep).__name__}")
        for name, value in [(n, getattr(self, n)) for n in ("penalty_weight", "lr", "l2", "infer_lr")] + [
                ("sweep", w) for w in self.sweep]:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")

    @property
    def per_environment(self) -> int:
        """Training images per environment: the training digits split between the training environments,
        times the shifted copies of each.

        Examples
        --------
        >>> from causal_lessons.context.lab import settings
        >>> settings("quick").per_environment, settings("full").per_environment
        (600, 6000)
        """
        return (N_DIGITS - self.n_test) // len(TRAIN_AGREEMENTS) * self.copies

    @property
    def weights(self) -> tuple[float, ...]:
        """The penalty weights of the sweep, the chapter's weight among them, in increasing order."""
        return tuple(sorted({float(w) for w in (*self.sweep, self.penalty_weight)}))

    def n_parameters(self) -> int:
        """Parameters of every model compared (they share the architecture)."""
        return n_parameters(MLP(self.hidden))


@dataclass(frozen=True)
class SeedRun:
    """Everything one seed measures.

    Attributes
    ----------
    seed
        The seed.
    test_accuracy, train_accuracy
        ``{method: accuracy}`` on the reversed-colour test set and on the training environments (mean over the
        true environments).
    curves
        Learning curves of every method (columns of :func:`~causal_lessons.context.training.train_many` plus
        ``method``).
    assignment
        Environment inference's soft assignment :math:`q_i` on the pooled training set (ERM reference).
    reference_logits, labels
        The ERM reference model's logits and the labels on the pooled training set.
    colour_agrees, flipped
        The truth for each pooled training example: colour agrees with the label; label noise flipped it.
    colour_assignment
        Environment inference's assignment with a colour-only reference
        (:func:`~causal_lessons.context.inference.colour_only_logits`) instead of ERM.
    colour_split
        ``{method: (accuracy, accuracy)}`` on the reversed-colour test examples whose colour agrees with the
        label, and on those whose colour disagrees (a model that ignores the colour scores the same on both).
    pure_test_accuracy
        Reversed-colour test accuracy of IRMv1 (the chapter's schedule) on the partition inferred from the
        colour-only reference (the pure bias, without the label noise the ERM reference gathers).
    sweep
        One row per penalty weight of IRMv1 with the true environments: ``penalty weight`` and
        :data:`SWEEP_COLUMNS` of the trained model.
    anneal_sweep
        One row per annealing step of the ``anneal_steps`` of :class:`Settings`: IRMv1 on the inferred environments without
        the held-out examples; ``anneal step``, ``held-out worst accuracy`` (the lower of its accuracies on the
        held-out examples of inferred environments A and B: training data only) and ``test accuracy``.
    """

    seed: int
    test_accuracy: dict[str, float]
    train_accuracy: dict[str, float]
    curves: pd.DataFrame
    assignment: torch.Tensor
    reference_logits: torch.Tensor
    labels: torch.Tensor
    colour_agrees: torch.Tensor
    flipped: torch.Tensor
    colour_assignment: torch.Tensor
    colour_split: dict[str, tuple[float, float]]
    pure_test_accuracy: float
    sweep: pd.DataFrame
    anneal_sweep: pd.DataFrame

    @property
    def agreement(self) -> float:
        """Agreement of the inferred partition with the true colour-agrees indicator."""
        return partition_agreement(self.assignment > 0.5, self.colour_agrees)

    @property
    def kappa(self) -> float:
        """Cohen's kappa of the inferred partition with the true colour-agrees indicator (0: chance)."""
        return partition_kappa(self.assignment > 0.5, self.colour_agrees)

    def rates(self, reference: str = "ERM") -> pd.DataFrame:
        """Per inferred environment (from the ``"ERM"`` or the ``"colour only"`` reference): its size, the share of
        examples whose colour agrees with the label, and the share whose label was flipped by noise (the bias the
        partition captures and the defect it may gather too)."""
        if reference not in ("ERM", "colour only"):
            raise ValueError(f"reference must be 'ERM' or 'colour only', got {reference!r}")
        in_a = (self.assignment if reference == "ERM" else self.colour_assignment) > 0.5
        rows = []
        for name, mask in (("A (reference model wrong)", in_a), ("B (reference model right)", ~in_a)):
            rows.append({"environment": name, "examples": int(mask.sum()),
                         "colour agrees with label": float(self.colour_agrees[mask].float().mean()),
                         "label flipped by noise": float(self.flipped[mask].float().mean())})
        return pd.DataFrame(rows)


@torch.no_grad()
def _scores(model: MLP, envs: Sequence[Environment]) -> dict[str, float]:
    """Training accuracy (mean over environments), IRMv1 penalty (mean), worst environment's risk, of a model."""
    accs, penalties, risks = [], [], []
    for env in envs:
        z, y = logits_of(model, env).double(), env.y.double()
        accs.append(float(((z > 0).double() == y).double().mean()))
        penalties.append(float(((torch.sigmoid(z) - y) * z).mean() ** 2))
        risks.append(float(F.binary_cross_entropy_with_logits(z, y)))
    return {"train accuracy": sum(accs) / len(accs), "penalty": sum(penalties) / len(penalties),
            "worst-environment risk": max(risks)}


@torch.no_grad()
def _worst_accuracy(model: MLP, envs: Sequence[Environment]) -> float:
    """The lowest of the model's accuracies on the environments."""
    return min(float(((logits_of(model, e) > 0).float() == e.y).float().mean()) for e in envs)


def holdout_mask(n: int, share: float, seed: int) -> torch.Tensor:
    """A random boolean mask holding out ``round(share * n)`` of ``n`` examples (seeded: the same on any machine).

    Examples
    --------
    >>> mask = holdout_mask(10, 0.2, seed=0)
    >>> mask.shape, int(mask.sum())
    (torch.Size([10]), 2)
    """
    n = check_positive_int(n, "n")
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share < 1:
        raise ValueError(f"share must lie strictly between 0 and 1, got {share!r}")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(check_positive_int(seed, "seed", minimum=0)))
    mask = torch.zeros(n, dtype=torch.bool)
    mask[order[:round(share * n)]] = True
    return mask


@torch.no_grad()
def _colour_split(model: MLP, test: Environment) -> tuple[float, float]:
    """Test accuracy on the examples whose colour agrees with the label, and on those whose colour disagrees."""
    correct = ((logits_of(model, test) > 0).float() == test.y).float()
    agrees = test.colour_agrees
    return float(correct[agrees].mean()), float(correct[~agrees].mean())


def run_seeds(seeds: Sequence[int], settings: Settings, device: torch.device | str = "cpu",
              progress: bool = False) -> tuple[SeedRun, ...]:
    """Train the models of :data:`METHODS` and the penalty-weight sweep on each seed's coloured digits (all
    seeds' models together) and measure them.

    Examples
    --------
    >>> from causal_lessons.context.lab import settings
    >>> runs = run_seeds([0], settings("smoke"))
    >>> sorted(runs[0].test_accuracy) == sorted(METHODS), runs[0].curves["method"].nunique()
    (True, 5)
    """
    if not isinstance(settings, Settings):
        raise TypeError(f"settings must be a Settings (see causal_lessons.context.lab.settings), "
                        f"got {type(settings).__name__}")
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence) or not seeds:
        raise TypeError("seeds must be a non-empty sequence of integers >= 0")
    seeds = [check_positive_int(seed, "seed", minimum=0) for seed in seeds]
    s = settings
    common = {"steps": s.steps, "hidden": s.hidden, "lr": s.lr, "l2": s.l2, "every": s.every, "device": device,
              "progress": progress}
    data = [coloured_digits(seed, copies=s.copies, n_test=s.n_test, disjoint=True) for seed in seeds]
    grey = [([remove_colour(e) for e in d.train], remove_colour(d.test)) for d in data]
    # Stage 1: ERM, the grayscale oracle and IRMv1 at every weight of the sweep, for every seed.
    per_seed = 2 + len(s.weights)
    tasks = []
    for seed, d, (grey_train, grey_test) in zip(seeds, data, grey):
        tasks += [Task(d.train, 0.0, 0, seed, d.test), Task(grey_train, 0.0, 0, seed, grey_test)]
        tasks += [Task(d.train, w, s.anneal_step, seed, d.test) for w in s.weights]
    models, curves = train_many(tasks, desc="ERM, grayscale, IRM", **common)
    # Environment inference from each seed's ERM model, and from a colour-only reference.
    pooled = [pool(d.train) for d in data]
    references = [logits_of(models[i * per_seed], p) for i, p in enumerate(pooled)]
    q = infer_many(references, [p.y for p in pooled], s.infer_steps, s.infer_lr, seeds, progress)
    q_colour = infer_many([colour_only_logits(p) for p in pooled], [p.y for p in pooled], s.infer_steps,
                          s.infer_lr, seeds, progress)
    # Stage 2: IRMv1 and group-balanced ERM (penalty weight 0) on the inferred environments, and IRMv1 on the
    # partition inferred from the colour-only reference.
    tasks2 = []
    for seed, d, p, qi, qc in zip(seeds, data, pooled, q, q_colour):
        inferred = split_environment(p, qi.cpu())
        tasks2 += [Task(inferred, s.penalty_weight, s.anneal_step, seed, d.test), Task(inferred, 0.0, 0, seed, d.test),
                   Task(split_environment(p, qc.cpu()), s.penalty_weight, s.anneal_step, seed, d.test)]
    models2, curves2 = train_many(tasks2, desc="inferred environments", **common)
    # Stage 3: IRMv1 on the inferred environments at every annealing step of the selection, trained without a
    # held-out share of the pooled training examples; the held-out examples, split by the same inferred
    # assignment, are the training-only rule's validation data.
    tasks3, held = [], []
    for seed, d, p, qi in zip(seeds, data, pooled, q):
        out = holdout_mask(len(p), s.holdout, seed)
        fit = split_environment(p.subset(~out), qi.cpu()[~out])
        held.append(split_environment(p.subset(out), qi.cpu()[out]))
        tasks3 += [Task(fit, s.penalty_weight, t0, seed, d.test) for t0 in s.anneal_steps]
    # Only their last test accuracy is read: no learning curves.
    models3, curves3 = (train_many(tasks3, desc="annealing steps", **{**common, "every": 0}) if tasks3
                        else ([], []))
    k3 = len(s.anneal_steps)
    main = s.weights.index(float(s.penalty_weight))
    runs = []
    for i, (seed, d, (grey_train, _)) in enumerate(zip(seeds, data, grey)):
        first = i * per_seed
        by_method = {"ERM": first, "grayscale oracle": first + 1, "IRM (true environments)": first + 2 + main}
        chosen = {m: (models[k], curves[k]) for m, k in by_method.items()}
        chosen["IRM (inferred environments)"] = (models2[3 * i], curves2[3 * i])
        chosen["balanced ERM (inferred environments)"] = (models2[3 * i + 1], curves2[3 * i + 1])
        train_envs = {m: grey_train if m == "grayscale oracle" else d.train for m in METHODS}
        sweep = pd.DataFrame([{"penalty weight": w, **_scores(models[first + 2 + k], d.train),
                               "test accuracy": float(curves[first + 2 + k]["test accuracy"].iloc[-1])}
                              for k, w in enumerate(s.weights)])
        anneal_sweep = pd.DataFrame(
            [{"anneal step": t0, "held-out worst accuracy": _worst_accuracy(models3[k3 * i + k], held[i]),
              "test accuracy": float(curves3[k3 * i + k]["test accuracy"].iloc[-1])}
             for k, t0 in enumerate(s.anneal_steps)],
            columns=["anneal step", "held-out worst accuracy", "test accuracy"])
        runs.append(SeedRun(
            seed=seed,
            test_accuracy={m: float(chosen[m][1]["test accuracy"].iloc[-1]) for m in METHODS},
            train_accuracy={m: _scores(chosen[m][0], train_envs[m])["train accuracy"] for m in METHODS},
            curves=pd.concat([chosen[m][1].assign(method=m) for m in METHODS], ignore_index=True),
            assignment=q[i].cpu(), reference_logits=references[i], labels=pooled[i].y,
            colour_agrees=pooled[i].colour_agrees, flipped=pooled[i].flipped, colour_assignment=q_colour[i].cpu(),
            colour_split={m: _colour_split(chosen[m][0], remove_colour(d.test) if m == "grayscale oracle" else d.test)
                          for m in METHODS},
            pure_test_accuracy=float(curves2[3 * i + 2]["test accuracy"].iloc[-1]), sweep=sweep,
            anneal_sweep=anneal_sweep))
    return tuple(runs)

"""The chapter's experiment: ERM, IRMv1 with the true environments, IRMv1 on inferred environments and the
grayscale oracle, trained on the same coloured digits and tested on the reversed-colour test set.

Every model is the same :class:`~causal_lessons.context.training.MLP` trained for the same number of full-batch
steps (:class:`Settings`); IRM on inferred environments also uses the ERM model of the same seed as its reference
and the inference steps of :func:`~causal_lessons.context.inference.infer_environments`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch

from .._checks import check_positive_int
from .coloured_digits import coloured_digits, pool, remove_colour
from .inference import infer_environments, partition_agreement, partition_kappa, split_environment
from .training import MLP, accuracy, logits_of, n_parameters, train

#: The four models compared, in the order of the tables.
METHODS = ("ERM", "IRM (true environments)", "IRM (inferred environments)", "grayscale oracle")


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

    def __post_init__(self) -> None:
        if not isinstance(self.seeds, tuple) or not self.seeds:
            raise TypeError(f"seeds must be a non-empty tuple of integers, got {self.seeds!r}")
        for seed in self.seeds:
            check_positive_int(seed, "seeds", minimum=0)
        for name in ("copies", "hidden", "steps", "infer_steps", "n_test"):
            check_positive_int(getattr(self, name), name)
        for name in ("anneal_step", "every"):
            check_positive_int(getattr(self, name), name, minimum=0)
        for name in ("penalty_weight", "lr", "l2", "infer_lr"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")

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
        ``{method: accuracy}`` on the reversed-colour test set and on the training environments.
    curves
        Learning curves of every method (columns of :func:`~causal_lessons.context.training.train` plus
        ``method``).
    assignment
        Environment inference's soft assignment :math:`q_i` on the pooled training set.
    reference_logits, labels
        The ERM reference model's logits and the labels on the pooled training set.
    colour_agrees, flipped
        The truth for each pooled training example: colour agrees with the label; label noise flipped it.
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

    @property
    def agreement(self) -> float:
        """Agreement of the inferred partition with the true colour-agrees indicator."""
        return partition_agreement(self.assignment > 0.5, self.colour_agrees)

    @property
    def kappa(self) -> float:
        """Cohen's kappa of the inferred partition with the true colour-agrees indicator (0: chance)."""
        return partition_kappa(self.assignment > 0.5, self.colour_agrees)

    def rates(self) -> pd.DataFrame:
        """Per inferred environment: its size, the share of examples whose colour agrees with the label, and the
        share whose label was flipped by noise (the bias the partition captures and the defect it cannot)."""
        in_a = self.assignment > 0.5
        rows = []
        for name, mask in (("A (reference model wrong)", in_a), ("B (reference model right)", ~in_a)):
            rows.append({"environment": name, "examples": int(mask.sum()),
                         "colour agrees with label": float(self.colour_agrees[mask].float().mean()),
                         "label flipped by noise": float(self.flipped[mask].float().mean())})
        return pd.DataFrame(rows)


def run_seed(seed: int, settings: Settings, device: torch.device | str = "cpu", progress: bool = False) -> SeedRun:
    """Train the four models of :data:`METHODS` on one seed's coloured digits and measure them.

    Examples
    --------
    >>> from causal_lessons.context.lab import settings
    >>> run = run_seed(0, settings("smoke"))
    >>> sorted(run.test_accuracy) == sorted(METHODS), run.curves["method"].nunique()
    (True, 4)
    """
    seed = check_positive_int(seed, "seed", minimum=0)
    if not isinstance(settings, Settings):
        raise TypeError(f"settings must be a Settings (see causal_lessons.context.lab.settings), "
                        f"got {type(settings).__name__}")
    s = settings
    data = coloured_digits(seed, copies=s.copies, n_test=s.n_test)
    common = {"steps": s.steps, "hidden": s.hidden, "lr": s.lr, "l2": s.l2, "seed": seed, "every": s.every,
              "device": device, "progress": progress}
    irm = {"penalty_weight": s.penalty_weight, "anneal_step": s.anneal_step}
    pooled = pool(data.train)
    models, curves = {}, {}
    models["ERM"], curves["ERM"] = train(data.train, test=data.test, desc="ERM", **common)
    models["IRM (true environments)"], curves["IRM (true environments)"] = train(
        data.train, test=data.test, desc="IRM", **irm, **common)
    reference = logits_of(models["ERM"], pooled)
    q = infer_environments(reference, pooled.y, s.infer_steps, s.infer_lr, seed, progress).cpu()
    inferred = split_environment(pooled, q)
    models["IRM (inferred environments)"], curves["IRM (inferred environments)"] = train(
        inferred, test=data.test, desc="IRM, inferred", **irm, **common)
    grey_train = [remove_colour(e) for e in data.train]
    grey_test = remove_colour(data.test)
    models["grayscale oracle"], curves["grayscale oracle"] = train(
        grey_train, test=grey_test, desc="grayscale", **common)
    test_envs = {m: grey_test if m == "grayscale oracle" else data.test for m in METHODS}
    train_envs = {m: grey_train if m == "grayscale oracle" else data.train for m in METHODS}
    return SeedRun(
        seed=seed,
        test_accuracy={m: accuracy(models[m], test_envs[m]) for m in METHODS},
        train_accuracy={m: sum(accuracy(models[m], e) for e in train_envs[m]) / len(train_envs[m])
                        for m in METHODS},
        curves=pd.concat([c.assign(method=m) for m, c in curves.items()], ignore_index=True),
        assignment=q, reference_logits=reference, labels=pooled.y, colour_agrees=pooled.colour_agrees, flipped=pooled.flipped)


def irm_with_schedule(seed: int, settings: Settings, penalty_weight: float, anneal_step: int,
                      device: torch.device | str = "cpu") -> dict[str, float]:
    """Train and test accuracy of IRMv1 with the true environments under another penalty schedule (the
    sensitivity that Rosenfeld et al. and Kamath et al. warn of).

    Returns
    -------
    dict
        ``{"train accuracy": mean over the training environments, "test accuracy": reversed-colour test}``.

    Examples
    --------
    >>> from causal_lessons.context.lab import settings
    >>> sorted(irm_with_schedule(0, settings("smoke"), 100.0, 0))
    ['test accuracy', 'train accuracy']
    """
    seed = check_positive_int(seed, "seed", minimum=0)
    if not isinstance(settings, Settings):
        raise TypeError(f"settings must be a Settings, got {type(settings).__name__}")
    s = settings
    data = coloured_digits(seed, copies=s.copies, n_test=s.n_test)
    model, _ = train(data.train, penalty_weight=penalty_weight, anneal_step=anneal_step, steps=s.steps,
                     hidden=s.hidden, lr=s.lr, l2=s.l2, seed=seed, device=device)
    return {"train accuracy": sum(accuracy(model, e) for e in data.train) / len(data.train),
            "test accuracy": accuracy(model, data.test)}

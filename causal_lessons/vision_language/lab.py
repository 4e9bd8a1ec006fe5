"""The sizes of chapter 5's lab (``book/vision_language/lab.ipynb``) and how big its training job is.

The lab trains one seed: a toy CLIP with each text encoder, two fine-tunings of the order-aware one (contrastive
loss alone, and with EqSim), and CoOp and ProGrad prompts. The full size (a GPU) uses 6 colours, 5 shapes, all
four relations, 32 x 32 images, wider encoders and more steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import runtime
from .contrastive import info_nce, toy_clip
from .scenes import World


@dataclass(frozen=True)
class LabSettings:
    """The lab's sizes.

    Attributes
    ----------
    world
        Colours, shapes, relations, image size and held-out families.
    width, embed, hidden, dim
        Image encoder channels, word embedding width, GRU width, joint embedding width.
    pretrain_steps, batch
        Contrastive pre-training steps and batch size (each text encoder).
    fine_tune_steps, eqsim_weight, eqsim_margin
        Fine-tuning steps on training swap pairs (each run), and the weight and margin of EqSim (on softmax-normalised
        scores, as EqBen's code applies it); the chapter page chooses them on validation pairs instead.
    pairs_per_family
        Held-out swap pairs scored per family.
    prompt_epochs, shots
        Prompt-tuning epochs (full-batch steps) and images per base class.
    seed
        The lab's one seed.
    """

    world: World
    width: int
    embed: int
    hidden: int
    dim: int
    pretrain_steps: int
    batch: int
    fine_tune_steps: int
    eqsim_weight: float
    eqsim_margin: float
    pairs_per_family: int
    prompt_epochs: int
    shots: int
    seed: int = 0


def settings(at: str | None = None) -> LabSettings:
    """The lab's sizes at the selected size (or at ``at``).

    Examples
    --------
    >>> settings("quick").world.size, settings("full").world.size, settings("smoke").pretrain_steps
    (16, 32, 2)
    """
    return LabSettings(
        world=runtime.pick(World(), World(n_colours=6, n_shapes=5, n_relations=4, size=32, held_out=30), at),
        width=runtime.pick(8, 32, at),
        embed=runtime.pick(16, 64, at),
        hidden=runtime.pick(32, 128, at),
        dim=runtime.pick(32, 128, at),
        pretrain_steps=runtime.steps(300, 4_000, at),
        batch=runtime.pick(16, 256, at),
        fine_tune_steps=runtime.steps(40, 400, at),
        eqsim_weight=0.3,
        eqsim_margin=0.1,
        pairs_per_family=runtime.pick(24, 12, at),
        prompt_epochs=runtime.steps(100, 300, at),
        shots=runtime.pick(8, 16, at),
    )


def job(at: str | None = None) -> runtime.Job:
    """The lab's training job: total optimisation steps and the FLOPs of one pre-training step of the
    order-aware toy CLIP (the largest model), counted on the meta device (no computation).

    Examples
    --------
    >>> j = job("quick")
    >>> j.steps, j.flops_per_step > 0
    (880, True)
    """
    cfg = settings(at)
    steps = 2 * cfg.pretrain_steps + 2 * cfg.fine_tune_steps + 2 * cfg.prompt_epochs
    world = cfg.world
    length = len(world.train_scenes[0].caption().split())
    with torch.device("meta"):
        model = toy_clip(world, "order_aware", cfg.width, cfg.embed, cfg.hidden, cfg.dim)
        images = torch.zeros(cfg.batch, 3, world.size, world.size)
        ids = torch.ones(cfg.batch, length, dtype=torch.long)
        lengths = torch.full((cfg.batch,), length, dtype=torch.long)
        flops = runtime.count_flops(lambda: info_nce(model(images, ids, lengths)).backward())
    return runtime.Job(f"toy CLIP on {world.size} x {world.size} images", runtime.size(at), steps, flops)

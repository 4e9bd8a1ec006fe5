"""Benchmark: one training step of the toy CLIP with the package's batched similarity and InfoNCE loss, against
the same step computed pair by pair (one caption against one image at a time, then the two cross-entropies
written out). Prints the loss of both (they must agree), the gradient difference, the times and their ratio,
measured in this run; not a test.

The batched step is one matrix product of the unit-length caption and image embeddings; the loop computes the
same B x B cosines with B^2 dot products.

    python bench/contrastive_step.py
"""

from __future__ import annotations

import numpy as np
import torch
from timing import best_of  # bench/timing.py, beside this script

from causal_lessons.vision_language.contrastive import info_nce, pretrain, tokenizer, toy_clip
from causal_lessons.vision_language.scenes import World, render


def loop_loss(model: torch.nn.Module, images: torch.Tensor, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """InfoNCE from a per-pair loop: every (caption, image) cosine on its own, then both cross-entropies."""
    b = len(images)
    logits = [[None] * b for _ in range(b)]
    for t in range(b):
        text = model.encode_text(ids[t: t + 1], lengths[t: t + 1])[0]
        for i in range(b):
            image = model.encode_image(images[i: i + 1])[0]
            logits[t][i] = model.logit_scale() * torch.dot(text, image)
    rows = [torch.stack(r) for r in logits]
    by_caption = sum(-(r[t] - torch.logsumexp(r, 0)) for t, r in enumerate(rows)) / b
    columns = [torch.stack([logits[t][i] for t in range(b)]) for i in range(b)]
    by_image = sum(-(c[i] - torch.logsumexp(c, 0)) for i, c in enumerate(columns)) / b
    return (by_caption + by_image) / 2


def batched_loss(model: torch.nn.Module, images: torch.Tensor, ids: torch.Tensor,
                 lengths: torch.Tensor) -> torch.Tensor:
    return info_nce(model(images, ids, lengths))


def main() -> None:
    torch.manual_seed(0)
    world = World()
    model = toy_clip(world, "order_aware", seed=0)
    pretrain(model, world, steps=20, batch=16)  # away from the initialisation, where every cosine is alike
    print(f"{'batch':>6}{'batched loss':>14}{'loop loss':>12}{'max |grad diff|':>17}"
          f"{'batched (ms)':>14}{'loop (ms)':>11}{'ratio':>8}")
    for b in (8, 16, 32):
        scenes = world.train_scenes[:b]
        images = render(scenes, world, np.random.default_rng(b))
        ids, lengths = tokenizer(world).encode([s.caption() for s in scenes])
        ids = ids[:, : int(lengths.max())]
        values, grads = [], []
        for fn in (batched_loss, loop_loss):
            model.zero_grad()
            loss = fn(model, images, ids, lengths)
            loss.backward()
            values.append(float(loss.detach()))
            grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))

        def step(fn, images=images, ids=ids, lengths=lengths):  # one training step: forward, backward (the optimiser's update is the same for both)
            def run():
                model.zero_grad()
                fn(model, images, ids, lengths).backward()
            return run

        t_batched = best_of(step(batched_loss), repeats=10)
        t_loop = best_of(step(loop_loss), repeats=3)
        diff = float((grads[0] - grads[1]).abs().max())
        print(f"{b:>6}{values[0]:>14.6f}{values[1]:>12.6f}{diff:>17.2e}{t_batched * 1e3:>14.2f}"
              f"{t_loop * 1e3:>11.1f}{t_loop / t_batched:>8.1f}")
        assert abs(values[0] - values[1]) < 1e-4 and diff < 1e-3, "the two losses must agree"


if __name__ == "__main__":
    main()

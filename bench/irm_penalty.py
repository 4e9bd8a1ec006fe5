"""Benchmark: the IRMv1 penalty by its definition (autograd of the risk with respect to the logits' scale, with
``create_graph=True``) against its closed form for the logistic loss, on 1,000,000 logits. Prints the values,
their difference, the times of the penalty alone and of the penalty with its backward pass, and their ratios,
measured in this run; not a test.

    python bench/irm_penalty.py
"""

from __future__ import annotations

import torch
from timing import best_of  # bench/timing.py, beside this script

from causal_lessons.context.penalty import irmv1_penalty, irmv1_penalty_closed_form

N = 1_000_000


def main() -> None:
    gen = torch.Generator().manual_seed(0)
    z = 3 * torch.randn(N, generator=gen)
    y = (torch.rand(N, generator=gen) < 0.5).float()
    auto, closed = irmv1_penalty(z, y).item(), irmv1_penalty_closed_form(z, y).item()
    z64, y64 = z.double(), y.double()
    reference = irmv1_penalty_closed_form(z64, y64).item()
    print(f"{N:,} logits: autograd {auto:.9g}, closed form {closed:.9g}, float64 {reference:.9g}; "
          f"relative difference autograd vs closed form {abs(auto - closed) / reference:.1e}")

    def with_backward(fn):
        leaf = z.clone().requires_grad_(True)
        return lambda: fn(leaf, y).backward()

    t_auto, t_closed = best_of(lambda: irmv1_penalty(z, y)), best_of(lambda: irmv1_penalty_closed_form(z, y))
    tb_auto, tb_closed = best_of(with_backward(irmv1_penalty)), best_of(with_backward(irmv1_penalty_closed_form))
    print(f"{'':<28}{'autograd (ms)':>15}{'closed form (ms)':>18}{'ratio':>8}")
    print(f"{'penalty':<28}{t_auto * 1e3:>15.2f}{t_closed * 1e3:>18.2f}{t_auto / t_closed:>8.2f}")
    print(f"{'penalty and its gradient':<28}{tb_auto * 1e3:>15.2f}{tb_closed * 1e3:>18.2f}"
          f"{tb_auto / tb_closed:>8.2f}")


if __name__ == "__main__":
    main()

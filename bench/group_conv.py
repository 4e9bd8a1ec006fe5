"""Benchmark: forward time of the C4 and D4 group convolutions against a plain Conv2d with the same number of
input and output feature maps (C * |G| and O * |G|) on the same input. Prints times and their ratios measured in
this run; not a test.

A group convolution's only extra work is expanding its base filters (|G| transformed, axis-permuted copies)
before the one conv2d call; it has |G| times fewer parameters than the plain convolution of the same size.

    python bench/group_conv.py
"""

from __future__ import annotations

import torch
from timing import best_of  # bench/timing.py, beside this script

from causal_lessons.equivariance.group_conv import GroupConvC4, GroupConvD4, parameter_count


def main() -> None:
    torch.manual_seed(0)
    print(f"{'layer':<6}{'B, C, O, H':<16}{'group conv (ms)':>16}{'Conv2d (ms)':>13}{'time ratio':>12}"
          f"{'param ratio':>13}")
    with torch.no_grad():
        for name, layer_class, order in (("C4", GroupConvC4, 4), ("D4", GroupConvD4, 8)):
            for b, c, o, h in [(32, 8, 8, 17), (32, 16, 16, 33), (8, 32, 32, 65)]:
                group = layer_class(c, o, 3)
                plain = torch.nn.Conv2d(c * order, o * order, 3, padding=1)
                x = torch.randn(b, c, order, h, h)
                flat = x.flatten(1, 2)
                t_group = best_of(lambda group=group, x=x: group(x))
                t_plain = best_of(lambda plain=plain, flat=flat: plain(flat))
                params = parameter_count(plain) / parameter_count(group)
                print(f"{name:<6}{f'{b}, {c}, {o}, {h}':<16}{t_group * 1e3:>16.2f}{t_plain * 1e3:>13.2f}"
                      f"{t_group / t_plain:>12.2f}{params:>13.1f}")


if __name__ == "__main__":
    main()

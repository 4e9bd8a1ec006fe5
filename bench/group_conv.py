"""Benchmark: forward time of GroupConvC4 against a plain Conv2d with the same number of output feature maps
(O * 4) on the same input (C * 4 channels, H x W). Prints times and their ratio measured in this run; not a test.

The group convolution's only extra work is expanding its base filters (rotations and a cyclic shift) before
the one conv2d call.

    python bench/group_conv.py
"""

from __future__ import annotations

import torch

from causal_lessons.equivariance.group_conv import GroupConvC4
from timing import best_of  # bench/timing.py, beside this script


def main() -> None:
    torch.manual_seed(0)
    print(f"{'B, C, O, H':<18}{'GroupConvC4 (ms)':>18}{'Conv2d (ms)':>14}{'ratio':>8}")
    with torch.no_grad():
        for b, c, o, h in [(32, 8, 8, 17), (32, 16, 16, 33), (8, 32, 32, 65)]:
            group = GroupConvC4(c, o, 3)
            plain = torch.nn.Conv2d(c * 4, o * 4, 3, padding=1)
            x = torch.randn(b, c, 4, h, h)
            flat = x.flatten(1, 2)
            t_group = best_of(lambda: group(x))
            t_plain = best_of(lambda: plain(flat))
            print(f"{f'{b}, {c}, {o}, {h}':<18}{t_group * 1e3:>18.2f}{t_plain * 1e3:>14.2f}{t_group / t_plain:>8.2f}")


if __name__ == "__main__":
    main()

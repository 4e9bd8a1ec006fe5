"""Each notebook of the book against its time budget: wall time and CPU time at the quick size.

    python bench/notebooks.py                                  # every notebook the book build executes
    python bench/notebooks.py --pages book/correlation/lab      # some of them

The house budget is ``causal_lessons.runtime.BUDGET_S`` seconds of wall time per notebook at the quick size on two
CPU cores. Each notebook runs in a fresh kernel, one after another in the order of ``_toc.yml``, sharing one claims
cache as the book build does (a chapter's measurements are computed by its page and read by the appendix). For each
one this prints the wall time from its first cell to its last, the kernel's CPU time over the same cells (user and
system, its child processes included), their ratio (about the number of busy cores; far below 1 means the notebook
waited on something else), and wall time over budget.

Wall time is what a reader waits and what the budget is about, but it grows when the machine is busy; CPU time
does not, so a notebook whose wall time is over budget while its CPU time is within it was slowed by something
else running beside it. ``tests/test_book.py`` fails a notebook only past twice the budget, for that reason.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))

from toc_order import executed_docnames, source_of  # noqa: E402  (book/_ext is not a package)

from causal_lessons.formatting import number  # noqa: E402
from causal_lessons.runtime import BUDGET_S, KERNEL_ENV  # noqa: E402


def cpu_seconds(process) -> float:
    """User and system CPU time of ``process`` and its children, in seconds."""
    times = process.cpu_times()
    return times.user + times.system + times.children_user + times.children_system


def run(page: str, cache: Path) -> tuple[float, float]:
    """Execute ``page`` at the quick size in a fresh kernel; return its wall time and its kernel's CPU time."""
    import jupytext
    import psutil
    from nbclient import NotebookClient

    source = source_of(page, ROOT)
    nb = jupytext.read(source)
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # kernels draw inline, as in the book
    env.update({k: env.get(k, v) for k, v in KERNEL_ENV.items()})
    env.update(CAUSAL_LESSONS_QUICK="1", CAUSAL_LESSONS_CACHE=str(cache))
    client = NotebookClient(nb, kernel_name="python3", timeout=20 * BUDGET_S,
                            resources={"metadata": {"path": str(source.parent)}})
    with client.setup_kernel(env=env):
        kernel = psutil.Process(client.km.provisioner.process.pid)
        cpu_start, start = cpu_seconds(kernel), time.perf_counter()
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        return time.perf_counter() - start, cpu_seconds(kernel) - cpu_start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", nargs="+", help="docnames (default: every notebook the book executes)")
    args = parser.parse_args(argv)
    pages = args.pages or executed_docnames(ROOT)
    print(f"budget: {BUDGET_S} s of wall time per notebook at the quick size; {os.cpu_count()} CPUs here\n")
    print(f"{'notebook':<34}{'wall s':>9}{'CPU s':>9}{'CPU/wall':>10}{'wall/budget':>13}")
    total_wall = total_cpu = 0.0
    with tempfile.TemporaryDirectory(prefix="claims-cache-") as cache:
        for page in pages:
            wall, cpu = run(page, Path(cache))
            total_wall, total_cpu = total_wall + wall, total_cpu + cpu
            flag = "  over budget" if wall > BUDGET_S else ""
            print(f"{page:<34}{number(wall, 1):>9}{number(cpu, 1):>9}{number(cpu / wall, 2):>10}"
                  f"{number(wall / BUDGET_S, 2):>13}{flag}", flush=True)
    print(f"{'all':<34}{number(total_wall, 1):>9}{number(total_cpu, 1):>9}{number(total_cpu / total_wall, 2):>10}")


if __name__ == "__main__":
    main()

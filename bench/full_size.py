"""Execute every notebook of the book (pages and labs) at one size, and tabulate what each one cost and found.

    python bench/full_size.py                      # the full size: run it where there is a GPU
    python bench/full_size.py --size smoke         # full shapes, 2 steps per loop: proves on a CPU that it runs
    python bench/full_size.py --pages book/correlation/lab book/tokenization/lab

One row per notebook, in the order of ``_toc.yml``:

- **device** the notebook ran on (``runtime.get_device()``), **wall time** (kernel start to the end of its last
  cell: what a reader waits; the profile's own summary is not counted), and
  **peak memory**: ``torch.cuda.max_memory_allocated()`` on CUDA, the kernel's peak resident set size elsewhere;
- its **key result** at this size next to the value at the quick size. Convention: every chapter page and lab
  calls ``causal_lessons.notebook.key_result(what, value)`` once, which glues ``key_result`` (a number) and
  ``key_result_what`` (what it is); this script reads both from the executed notebook. The quick-size value comes
  from the last ``make book`` (``_build/jupyter_execute/<page>.ipynb``) when it is there, else from running the
  notebook at the quick size (``--no-quick`` skips it);
- with ``--profile`` (the default at the smoke size) the **split of time between data movement and compute**:
  torch's profiler records every operator of the notebook; data movement is the self time of copies and
  conversions (``aten::to``, ``_to_copy``, ``copy_``, ``pin_memory``) plus the time spent fetching DataLoader
  batches, and the share is taken of all profiled operator time (on CUDA also the host-device copies' share of
  device time). A share near 1 would mean the notebook mostly moves data.

The table is printed and written to ``_build/bench/full_size-<size>.md``. ``tests/test_smoke.py`` runs every
notebook through :func:`run` at the smoke size (``make smoke``).
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))

from toc_order import executed_docnames, source_of  # noqa: E402  (book/_ext is not a package)

RESULT_MARK = "FULL-SIZE-BENCH "
#: Seconds allowed to the summary cell (memory, profile) after the notebook: not counted in its time.
SUMMARY_TIMEOUT_S = 1800
#: Operators that move data rather than compute (copies, dtype and device conversions, pinning).
DATA_OPS = {"aten::to", "aten::_to_copy", "aten::copy_", "aten::pin_memory", "aten::_pin_memory"}

FIRST_CELL = """\
import time as _bench_time

import torch as _bench_torch

_bench_start = _bench_time.perf_counter()
if _bench_torch.cuda.is_available():
    _bench_torch.cuda.reset_peak_memory_stats()
_bench_profiler = None
if {profile}:
    from torch.profiler import ProfilerActivity, profile

    _bench_profiler = profile(
        activities=[ProfilerActivity.CPU]
        + ([ProfilerActivity.CUDA] if _bench_torch.cuda.is_available() else [])
    )
    _bench_profiler.__enter__()
"""

LAST_CELL = """\
import json as _bench_json
import resource as _bench_resource

from causal_lessons import runtime as _bench_runtime

_bench = {{"seconds": _bench_time.perf_counter() - _bench_start}}
_bench_device = _bench_runtime.get_device()
_bench["device"] = str(_bench_device)
if _bench_device.type == "cuda":
    _bench["device"] += " " + _bench_torch.cuda.get_device_name()
    _bench["peak_bytes"] = _bench_torch.cuda.max_memory_allocated()
    _bench["peak_kind"] = "CUDA allocated"
else:
    _usage = _bench_resource.getrusage(_bench_resource.RUSAGE_SELF)
    _bench["peak_bytes"] = _usage.ru_maxrss * 1024  # kilobytes on Linux
    _bench["peak_kind"] = "RSS"
if _bench_profiler is not None:
    _bench_profiler.__exit__(None, None, None)
    _events = _bench_profiler.key_averages()
    _bench["op_us"] = sum(e.self_cpu_time_total for e in _events)
    _bench["copy_us"] = sum(e.self_cpu_time_total for e in _events if e.key in {data_ops!r})
    _bench["loader_us"] = sum(
        e.cpu_time_total for e in _events if e.key.startswith("enumerate(DataLoader)")
    )
    _device = [getattr(e, "self_device_time_total", 0) for e in _events]
    _bench["device_us"] = sum(_device)
    _bench["memcpy_us"] = sum(
        t for e, t in zip(_events, _device) if "memcpy" in e.key.lower()
    )
print({mark!r} + _bench_json.dumps(_bench))
"""


@dataclass
class Row:
    """One notebook's run."""

    page: str
    size: str
    seconds: float = math.nan
    device: str = ""
    peak_bytes: float = math.nan
    peak_kind: str = ""
    key_what: str | None = None
    key_value: float | None = None
    quick_value: float | None = None
    profile: dict = field(default_factory=dict)
    error: str | None = None

    @property
    def data_share(self) -> float | None:
        """Share of profiled operator time spent moving data (``None`` when not profiled)."""
        if not self.profile.get("op_us"):
            return None
        return (self.profile["copy_us"] + self.profile["loader_us"]) / self.profile["op_us"]

    @property
    def memcpy_share(self) -> float | None:
        """Share of device time in host-device copies (CUDA only)."""
        if not self.profile.get("device_us"):
            return None
        return self.profile["memcpy_us"] / self.profile["device_us"]


def glued(nb: dict, name: str) -> object | None:
    """The value a notebook glued under ``name`` (its text/plain form, evaluated as a Python literal)."""
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            if output.get("metadata", {}).get("scrapbook", {}).get("name") == name:
                data = output.get("data", {})
                text = next((v for k, v in data.items() if k.endswith("text/plain")), None)
                if text is None:
                    return None
                text = "".join(text) if isinstance(text, list) else text
                try:
                    return ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    return text
    return None


def key_result(nb: dict) -> tuple[str | None, float | None]:
    """``(what, value)`` of the notebook's key result (``causal_lessons.notebook.key_result``), or ``None``s."""
    value = glued(nb, "key_result")
    what = glued(nb, "key_result_what")
    return (str(what) if what is not None else None), (float(value) if isinstance(value, (int, float)) else None)


def run(page: str, size: str, cache: Path | None = None, profile: bool = False, timeout: float = 7200) -> Row:
    """Execute one page at ``size`` (in a fresh kernel, in the page's folder) and return its row; the notebook is
    stopped after ``timeout`` seconds in all (its row then says so)."""
    import jupytext
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    source = source_of(page, ROOT)
    nb = jupytext.read(source)
    nb.cells.insert(0, nbformat.v4.new_code_cell(FIRST_CELL.format(profile=profile)))
    nb.cells.append(nbformat.v4.new_code_cell(LAST_CELL.format(data_ops=sorted(DATA_OPS), mark=RESULT_MARK)))
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # kernels draw inline, as in the book
    env["CAUSAL_LESSONS_QUICK"] = size
    if cache is not None:
        env["CAUSAL_LESSONS_CACHE"] = str(cache)
    row = Row(page, size)
    start = time.perf_counter()
    current = {}
    last = len(nb.cells) - 1

    def cell_started(cell: dict, cell_index: int) -> None:
        current.update(cell=cell)
        if cell_index == last:  # the notebook is done: what follows is this script's summary
            current["end"] = time.perf_counter()

    def time_left(cell: dict) -> int:
        if "end" in current:
            return SUMMARY_TIMEOUT_S
        return max(1, int(timeout - (time.perf_counter() - start)))

    client = NotebookClient(nb, kernel_name="python3", resources={"metadata": {"path": str(source.parent)}},
                            timeout_func=time_left, on_cell_start=cell_started)
    try:
        client.execute(env=env)
    except CellTimeoutError:
        lines = current.get("cell", {}).get("source", "").strip().splitlines() or ["?"]
        row.error = f"stopped after {timeout:.0f} s, in the cell starting {lines[0]!r}"
    except CellExecutionError as error:
        lines = [line for line in str(error).strip().splitlines() if line.strip()]
        row.error = lines[-1] if lines else repr(error)
    except Exception as error:  # noqa: BLE001 -- a dead kernel is this notebook's result
        row.error = f"{type(error).__name__}: {error}"
    if row.error:
        row.error = " ".join(row.error.split()).replace("|", "/")[:300]
    row.seconds = current.get("end", time.perf_counter()) - start
    for output in nb.cells[-1].get("outputs", []):
        text = output.get("text", "")
        if RESULT_MARK in text:
            found = json.loads(text.split(RESULT_MARK, 1)[1].strip().splitlines()[0])
            row.device, row.peak_bytes, row.peak_kind = found["device"], found["peak_bytes"], found["peak_kind"]
            row.profile = {k: found[k] for k in ("op_us", "copy_us", "loader_us", "device_us", "memcpy_us")
                           if k in found}
    row.key_what, row.key_value = key_result(nb)
    return row


def quick_value(page: str, build: Path, run_if_missing: bool) -> float | None:
    """The key result at the quick size: from the last book build, else by running the page at the quick size."""
    executed = build / "jupyter_execute" / f"{page}.ipynb"
    if executed.is_file() and executed.stat().st_mtime >= source_of(page, ROOT).stat().st_mtime:
        return key_result(json.loads(executed.read_text()))[1]
    if not run_if_missing:
        return None
    with tempfile.TemporaryDirectory() as cache:
        return run(page, "quick", Path(cache)).key_value


def _number(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.4g}"


def _bytes(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value / 2**30:.2f} GiB" if value >= 2**30 else f"{value / 2**20:.0f} MiB"


def table(rows: list[Row]) -> str:
    """The rows as a markdown table."""
    lines = ["| notebook | device | wall time | peak memory | key result | at this size | at the quick size | "
             "data movement (share of op time) | status |", "| --- " * 9 + "|"]
    for r in rows:
        share = "-" if r.data_share is None else f"{r.data_share:.1%}"
        if r.memcpy_share is not None:
            share += f" (host-device copies: {r.memcpy_share:.1%} of device time)"
        lines.append(f"| {r.page} | {r.device or '-'} | {r.seconds:.1f} s | {_bytes(r.peak_bytes)} {r.peak_kind} | "
                     f"{r.key_what or 'not reported'} | {_number(r.key_value)} | {_number(r.quick_value)} | "
                     f"{share} | {'error: ' + r.error if r.error else 'ok'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=["full", "smoke", "quick"], default="full")
    parser.add_argument("--pages", nargs="*", help="docnames (book/<slug>/lab); default: every executed page")
    parser.add_argument("--profile", action=argparse.BooleanOptionalAction, default=None,
                        help="profile data movement against compute (default: on at the smoke size only)")
    parser.add_argument("--no-quick", action="store_true", help="do not run pages at the quick size for comparison")
    parser.add_argument("--build", type=Path, default=ROOT / "_build", help="the book build to read quick values from")
    parser.add_argument("--out", type=Path, default=None, help="where to write the table (markdown)")
    parser.add_argument("--timeout", type=float, default=7200, help="seconds each notebook may take in all")
    args = parser.parse_args(argv)
    pages = args.pages or executed_docnames(ROOT)
    profile = args.size == "smoke" if args.profile is None else args.profile
    rows = []
    with tempfile.TemporaryDirectory() as cache:  # each chapter measured once, as in the book build
        for page in pages:
            row = run(page, args.size, Path(cache), profile=profile, timeout=args.timeout)
            row.quick_value = None if args.size == "quick" else quick_value(page, args.build, not args.no_quick)
            rows.append(row)
            print(f"{page}: {row.seconds:.1f} s{' ERROR ' + row.error if row.error else ''}", flush=True)
    text = table(rows)
    out = args.out or ROOT / "_build" / "bench" / f"full_size-{args.size}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    total = sum(r.seconds for r in rows)
    out.write_text(f"# Every notebook at the {args.size} size\n\n{text}\n\nTotal: {total:.0f} s.\n")
    print(f"\n{text}\n\nTotal: {total:.0f} s. Written to {out}")
    return 1 if any(r.error for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())

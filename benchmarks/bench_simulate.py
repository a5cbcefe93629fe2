"""Speed and memory of a Monte Carlo run, against a numpy floor and a per-draw Python loop.

Everything runs one after the other in one session, so the ratios compare like with like on
a noisy machine. ``pivotmodel simulate`` runs as the command line does, in a fresh process
with every output written; its peak memory is the largest resident size of it and its
workers. The numpy floor's peak is tracemalloc's (numpy reports its buffers to it).

    python benchmarks/bench_simulate.py                      # 10k, 100k, 1M draws
    python benchmarks/bench_simulate.py --sizes 10000,100000 # quicker

``run_all.py`` uses its functions, with 10M draws, the engine, squigglepy and the sampling
methods, and judges every aim.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np

import pivotmodel.assumptions as assumptions_mod
from pivotmodel.model import SERIES, base_values, project


def measure(fn):
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, seconds, peak / 2**20


def numpy_floor(draws: int, quarters: int, series: int, chunk: int) -> float:
    """Allocate, fill and accumulate arrays shaped like the model's outputs, in chunks."""
    acc = 0.0
    rng = np.random.default_rng(0)
    for start in range(0, draws, chunk):
        n = min(chunk, draws - start)
        arrays = [np.empty((n, quarters)) for _ in range(series)]
        for i, arr in enumerate(arrays):
            arr[...] = rng.random((n, 1)) * (1.0 + 0.01 * i)
            np.cumprod(arr, axis=1, out=arr)
        acc += float(sum(arr[:, -4:].sum() for arr in arrays))
    return acc


def python_loop(a, draws: int) -> float:
    """The way a spreadsheet-minded analyst writes it: one draw at a time through the model."""
    rng = np.random.default_rng(0)
    base = base_values(a)
    uncertain = {k: inp.dist for k, inp in a.inputs.items() if inp.uncertain}
    total = 0.0
    for _ in range(draws):
        values = dict(base)
        for key, dist in uncertain.items():
            values[key] = dist.ppf(rng.random(1))
        total += float(project(a, values, keep=["cloud.revenue"])["cloud.revenue"][0, -1])
    return total


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Linux ``/proc``)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                todo += [int(c) for c in task.read_text().split()]
    return out


def _pss_bytes(pid: int) -> int:
    """Proportional set size of one process: shared pages split between the processes that
    share them, so the sum over a process tree is the memory the tree really holds."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    return 0


def simulate_run(draws: int, jobs: int, folder: str) -> tuple[float, float, float]:
    """:func:`cli_run` of ``pivotmodel simulate`` at ``draws`` on ``jobs`` workers, written to ``folder/run<draws>``."""
    argv = ["simulate", "--draws", str(draws), "--jobs", str(jobs), "--out", f"{folder}/run{draws}"]
    return cli_run([*argv, "--max-memory", "1000"])


def cli_run(argv: list[str]) -> tuple[float, float, float]:
    """(wall seconds, peak RSS MiB of the largest process, peak MiB of the whole process tree)
    of one ``pivotmodel`` command in a fresh process. The first is ``wait4``'s (the largest of
    the command and its workers, each on its own); the second the largest sum of the tree's
    proportional set sizes, sampled every 0.1 s (Linux; 0 elsewhere)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pivotmodel.cli", *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    peak_tree = [0]
    done = threading.Event()

    def poll() -> None:
        while not done.wait(0.1):
            peak_tree[0] = max(peak_tree[0], sum(_pss_bytes(p) for p in _tree(proc.pid)))

    watcher = threading.Thread(target=poll, daemon=True)
    if Path("/proc/self/smaps_rollup").exists():
        watcher.start()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    done.set()
    if watcher.is_alive():
        watcher.join()
    if status != 0:
        raise SystemExit(
            f"pivotmodel {' '.join(argv)} failed: {proc.stderr.read().decode()[-2000:] if proc.stderr else status}"
        )
    proc.returncode = 0
    return seconds, usage.ru_maxrss / 1024, peak_tree[0] / 2**20


def start_time(argv: list[str], repeat: int = 5) -> float:
    """Best of ``repeat`` wall times of a command, less the best bare ``python -c pass``."""
    bare = min(cli_time([sys.executable, "-c", "pass"]) for _ in range(repeat))
    return min(cli_time([sys.executable, "-m", "pivotmodel.cli", *argv]) for _ in range(repeat)) - bare


_MODULES_OF = """
import json, sys
from pivotmodel.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m != "__main__")))
"""
_IMPORT = (
    "import importlib, json, sys\nfor m in json.loads(sys.argv[1]):\n    try:\n        "
    "importlib.import_module(m)\n    except Exception:\n        pass"
)


def import_time(argv: list[str], repeat: int = 5) -> tuple[float, list[str]]:
    """Best of ``repeat`` wall times of a fresh process importing every module that the
    command ``argv`` leaves loaded (found by running it once), less the best of the same
    process importing nothing; and the third-party packages among them."""
    out = subprocess.run([sys.executable, "-c", _MODULES_OF, *argv], capture_output=True, text=True, check=True).stdout
    modules = out.strip().splitlines()[-1]
    loaded = min(cli_time([sys.executable, "-c", _IMPORT, modules]) for _ in range(repeat))
    bare = min(cli_time([sys.executable, "-c", _IMPORT, "[]"]) for _ in range(repeat))
    from importlib.metadata import packages_distributions

    installed = packages_distributions()
    third = sorted(
        m
        for m in {n.split(".")[0] for n in json.loads(modules)} & set(installed)
        if m != "pivotmodel" and not m.startswith("_")
    )
    return loaded - bare, third


def cli_time(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - t0


AIMS = {"seconds_1m": 3.0, "vs_floor": 4.0, "peak_mib_1m": 1.5e9 / 2**20, "start": 0.3}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--sizes",
        default="10000,100000,1000000",
        help="comma-separated draw counts (add 10000000 for the 10M run: minutes and GBs)",
    )
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--loop-draws", type=int, default=200)
    args = parser.parse_args()
    a = assumptions_mod.load()
    quarters = len(project(a).timeline)
    sizes = [int(x) for x in args.sizes.split(",")]
    chunk = 25_000
    print(
        f"machine: {os.cpu_count()} cores; model: {len(SERIES)} series x {quarters} quarters; chunk {chunk:,}; "
        f"`pivotmodel simulate --jobs {args.jobs}` in a fresh process, everything it writes included"
    )
    starts = {" ".join(c): start_time(c) for c in (["--help"], ["validate"])}
    for cmd, secs in starts.items():
        print(
            f"CLI start `pivotmodel {cmd}`: {secs:.2f} s over bare python (aim <= {AIMS['start']} s of imports; "
            f"{'met' if cmd == '--help' and secs <= AIMS['start'] else 'see README'})"
        )
    _, loop_s, _ = measure(lambda: python_loop(a, args.loop_draws))
    loop_rate = args.loop_draws / loop_s
    print(f"per-draw Python loop: {loop_rate:,.0f} draws/s")
    print(f"{'stage':34s} {'draws':>10s} {'seconds':>8s} {'draws/s':>10s} {'peak MiB':>9s} {'vs floor':>9s}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            _, floor_s, floor_mem = measure(lambda n=n: numpy_floor(n, quarters, len(SERIES), chunk))
            print(
                f"{'numpy floor (alloc, fill, reduce)':34s} {n:>10,d} {floor_s:8.2f} {n / floor_s:10,.0f} "
                f"{floor_mem:9.1f} {1.0:9.2f}"
            )
            secs, peak, _ = simulate_run(n, args.jobs, tmp)
            print(
                f"{'pivotmodel simulate':34s} {n:>10,d} {secs:8.2f} {n / secs:10,.0f} {peak:9.0f} {secs / floor_s:9.2f}"
                f"   {n / secs / loop_rate:,.0f}x the per-draw loop"
            )
            if n == 1_000_000:
                print(
                    f"  aims at 1M: <= {AIMS['seconds_1m']} s: {'met' if secs <= AIMS['seconds_1m'] else 'NOT met'} "
                    f"({secs:.1f} s); "
                    f"<= {AIMS['vs_floor']}x floor: {'met' if secs / floor_s <= AIMS['vs_floor'] else 'NOT met'} "
                    f"({secs / floor_s:.2f}x); "
                    f"peak <= 1.5 GB: {'met' if peak <= AIMS['peak_mib_1m'] else 'NOT met'} ({peak * 2**20 / 1e9:.2f} "
                    "GB)"
                )


if __name__ == "__main__":
    main()

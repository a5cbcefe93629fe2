"""The engine's run() per chunk: an older checkout's engine against this one, side by side in
one process, on the same prepared assumptions and the same draws.

The older engine is the ``pivotmodel/model`` package of another source tree (e.g. main:
``git archive main | tar -x -C /tmp/pivot_main``), imported under another package name; the
modules it imports from outside ``model/`` (periods, schema, ...) are this tree's, so both
engines read the same loaded assumptions. Runs alternate old, new, old, new... so both see the
same load; the report gives each side's best and median wall and CPU time per chunk, the
memory the kernel had to map afresh per chunk (minor page faults x 4 KB: arrays on pages freed
back to the system after the previous chunk), and the ratio of medians, and checks that every
kept series is bit-identical. ``--memory`` adds each side's peak resident size over a chunk,
above what the process held before its first run() (each side alone in a fresh process, three
runs; with memory retained this is what a worker keeps). ``--profile`` adds each side's share of run() spent in the
composition and assembly itself (own time of the functions in ``model/__init__.py`` and, where
it exists, ``model/assembly.py``: cProfile), as against the blocks.

    python benchmarks/bench_run.py /tmp/pivot_main [--draws 24576] [--repeat 9] [--keep simulate|all] [--profile]
                                   [--memory] [--allocator retain|default]

``--allocator retain`` (the default) keeps freed memory in the process as ``simulate``'s
workers and the command line do (:func:`pivotmodel.allocator.retain_freed_memory`);
``default`` leaves glibc's thresholds, as a notebook's own process runs, where every chunk maps
its large arrays afresh.

``keep simulate`` is what ``pivotmodel simulate`` keeps above 50,000 draws (the headline series,
the FX rate and the series the claims read).
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import os
import pstats
import re
import resource
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any

import numpy as np

import pivotmodel.assumptions as assumptions_mod
import pivotmodel.model as new_engine
from pivotmodel.allocator import retain_freed_memory
from pivotmodel.claims import series_in
from pivotmodel.sampling import make_design
from pivotmodel.simulate import HEADLINE_SERIES

CHUNK = 24_576  # simulate's default chunk (25,000 cut to whole 4,096-draw mean blocks)


def load_engine(tree: Path, name: str = "pivotmodel_old") -> Any:
    """``tree``'s ``pivotmodel.model`` as the package ``name.model``, reading this tree's
    modules for everything it imports from outside ``model/``."""
    source = tree / "pivotmodel"
    if not (source / "model" / "__init__.py").exists():
        raise SystemExit(f"{tree}: no pivotmodel/model/__init__.py (give the root of a source tree)")
    package = types.ModuleType(name)
    package.__path__ = [str(source)]
    sys.modules[name] = package
    for f in (source / "model").glob("*.py"):
        for module in re.findall(r"^from \.\.([a-z_]+) import", f.read_text(encoding="utf-8"), re.M):
            sys.modules[f"{name}.{module}"] = importlib.import_module(f"pivotmodel.{module}")
    return importlib.import_module(f"{name}.model")


def simulate_keep(a: Any) -> set[str]:
    keep = set(HEADLINE_SERIES) | {"group.fx_usd_rmb"}
    for c in a.claims:
        keep |= series_in(c.tree)
    return keep


def _one(engine: Any, inputs: Any, values: dict[str, np.ndarray], keep: set[str] | None) -> tuple[float, float, float]:
    """(wall s, CPU s, MB mapped afresh) of one run(), its result dropped as a chunk's is."""
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    p = engine.run(inputs, values, keep=keep)
    del p
    wall, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return wall, cpu, (r1.ru_minflt - r0.ru_minflt) * resource.getpagesize() / 1e6


def _assembly_share(
    engine: Any, inputs: Any, values: dict[str, np.ndarray], keep: set[str] | None, repeat: int
) -> float:
    """Own time of the functions in the engine's ``model/__init__.py`` and ``model/assembly.py``
    over run()'s total."""
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(repeat):
        engine.run(inputs, values, keep=keep)
    profile.disable()
    stats: dict = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    init = str(Path(engine.__file__))
    files = {init, str(Path(init).with_name("assembly.py"))}
    own = sum(tt for (file, _, _), (_, _, tt, _, _) in stats.items() if file in files)
    total = max(ct for (file, _, fn), (_, _, _, ct, _) in stats.items() if file == init and fn == "run")
    return own / total


def _peak_resident_mb() -> float:
    """This process's peak resident size: VmHWM (reset by exec, unlike ru_maxrss, which a
    child started from a large parent inherits), else ru_maxrss."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _peak_growth(engine: Any, inputs: Any, values: dict[str, np.ndarray], keep: set[str] | None) -> float:
    """MB by which the process's peak resident size grows over three runs."""
    before = _peak_resident_mb()
    for _ in range(3):
        engine.run(inputs, values, keep=keep)
    return _peak_resident_mb() - before


def _identical(old: Any, new: Any) -> bool:
    return set(old.series) == set(new.series) and all(old[k].tobytes() == new[k].tobytes() for k in new.series)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("old", type=Path, help="source tree of the older pivotmodel (e.g. main, exported)")
    ap.add_argument("--draws", type=int, default=CHUNK, help="draws a chunk")
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--keep", choices=("simulate", "all"), default="simulate")
    ap.add_argument("--method", default="sobol")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--allocator", choices=("retain", "default"), default="retain")
    ap.add_argument("--memory", action="store_true")
    ap.add_argument("--side", choices=("old", "new"), help=argparse.SUPPRESS)  # one side's peak memory alone
    args = ap.parse_args()
    retained = args.allocator == "retain" and retain_freed_memory()
    a = assumptions_mod.load()
    old_engine = load_engine(args.old.resolve())
    keep = simulate_keep(a) if args.keep == "simulate" else None
    values = make_design(a, 1_000_000, 1, args.method).values(0, args.draws)
    sides = {"old": (old_engine, old_engine.prepare(a)), "new": (new_engine, new_engine.prepare(a))}
    if args.side:
        print(_peak_growth(*sides[args.side], values, keep))
        return
    same = _identical(*(engine.run(inputs, values, keep=keep) for engine, inputs in sides.values()))
    times: dict[str, list[tuple[float, float, float]]] = {k: [] for k in sides}
    for _ in range(args.repeat):
        for name, (engine, inputs) in sides.items():
            times[name].append(_one(engine, inputs, values, keep))
    malloc = {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")}
    print(
        f"run() on {args.draws:,} draws ({args.method}), keep {args.keep} "
        f"({len(keep) if keep else 'every'} series), {args.repeat} alternating runs each, "
        f"freed memory {'retained' if retained else 'returned to the system'}" + (f"; {malloc}" if malloc else "")
    )
    med = {}
    for name, rows in times.items():
        wall, cpu, mapped = zip(*rows, strict=True)
        med[name] = statistics.median(wall), statistics.median(cpu)
        print(
            f"  {name}: wall best {min(wall) * 1e3:.0f} ms, median {med[name][0] * 1e3:.0f} ms; "
            f"CPU best {min(cpu) * 1e3:.0f} ms, median {med[name][1] * 1e3:.0f} ms; "
            f"mapped afresh {statistics.median(mapped):.0f} MB a chunk"
        )
    print(
        f"  old/new, medians: wall {med['old'][0] / med['new'][0]:.2f}x, CPU {med['old'][1] / med['new'][1]:.2f}x; "
        f"every kept series bit-identical: {'yes' if same else 'NO'}"
    )
    if args.memory:
        for name in sides:
            argv = [
                sys.executable,
                __file__,
                str(args.old),
                "--side",
                name,
                "--draws",
                str(args.draws),
                "--keep",
                args.keep,
                "--method",
                args.method,
                "--allocator",
                args.allocator,
            ]
            grown = float(subprocess.run(argv, capture_output=True, text=True, check=True).stdout.split()[-1])
            print(f"  {name}: peak resident size grows {grown:.0f} MB over a chunk's run() (alone in a fresh process)")
    if args.profile:
        for name, (engine, inputs) in sides.items():
            share = _assembly_share(engine, inputs, values, keep, max(3, args.repeat // 3))
            print(f"  {name}: own time of run() and its assembly {share:.0%} of run()")


if __name__ == "__main__":
    main()

"""Before/after: ``pivotmodel simulate`` from an older checkout and from this one, alternately.

On a shared, noisy machine a single timing says little; runs alternate old, new, old, new...
so both see the same load, and the report gives each side's best and median wall time, user
and system CPU, and the ratio of the medians. The old side is any source tree of pivotmodel
(it runs with that tree first on ``PYTHONPATH``, in this venv), e.g.

    git archive main | tar -x -C /tmp/pivot_old
    python benchmarks/bench_compare.py /tmp/pivot_old --draws 1000000 --repeat 3
    python benchmarks/bench_compare.py /tmp/pivot_old --method lhs
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def one(tree: Path, argv: list[str]) -> tuple[float, float, float]:
    """(wall, user, system) seconds of one command run with ``tree`` first on the path."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pivotmodel.cli", *argv],
        env=env,
        cwd=tree,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(
            f"{tree}: pivotmodel {' '.join(argv)} failed: "
            f"{proc.stderr.read().decode()[-2000:] if proc.stderr else status}"
        )
    return wall, usage.ru_utime, usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("old", type=Path, help="source tree of the older pivotmodel")
    ap.add_argument("--draws", type=int, default=1_000_000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--method", default=None, help="default: simulation.yaml's")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    trees = {"old": args.old.resolve(), "new": HERE}
    times: dict[str, list[tuple[float, float, float]]] = {k: [] for k in trees}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            for name, tree in trees.items():
                argv = [
                    "simulate",
                    "--draws",
                    str(args.draws),
                    "--jobs",
                    str(args.jobs),
                    "--out",
                    f"{tmp}/{name}{i}",
                    "--max-memory",
                    "100",
                ]
                if args.method:
                    argv += ["--method", args.method]
                times[name].append(one(tree, argv))
                print(f"  {name} run {i + 1}: {times[name][-1][0]:.2f} s wall", flush=True)
    med = {}
    for name, rows in times.items():
        wall = [r[0] for r in rows]
        med[name] = statistics.median(wall)
        print(
            f"{name}: wall best {min(wall):.2f} s, median {med[name]:.2f} s; user "
            f"{statistics.median(r[1] for r in rows):.2f} s, "
            f"system {statistics.median(r[2] for r in rows):.2f} s (medians; CPU of the command and its workers)"
        )
    print(f"new / old (median wall): {med['new'] / med['old']:.2f}")


if __name__ == "__main__":
    main()

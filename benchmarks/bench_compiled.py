"""The engine on one chunk, numpy reference against the compiled kernels (PIVOTMODEL_ENGINE),
side by side in this process, and the time a fresh process takes to load the kernels.

* ``run()`` on one chunk of draws as ``simulate`` evaluates it (Sobol draws of the bundled
  assumptions, keeping the series simulate keeps: the headline series and those the claims
  read), and each block the kernels serve (cloud demand, capex depreciation; the cloud's
  supply loop runs in numpy under either engine), numpy and compiled
  alternately, ``--repeat`` times, with freed memory kept for reuse as in a simulate worker
  (pivotmodel.allocator); CPU time of this process (steadier than wall time on a shared
  machine), best and median, their ratio, and each block's share of ``run()`` under either
  engine. Every output is checked to be identical bit for bit.
* The kernels' load time: ``import numba`` and ``import pivotmodel.model.kernels`` (+ ``warm()``)
  in a fresh interpreter, wall time, ``--loads`` times (after the first run on a machine the
  kernels load from numba's cache; the first compiles them and takes several seconds).

    python benchmarks/bench_compiled.py [--draws 24576] [--repeat 9] [--loads 3]

:func:`compiled_rows` returns the measurements as dicts.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from pivotmodel.allocator import retain_freed_memory
from pivotmodel.assumptions import load
from pivotmodel.claims import series_in
from pivotmodel.model import prepare, run
from pivotmodel.model.capex import capex_result, plan_capex
from pivotmodel.model.cloud import project_cloud_demand
from pivotmodel.model.engine_choice import kernels_for, load_kernels, running_with
from pivotmodel.model.inputs import Values
from pivotmodel.sampling import make_design
from pivotmodel.simulate import HEADLINE_SERIES

ENGINES = ("numpy", "compiled")


def _bits(out: Any) -> list[np.ndarray]:
    """Every array in a block's result, as float64 bit patterns (for an exact comparison)."""
    if hasattr(out, "series"):
        out = out.series
    if hasattr(out, "gross_in_service"):
        out = {
            k: getattr(out, k)
            for k in ("capex", "gross_in_service", "depreciation_new", "depreciation_legacy", "gross_exit")
        }
    return [np.ascontiguousarray(np.asarray(out[k], dtype=float)).view(np.int64) for k in sorted(out)]


def _same(a: Any, b: Any) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(_bits(a), _bits(b), strict=True))


def compiled_rows(draws: int = 24_576, repeat: int = 9, folder: str | None = None) -> list[dict[str, Any]]:
    """One row per block and one for run(): best and median CPU ms under each engine, the ratio
    of the best times, and whether the outputs are identical."""
    a = load(folder)
    e = prepare(a)
    values = make_design(a, max(draws, 2), int(a.settings["seed"]), "sobol").values(0, draws)
    keep = set(HEADLINE_SERIES) | {"group.fx_usd_rmb"}
    for c in a.claims:
        keep |= series_in(c.tree)
    v = Values(values, draws)
    first, quarters, base = e.first_projected, e.quarters, e.base
    new_hist, new_from, plan, after = plan_capex(e, v, first, quarters, draws)
    plan[:, after:] = plan[:, after - 1 : after] if after else 30_000.0  # a fixed path: the policy has no kernel
    # the cloud's supply loop and the capex policy (pivotmodel.model.supply) run in numpy under
    # either engine; the kernels serve the paths (cloud demand) and the in-service depreciation
    blocks: dict[str, Callable[[], Any]] = {
        "run()": lambda: run(e, values, keep=keep, kernels=kernels_for()),  # the engine of the block's run
        "cloud demand": lambda: project_cloud_demand(Values(values, draws), base, quarters),
        "capex": lambda: capex_result(e, Values(values, draws), new_from, new_hist, plan),
    }
    kernels = {"numpy": None, "compiled": load_kernels()}
    rows = []
    for name, fn in blocks.items():
        times: dict[str, list[float]] = {k: [] for k in ENGINES}
        outs: dict[str, Any] = {}
        for engine in ENGINES:  # once untimed: the kernels load, first-touch effects settle
            with running_with(kernels[engine]):
                outs[engine] = fn()
        for _ in range(repeat):
            for engine in ENGINES:
                with running_with(kernels[engine]):
                    t0 = time.process_time()
                    fn()
                    times[engine].append((time.process_time() - t0) * 1e3)
        best = {k: min(t) for k, t in times.items()}
        rows.append(
            {
                "block": name,
                "draws": draws,
                "quarters": quarters,
                "repeat": repeat,
                **{f"{k}_ms": best[k] for k in ENGINES},
                **{f"{k}_median_ms": float(np.median(t)) for k, t in times.items()},
                "ratio": best["numpy"] / best["compiled"],
                "identical": _same(outs["numpy"], outs["compiled"]),
            }
        )
    total = rows[0]
    for r in rows:
        for k in ENGINES:
            r[f"{k}_share"] = r[f"{k}_ms"] / total[f"{k}_ms"]
    return rows


_LOAD = """
import json, time
t0 = time.perf_counter()
import numba
t1 = time.perf_counter()
from pivotmodel.model import kernels
kernels.warm()
t2 = time.perf_counter()
print(json.dumps({"numba_import_s": t1 - t0, "kernels_load_s": t2 - t1}))
"""


def load_times(loads: int = 3) -> list[dict[str, float]]:
    """Fresh interpreters: seconds to import numba, then to import (load or compile) and warm the kernels."""
    return [
        json.loads(subprocess.run([sys.executable, "-c", _LOAD], capture_output=True, text=True, check=True).stdout)
        for _ in range(loads)
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, default=24_576)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--loads", type=int, default=3)
    args = parser.parse_args()
    retain_freed_memory()  # as a simulate worker does: freed arrays are reused, not page-faulted in again
    rows = compiled_rows(args.draws, args.repeat)
    print(
        f"one chunk of {args.draws:,} draws x {rows[0]['quarters']} quarters, CPU ms, best (median) of {args.repeat}, "
        "alternating:"
    )
    for r in rows:
        print(
            f"  {r['block']:<13} numpy {r['numpy_ms']:7.1f} ({r['numpy_median_ms']:7.1f})  compiled "
            f"{r['compiled_ms']:7.1f} "
            f"({r['compiled_median_ms']:7.1f})  ratio {r['ratio']:.2f}x  share of run() {r['numpy_share']:4.0%} -> "
            f"{r['compiled_share']:4.0%}  {'identical' if r['identical'] else 'DIFFERENT'}"
        )
    for i, t in enumerate(load_times(args.loads), 1):
        print(
            f"fresh process {i}: import numba {t['numba_import_s']:.2f} s, kernels load + warm "
            f"{t['kernels_load_s']:.2f} s"
        )
    if not all(r["identical"] for r in rows):
        raise SystemExit("numpy and compiled engines disagree")


if __name__ == "__main__":
    main()

"""Where the wall time of a large ``pivotmodel simulate`` goes, stage by stage, in one process.

Per chunk (the work the workers share): the uniform design (Sobol / LHS / mc), the copula,
the inverse CDFs, the engine, the claims, the kept totals and block sums, and the pickled size
of what a worker sends back. Then, over the chunk times scaled to the run, the main process's
work after the chunks: claims table, quantile tables, convergence and writing the files.

    python benchmarks/profile_simulate.py                  # sobol (the default), 1M draws
    python benchmarks/profile_simulate.py --method lhs --draws 1000000 --chunks 4
"""

from __future__ import annotations

import argparse
import pickle
import tempfile
import time
from pathlib import Path

import numpy as np

import pivotmodel.assumptions as assumptions_mod
import pivotmodel.simulate as sim
from pivotmodel.claims import evaluate, series_in
from pivotmodel.model import prepare, run


def stage_times(a, draws: int, method: str, chunk: int, chunks: int) -> dict[str, float]:
    """Mean seconds per chunk of each stage over ``chunks`` chunks spread across the run (after
    one chunk of warm-up)."""
    design = sim.make_design(a, draws, 20260522, method)
    engine = prepare(a)
    claims = list(a.claims)
    keep = sim.HEADLINE_SERIES
    claim_series: set[str] = set()
    for c in claims:
        claim_series |= series_in(c.tree)
    sample = sim.sample_draws(draws, 20260522)
    sim._STATE.update(engine=engine, design=design, claims=claims, keep=keep, claim_series=claim_series,
                      compact=draws > sim.FULL_TABLES_UP_TO, sample=sample, stream_means=True)
    t: dict[str, float] = {}

    def tick(name: str, t0: float) -> float:
        now = time.perf_counter()
        t[name] = t.get(name, 0.0) + now - t0
        return now

    sim._chunk(0, chunk)  # warm-up, not counted: the first chunk builds lookup tables (PERT) once a process
    starts = np.linspace(chunk, draws - chunk, chunks).astype(int) // chunk * chunk
    for lo in (int(x) for x in starts):
        hi = lo + chunk
        t0 = time.perf_counter()
        u = design.uniforms(lo, hi) if design.correlation is None else None
        if design.correlation is not None:
            corr = design.correlation
            object.__setattr__(design, "correlation", None)
            raw = design.uniforms(lo, hi)
            t0 = tick("uniforms (design)", t0)
            u = corr.apply(raw)
            object.__setattr__(design, "correlation", corr)
            t0 = tick("copula", t0)
        else:
            t0 = tick("uniforms (design)", t0)
        {k: design.dists[k].ppf(u[k]) for k in design.dists}
        t0 = tick("inverse CDFs", t0)
        values = design.values(lo, hi)
        t0 = time.perf_counter()
        p = run(engine, values, keep=set(keep) | {"group.fx_usd_rmb"} | claim_series)
        t0 = tick("engine run()", t0)
        for c in claims:
            evaluate(c, p)
        t0 = tick("claims", t0)
        out = sim._chunk(int(lo), int(hi))
        t1 = time.perf_counter()
        t["_chunk total"] = t.get("_chunk total", 0.0) + t1 - t0
        blob = pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL)
        t0 = tick("pickle result", t1)
        pickle.loads(blob)
        tick("unpickle result", t0)
        t["result MB"] = t.get("result MB", 0.0) + len(blob) / 1e6
    sim._STATE.clear()
    return {k: v / len(starts) for k, v in t.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=1_000_000)
    ap.add_argument("--method", default="sobol")
    ap.add_argument("--chunk", type=int, default=25_000)
    ap.add_argument("--chunks", type=int, default=4)
    ap.add_argument("--outputs", action="store_true", help="also run the whole simulation and time the outputs")
    ap.add_argument("--default-allocator", action="store_true", help="leave glibc's allocator as it is (workers tune it)")
    args = ap.parse_args()
    if not args.default_allocator:
        from pivotmodel.allocator import retain_freed_memory

        retain_freed_memory()  # as in the simulation workers
    a = assumptions_mod.load()
    per = stage_times(a, args.draws, args.method, args.chunk, args.chunks)
    n_chunks = -(-args.draws // args.chunk)
    print(f"{args.method}, {args.draws:,} draws = {n_chunks} chunks of {args.chunk:,}; per chunk (ms) and x chunks (s, one core):")
    for k, v in per.items():
        if k == "result MB":
            print(f"  {'pickled result per chunk':28s} {v:8.2f} MB    x chunks {v * n_chunks:8.1f} MB")
        else:
            print(f"  {k:28s} {v * 1e3:8.1f} ms    x chunks {v * n_chunks:6.2f} s")
    print("  (the stages above _chunk total are parts of it: it samples, runs the engine and the claims, then keeps totals)")
    if args.outputs:
        from pivotmodel.cli.run import _write_run

        t0 = time.perf_counter()
        r = sim.simulate(a, draws=args.draws, method=args.method, jobs=2, progress=False)
        t1 = time.perf_counter()
        table = r.claims_table()
        t2 = time.perf_counter()
        for b in r.available_bases():
            r.quantiles(b)
        t3 = time.perf_counter()
        r.convergence()
        t4 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            _write_run(r, table, Path(tmp) / "run", [])
        t5 = time.perf_counter()
        print(f"simulate(jobs=2) {t1 - t0:.2f} s; claims table {t2 - t1:.2f} s; quantiles {t3 - t2:.2f} s; "
              f"convergence {t4 - t3:.2f} s; all outputs written (recomputed) {t5 - t4:.2f} s")


if __name__ == "__main__":
    main()

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
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import pivotmodel.assumptions as assumptions_mod
import pivotmodel.simulate as sim
from pivotmodel.claims import series_in
from pivotmodel.model import prepare, run


def _setup(a, draws: int, method: str, chunk: int = 24_576):
    """The run state simulate() builds before its pool starts, for chunks run here."""
    design = sim.make_design(a, draws, 20260522, method)
    if hasattr(design, "build_tables"):
        design.build_tables()
    engine = prepare(a)
    claims = list(a.claims)
    keep = sim.HEADLINE_SERIES
    claim_series: set[str] = set()
    for c in claims:
        claim_series |= series_in(c.tree)
    sample = sim.sample_draws(draws, 20260522)
    sim._STATE.update(
        engine=engine,
        design=design,
        claims=claims,
        keep=keep,
        claim_series=claim_series,
        compact=draws > sim.FULL_TABLES_UP_TO,
        sample=sample,
        stream_means=True,
        chunk=min(chunk, draws),
    )
    return design, engine, claims, keep, claim_series


def stage_times(a, draws: int, method: str, chunk: int, chunks: int) -> dict[str, float]:
    """Mean seconds per chunk of each stage over ``chunks`` chunks spread across the run (after
    one chunk of warm-up). The sampling stages are timed on their own; the engine, the claims
    and what is left of the chunk (kept totals, sampled copies, block sums) inside _chunk
    itself, by timing the functions it calls."""
    design, engine, claims, keep, claim_series = _setup(a, draws, method)
    t: dict[str, float] = {}

    def tick(name: str, t0: float) -> float:
        now = time.perf_counter()
        t[name] = t.get(name, 0.0) + now - t0
        return now

    def timed(name: str, fn):
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            out = fn(*args, **kwargs)
            tick(name, t0)
            return out

        return wrapper

    sim._chunk(0, chunk)  # warm-up, not counted (the first chunk a process runs pays for fresh memory)
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
        tick("inverse CDFs", t0)
        # _chunk itself, its calls timed
        run_, evaluate_ = sim.run, sim.evaluate
        sim.run, sim.evaluate = timed("engine run()", run_), timed("claims", evaluate_)
        object.__setattr__(design, "values", timed("sampling (values)", design.values))
        try:
            t0 = time.perf_counter()
            before = {k: t.get(k, 0.0) for k in ("engine run()", "claims", "sampling (values)")}
            out = sim._chunk(int(lo), int(hi))
            t1 = tick("_chunk total", t0)
        finally:
            sim.run, sim.evaluate = run_, evaluate_
            object.__delattr__(design, "values")
        inner = sum(t[k] - before[k] for k in before)
        t["kept totals, copies, block sums"] = t.get("kept totals, copies, block sums", 0.0) + (t1 - t0) - inner
        blob = pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL)
        t0 = tick("pickle result", t1)
        pickle.loads(blob)
        tick("unpickle result", t0)
        t["result MB"] = t.get("result MB", 0.0) + len(blob) / 1e6
    sim._STATE.clear()
    order = [
        "uniforms (design)",
        "copula",
        "inverse CDFs",
        "sampling (values)",
        "engine run()",
        "claims",
        "kept totals, copies, block sums",
        "_chunk total",
        "pickle result",
        "unpickle result",
        "result MB",
    ]
    return {k: t[k] / len(starts) for k in order if k in t}


def first_chunk_in_a_fork(a, draws: int, method: str, chunk: int) -> tuple[float, float, float]:
    """Seconds of a forked worker's start, its first chunk and its second, the state built in a parent
    that has run no chunk itself (as simulate() does; call it in a fresh process): what the
    first chunk pays beyond a later one (imports, tables, fresh memory). The worker starts as a pool
    worker does (``_init_worker``: the allocator settings and the prefaulted heap), timed apart."""
    _setup(a, draws, method, chunk)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker: its start, then two chunks, their times back through the pipe
        os.close(read)
        ts = time.perf_counter()
        sim._init_worker({})
        t0 = time.perf_counter()
        sim._chunk(chunk, 2 * chunk)
        t1 = time.perf_counter()
        sim._chunk(2 * chunk, 3 * chunk)
        t2 = time.perf_counter()
        os.write(write, f"{t0 - ts} {t1 - t0} {t2 - t1}".encode())
        os._exit(0)
    os.close(write)
    start, first, second = (float(x) for x in os.read(read, 100).split())
    os.waitpid(pid, 0)
    sim._STATE.clear()
    return start, first, second


def table_seconds(a, draws: int, method: str) -> tuple[float, float]:
    """Seconds to build the run's PERT lookup tables on one thread and on two (as simulate
    does before its pool), each from none held."""
    from pivotmodel import distributions

    dists = list(sim.make_design(a, draws, 20260522, method).dists.values())
    out = []
    for threads in (1, 2):
        distributions._BETA_TABLES.clear()
        t0 = time.perf_counter()
        distributions.build_tables(dists, threads=threads)
        out.append(time.perf_counter() - t0)
    return out[0], out[1]


def import_seconds() -> float:
    """Wall seconds of a fresh process importing what ``pivotmodel simulate`` imports before
    its pool starts (minus a bare interpreter's start)."""
    code = "import pivotmodel.cli.run, pivotmodel.simulate, pivotmodel.assumptions"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    t1 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    t2 = time.perf_counter()
    return (t2 - t1) - (t1 - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=1_000_000)
    ap.add_argument("--method", default="sobol")
    ap.add_argument("--chunk", type=int, default=24_576, help="draws a chunk (simulate rounds 25,000 down to 24,576)")
    ap.add_argument("--chunks", type=int, default=4)
    ap.add_argument("--outputs", action="store_true", help="also run the whole simulation and time the outputs")
    ap.add_argument(
        "--default-allocator", action="store_true", help="leave glibc's allocator as it is (workers tune it)"
    )
    ap.add_argument(
        "--first-chunk", action="store_true", help=argparse.SUPPRESS
    )  # the fresh process of first_chunk_in_a_fork
    args = ap.parse_args()
    if not args.default_allocator:
        from pivotmodel.allocator import retain_freed_memory

        retain_freed_memory()  # as in the simulation workers
    a = assumptions_mod.load()
    if args.first_chunk:
        print(*first_chunk_in_a_fork(a, args.draws, args.method, args.chunk))
        return
    per = stage_times(a, args.draws, args.method, args.chunk, args.chunks)
    n_chunks = -(-args.draws // args.chunk)
    print(
        f"{args.method}, {args.draws:,} draws = {n_chunks} chunks of {args.chunk:,}; per chunk (ms) and x chunks (s, "
        "one core):"
    )
    for k, v in per.items():
        if k == "result MB":
            print(f"  {'pickled result per chunk':32s} {v:8.2f} MB    x chunks {v * n_chunks:8.1f} MB")
        else:
            print(f"  {k:32s} {v * 1e3:8.1f} ms    x chunks {v * n_chunks:6.2f} s")
    print("  (uniforms, copula and inverse CDFs are the parts of sampling (values); sampling, engine, claims and kept")
    print("   totals are the parts of _chunk total)")
    fresh = subprocess.run(
        [
            sys.executable,
            __file__,
            "--draws",
            str(args.draws),
            "--method",
            args.method,
            "--chunk",
            str(args.chunk),
            "--first-chunk",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    start, first, second = (float(x) for x in fresh.stdout.split())
    print(
        f"  forked worker: its start (allocator, prefaulted heap) {start * 1e3:4.0f} ms, first chunk "
        f"{first * 1e3:4.0f} ms, "
        f"its second {second * 1e3:4.0f} ms"
    )
    print(f"main process: imports before the pool {import_seconds():.2f} s")
    one, two = table_seconds(a, args.draws, args.method)
    print(f"main process: PERT lookup tables {one:.2f} s on one thread, {two:.2f} s on two")
    if args.outputs:
        from pivotmodel.cli.run import _write_run

        t0 = time.perf_counter()
        fresh = assumptions_mod.load()
        sim.make_design(fresh, args.draws, 20260522, args.method)
        engine = prepare(fresh)
        sim.check_claims(list(fresh.claims), run(engine), fresh.claims_label)
        print(
            "main process: load, design, engine inputs and claim checks before the pool "
            f"{time.perf_counter() - t0:.2f} s"
        )
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
        print(
            f"simulate(jobs=2) {t1 - t0:.2f} s; claims table {t2 - t1:.2f} s; quantiles {t3 - t2:.2f} s; "
            f"convergence {t4 - t3:.2f} s; all outputs written (recomputed) {t5 - t4:.2f} s"
        )


if __name__ == "__main__":
    main()

"""Speed and memory of a Monte Carlo run, against a numpy floor and a per-draw Python loop.

Everything runs in one process, one after the other, so the ratios compare like with like
on a noisy machine. Peak memory is measured with tracemalloc (numpy reports its buffers to
it), separately for each stage; worker processes (``--jobs`` > 1) are not traced, so the
memory figures use one process.

    python benchmarks/bench_simulate.py            # 10k, 100k, 1M draws
    python benchmarks/bench_simulate.py --quick    # 10k and 100k only
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc

import numpy as np

import pivotmodel.assumptions as assumptions_mod
from pivotmodel.model import SERIES, base_values, project
from pivotmodel.simulate import simulate


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--loop-draws", type=int, default=200)
    args = parser.parse_args()
    a = assumptions_mod.load()
    quarters = len(project(a).timeline)
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    chunk = 25_000
    print(f"machine: {os.cpu_count()} cores; model: {len(SERIES)} series x {quarters} quarters; chunk {chunk:,}")
    print(f"{'stage':34s} {'draws':>9s} {'seconds':>8s} {'draws/s':>10s} {'peak MiB':>9s} {'vs floor':>9s}")
    _, loop_s, loop_mem = measure(lambda: python_loop(a, args.loop_draws))
    loop_rate = args.loop_draws / loop_s
    print(f"{'per-draw Python loop':34s} {args.loop_draws:>9,d} {loop_s:8.2f} {loop_rate:10,.0f} {loop_mem:9.1f} {'':>9s}")
    for n in sizes:
        _, floor_s, floor_mem = measure(lambda: numpy_floor(n, quarters, len(SERIES), chunk))
        print(f"{'numpy floor (alloc, fill, reduce)':34s} {n:>9,d} {floor_s:8.2f} {n / floor_s:10,.0f} {floor_mem:9.1f} {1.0:9.2f}")
        _, s1, m1 = measure(lambda: simulate(a, draws=n, method="mc", jobs=1, chunk_size=chunk, progress=False))
        print(f"{'full model, 1 process':34s} {n:>9,d} {s1:8.2f} {n / s1:10,.0f} {m1:9.1f} {s1 / floor_s:9.2f}")
        if args.jobs > 1:
            t0 = time.perf_counter()
            simulate(a, draws=n, method="mc", jobs=args.jobs, chunk_size=chunk, progress=False)
            sj = time.perf_counter() - t0
            print(f"{f'full model, {args.jobs} processes':34s} {n:>9,d} {sj:8.2f} {n / sj:10,.0f} {'':>9s} {sj / floor_s:9.2f}")
        print(f"{'  speed-up per draw vs Python loop':34s} {'':>9s} {'':>8s} {(n / s1) / loop_rate:10,.0f}x")


if __name__ == "__main__":
    main()

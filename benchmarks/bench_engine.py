"""The cloud block's supply kernel (serve demand and backlog up to capacity, quarter by
quarter) as the engine runs it, against a hand-written lean numpy version of the same
equations: quarters-major arrays (each quarter's draws contiguous), preallocated buffers,
in-place operations. Both run in this process, alternating; the script checks they agree to
1e-12 and prints the ratio (issue 14 aim: the engine within 1.5x of the hand-written version).

    python benchmarks/bench_engine.py [--draws 25000] [--quarters 32]

Only this kernel so far; the capex block and the whole cloud block are not yet written by hand.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pivotmodel.model.cloud import serve_with_backlog


def lean_serve(demand: np.ndarray, capacity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """demand (streams, quarters, draws), capacity (quarters, draws) -> served, backlog alike."""
    streams, quarters, n = demand.shape
    served = np.empty_like(demand)
    backlog = np.empty_like(demand)
    carried = np.zeros((streams, n))
    wanted = np.empty((streams, n))
    asked = np.empty(n)
    scale = np.empty(n)
    for t in range(quarters):
        np.add(demand[:, t], carried, out=wanted)
        np.add(wanted[0], wanted[1], out=asked)
        for s in range(2, streams):
            asked += wanted[s]
        np.divide(np.minimum(asked, capacity[t]), asked, out=scale, where=asked > 0)
        scale[~(asked > 0)] = 1.0
        np.multiply(wanted, scale, out=served[:, t])
        np.subtract(wanted, served[:, t], out=carried)
        backlog[:, t] = carried
    return served, backlog


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, default=25_000)
    parser.add_argument("--quarters", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n, q = args.draws, args.quarters
    demand = {s: rng.lognormal(8, 0.3, (n, q)).cumsum(axis=1) for s in ("ai", "other", "internal")}
    capacity = sum(demand.values()) * rng.uniform(0.7, 1.2, (n, 1))
    stacked = np.ascontiguousarray(np.stack([d.T for d in demand.values()]))
    cap_t = np.ascontiguousarray(capacity.T)
    engine_s, lean_s = [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        served, backlog = serve_with_backlog(demand, capacity)
        engine_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        lserved, lbacklog = lean_serve(stacked, cap_t)
        lean_s.append(time.perf_counter() - t0)
    for i, s in enumerate(demand):
        assert np.allclose(served[s], lserved[i].T, rtol=1e-12, atol=0), s
        assert np.allclose(backlog[s], lbacklog[i].T, rtol=1e-12, atol=1e-9), s
    e, lean = min(engine_s), min(lean_s)
    print(f"cloud supply kernel, {n:,} draws x {q} quarters x 3 streams: engine {e * 1e3:.1f} ms, "
          f"hand-written {lean * 1e3:.1f} ms, ratio {e / lean:.2f}x (aim <= 1.5x: {'met' if e / lean <= 1.5 else 'NOT met'}); "
          "agree to 1e-12")


if __name__ == "__main__":
    main()

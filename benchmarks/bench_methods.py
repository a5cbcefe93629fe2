"""Draws each sampling method needs to pin a claim near 25-30% to within +/-0.5 percentage
points (the half-width of a 95% interval), over several seeds.

For each method and draw count N the claim's estimate is taken from independent runs (one
seed each). Two half-widths are reported: the one the estimate really has (1.96 x the spread
of the estimates across seeds) and the one the run reports (Wilson for mc, the t interval over
replicates for lhs and sobol; the mean over seeds). Draws needed = N x (half-width / 0.005)^2,
the usual 1/N scaling of a variance (stratification can do better than 1/N, so the figure at
the larger N is the one to trust).

    python benchmarks/bench_methods.py [--seeds 20] [--sizes 5000,20000] [--claim ID]
"""

from __future__ import annotations

import argparse
import math

import numpy as np

import pivotmodel.assumptions as assumptions_mod
from pivotmodel.sampling import METHODS
from pivotmodel.simulate import simulate

CLAIM = "cloud_share_30pct_first_fy_by_fy2031"  # P about 25%, moved by many inputs
TARGET = 0.005


def measure(a, claim: str, sizes: list[int], seeds: int, jobs: int = 2) -> list[dict]:
    """One row per (method, draws): mean estimate, real and reported half-widths, draws needed."""
    rows = []
    for n in sizes:
        for method in METHODS:
            est, reported = [], []
            for s in range(seeds):
                r = simulate(a, draws=n, seed=1000 + s, method=method, jobs=jobs, keep=(), progress=False)
                p, lo, hi, _ = r.probability(claim)
                est.append(p)
                reported.append((hi - lo) / 2)
            real = 1.96 * float(np.std(est, ddof=1))
            rep = float(np.mean(reported))
            rows.append(
                {
                    "method": method,
                    "draws": n,
                    "p": float(np.mean(est)),
                    "real_half": real,
                    "reported_half": rep,
                    "needed_real": n * (real / TARGET) ** 2,
                    "needed_reported": n * (rep / TARGET) ** 2,
                }
            )
    return rows


def table(rows: list[dict], seeds: int) -> str:
    mc = {r["draws"]: r for r in rows if r["method"] == "mc"}
    out = [
        f"| method | draws a run | P (mean of {seeds} seeds) | half-width reported | draws to +/-0.5pp (reported) | "
        "fewer than mc "
        "| half-width real (seed spread) | draws to +/-0.5pp (real) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        out.append(
            f"| {r['method']} | {r['draws']:,} | {r['p']:.4f} | {r['reported_half'] * 100:.2f}pp | "
            f"{math.ceil(r['needed_reported']):,} "
            f"| {mc[r['draws']]['needed_reported'] / r['needed_reported']:.1f}x | {r['real_half'] * 100:.2f}pp | "
            f"{math.ceil(r['needed_real']):,} |"
        )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--sizes", default="5000,20000")
    parser.add_argument("--claim", default=CLAIM)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    a = assumptions_mod.load()
    rows = measure(a, args.claim, [int(x) for x in args.sizes.split(",")], args.seeds, args.jobs)
    print(f"claim {args.claim}: draws to a 95% half-width of +/-{TARGET * 100:.1f}pp, {args.seeds} seeds per method")
    print(table(rows, args.seeds))


if __name__ == "__main__":
    main()

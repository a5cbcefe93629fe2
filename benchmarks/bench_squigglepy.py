"""The reference model of issue 14 in squigglepy, as a squigglepy user writes it: 11 drivers as
squigglepy distributions, four of them rank-correlated with ``sq.correlate``, sampled as
vectors, then 12 quarters x 6 revenue lines, costs and capex with straight-line depreciation
in numpy on the sampled arrays. The cost per draw x quarter x revenue line is compared with
pivotmodel's own (its full model, every output written) in ``run_all.py``.

Needs the benchmark extra: ``pip install -e ".[benchmark]"``.

    python benchmarks/bench_squigglepy.py [--draws 200000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

QUARTERS = 12
LINES = 6
DEPRECIATION_QUARTERS = 20  # servers over five years
# quarterly revenue of each line at the start (RMB bn), roughly Alibaba's segments
START = np.array([30.0, 10.0, 25.0, 12.0, 35.0, 60.0])
CORRELATION = [[1.0, 0.5, 0.3, 0.2], [0.5, 1.0, 0.4, 0.1], [0.3, 0.4, 1.0, 0.3], [0.2, 0.1, 0.3, 1.0]]


def drivers():
    """11 drivers as squigglepy distributions; growth of the four cloud-linked lines correlated."""
    import squigglepy as sq

    growth = [sq.to(0.20, 0.45), sq.to(0.60, 1.40), sq.to(0.05, 0.25), sq.to(0.02, 0.12)]
    growth = list(sq.correlate(tuple(growth), CORRELATION))
    return {
        "growth": growth + [sq.norm(0.03, 0.09), sq.norm(0.0, 0.06)],  # six lines' yearly growth
        "fade": sq.beta(8, 2),  # growth kept each year
        "margin": sq.norm(0.05, 0.15),  # cost margin drift
        "capex_share": sq.to(0.25, 0.45),  # capex as a share of cloud revenue
        "useful_life_adj": sq.uniform(0.8, 1.2),
        "fx": sq.to(6.8, 7.4),
    }


def run(draws: int) -> dict[str, float]:
    """Seconds to sample the drivers and to compute the model, and a checksum."""
    import squigglepy as sq

    t0 = time.perf_counter()
    d = drivers()
    g = np.stack([sq.sample(x, draws) for x in d["growth"]])  # (lines, draws)
    fade, margin, share, life, fx = (np.asarray(sq.sample(d[k], draws)) for k in ("fade", "margin", "capex_share", "useful_life_adj", "fx"))
    sampled = time.perf_counter() - t0
    t1 = time.perf_counter()
    quarterly = (1.0 + g) ** 0.25 - 1.0
    revenue = np.empty((QUARTERS, LINES, draws))
    level = np.broadcast_to(START[:, None], (LINES, draws)).copy()
    for t in range(QUARTERS):
        level *= 1.0 + quarterly * fade ** (t / 4)
        revenue[t] = level
    cloud = revenue[:, 0] + revenue[:, 1]
    capex = share * cloud
    dep = np.zeros_like(capex)
    per_quarter = capex / (DEPRECIATION_QUARTERS * life)
    for t in range(QUARTERS):
        dep[t:] += per_quarter[t]
    ebita = revenue.sum(axis=1) * (0.12 + margin) - dep
    usd = revenue.sum(axis=(0, 1)) / fx
    computed = time.perf_counter() - t1
    return {"sample_s": sampled, "model_s": computed, "checksum": float(ebita[-1].mean() + usd.mean())}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, default=200_000)
    args = parser.parse_args()
    r = run(args.draws)
    total = r["sample_s"] + r["model_s"]
    print(f"squigglepy reference model, {args.draws:,} draws x {QUARTERS} quarters x {LINES} lines: {total:.2f} s "
          f"(sampling {r['sample_s']:.2f} s, model {r['model_s']:.2f} s), "
          f"{args.draws * QUARTERS * LINES / total:,.0f} draw-quarter-lines/s")


if __name__ == "__main__":
    main()

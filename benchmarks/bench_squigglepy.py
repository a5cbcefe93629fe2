"""The reference model of issue 14, the same work in squigglepy and in pivotmodel's machinery.

The model: 11 drivers, the yearly growth of four revenue lines rank-correlated, then 12 quarters
x 6 revenue lines, costs, and capex with straight-line depreciation (:func:`model`). Both sides
feed their sampled drivers to that one numpy function, so only sampling and correlation differ:

* squigglepy, as its user writes it: the drivers as squigglepy distributions, the four growths
  correlated with ``sq.correlate`` (Iman-Conover), sampled as whole vectors;
* pivotmodel: the same families and parameters as :mod:`pivotmodel.distributions` specs
  (:data:`SPECS`), the same Spearman matrix through :func:`pivotmodel.sampling.correlation_copula`
  (Gaussian copula), and :class:`pivotmodel.sampling.Design` (the run's default method, Sobol)
  sampling chunk by chunk as ``simulate`` does, the model run on each chunk.

How the families map (squigglepy 0.30): ``sq.to(a, b)`` with a > 0 is a lognormal whose 90%
interval is [a, b], pivotmodel's ``lognormal`` with p5, p95 (the same sigma, log(b/a) / 3.29);
``sq.norm(a, b)`` is a normal with that 90% interval, pivotmodel's ``range`` (shape normal);
``sq.uniform`` is ``uniform``. pivotmodel has no beta family: ``sq.beta(8, 2)`` is a PERT on
[0, 1] with mode 7/8 and lambda 8, whose shape parameters are exactly 8 and 2 (1 + 8 x 7/8 and
1 + 8 x 1/8); its inverse CDF interpolates a table (error below 1e-5).

Beside it, sampling alone on pivotmodel's own uncertain inputs (the bundled assumptions and
correlations.yaml) by both (:func:`inputs_comparison`).

The correlations differ slightly by method: Iman-Conover uses the Spearman matrix as the
correlation of normal scores (Spearman reached about (6/pi) asin(rho/2), 0.483 for 0.5), the
copula converts it first (2 sin(pi rho/6)) and reaches rho.

Needs the benchmark extra: ``pip install -e ".[benchmark]"``.

    python benchmarks/bench_squigglepy.py [--draws 200000 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import Any

import numpy as np

from pivotmodel.correlations import CorrelationPair, Correlations
from pivotmodel.distributions import Distribution, build_distribution
from pivotmodel.sampling import Design, correlation_copula

QUARTERS = 12
LINES = 6
DEPRECIATION_QUARTERS = 20  # servers over five years
# quarterly revenue of each line at the start (RMB bn), roughly Alibaba's segments
START = np.array([30.0, 10.0, 25.0, 12.0, 35.0, 60.0])
CORRELATED = ("growth_0", "growth_1", "growth_2", "growth_3")  # the four cloud-linked lines
CORRELATION = [[1.0, 0.5, 0.3, 0.2], [0.5, 1.0, 0.4, 0.1], [0.3, 0.4, 1.0, 0.3], [0.2, 0.1, 0.3, 1.0]]  # Spearman
AIM = 6.0  # issue 14: pivotmodel >= 6x squigglepy per draw x quarter x revenue line

# The 11 drivers as pivotmodel specs; each is the squigglepy distribution of squigglepy_drivers().
SPECS: dict[str, tuple[str, dict[str, float]]] = {
    "growth_0": ("lognormal", {"p5": 0.20, "p95": 0.45}),  # sq.to(0.20, 0.45); six lines' yearly growth
    "growth_1": ("lognormal", {"p5": 0.60, "p95": 1.40}),  # sq.to(0.60, 1.40)
    "growth_2": ("lognormal", {"p5": 0.05, "p95": 0.25}),  # sq.to(0.05, 0.25)
    "growth_3": ("lognormal", {"p5": 0.02, "p95": 0.12}),  # sq.to(0.02, 0.12)
    "growth_4": ("range", {"p5": 0.03, "p95": 0.09}),  # sq.norm(0.03, 0.09)
    "growth_5": ("range", {"p5": 0.0, "p95": 0.06}),  # sq.norm(0.0, 0.06)
    "fade": ("pert", {"low": 0.0, "mode": 0.875, "high": 1.0, "lambda": 8.0}),  # sq.beta(8, 2): growth kept each year
    "margin": ("range", {"p5": 0.05, "p95": 0.15}),  # sq.norm(0.05, 0.15): cost margin drift
    "capex_share": ("lognormal", {"p5": 0.25, "p95": 0.45}),  # sq.to(0.25, 0.45): capex as a share of cloud revenue
    "useful_life_adj": ("uniform", {"low": 0.8, "high": 1.2}),  # sq.uniform(0.8, 1.2)
    "fx": ("lognormal", {"p5": 6.8, "p95": 7.4}),  # sq.to(6.8, 7.4)
}


def squigglepy_drivers() -> dict[str, Any]:
    """The 11 drivers as squigglepy distributions, by the names of :data:`SPECS`."""
    import squigglepy as sq

    growth = [sq.to(0.20, 0.45), sq.to(0.60, 1.40), sq.to(0.05, 0.25), sq.to(0.02, 0.12)]
    growth = list(sq.correlate(tuple(growth), CORRELATION))
    return {
        **dict(zip(CORRELATED, growth)),
        "growth_4": sq.norm(0.03, 0.09),
        "growth_5": sq.norm(0.0, 0.06),
        "fade": sq.beta(8, 2),
        "margin": sq.norm(0.05, 0.15),
        "capex_share": sq.to(0.25, 0.45),
        "useful_life_adj": sq.uniform(0.8, 1.2),
        "fx": sq.to(6.8, 7.4),
    }


def model(v: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The reference model's arithmetic, shared by both sides: the drivers' draws in (by name),
    adjusted EBITA each quarter (quarters, draws) and the 12 quarters' revenue in USD (draws) out."""
    g = np.stack([v[f"growth_{i}"] for i in range(LINES)])  # (lines, draws)
    fade, margin, share, life, fx = (v[k] for k in ("fade", "margin", "capex_share", "useful_life_adj", "fx"))
    draws = g.shape[1]
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
    return ebita, usd


def run_squigglepy(draws: int, seed: int = 1) -> dict[str, Any]:
    """The drivers sampled by squigglepy (whole vectors), then :func:`model`; CPU seconds of each."""
    import squigglepy as sq

    t0 = time.process_time()
    sq.set_seed(seed)
    values = {k: np.asarray(sq.sample(d, draws), dtype=float) for k, d in squigglepy_drivers().items()}
    t1 = time.process_time()
    ebita, usd = model(values)
    return {"sample_s": t1 - t0, "model_s": time.process_time() - t1, "drivers": values, "ebita": ebita, "usd": usd}


def pivotmodel_design(draws: int, seed: int = 1, method: str = "sobol") -> Design:
    """The drivers as a pivotmodel design: :data:`SPECS` through ``build_distribution``, the
    Spearman matrix through ``correlation_copula`` (as if read from correlations.yaml)."""
    dists = {k: build_distribution(kind, params) for k, (kind, params) in sorted(SPECS.items())}
    pairs = tuple(
        CorrelationPair(CORRELATED[i], CORRELATED[j], CORRELATION[i][j], "reference model", "", n, None)
        for n, (i, j) in enumerate((i, j) for i in range(len(CORRELATED)) for j in range(i + 1, len(CORRELATED)))
    )
    files = SimpleNamespace(correlations=Correlations("benchmarks/bench_squigglepy.py", pairs), inputs={})
    return Design(method, seed, draws, dists, {}, correlation_copula(files, dists))  # type: ignore[arg-type]


def run_pivotmodel(draws: int, seed: int = 1, method: str = "sobol", chunk: int = 25_000) -> dict[str, Any]:
    """The drivers sampled by pivotmodel's design chunk by chunk (as ``simulate`` does), each
    chunk through :func:`model` into whole-run arrays; CPU seconds of each."""
    sample_s = model_s = 0.0
    t = time.process_time()
    design = pivotmodel_design(draws, seed, method)
    drivers = {k: np.empty(draws) for k in SPECS}
    ebita, usd = np.empty((QUARTERS, draws)), np.empty(draws)
    for lo in range(0, draws, chunk):
        hi = min(lo + chunk, draws)
        values = design.values(lo, hi)
        t1 = time.process_time()
        sample_s += t1 - t
        ebita[:, lo:hi], usd[lo:hi] = model(values)
        for k, col in values.items():
            drivers[k][lo:hi] = col
        t = time.process_time()
        model_s += t - t1
    return {"sample_s": sample_s, "model_s": model_s, "drivers": drivers, "ebita": ebita, "usd": usd}


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    return float(np.corrcoef(rx, ry)[0, 1])


def agreement(sq_run: Mapping[str, Any], pm_run: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Mean and sd of every driver and of three outputs on both sides, with the difference of
    means in standard errors (z), and the Spearman correlations of the correlated pairs (on at
    most 200,000 draws). The two sample independently, so only agreement within MC error is due."""
    rows = []
    columns = {
        **{k: (sq_run["drivers"][k], pm_run["drivers"][k]) for k in SPECS},
        "EBITA, first quarter": (sq_run["ebita"][0], pm_run["ebita"][0]),
        "EBITA, last quarter": (sq_run["ebita"][-1], pm_run["ebita"][-1]),
        "revenue, USD": (sq_run["usd"], pm_run["usd"]),
    }
    for name, (a, b) in columns.items():
        se = np.sqrt(a.var() / a.size + b.var() / b.size)
        rows.append(
            {
                "what": name,
                "squigglepy": (a.mean(), a.std()),
                "pivotmodel": (b.mean(), b.std()),
                "z": float((a.mean() - b.mean()) / se),
            }
        )
    m = min(200_000, sq_run["usd"].size, pm_run["usd"].size)
    for i in range(len(CORRELATED)):
        for j in range(i + 1, len(CORRELATED)):
            a, b = CORRELATED[i], CORRELATED[j]
            rows.append(
                {
                    "what": f"Spearman {a}, {b} (asked {CORRELATION[i][j]})",
                    "squigglepy": (_spearman(sq_run["drivers"][a][:m], sq_run["drivers"][b][:m]), None),
                    "pivotmodel": (_spearman(pm_run["drivers"][a][:m], pm_run["drivers"][b][:m]), None),
                    "z": None,
                }
            )
    return rows


def agreement_table(rows: list[dict[str, Any]]) -> str:
    def cell(pair: tuple[float, float | None]) -> str:
        return f"{pair[0]:.4g}" + ("" if pair[1] is None else f" (sd {pair[1]:.4g})")

    lines = [
        "| quantity | squigglepy mean (sd) | pivotmodel mean (sd) | difference in standard errors |",
        "| --- | ---: | ---: | ---: |",
    ]
    for r in rows:
        z = "" if r["z"] is None else f"{r['z']:+.1f}"
        lines.append(f"| {r['what']} | {cell(r['squigglepy'])} | {cell(r['pivotmodel'])} | {z} |")
    return "\n".join(lines)


def _best(fn: Callable[[], dict[str, Any]], best: dict[str, float]) -> dict[str, Any]:
    """Run ``fn`` once, keeping in ``best`` the least wall and CPU seconds seen so far."""
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    best["wall"], best["cpu"] = min(best.get("wall", wall), wall), min(best.get("cpu", cpu), cpu)
    for k in ("sample_s", "model_s"):
        best[k] = min(best.get(k, out[k]), out[k])
    return out


def compare(draws: int, repeat: int = 3, method: str = "sobol", chunk: int = 25_000) -> dict[str, Any]:
    """Both sides on the same work, alternating in this process after a small warm-up run of
    each (imports, tables), best of ``repeat`` each (wall and CPU seconds): squigglepy, pivotmodel
    in chunks of ``chunk`` (as ``simulate``) and pivotmodel in one block of every draw (as
    squigglepy, so the model's arithmetic runs on arrays of the same size). Ratios are
    squigglepy's best CPU time over pivotmodel's (single-threaded all; CPU time is steadier than
    wall time on a shared machine). Also the agreement rows of the last squigglepy and chunked runs."""
    run_squigglepy(1_000)
    run_pivotmodel(1_000, 1, method, chunk)
    best: dict[str, dict[str, float]] = {"squigglepy": {}, "chunked": {}, "one block": {}}
    for r in range(repeat):
        sq_run = _best(lambda r=r: run_squigglepy(draws, seed=r + 1), best["squigglepy"])
        pm_run = _best(lambda r=r: run_pivotmodel(draws, r + 1, method, chunk), best["chunked"])
        _best(lambda r=r: run_pivotmodel(draws, r + 1, method, draws), best["one block"])
    work = draws * QUARTERS * LINES
    return {
        "draws": draws,
        "repeat": repeat,
        "method": method,
        "chunk": chunk,
        "best": best,
        "rate": {k: work / b["cpu"] for k, b in best.items()},
        "ratio": best["squigglepy"]["cpu"] / best["chunked"]["cpu"],
        "ratio_one_block": best["squigglepy"]["cpu"] / best["one block"]["cpu"],
        "agreement": agreement(sq_run, pm_run),
    }


def comparison_table(results: list[dict[str, Any]]) -> str:
    """One row per size and side: CPU seconds (sampling + model, each its best), wall seconds,
    draw-quarter-lines a second, and pivotmodel's ratio to squigglepy (in all and for sampling
    alone) against the aim."""
    lines = [
        "| draws | run | CPU s (sampling + model) | wall s | draw-quarter-lines/s | squigglepy / this | sampling "
        "alone, squigglepy / this "
        "| aim >= 6x |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        for side, label in (
            ("squigglepy", "squigglepy"),
            ("chunked", f"pivotmodel, chunks of {r['chunk']:,}"),
            ("one block", "pivotmodel, one block"),
        ):
            b = r["best"][side]
            ratio = r["best"]["squigglepy"]["cpu"] / b["cpu"]
            verdict = "" if side == "squigglepy" else ("MET" if ratio >= AIM else "NOT MET")
            lines.append(
                f"| {r['draws']:,} | {label} | {b['cpu']:.2f} ({b['sample_s']:.2f} + {b['model_s']:.2f}) | "
                f"{b['wall']:.2f} | "
                f"{r['rate'][side] / 1e6:.1f}M | {ratio:.2f}x | "
                f"{r['best']['squigglepy']['sample_s'] / b['sample_s']:.2f}x | {verdict} |"
            )
    return "\n".join(lines)


def squigglepy_of(d: Distribution) -> Any:
    """A pivotmodel distribution as the squigglepy one with the same family and parameters
    (a Bernoulli's values are mapped after sampling, see :func:`sample_inputs_squigglepy`).
    truncnormal has none: squigglepy clips (mass piles up at the bounds) where it truncates."""
    import squigglepy as sq

    p = d.params
    if d.kind == "triangular":
        return sq.triangular(p["low"], p["mode"], p["high"])
    if d.kind == "pert":
        return sq.pert(p["low"], p["mode"], p["high"], lam=p.get("lambda", 4.0))
    if d.kind == "uniform":
        return sq.uniform(p["low"], p["high"])
    if d.kind == "normal":
        return sq.norm(mean=p["mean"], sd=p["sd"])
    if d.kind == "range" and p.get("shape", "normal") == "normal":
        return sq.norm(p["p5"], p["p95"])
    if d.kind in ("range", "lognormal") and "p5" in p:
        return sq.lognorm(p["p5"], p["p95"])
    if d.kind == "lognormal":
        return sq.lognorm(norm_mean=math.log(p["median"]), norm_sd=p["sigma"])
    if d.kind == "bernoulli":
        return sq.bernoulli(p["p"])
    raise ValueError(f"no squigglepy counterpart for {d.describe()}")


def sample_inputs_squigglepy(a: Any, draws: int, seed: int = 1) -> dict[str, np.ndarray]:
    """pivotmodel's uncertain inputs (``a``: loaded assumptions) sampled by squigglepy, the
    correlated ones through one ``sq.correlate`` group with the Spearman pairs of correlations.yaml."""
    import squigglepy as sq

    from pivotmodel.sampling import uncertain_inputs

    sq.set_seed(seed)
    dists = uncertain_inputs(a)
    made = {k: squigglepy_of(d) for k, d in dists.items()}
    keys = a.correlations.keys
    if keys:
        matrix = np.eye(len(keys))
        for pair in a.correlations.pairs:
            i, j = keys.index(pair.a), keys.index(pair.b)
            matrix[i, j] = matrix[j, i] = pair.rho
        made.update(zip(keys, sq.correlate(tuple(made[k] for k in keys), matrix)))
    out = {k: np.asarray(sq.sample(x, draws), dtype=float) for k, x in made.items()}
    for k, d in dists.items():
        if d.kind == "bernoulli":
            out[k] = np.where(
                out[k] > 0.5, float(d.params.get("value_if_true", 1.0)), float(d.params.get("value_if_false", 0.0))
            )
    return out


def inputs_comparison(draws: int, repeat: int = 3, folder: str | None = None) -> dict[str, Any]:
    """Sampling pivotmodel's own uncertain inputs (the bundled assumptions, or ``folder``), as
    ``simulate`` samples them (its default method, chunk by chunk) and with squigglepy (whole
    vectors): best CPU seconds of ``repeat``, alternating, after a warm-up; and the largest
    difference of the inputs' means in standard errors."""
    from pivotmodel.assumptions import load
    from pivotmodel.sampling import make_design

    a = load(folder)
    method, chunk, seed = a.settings["method"], int(a.settings.get("chunk_size", 25_000)), int(a.settings["seed"])

    def pivotmodel_side(n: int) -> dict[str, np.ndarray]:
        design = make_design(a, n, seed, method)
        out = {k: np.empty(n) for k in design.dists}
        for lo in range(0, n, chunk):
            values = design.values(lo, min(lo + chunk, n))
            for k in out:
                out[k][lo : lo + chunk] = values[k]
        return out

    pivotmodel_side(1_000)
    sample_inputs_squigglepy(a, 1_000)
    sq_s, pm_s = [], []
    for r in range(repeat):
        c0 = time.process_time()
        sq_v = sample_inputs_squigglepy(a, draws, r + 1)
        c1 = time.process_time()
        pm_v = pivotmodel_side(draws)
        sq_s.append(c1 - c0)
        pm_s.append(time.process_time() - c1)
    z = max(abs(sq_v[k].mean() - pm_v[k].mean()) / np.sqrt((sq_v[k].var() + pm_v[k].var()) / draws) for k in pm_v)
    return {
        "draws": draws,
        "inputs": len(pm_v),
        "correlated": len(a.correlations.keys),
        "method": method,
        "squigglepy_s": min(sq_s),
        "pivotmodel_s": min(pm_s),
        "ratio": min(sq_s) / min(pm_s),
        "max_z": float(z),
    }


def inputs_line(r: Mapping[str, Any]) -> str:
    return (
        f"pivotmodel's own {r['inputs']} uncertain inputs ({r['correlated']} correlated), {r['draws']:,} draws, "
        "sampling alone: "
        f"squigglepy {r['squigglepy_s']:.2f} s CPU, pivotmodel ({r['method']}, chunked) {r['pivotmodel_s']:.2f} s, "
        f"{r['ratio']:.2f}x; means agree within {r['max_z']:.1f} standard errors"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, nargs="+", default=[200_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import pivotmodel.assumptions as assumptions_mod

    settings = assumptions_mod.load().settings
    method, chunk = settings["method"], int(settings.get("chunk_size", 25_000))
    results = [compare(n, args.repeat, method, chunk) for n in args.draws]
    print(
        f"reference model, {QUARTERS} quarters x {LINES} revenue lines, 11 drivers (4 rank-correlated), capex "
        "depreciation; "
        f"pivotmodel: {method} design, chunks of {chunk:,}; CPU seconds, best of {args.repeat}, alternating\n"
    )
    print(comparison_table(results))
    print(f"\nagreement at {results[-1]['draws']:,} draws:\n{agreement_table(results[-1]['agreement'])}")
    print("\n" + inputs_line(inputs_comparison(args.draws[0], args.repeat)))


if __name__ == "__main__":
    main()

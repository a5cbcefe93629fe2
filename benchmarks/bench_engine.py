"""The engine's capex block against a hand-written lean numpy version of the same equations
(issue 14 aim: the engine within 1.5x of the hand-written version). The cloud block and its
backlog loop were compared here too until issue 19 coupled them with the capex policy
(pivotmodel.model.supply, a quarter loop in numpy): no hand-written version of that loop
exists yet, so only the capex block (plan, in-service PP&E, depreciation) is measured, with
the capex after the plan given as a fixed path.

The hand-written versions work quarter-major (each quarter's draws contiguous) in buffers
allocated once, with in-place operations, and take the same inputs: one chunk of sampled
draws of the bundled assumptions (Latin hypercube, as ``simulate`` runs it) and the prepared
:class:`~pivotmodel.model.inputs.EngineInputs`. Engine and hand-written run alternately in
this process; the best CPU time of ``--repeat`` is compared (the work is single-threaded
numpy, and CPU time is steadier than wall time on a loaded machine), and every output is checked to agree to
1e-12 (relative to the output's largest magnitude).

    python benchmarks/bench_engine.py [--draws 25000] [--repeat 11]

:func:`engine_rows` returns the same measurements as dicts (for the umbrella benchmark).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from pivotmodel.assumptions import load
from pivotmodel.model import prepare
from pivotmodel.model.capex import capex_result, plan_capex
from pivotmodel.model.inputs import EngineInputs, Values
from pivotmodel.periods import Quarter
from pivotmodel.sampling import make_design

AIM = 1.5
TOLERANCE = 1e-12


# --- hand-written versions (quarter-major: arrays (quarters, draws)) ---------------------------


def lean_capex(p: dict[str, np.ndarray], e: EngineInputs, after_plan: np.ndarray) -> dict[str, np.ndarray]:
    """The capex block: plan phasing, gross PP&E in service by asset class and straight-line
    depreciation, legacy run-off. ``after_plan`` (quarters, draws) is the capex after the plan
    (in the engine the policy of pivotmodel.model.supply sets it, coupled to the cloud)."""
    quarters, n = after_plan.shape
    first = e.first_projected
    new_from = int(p["capex.new_assets_from"][0])
    hist_first = min(new_from, (e.last_reported + (-3)).index)
    hist = e.capex_between(Quarter.from_index(hist_first), e.last_reported)
    p1, p2 = int(p["capex.plan.first_quarter"][0]), int(p["capex.plan.last_quarter"][0])
    spent = sum(hist[i - hist_first] for i in range(max(p1, hist_first), min(p2, first.index - 1) + 1))
    plan_q = max(0, min(p2 - max(p1, first.index) + 1, quarters))
    start = first.index - new_from
    k = start + quarters
    capex_all = np.empty((k, n))
    capex_all[:start] = hist[new_from - hist_first :, None]
    capex = capex_all[start:]
    if plan_q:
        weights = (1.0 + p["capex.plan.phasing_tilt"]) ** np.arange(plan_q)[:, None]
        weights /= weights.sum(axis=0)
        left = p["capex.plan.total"] - spent
        capex[:plan_q] = np.where(left > 0, left * weights, hist[-4:].sum() / 4.0)
    capex[plan_q:] = after_plan[plan_q:]
    padded = np.zeros((k + 1, n))
    np.cumsum(capex_all, axis=0, out=padded[1:])
    flat = padded.reshape(-1)
    lanes = np.arange(n)
    x, w, a = np.empty((k, n)), np.empty((k, n)), np.empty((k, n))
    lo = np.empty((k, n), dtype=np.intp)

    def curve_at(shift: np.ndarray, out: np.ndarray) -> np.ndarray:
        nonlocal x, w, a, lo  # work buffers, updated in place
        np.subtract(np.arange(k, dtype=float)[:, None], shift, out=x)
        x += 1.0
        np.clip(x, 0.0, float(k), out=x)
        lo[...] = x
        np.subtract(x, lo, out=w)
        lo *= n
        lo += lanes
        np.take(flat, lo, out=out)
        np.subtract(1.0, w, out=a)
        out *= a
        lo += n
        np.minimum(lo, k * n + lanes, out=lo)
        np.take(flat, lo, out=a)
        a *= w
        out += a
        return out

    lag, servers = p["cloud.supply.deployment_lag"], p["capex.server_share"]
    life_s, life_b = p["capex.useful_life"], p["capex.building_life"]
    on = curve_at(lag, np.empty((k, n)))
    gross_s = curve_at(lag + life_s, np.empty((k, n)))
    np.subtract(on, gross_s, out=gross_s)
    gross_s *= servers
    gross_b = curve_at(lag + life_b, np.empty((k, n)))
    np.subtract(on, gross_b, out=gross_b)
    gross_b *= 1.0 - servers
    gross = np.add(gross_s, gross_b, out=on)
    gross_s /= life_s
    gross_b /= life_b
    dep = np.add(gross_s, gross_b, out=gross_s)
    cols = [Quarter(e.legacy_fy, j).index - new_from for j in range(1, 5)]
    inside = [c for c in cols if 0 <= c < start]
    new_dep = sum(dep[c] for c in inside) if inside else 0.0
    legacy_q = np.maximum((e.legacy_da - new_dep) / 4.0, 0.0)
    t = np.arange(quarters, dtype=float)[:, None]
    legacy = legacy_q * np.clip(1.0 - (t + 1.0) / p["capex.legacy_runoff"], 0.0, 1.0)
    return {
        "capex": capex,
        "gross_in_service": gross[start:],
        "depreciation_new": dep[start:],
        "depreciation_legacy": np.broadcast_to(legacy, (quarters, n)),
        "gross_exit": gross[start - 1],
        "depreciation_new_history": dep[:start],
    }


# --- measurement -----------------------------------------------------------------------------


def _timed(fn: Callable[[], Any], times: list[float]) -> Any:
    t0 = time.process_time()  # CPU time of this process: steadier than wall time on a shared machine
    out = fn()
    times.append(time.process_time() - t0)
    return out


def _agree(engine: dict[str, np.ndarray], lean: dict[str, np.ndarray]) -> float:
    """Largest difference over every output, relative to the output's largest magnitude."""
    worst = 0.0
    for name, x in engine.items():
        x, y = np.asarray(x, dtype=float), np.broadcast_to(np.asarray(lean[name], dtype=float), np.shape(x))
        scale = max(float(np.max(np.abs(x))), 1e-300)
        worst = max(worst, float(np.max(np.abs(x - y))) / scale)
    return worst


def engine_rows(draws: int = 25_000, repeat: int = 11, folder: str | None = None) -> list[dict[str, Any]]:
    """One row per block: engine and hand-written best times (ms) on one chunk of ``draws``,
    their ratio against the 1.5x aim, and the largest relative difference of their outputs."""
    a = load(folder)
    e = prepare(a)
    values = make_design(a, max(draws, 2), int(a.settings["seed"]), "lhs").values(0, draws)
    p = {k: np.asarray(x, dtype=float) for k, x in values.items()}
    quarters = e.quarters
    path = np.linspace(40_000.0, 80_000.0, quarters)[:, None]  # capex after the plan, a fixed path
    after_plan = np.ascontiguousarray(np.broadcast_to(path, (quarters, draws)))

    def engine_capex():
        vv = Values(values, draws)
        new_hist, new_from, capex, after = plan_capex(e, vv, e.first_projected, quarters, draws)
        capex[:, after:] = after_plan.T[:, after:]
        r = capex_result(e, vv, new_from, new_hist, capex)
        return {
            "capex": r.capex,
            "gross_in_service": r.gross_in_service,
            "depreciation_new": r.depreciation_new,
            "depreciation_legacy": r.depreciation_legacy,
            "gross_exit": r.gross_exit[:, 0],
            "depreciation_new_history": r.depreciation_new_history,
        }

    def hand_capex():
        return lean_capex(p, e, after_plan)

    rows = []
    blocks = (("capex block", engine_capex, hand_capex),)
    for name, engine, hand in blocks:
        te: list[float] = []
        th: list[float] = []
        for _ in range(repeat):
            out_e = _timed(engine, te)
            out_h = _timed(hand, th)
        diff = _agree({k: np.asarray(x).T for k, x in out_e.items()}, out_h)
        e_ms, h_ms = min(te) * 1e3, min(th) * 1e3
        rows.append(
            {
                "block": name,
                "draws": draws,
                "quarters": quarters,
                "engine_ms": e_ms,
                "hand_written_ms": h_ms,
                "ratio": e_ms / h_ms,
                "aim": AIM,
                "met": e_ms / h_ms <= AIM,
                "max_rel_diff": diff,
                "agree": diff <= TOLERANCE,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, default=25_000)
    parser.add_argument("--repeat", type=int, default=11)
    args = parser.parse_args()
    rows = engine_rows(args.draws, args.repeat)
    for r in rows:
        print(
            f"{r['block']:<22} {r['draws']:,} draws x {r['quarters']} quarters: engine {r['engine_ms']:.1f} ms CPU, "
            f"hand-written {r['hand_written_ms']:.1f} ms, ratio {r['ratio']:.2f}x "
            f"(aim <= {AIM}x: {'met' if r['met'] else 'NOT met'}); outputs agree to {r['max_rel_diff']:.1e} "
            f"({'within' if r['agree'] else 'OUTSIDE'} {TOLERANCE:g})"
        )
    if not all(r["agree"] for r in rows):
        raise SystemExit("engine and hand-written versions disagree")


if __name__ == "__main__":
    main()

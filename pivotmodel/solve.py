"""What would have to be true: the value of an input at which a claim starts (or stops) holding.

:func:`solve` moves one uncertain input over its P0.1-P99.9 range with every other input at
its median (the base case). For a claim with a top-level comparison against a constant
(``metric > threshold``) it finds where the metric crosses the threshold: a grid of the
range in one vectorised engine call brackets every crossing, then ``scipy.optimize.brentq``
refines each on one-draw projections. A claim without such a threshold (``all(...)``,
``and``, ``first_fy(...)``) is solved by bisection on whether it holds. When no value in
the range makes the claim true (or false), the answer says so plainly and names the end
of the range that comes closest.

:func:`solve_grid` maps the metric over two inputs (a ``size`` x ``size`` grid in one engine
call) for :func:`pivotmodel.charts.plot_contour`, which draws the threshold contour.

Inputs are in model units (money in RMB million; an input written in RMB bn is reported in
both). Nothing here prints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize

from .assumptions import Assumptions
from .claims import Claim, evaluate, series_in
from .errors import InputError, did_you_mean
from .model import EngineInputs, base_values, prepare, run
from .sampling import uncertain_inputs
from .sensitivity import format_value, input_spec, model_unit

__all__ = ["solve", "solve_grid", "Solution", "find_claim"]

GRID = 81  # points over the range that bracket the crossings


def find_claim(a: Assumptions, claim_id: str) -> Claim:
    return a.claim(claim_id)


def _check_input(a: Assumptions, key: str):
    dists = uncertain_inputs(a)
    if key not in dists:
        if key in a.inputs:
            why = f"{key!r} is a fixed input (a point value in the files); solve moves an uncertain input"
        else:
            why = f"{key!r} is not an input{did_you_mean(key, dists)}"
        raise InputError.single("--input", "input", f"{why}; uncertain inputs: {', '.join(dists)}")
    return dists[key]


def _claim_series(claim: Claim) -> list[str]:
    return sorted(series_in(claim.tree) | {"group.fx_usd_rmb"})


def _evaluate(e: EngineInputs, claim: Claim, changes: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(metric, holds) with the given inputs set (arrays of one length), others at base; ``e``
    prepared once per solve (preparing costs several engine runs of one draw)."""
    n = max(np.asarray(v).size for v in changes.values())
    values = {k: np.full(n, float(v)) for k, v in e.base_values.items()}
    for k, v in changes.items():
        values[k] = np.broadcast_to(np.asarray(v, dtype=float), (n,)).copy()
    cv = evaluate(claim, run(e, values, keep=_claim_series(claim)))
    return cv.metric, cv.holds


@dataclass
class Solution:
    """The answer of :func:`solve`; ``sentence`` says it in words, :meth:`frame` as a table."""

    claim: str
    test: str
    input: str
    unit: str  # model unit of the input
    base_value: float
    low: float  # the range searched (P0.1 and P99.9)
    high: float
    threshold: float | None
    comparison: str | None
    base_metric: float
    holds_at_base: bool | None
    value: float  # the crossing nearest the base value; NaN when there is none
    direction: str  # "at least" / "at most" (the claim holds on that side), or ""
    crossings: list[float] = field(default_factory=list)
    status: str = ""  # solved | always | never | not_evaluable
    closest_end: float = math.nan
    closest_metric: float = math.nan
    sentence: str = ""

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    k: getattr(self, k)
                    for k in (
                        "claim",
                        "input",
                        "unit",
                        "value",
                        "direction",
                        "base_value",
                        "low",
                        "high",
                        "threshold",
                        "comparison",
                        "base_metric",
                        "holds_at_base",
                        "status",
                        "sentence",
                    )
                }
            ]
        )


def solve(
    a: Assumptions,
    claim_id: str,
    input_key: str,
    low_q: float = 0.001,
    high_q: float = 0.999,
    grid: int = GRID,
    xtol_rel: float = 1e-9,
    claim: Claim | None = None,
) -> Solution:
    """The value of ``input_key`` at which ``claim_id`` starts or stops holding, with every
    other input at base. ``claim`` solves a claim that is not in claims.yaml (a forecast)."""
    claim = claim or find_claim(a, claim_id)
    dist = _check_input(a, input_key)
    e = prepare(a)
    lo, hi = dist.quantile(low_q), dist.quantile(high_q)
    base = float(base_values(a)[input_key][0])
    xs = np.unique(np.concatenate([dist.ppf(np.linspace(low_q, high_q, grid)), [base]]))
    metric, holds = _evaluate(e, claim, {input_key: xs})
    thr, cmp = claim.threshold, claim.comparison
    b_idx = int(np.searchsorted(xs, base))
    base_metric, base_holds = float(metric[b_idx]), holds[b_idx]
    unit = model_unit(input_spec(a, input_key))
    sol = Solution(
        claim_id,
        claim.test,
        input_key,
        unit,
        base,
        float(lo),
        float(hi),
        thr,
        cmp,
        base_metric,
        None if np.isnan(base_holds) else bool(base_holds),
        math.nan,
        "",
    )
    fmt = lambda v: format_value(a, input_key, v)  # noqa: E731
    tail = "with everything else at base"
    what = f"{claim_id} ({claim.test})"
    rng = f"its P{100 * low_q:g}-P{100 * high_q:g} range {fmt(lo)} to {fmt(hi)}"

    ok = ~np.isnan(holds)
    if not ok.any():
        sol.status = "not_evaluable"
        sol.sentence = f"{what} cannot be evaluated (a figure it needs is missing), whatever the value of {input_key}"
        return sol
    h = np.where(ok, holds, 0.0) == 1.0
    if thr is not None:
        g = metric - thr
        finite = np.isfinite(g)
        sign = np.sign(np.where(finite, g, np.nan))
    else:
        sign = np.where(h, 1.0, -1.0)
        finite = ok

    roots = _crossings(e, claim, input_key, xs, ok, h, sign, finite, xtol_rel)
    sol.crossings = [r for r, _ in roots]
    if roots:
        root, direction = min(roots, key=lambda r: abs(r[0] - base))
        sol.value, sol.direction, sol.status = root, direction, "solved"
        base_txt = f"base {fmt(base)}, where it {'holds' if sol.holds_at_base else 'fails'}"
        sol.sentence = f"{what} needs {input_key} {direction} {fmt(root)} ({base_txt}) {tail}"
        if len(roots) > 1:
            others = ", ".join(f"{d} {fmt(r)}" for r, d in roots if r != root)
            sol.sentence += f"; the claim also flips at {others} in {rng}"
        return sol

    _no_crossing(sol, h, ok, xs, metric, what, input_key, rng, tail, fmt)
    return sol


def _crossings(
    e,
    claim: Claim,
    input_key: str,
    xs: np.ndarray,
    ok: np.ndarray,
    h: np.ndarray,
    sign: np.ndarray,
    finite: np.ndarray,
    xtol_rel: float,
) -> list[tuple[float, str]]:
    """Where the claim flips between adjacent grid points: (value, "at least" | "at most") each,
    by Brent's method on metric - threshold where it changes sign, else by bisection on holds."""
    thr = claim.threshold
    roots = []
    for i in range(len(xs) - 1):
        if not (ok[i] and ok[i + 1]) or h[i] == h[i + 1]:
            continue
        x0, x1 = xs[i], xs[i + 1]
        tol = xtol_rel * max(1.0, abs(x0), abs(x1))
        if thr is not None and finite[i] and finite[i + 1] and sign[i] * sign[i + 1] < 0:
            f = lambda x: float(_evaluate(e, claim, {input_key: np.array([x])})[0][0] - thr)  # noqa: E731
            root = optimize.brentq(f, x0, x1, xtol=tol)
        else:  # bisection on holds (also where the metric touches the threshold exactly)
            hold0 = bool(h[i])
            while x1 - x0 > tol:
                mid = 0.5 * (x0 + x1)
                hm = _evaluate(e, claim, {input_key: np.array([mid])})[1][0] == 1.0
                if hm == hold0:
                    x0 = mid
                else:
                    x1 = mid
            root = 0.5 * (x0 + x1)
        roots.append((float(root), "at least" if h[i + 1] else "at most"))
    return roots


def _no_crossing(
    sol: Solution,
    h: np.ndarray,
    ok: np.ndarray,
    xs: np.ndarray,
    metric: np.ndarray,
    what: str,
    input_key: str,
    rng: str,
    tail: str,
    fmt,
) -> None:
    """Status and sentence of a solution where the claim never flips over the grid."""
    thr, cmp = sol.threshold, sol.comparison
    if h[ok].all():
        sol.status = "always"
        sol.sentence = (
            f"{what} holds for every value of {input_key} in {rng} {tail}; it does not depend on this input there"
        )
        return
    if h[ok].any():  # flips only next to draws that cannot be evaluated
        sol.status = "mixed"
        sol.sentence = (
            f"{what} holds for some values of {input_key} in {rng} {tail}, but where it flips "
            "the claim cannot be evaluated"
        )
        return
    sol.status = "never"
    if thr is not None:
        ends = [(xs[0], metric[0]), (xs[-1], metric[-1])]
        ends = [(x, m) for x, m in ends if np.isfinite(m)]
        want_high = cmp in (">", ">=")
        x_best, m_best = (max if want_high else min)(ends, key=lambda e: e[1]) if ends else (math.nan, math.nan)
        sol.closest_end, sol.closest_metric = float(x_best), float(m_best)
        end = "low" if x_best == xs[0] else "high"
        sol.sentence = (
            f"no value of {input_key} in {rng} makes {what} true {tail}; the {end} end "
            f"({fmt(x_best)}) comes closest, with the metric at {m_best:.4g} against the threshold {cmp} {thr:g}"
        )
    else:
        sol.sentence = f"no value of {input_key} in {rng} makes {what} true {tail}"


def solve_grid(
    a: Assumptions, claim_id: str, key_x: str, key_y: str, size: int = 25, low_q: float = 0.001, high_q: float = 0.999
) -> pd.DataFrame:
    """The claim's metric (or 0/1 outcome) on a ``size`` x ``size`` grid of two inputs over
    their P0.1-P99.9 ranges, others at base, in one engine call. Long table: key_x, key_y
    (as column names), metric, holds; ``attrs``: threshold, comparison, claim, inputs."""
    claim = find_claim(a, claim_id)
    if key_x == key_y:
        raise InputError.single("--input", "input", "give two different inputs")
    dx, dy = _check_input(a, key_x), _check_input(a, key_y)
    e = prepare(a)
    q = np.linspace(low_q, high_q, size)
    gx, gy = np.meshgrid(dx.ppf(q), dy.ppf(q), indexing="xy")
    metric, holds = _evaluate(e, claim, {key_x: gx.ravel(), key_y: gy.ravel()})
    df = pd.DataFrame({key_x: gx.ravel(), key_y: gy.ravel(), "metric": metric, "holds": holds})
    base = base_values(a)
    df.attrs.update(
        claim=claim_id,
        test=claim.test,
        threshold=claim.threshold,
        comparison=claim.comparison,
        inputs=(key_x, key_y),
        base=(float(base[key_x][0]), float(base[key_y][0])),
        units=(model_unit(input_spec(a, key_x)), model_unit(input_spec(a, key_y))),
        share_holding=float(np.nanmean(holds)) if np.isfinite(holds).any() else math.nan,
    )
    return df

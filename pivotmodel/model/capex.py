"""Capex plan, PP&E roll-forward and straight-line depreciation.

Units: RMB million a quarter. Capex, depreciation and gross PP&E are positive amounts
(cash out, cost charged); the model subtracts them where they reduce profit or cash.

* **Plan.** ``capex.plan.total`` is spent over the plan window (``first_quarter`` ..
  ``last_quarter``, e.g. the RMB 380bn three-year plan of 24 Feb 2025 over FY2026Q1..FY2028Q4).
  Capex already reported inside the window counts toward it; what remains is phased over the
  window's projected quarters with weights ``(1 + tilt) ** i`` (tilt 0 = even). If reported
  capex already exceeds the plan, the remaining quarters run at the last reported year's
  pace instead (a plan is a floor: "more than RMB 380bn").
* **After the plan**, capex follows the policy in ``capex.after_plan`` (target utilisation,
  backlog cleared over a few quarters, bounded by a capex/revenue funding rule), decided
  quarter by quarter with the cloud's capacity in :mod:`pivotmodel.model.supply`; this
  module fills the plan (:func:`plan_capex`) and, given the whole capex path, computes what
  is in service and its depreciation (:func:`capex_result`).
* **Depreciation.** Capex from ``capex.new_assets_from`` on enters service after
  ``cloud.supply.deployment_lag`` quarters. ``capex.server_share`` of it (servers and
  network) is depreciated straight-line over ``capex.useful_life`` quarters, the rest
  (buildings, data-centre shells) over ``capex.building_life``, so each RMB is depreciated
  exactly once. Lag and lives may be fractional (sampled); the cumulative-capex curve is
  interpolated linearly between quarters so results move smoothly with them. Assets bought
  earlier are "legacy": their depreciation is the reported D&A of the last reported fiscal
  year less the modelled depreciation of new assets in that year, running off linearly over
  ``capex.legacy_runoff``.
* **Split by use.** Depreciation of new assets is charged by use:
  ``cloud.supply.capacity_share_of_capex`` to Cloud (capacity sold to external and internal
  customers), ``capex.own_ai_share`` to All others (the group's own AI work: Qwen training,
  consumer AI apps), and the rest by ``capex.rest_share.*`` to China E-commerce, AIDC and All
  others (calibrated on the 20-F's depreciation by segment): every part is charged to some
  segment's EBITA (:func:`segment_shares`, :mod:`pivotmodel.model.charges`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..periods import Quarter
from .engine_choice import kernels_for
from .inputs import EngineInputs, Values
from .paths import by_quarter, per_draw

__all__ = [
    "CapexResult",
    "plan_capex",
    "capex_result",
    "interpolate",
    "in_service_gross",
    "depreciation",
    "split_depreciation",
    "cloud_depreciation",
    "use_shares",
    "segment_shares",
]


@dataclass(frozen=True)
class CapexResult:
    capex: np.ndarray  # (draws, quarters) projected capex
    gross_in_service: np.ndarray  # (draws, quarters) capex in service and within its life
    depreciation_new: np.ndarray  # (draws, quarters) on assets from new_assets_from
    depreciation_legacy: np.ndarray  # (draws, quarters)
    gross_exit: np.ndarray  # (draws, 1) gross in service in the last reported quarter
    depreciation_new_history: np.ndarray  # (draws, k) new-asset depreciation, new_assets_from..last reported
    history_first: Quarter  # the quarter of depreciation_new_history's first column (new_assets_from)

    @property
    def depreciation(self) -> np.ndarray:
        return self.depreciation_new + self.depreciation_legacy


def _cumulative_at(cum: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Cumulative capex at fractional positions (linear between quarters, 0 before start).
    ``cum`` is (draws, K), ``position`` (draws or 1, m); the result is (draws, m)."""
    n, width = cum.shape
    padded = np.zeros((width + 1, n))  # padded[k] = sum of the first k quarters, quarter-major
    padded[1:] = cum.T
    return interpolate(padded, np.broadcast_to(position, (n, position.shape[-1])).T).T


def interpolate(padded: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Quarter-major core of :func:`_cumulative_at`: ``padded`` (K + 1, draws) with a zero first
    row, ``position`` (m, draws) -> (m, draws), linear between whole quarters and clipped to
    0 .. K. Gathers from the flattened curve (one index per element) instead of building
    broadcast index arrays; the arithmetic is the same, element by element."""
    width, n = padded.shape[0] - 1, padded.shape[1]
    x = np.clip(position + 1.0, 0.0, float(width))
    lo = x.astype(np.intp)  # floor: x >= 0
    w = x - lo
    lo *= n
    lo += np.arange(n)
    flat = padded.reshape(-1)
    out = np.take(flat, lo)
    out *= 1 - w
    np.minimum(lo + n, width * n + np.arange(n), out=lo)  # the next quarter, capped at K
    w *= np.take(flat, lo)
    out += w
    return out


def in_service_gross(capex_all: np.ndarray, lag: np.ndarray, life: np.ndarray, start: int) -> np.ndarray:
    """Capex in service and not yet fully depreciated, for columns ``start`` onward.

    ``capex_all`` (draws, K) runs from the first new-asset quarter; quarter j is in service
    from j + lag and depreciated until j + lag + life, so the gross amount in quarter t is
    C(t - lag) - C(t - lag - life) with C the cumulative capex.
    """
    n, k = capex_all.shape
    cum = np.cumsum(capex_all, axis=1)
    t = np.arange(start, k, dtype=float)[None, :]
    return _cumulative_at(cum, t - lag) - _cumulative_at(cum, t - lag - life)


def depreciation(gross: np.ndarray, life: np.ndarray) -> np.ndarray:
    """Straight-line: gross in service / useful life, a quarter."""
    return gross / life


def use_shares(v: Values) -> tuple[np.ndarray, np.ndarray]:
    """(cloud, own AI) shares of new assets; own AI is capped at what the cloud leaves."""
    cloud = v("cloud.supply.capacity_share_of_capex")
    return cloud, np.minimum(v("capex.own_ai_share"), 1.0 - cloud)


def segment_shares(v: Values) -> dict[str, np.ndarray]:
    """The share of new-asset depreciation each segment's EBITA bears: Cloud its capacity
    share; the rest of the assets (not cloud, not the group's own AI work) by
    ``capex.rest_share.*`` to China E-commerce and AIDC, and what they leave to All others,
    which also bears the own-AI share. The four shares sum to 1."""
    cloud, own = use_shares(v)
    rest = 1.0 - cloud - own
    china = np.clip(v("capex.rest_share.china_ecommerce"), 0.0, 1.0)
    international = np.minimum(v("capex.rest_share.international"), 1.0 - china)
    return {
        "cloud": cloud,
        "china_ecommerce": rest * china,
        "international": rest * international,
        "all_others": own + rest * (1.0 - china - international),
    }


def cloud_depreciation(v: Values, depreciation_new: np.ndarray) -> np.ndarray:
    """The cloud's part of :func:`split_depreciation` alone (the same product)."""
    return v("cloud.supply.capacity_share_of_capex") * depreciation_new


def split_depreciation(v: Values, depreciation_new: np.ndarray) -> dict[str, np.ndarray]:
    """New-asset depreciation by use: cloud, the group's own AI work (All others), the rest;
    the parts always sum to the total."""
    cloud, own = use_shares(v)
    return {
        "cloud": cloud * depreciation_new,
        "own_ai": own * depreciation_new,
        "other": (1.0 - cloud - own) * depreciation_new,
    }


def plan_capex(
    e: EngineInputs,
    v: Values,
    first: Quarter,
    quarters: int,
    n: int,
) -> tuple[np.ndarray, Quarter, np.ndarray, int]:
    """The plan: (capex of new assets reported before ``first``, the first new-asset quarter,
    projected capex (n, quarters) with the plan's quarters filled and the rest zero, the
    number of plan quarters). The quarters after the plan are set by the capex policy
    (:mod:`pivotmodel.model.supply`)."""
    new_from = Quarter.from_index(int(v("capex.new_assets_from")[0, 0]))
    hist_first = min(new_from, e.last_reported + (-3))
    hist = e.capex_between(hist_first, first + (-1))
    total = v("capex.plan.total")
    p1 = Quarter.from_index(int(v("capex.plan.first_quarter")[0, 0]))
    p2 = Quarter.from_index(int(v("capex.plan.last_quarter")[0, 0]))
    tilt = v("capex.plan.phasing_tilt")
    last = first + (-1)
    spent = sum(hist[q.index - hist_first.index] for q in _span(max(p1, hist_first), min(p2, last)))
    remaining_q = [q for q in _span(max(p1, first), p2)][:quarters]
    out = np.zeros((n, quarters), order="F")  # quarter columns contiguous, like every engine array
    if remaining_q:
        weights = (1.0 + tilt) ** np.arange(len(remaining_q))[None, :]
        weights = weights / weights.sum(axis=1, keepdims=True)
        left = total - spent
        last_year_pace = hist[-4:].sum() / 4.0
        plan_part = np.where(left > 0, left * weights, last_year_pace)
        out[:, : len(remaining_q)] = plan_part
    return hist[new_from.index - hist_first.index :], new_from, out, len(remaining_q)


def _span(a: Quarter, b: Quarter) -> list[Quarter]:
    return [Quarter.from_index(i) for i in range(a.index, b.index + 1)]


def _in_service_numpy(
    new_hist: np.ndarray,
    capex: np.ndarray,
    lag: np.ndarray,
    life_s: np.ndarray,
    life_b: np.ndarray,
    servers: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Gross PP&E in service and new-asset depreciation, (draws, history + projected quarters)
    each: the numpy reference of :func:`pivotmodel.model.kernels.capex_in_service`."""
    n = capex.shape[0]
    capex_all = np.concatenate([np.broadcast_to(new_hist, (n, new_hist.size)), capex], axis=1)
    # in_service_gross for each class, sharing the cumulative curve and its in-service point,
    # quarter-major (each quarter's draws contiguous); results are handed back as
    # (draws, quarters) views of these buffers, without a copy
    k = capex_all.shape[1]
    padded = np.zeros((k + 1, n))
    np.cumsum(capex_all.T, axis=0, out=padded[1:])
    t = np.arange(k, dtype=float)[:, None]
    in_service = t - lag.T  # (k, draws or 1)
    on = interpolate(padded, np.broadcast_to(in_service, (k, n)))
    gross_s = interpolate(padded, np.broadcast_to(in_service - life_s.T, (k, n)))
    np.subtract(on, gross_s, out=gross_s)
    gross_s *= servers.T
    gross_b = interpolate(padded, np.broadcast_to(in_service - life_b.T, (k, n)))
    np.subtract(on, gross_b, out=gross_b)
    gross_b *= 1.0 - servers.T
    gross_all = np.add(gross_s, gross_b, out=on).T
    gross_s /= life_s.T
    gross_b /= life_b.T
    dep_all = np.add(gross_s, gross_b, out=gross_s).T
    return gross_all, dep_all


def _in_service_compiled(
    kernels,
    new_hist: np.ndarray,
    capex: np.ndarray,
    lag: np.ndarray,
    life_s: np.ndarray,
    life_b: np.ndarray,
    servers: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_in_service_numpy` by the compiled kernel: the same numbers, in buffers of the same layout."""
    n, quarters = capex.shape
    k = new_hist.size + quarters
    gross, dep = np.empty((k, n)), np.empty((k, n))
    kernels.capex_in_service(
        np.ascontiguousarray(new_hist, dtype=float),
        np.ascontiguousarray(capex.T, dtype=float),
        per_draw(lag, n),
        per_draw(life_s, n),
        per_draw(life_b, n),
        per_draw(servers, n),
        gross,
        dep,
    )
    return gross.T, dep.T


def capex_result(e: EngineInputs, v: Values, new_from: Quarter, new_hist: np.ndarray, capex: np.ndarray) -> CapexResult:
    """Gross PP&E in service and depreciation for the projected quarters, given the capex of
    new assets reported (``new_hist``, from ``new_from``) and projected (``capex``)."""
    n, quarters = capex.shape
    lag = v("cloud.supply.deployment_lag")
    servers, life_s, life_b = v("capex.server_share"), v("capex.useful_life"), v("capex.building_life")
    start = new_hist.size
    kernels = kernels_for()
    if kernels is not None:
        gross_all, dep_all = _in_service_compiled(kernels, new_hist, capex, lag, life_s, life_b, servers)
    else:
        gross_all, dep_all = _in_service_numpy(new_hist, capex, lag, life_s, life_b, servers)
    # Legacy depreciation: reported D&A of the last complete reported fiscal year less the
    # modelled depreciation of new assets in that year (never below zero).
    last_fy = e.legacy_fy
    cols = [Quarter(last_fy, k).index - new_from.index for k in range(1, 5)]
    new_dep = sum(dep_all[:, c : c + 1] for c in cols if 0 <= c < start) if any(0 <= c < start for c in cols) else 0.0
    reported_da = e.legacy_da
    legacy_q = np.maximum((reported_da - new_dep) / 4.0, 0.0) if not np.isnan(reported_da) else np.zeros((1, 1))
    runoff = v("capex.legacy_runoff")
    t = np.arange(quarters, dtype=float)[None, :]
    legacy = np.broadcast_to(
        by_quarter(lambda q, t, r: q * np.clip(1.0 - (t + 1.0) / r, 0.0, 1.0), legacy_q, t, runoff), (n, quarters)
    )
    return CapexResult(
        capex=capex,
        gross_in_service=gross_all[:, -quarters:],
        depreciation_new=dep_all[:, -quarters:],
        depreciation_legacy=np.array(legacy, order="F"),
        gross_exit=gross_all[:, start - 1 : start] if start else np.zeros((n, 1)),
        depreciation_new_history=dep_all[:, :start],
        history_first=new_from,
    )

"""Cloud Intelligence Group: demand, supply (capacity, backlog, lost demand) and EBITA.

Units: RMB million a quarter; losses negative. Segment revenue is before inter-segment
elimination, as Alibaba reports it.

* Demand: AI-related product revenue, other external revenue and internal (inter-segment)
  revenue each grow quarter on quarter from the exit run-rate (the last reported quarter) at
  the quarterly equivalent of its annual growth path: level_t = level_t-1 x (1 + g_t) ^ (1/4).
  No YoY compounding on the base year's quarters, whose steps (+19% QoQ in FY2026Q2, -4% in
  FY2026Q4) would otherwise repeat a year later as a business cycle. No seasonal profile: the
  reported December-to-March dips (-9%, -5%, -4% in FY2024-FY2026) shrink as capacity, not
  the calendar, sets revenue; the YoY that follows the base year's steps is a base effect
  (declared in ``simulation.yaml``'s ``boundary_one_offs``). Internal revenue is never
  reported: in the base quarters it is ``internal_share`` x segment revenue. Other external
  revenue = segment revenue - AI - internal.
* Supply (:mod:`pivotmodel.model.supply`): capacity from capex in service, the capex policy
  after the plan, demand served up to capacity, the unserved part partly lost and the rest
  carried as a backlog.
* Adjusted EBITA = served revenue x margin before new depreciation - the cloud's share of
  depreciation of new assets (:func:`pivotmodel.model.capex.split_depreciation`). An anchored
  margin start adds back that depreciation in the exit quarter (see
  :func:`~pivotmodel.model.inputs.exit_add_back`), so the first projected margin continues
  the reported one.
"""

from __future__ import annotations

import functools
import operator

import numpy as np

from .capex import CapexResult, cloud_depreciation
from .inputs import BaseQuarters, EngineInputs, Values, exit_add_back
from .paths import converging_path
from .supply import Supply

__all__ = ["project_cloud_demand", "project_cloud"]

P = "cloud"
STREAMS = ("ai_revenue", "other_external_revenue", "internal_revenue")


# each stream's growth path: (start, long_run, half_life), every key spelled whole so a search finds its reader
GROWTH_KEYS = {
    "ai_revenue": (
        "cloud.ai_revenue.growth.start",
        "cloud.ai_revenue.growth.long_run",
        "cloud.ai_revenue.growth.half_life",
    ),
    "other_external_revenue": (
        "cloud.other_external_revenue.growth.start",
        "cloud.other_external_revenue.growth.long_run",
        "cloud.other_external_revenue.growth.half_life",
    ),
    "internal_revenue": (
        "cloud.internal_revenue.growth.start",
        "cloud.internal_revenue.growth.long_run",
        "cloud.internal_revenue.growth.half_life",
    ),
}


def _path(v: Values, keys: tuple[str, str, str], quarters: int) -> np.ndarray:
    start, long_run, half_life = keys
    return converging_path(v(start), v(long_run), v(half_life), quarters)


def project_cloud_demand(v: Values, base: BaseQuarters, quarters: int) -> dict[str, np.ndarray]:
    """Revenue demanded by stream, (draws, quarters) each, before any supply limit: each
    stream's exit level grown quarter on quarter at the quarterly equivalent of its path."""
    exit0 = exit_streams(v, base)
    out = {}
    for s in STREAMS:
        quarterly = np.power(1.0 + _path(v, GROWTH_KEYS[s], quarters), 0.25)
        out[s] = np.asfortranarray(np.cumprod(quarterly, axis=1) * exit0[s])
    return out


def exit_streams(v: Values, base: BaseQuarters) -> dict[str, np.ndarray]:
    """Each stream in the last reported quarter, (draws or 1, 1)."""
    total0 = base.series(v, f"{P}.revenue")[:, -1:]
    ai0 = base.series(v, f"{P}.ai_revenue")[:, -1:]
    internal0 = v("cloud.internal_share") * total0
    return {"ai_revenue": ai0, "other_external_revenue": total0 - ai0 - internal0, "internal_revenue": internal0}


def total_of(parts: dict[str, np.ndarray]) -> np.ndarray:
    """The sum of a few arrays, as an array (the same additions, in order, as ``sum``)."""
    return functools.reduce(operator.add, parts.values())


def project_cloud(
    e: EngineInputs,
    v: Values,
    quarters: int,
    capex: CapexResult,
    supply: Supply,
) -> dict[str, np.ndarray]:
    """The cloud's series from its demand and supply (:func:`pivotmodel.model.supply.project_supply`)."""
    share = v("cloud.supply.capacity_share_of_capex")
    start = v("cloud.margin_before_new_depreciation.start")
    start = start + exit_add_back(e, v, "cloud.margin_before_new_depreciation.start", capex, share)
    margin = converging_path(
        start,
        v("cloud.margin_before_new_depreciation.long_run"),
        v("cloud.margin_before_new_depreciation.half_life"),
        quarters,
    )
    served = supply.served
    revenue = total_of(served)
    depreciation = cloud_depreciation(v, capex.depreciation_new)
    return {
        f"{P}.ai_revenue": served["ai_revenue"],
        f"{P}.other_external_revenue": served["other_external_revenue"],
        f"{P}.internal_revenue": served["internal_revenue"],
        f"{P}.external_revenue": served["ai_revenue"] + served["other_external_revenue"],
        f"{P}.revenue": revenue,
        f"{P}.demand": supply.demand,
        f"{P}.potential_demand": supply.potential,
        f"{P}.backlog": supply.backlog,
        f"{P}.lost_demand": supply.lost,
        f"{P}.capacity_revenue": supply.capacity,
        f"{P}.utilisation": revenue / supply.capacity,
        f"{P}.capex_funding_bound": supply.funding_bound,
        f"{P}.depreciation": depreciation,
        f"{P}.adjusted_ebita": margin * revenue - depreciation,
    }

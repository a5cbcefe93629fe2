"""Cloud Intelligence Group: AI, other external and internal revenue under a supply limit.

Units: RMB million a quarter; losses negative. Segment revenue is before inter-segment
elimination, as Alibaba reports it.

* Demand: AI-related product revenue, other external revenue and internal (inter-segment)
  revenue each grow YoY along their own path from the base quarters. Internal revenue is
  never reported: in the base quarters it is ``internal_share`` x segment revenue, so a new
  quarter of actuals needs no estimate for it. Other external revenue in the base quarters
  = segment revenue - AI - internal.
* Supply: computing capacity in service is ``capacity_share_of_capex`` x the capex in
  service (see :mod:`pivotmodel.capex`: capex enters service after the deployment lag and
  leaves it at the end of its useful life). It can earn at most ``revenue_yield`` x
  capacity a quarter. Revenue = min(demand, capacity revenue); when supply binds, each
  component is scaled down pro rata. Unserved demand is not carried forward: growth
  compounds on demand, which is what customers ask for, not on what was served.
* Adjusted EBITA = revenue x margin before new depreciation - the cloud's share of
  depreciation on new assets (``capacity_share_of_capex`` x new-asset depreciation).
"""

from __future__ import annotations

import numpy as np

from .inputs import BaseQuarters, Values
from .paths import compound_yoy, converging_path
from ..assumptions import Assumptions
from ..capex import CapexResult

__all__ = ["project_cloud"]

P = "cloud"


def _path(v: Values, prefix: str, quarters: int) -> np.ndarray:
    return converging_path(v(f"{prefix}.start"), v(f"{prefix}.long_run"), v(f"{prefix}.half_life"), quarters)


def project_cloud(
    a: Assumptions, v: Values, base: BaseQuarters, quarters: int, capex: CapexResult
) -> dict[str, np.ndarray]:
    total0 = base.series(a, v, f"{P}.revenue")
    ai0 = base.series(a, v, f"{P}.ai_revenue")
    internal0 = v(f"{P}.internal_share") * total0
    other0 = total0 - ai0 - internal0

    ai = compound_yoy(ai0, _path(v, f"{P}.ai_revenue.growth", quarters))
    other = compound_yoy(other0, _path(v, f"{P}.other_external_revenue.growth", quarters))
    internal = compound_yoy(internal0, _path(v, f"{P}.internal_revenue.growth", quarters))
    demand = ai + other + internal

    share = v(f"{P}.supply.capacity_share_of_capex")
    capacity = v(f"{P}.supply.revenue_yield") * share * capex.gross_in_service
    served = np.minimum(demand, capacity)
    scale = np.divide(served, demand, out=np.ones_like(demand), where=demand > 0)

    margin = _path(v, f"{P}.margin_before_new_depreciation", quarters)
    depreciation = share * capex.depreciation_new
    revenue = served
    return {
        f"{P}.ai_revenue": ai * scale,
        f"{P}.other_external_revenue": other * scale,
        f"{P}.internal_revenue": internal * scale,
        f"{P}.external_revenue": (ai + other) * scale,
        f"{P}.revenue": revenue,
        f"{P}.demand": demand,
        f"{P}.capacity_revenue": capacity,
        f"{P}.depreciation": depreciation,
        f"{P}.adjusted_ebita": margin * revenue - depreciation,
    }

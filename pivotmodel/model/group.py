"""Group: revenue after inter-segment elimination, adjusted EBITA, EBITDA, tax and FCF proxy.

Units: RMB million a quarter. Signs: elimination, unallocated costs and losses are
negative; capex, depreciation and cash tax are positive amounts that reduce cash or profit.

* elimination = -(cloud internal revenue + other_share x non-cloud segment revenue)
* revenue = segment revenue + elimination
* adjusted EBITA = segment EBITA + unallocated + EBITA elimination
* adjusted EBITDA = adjusted EBITA + depreciation (new assets and legacy)
* cash tax = cash tax rate x max(adjusted EBITA, 0)
* FCF proxy = adjusted EBITDA - capex - cash tax (no working capital, interest or
  investment income)
* FCF = FCF proxy + ``group.other_cash_items`` (working capital, interest and other cash
  items, calibrated on the reported years where both are known), so the projection is on
  the same definition as Alibaba's reported free cash flow
"""

from __future__ import annotations

import numpy as np

from ..schema import SEGMENT_IDS
from .capex import CapexResult
from .inputs import Values

__all__ = ["project_group", "SEGMENTS"]

SEGMENTS = SEGMENT_IDS  # the registry (pivotmodel.schema.SEGMENTS), in order


def project_group(v: Values, seg: dict[str, np.ndarray], capex: CapexResult, quarters: int) -> dict[str, np.ndarray]:
    n = v.draws
    segment_revenue = sum(seg[f"{s}.revenue"] for s in SEGMENTS)
    non_cloud = segment_revenue - seg["cloud.revenue"]
    elimination = -(seg["cloud.internal_revenue"] + v("group.elimination.other_share") * non_cloud)
    segment_ebita = sum(seg[f"{s}.adjusted_ebita"] for s in SEGMENTS)
    unallocated = np.broadcast_to(v("group.unallocated"), (n, quarters))
    ebita_elim = np.broadcast_to(v("group.ebita_elimination"), (n, quarters))
    adjusted_ebita = segment_ebita + unallocated + ebita_elim
    depreciation = capex.depreciation
    ebitda = adjusted_ebita + depreciation
    cash_tax = v("group.tax.cash_tax_rate") * np.maximum(adjusted_ebita, 0.0)
    return {
        "group.segment_revenue": segment_revenue,
        "group.elimination": elimination,
        "group.revenue": segment_revenue + elimination,
        "group.segment_ebita": segment_ebita,
        "group.unallocated": unallocated,
        "group.ebita_elimination": ebita_elim,
        "group.adjusted_ebita": adjusted_ebita,
        "group.depreciation": depreciation,
        "group.depreciation_new": capex.depreciation_new,
        "group.adjusted_ebitda": ebitda,
        "group.capex": capex.capex,
        "group.cash_tax": cash_tax,
        "group.fcf_proxy": ebitda - capex.capex - cash_tax,
        "group.fcf": ebitda - capex.capex - cash_tax + v("group.other_cash_items"),
        "group.fx_usd_rmb": np.broadcast_to(v("group.fx.usd_rmb"), (n, quarters)),
    }

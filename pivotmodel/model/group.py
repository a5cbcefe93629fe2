"""Group: revenue after inter-segment elimination, adjusted EBITA, EBITDA, tax and FCF proxy.

Units: RMB million a quarter. Signs: elimination, unallocated costs and losses are
negative; capex, depreciation and cash tax are positive amounts that reduce cash or profit.

* elimination = -(cloud internal revenue + other_share x non-cloud segment revenue)
* revenue = segment revenue + elimination
* adjusted EBITA = segment EBITA + unallocated + EBITA elimination
* adjusted EBITDA = adjusted EBITA + depreciation (new assets and legacy)
* cash tax = cash tax rate x max(adjusted EBITA, 0)
* capex / revenue = capex / group revenue (what the capex funding rule bounds)
* FCF proxy = adjusted EBITDA - capex - cash tax (no working capital, interest or
  investment income)
* FCF = FCF proxy + ``group.other_cash_items`` (working capital, interest and other cash
  items, calibrated on the reported years where both are known), so the projection is on
  the same definition as Alibaba's reported free cash flow
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..schema import SEGMENT_IDS
from .capex import CapexResult
from .inputs import Values

__all__ = ["project_group", "SEGMENTS", "GROUP_READS"]

SEGMENTS = SEGMENT_IDS  # the registry (pivotmodel.schema.SEGMENTS), in order
# the segment drivers' series that the group reads
GROUP_READS = frozenset(
    {*(f"{s}.revenue" for s in SEGMENTS), *(f"{s}.adjusted_ebita" for s in SEGMENTS), "cloud.internal_revenue"}
)


def _sum(parts: list[np.ndarray]) -> np.ndarray:
    """``sum(parts)`` into one new array: 0 + parts[0] + parts[1] + ..., left to right, in place."""
    out = np.empty(np.broadcast_shapes(*(p.shape for p in parts)), order="F")
    np.add(0.0, parts[0], out=out)  # sum() starts from 0: -0.0 becomes 0.0, as there
    for p in parts[1:]:
        out += p
    return out


def project_group(
    v: Values,
    seg: dict[str, np.ndarray],
    capex: CapexResult,
    quarters: int,
    into: Mapping[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """``into`` (optional): series -> an array (draws, quarters) to write that series into."""
    into = into or {}
    n = v.draws
    segment_revenue = _sum([seg[f"{s}.revenue"] for s in SEGMENTS])
    # elimination = -(internal + other_share x non-cloud), in one buffer
    elimination = np.subtract(segment_revenue, seg["cloud.revenue"], out=np.empty((n, quarters), order="F"))
    np.multiply(v("group.elimination.other_share"), elimination, out=elimination)
    np.add(seg["cloud.internal_revenue"], elimination, out=elimination)
    np.negative(elimination, out=elimination)
    segment_ebita = _sum([seg[f"{s}.adjusted_ebita"] for s in SEGMENTS])
    unallocated = np.broadcast_to(v("group.unallocated"), (n, quarters))
    ebita_elim = np.broadcast_to(v("group.ebita_elimination"), (n, quarters))
    adjusted_ebita = np.add(segment_ebita, unallocated, out=into.get("group.adjusted_ebita"), order="F")
    adjusted_ebita += ebita_elim
    depreciation = capex.depreciation
    ebitda = np.add(adjusted_ebita, depreciation, order="F")
    cash_tax = np.maximum(adjusted_ebita, 0.0, order="F")
    np.multiply(v("group.tax.cash_tax_rate"), cash_tax, out=cash_tax)
    fcf_proxy = np.subtract(ebitda, capex.capex, order="F")
    fcf_proxy -= cash_tax
    return {
        "group.segment_revenue": segment_revenue,
        "group.elimination": elimination,
        "group.revenue": np.add(segment_revenue, elimination, out=into.get("group.revenue"), order="F"),
        "group.segment_ebita": segment_ebita,
        "group.unallocated": unallocated,
        "group.ebita_elimination": ebita_elim,
        "group.adjusted_ebita": adjusted_ebita,
        "group.depreciation": depreciation,
        "group.depreciation_new": capex.depreciation_new,
        "group.adjusted_ebitda": ebitda,
        "group.capex": capex.capex,
        "group.capex_to_revenue": np.divide(capex.capex, np.add(segment_revenue, elimination), order="F"),
        "group.cash_tax": cash_tax,
        "group.fcf_proxy": fcf_proxy,
        "group.fcf": np.add(
            fcf_proxy, v("group.other_cash_items"), out=into.get("group.fcf"), order="F"
        ),  # ebitda - capex - cash tax + other
        "group.fx_usd_rmb": np.broadcast_to(v("group.fx.usd_rmb"), (n, quarters)),
    }

"""Alibaba China E-commerce Group: CMR, quick commerce and other revenue, and adjusted EBITA.

Units: RMB million a quarter; orders in millions a quarter; order value and loss per
order in RMB. Losses are negative.

* CMR = GMV x take rate. GMV is not reported, so base-quarter GMV is CMR / the base take
  rate (an estimate); GMV and the take rate then follow their own YoY paths. A regulatory
  shock (a discrete event: ``regulatory_shock`` is its effect in the draws where it happens,
  else 0) changes take-rate growth in the first projected year; the lower level persists.
* Quick commerce revenue = orders x order value x monetisation rate. Base orders are
  base revenue / (base order value x starting monetisation). Its adjusted EBITA is
  EBITA per order x orders, where EBITA per order moves linearly from
  ``loss_per_order.start`` to zero after ``quarters_to_breakeven`` quarters and keeps
  improving at the same pace, capped at ``long_run_margin`` x revenue per order.
* Other revenue (direct sales, China wholesale, ...) = segment revenue - CMR - quick
  commerce in the base quarters, grown along its own path.
* Adjusted EBITA = core margin x (CMR + other revenue) + quick-commerce EBITA.
"""

from __future__ import annotations

import numpy as np

from .inputs import BaseQuarters, Values
from .paths import by_quarter, compound_yoy, converging_path, quarter_steps

__all__ = ["project_china_ecommerce"]

P = "china_ecommerce"


def _path(v: Values, prefix: str, quarters: int) -> np.ndarray:
    return converging_path(v(f"{prefix}.start"), v(f"{prefix}.long_run"), v(f"{prefix}.half_life"), quarters)


def project_china_ecommerce(v: Values, base: BaseQuarters, quarters: int) -> dict[str, np.ndarray]:
    cmr0 = base.series(v, f"{P}.cmr")
    qc0 = base.series(v, f"{P}.quick_commerce_revenue")
    seg0 = base.series(v, f"{P}.revenue")
    other0 = seg0 - cmr0 - qc0

    take0 = v(f"{P}.take_rate.base")
    gmv = compound_yoy(cmr0 / take0, _path(v, f"{P}.gmv.growth", quarters))
    take_growth = _path(v, f"{P}.take_rate.growth", quarters)
    first_year = (np.arange(quarters) < 4)[None, :]
    take_growth = take_growth + by_quarter(np.multiply, v(f"{P}.regulatory_shock"), first_year)  # the lower level persists
    take = compound_yoy(np.broadcast_to(take0, (v.draws, 4)), take_growth)
    cmr = gmv * take

    q = f"{P}.quick_commerce"
    monetisation = _path(v, f"{q}.monetisation", quarters)
    aov0 = v(f"{q}.order_value.base")
    orders0 = qc0 / (aov0 * monetisation[:, :1])
    orders = compound_yoy(orders0, _path(v, f"{q}.orders.growth", quarters))
    year = np.floor(quarter_steps(quarters) / 4.0) + 1.0
    # the power in its original layout (numpy's pow may round differently by memory layout);
    # one copy to quarter columns contiguous keeps the rest of the block in one layout
    order_value = aov0 * np.asfortranarray((1.0 + v(f"{q}.order_value.growth")) ** year)
    revenue_per_order = order_value * monetisation
    qc_revenue = orders * revenue_per_order

    start = v(f"{q}.loss_per_order.start")
    to_breakeven = v(f"{q}.quarters_to_breakeven")
    per_order = by_quarter(lambda s, t, b: s * (1.0 - t / b), start, quarter_steps(quarters), to_breakeven)
    per_order = np.minimum(per_order, v(f"{q}.long_run_margin") * revenue_per_order)
    qc_ebita = per_order * orders

    other = compound_yoy(other0, _path(v, f"{P}.other_revenue.growth", quarters))
    core_margin = _path(v, f"{P}.core_margin", quarters)
    return {
        f"{P}.gmv": gmv,
        f"{P}.cmr": cmr,
        f"{P}.quick_commerce_orders": orders,
        f"{P}.quick_commerce_revenue": qc_revenue,
        f"{P}.quick_commerce_ebita": qc_ebita,
        f"{P}.other_revenue": other,
        f"{P}.revenue": cmr + qc_revenue + other,
        f"{P}.adjusted_ebita": core_margin * (cmr + other) + qc_ebita,
    }

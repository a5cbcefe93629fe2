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

from collections.abc import Mapping

import numpy as np

from .inputs import BaseQuarters, Values
from .paths import compound_yoy, converging_path, quarter_steps

__all__ = ["project_china_ecommerce"]


def _path(v: Values, keys: tuple[str, str, str], quarters: int) -> np.ndarray:
    """The converging path of the (start, long_run, half_life) keys, spelled out by the caller."""
    start, long_run, half_life = keys
    return converging_path(v(start), v(long_run), v(half_life), quarters)


def _own(x: np.ndarray, n: int) -> np.ndarray:
    """``x`` (a new array from a path) with ``n`` rows, to write into: itself when it has them,
    else its rows repeated (a path of fixed inputs has one row)."""
    return x if x.shape[0] == n else np.array(np.broadcast_to(x, (n, x.shape[1])), order="F")


def _order_value_times(aov0: np.ndarray, growth: np.ndarray, monetisation: np.ndarray, n: int) -> np.ndarray:
    """Order value x monetisation rate, (n, quarters), where order value in quarter t is
    ``aov0 x (1 + growth) ** (t // 4 + 1)``. The power is taken once per year rather than per
    quarter, on the same broadcast of (draws, 1) against a row of exponents as a power over
    every quarter (numpy's pow may round differently by memory layout), then each quarter
    multiplies its year's column: the same operations on the same numbers, a quarter of the
    powers."""
    quarters = monetisation.shape[1]
    years = np.arange(1.0, (quarters + 3) // 4 + 1.0)[None, :]
    by_year = np.asfortranarray(aov0 * (1.0 + growth) ** years)
    out = np.empty((n, quarters), order="F")
    for t in range(quarters):
        np.multiply(by_year[:, t // 4], monetisation[:, t], out=out[:, t])
    return out


def _gmv_and_cmr(
    v: Values, cmr0: np.ndarray, quarters: int, n: int, into: Mapping[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """GMV and customer management revenue (GMV x take rate, with the first year's regulatory shock)."""
    take0 = v("china_ecommerce.take_rate.base")
    gmv_growth = (
        "china_ecommerce.gmv.growth.start",
        "china_ecommerce.gmv.growth.long_run",
        "china_ecommerce.gmv.growth.half_life",
    )
    gmv = compound_yoy(cmr0 / take0, _path(v, gmv_growth, quarters))
    take_keys = (
        "china_ecommerce.take_rate.growth.start",
        "china_ecommerce.take_rate.growth.long_run",
        "china_ecommerce.take_rate.growth.half_life",
    )
    take_growth = _own(_path(v, take_keys, quarters), n)
    # the shock in the first projected year (shock x 1, then shock x 0, as the product with a
    # first-year mask adds it): the lower level persists
    shock = v("china_ecommerce.regulatory_shock")
    take_growth[:, :4] += shock * 1.0
    take_growth[:, 4:] += shock * 0.0
    take = compound_yoy(np.broadcast_to(take0, (n, 4)), take_growth)
    cmr = np.multiply(gmv, take, out=into.get("china_ecommerce.cmr", take))  # gmv x take rate
    return gmv, cmr


def _quick_commerce(
    v: Values, qc0: np.ndarray, quarters: int, n: int, into: Mapping[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Quick commerce: orders, revenue and EBITA; also the spare buffer (cap) the caller reuses."""
    monetisation = _path(
        v,
        (
            "china_ecommerce.quick_commerce.monetisation.start",
            "china_ecommerce.quick_commerce.monetisation.long_run",
            "china_ecommerce.quick_commerce.monetisation.half_life",
        ),
        quarters,
    )
    aov0 = v("china_ecommerce.quick_commerce.order_value.base")
    orders0 = qc0 / (aov0 * monetisation[:, :1])
    orders_growth = (
        "china_ecommerce.quick_commerce.orders.growth.start",
        "china_ecommerce.quick_commerce.orders.growth.long_run",
        "china_ecommerce.quick_commerce.orders.growth.half_life",
    )
    orders = compound_yoy(orders0, _path(v, orders_growth, quarters))
    revenue_per_order = _order_value_times(
        aov0, v("china_ecommerce.quick_commerce.order_value.growth"), monetisation, n
    )
    qc_revenue = orders * revenue_per_order

    start = v("china_ecommerce.quick_commerce.loss_per_order.start")
    to_breakeven = v("china_ecommerce.quick_commerce.quarters_to_breakeven")
    # start x (1 - t / breakeven), on transposes (quarter columns contiguous), in one buffer
    per_order = np.divide(quarter_steps(quarters).T, to_breakeven.T, out=np.empty((quarters, n))).T
    np.subtract(1.0, per_order, out=per_order)
    np.multiply(start, per_order, out=per_order)
    cap = v("china_ecommerce.quick_commerce.long_run_margin") * revenue_per_order
    qc_ebita = np.minimum(per_order, cap, out=into.get("china_ecommerce.quick_commerce_ebita", per_order))
    qc_ebita *= orders
    return orders, qc_revenue, qc_ebita, cap


def project_china_ecommerce(
    v: Values,
    base: BaseQuarters,
    quarters: int,
    into: Mapping[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """``into`` (optional): series -> an array (draws, quarters) to write that series into."""
    into = into or {}
    n = v.draws
    cmr0 = base.series(v, "china_ecommerce.cmr")
    qc0 = base.series(v, "china_ecommerce.quick_commerce_revenue")
    seg0 = base.series(v, "china_ecommerce.revenue")
    other0 = seg0 - cmr0 - qc0

    gmv, cmr = _gmv_and_cmr(v, cmr0, quarters, n, into)
    orders, qc_revenue, qc_ebita, cap = _quick_commerce(v, qc0, quarters, n, into)

    other_growth = (
        "china_ecommerce.other_revenue.growth.start",
        "china_ecommerce.other_revenue.growth.long_run",
        "china_ecommerce.other_revenue.growth.half_life",
    )
    other = compound_yoy(other0, _path(v, other_growth, quarters))
    core_margin = _path(
        v,
        (
            "china_ecommerce.core_margin.start",
            "china_ecommerce.core_margin.long_run",
            "china_ecommerce.core_margin.half_life",
        ),
        quarters,
    )
    revenue = cmr + qc_revenue
    revenue += other
    ebita = np.add(cmr, other, out=cap)  # core margin x (CMR + other revenue) + quick-commerce EBITA
    np.multiply(core_margin, ebita, out=ebita)
    ebita += qc_ebita
    return {
        "china_ecommerce.gmv": gmv,
        "china_ecommerce.cmr": cmr,
        "china_ecommerce.quick_commerce_orders": orders,
        "china_ecommerce.quick_commerce_revenue": qc_revenue,
        "china_ecommerce.quick_commerce_ebita": qc_ebita,
        "china_ecommerce.other_revenue": other,
        "china_ecommerce.revenue": revenue,
        "china_ecommerce.adjusted_ebita": ebita,
    }

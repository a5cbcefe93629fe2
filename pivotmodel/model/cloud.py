"""Cloud Intelligence Group: demand, capacity with a backlog of unserved orders, and EBITA.

Units: RMB million a quarter; losses negative. Segment revenue is before inter-segment
elimination, as Alibaba reports it.

* Demand: AI-related product revenue, other external revenue and internal (inter-segment)
  revenue each grow YoY along their own path from the base quarters. Internal revenue is
  never reported: in the base quarters it is ``internal_share`` x segment revenue. Other
  external revenue in the base quarters = segment revenue - AI - internal.
* Capacity (revenue the assets in service can earn a quarter) starts from the assets that
  served the last reported quarter: ``capacity_exit = revenue_exit / exit_utilisation``, and
  grows by ``revenue_yield`` per RMB of the cloud's share (``capacity_share_of_capex``) of
  new capex put in service since then (see :mod:`pivotmodel.model.capex`: capex enters service
  after the deployment lag and leaves it at the end of its useful life, so capacity can
  retire). With no new capex it stays at ``capacity_exit``, which is never below the revenue
  served in the last reported quarter.
* Backlog: demand not served is carried, per stream, and served first as capacity
  arrives. Served = min(demand + backlog, capacity), each stream pro rata; the backlog is
  conserved: demand = served + change in backlog, quarter by quarter. Demand compounds on
  demand (what customers ask for), not on what was served.
* Adjusted EBITA = served revenue x margin before new depreciation - the cloud's share of
  depreciation of new assets (:func:`pivotmodel.model.capex.split_depreciation`). An anchored
  margin start adds back that depreciation over the exit quarters (see
  :func:`~pivotmodel.model.inputs.exit_add_back`), so the first projected margin continues
  the reported one.
"""

from __future__ import annotations

import functools
import operator

import numpy as np

from .capex import CapexResult, cloud_depreciation
from .engine_choice import kernels_for
from .inputs import BaseQuarters, EngineInputs, Values, exit_add_back
from .paths import compound_yoy, converging_path, per_draw

__all__ = ["project_cloud_demand", "project_cloud"]

P = "cloud"
STREAMS = ("ai_revenue", "other_external_revenue", "internal_revenue")
# the series project_cloud returns, in its order
SERIES_ORDER = tuple(f"{P}.{s}" for s in (*STREAMS, "external_revenue", "revenue", "demand", "backlog", "capacity_revenue", "utilisation",
                                         "depreciation", "adjusted_ebita"))


def _path(v: Values, prefix: str, quarters: int) -> np.ndarray:
    return converging_path(v(f"{prefix}.start"), v(f"{prefix}.long_run"), v(f"{prefix}.half_life"), quarters)


def project_cloud_demand(v: Values, base: BaseQuarters, quarters: int) -> dict[str, np.ndarray]:
    """Revenue demanded by stream, (draws, quarters) each, before any supply limit."""
    total0 = base.series(v, f"{P}.revenue")
    ai0 = base.series(v, f"{P}.ai_revenue")
    internal0 = v(f"{P}.internal_share") * total0
    base0 = {"ai_revenue": ai0, "other_external_revenue": total0 - ai0 - internal0, "internal_revenue": internal0}
    return {s: compound_yoy(base0[s], _path(v, f"{P}.{s}.growth", quarters)) for s in STREAMS}


def total_of(parts: dict[str, np.ndarray]) -> np.ndarray:
    """The sum of a few arrays, as an array (the same additions, in order, as ``sum``)."""
    return functools.reduce(operator.add, parts.values())


def serve_with_backlog(demand: dict[str, np.ndarray], capacity: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Served revenue and end-of-quarter backlog per stream, (draws, quarters) each: each
    quarter serves the backlog plus new demand up to capacity, every stream cut pro rata."""
    served, backlog = serve_stacked(demand, capacity)
    return ({s: served[i].T for i, s in enumerate(demand)}, {s: backlog[i].T for i, s in enumerate(demand)})


def serve_stacked(demand: dict[str, np.ndarray], capacity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`serve_with_backlog` on stacked quarter-major arrays (streams, quarters, draws):
    each quarter's draws are contiguous and every buffer is allocated once, so the loop over
    quarters runs on whole contiguous rows (~9x faster than column slices of draws-major
    arrays; benchmarks/bench_engine.py). ``served[i].T`` is stream i as (draws, quarters)."""
    names = list(demand)
    n, quarters = np.broadcast_shapes(*(d.shape for d in demand.values()), capacity.shape)
    # (quarters, draws) views: rows contiguous when the engine's arrays are (quarter columns contiguous)
    rows = [np.broadcast_to(demand[s], (n, quarters)).T for s in names]
    cap = np.broadcast_to(capacity, (n, quarters)).T
    served = np.empty((len(names), quarters, n))
    backlog = np.empty_like(served)
    kernels = kernels_for() if len(names) == 3 else None  # the kernel is written for the cloud's three streams
    if kernels is not None:
        as_rows = lambda x: np.ascontiguousarray(x, dtype=float)  # noqa: E731  (no copy for the engine's own arrays)
        kernels.serve3(tuple(as_rows(r) for r in rows), as_rows(cap), served, backlog)
        return served, backlog
    carried = np.zeros((len(names), n))
    wanted = np.empty((len(names), n))
    asked, scale = np.empty(n), np.empty(n)
    positive = np.empty(n, dtype=bool)
    for t in range(quarters):
        for i, row in enumerate(rows):
            np.add(row[t], carried[i], out=wanted[i])
        asked[:] = wanted[0]
        for i in range(1, len(names)):
            asked += wanted[i]
        scale.fill(1.0)
        np.greater(asked, 0, out=positive)
        np.minimum(asked, cap[t], out=served[0, t])  # scratch: the first stream is written below
        np.divide(served[0, t], asked, out=scale, where=positive)
        np.multiply(wanted, scale, out=served[:, t])
        np.subtract(wanted, served[:, t], out=carried)
        backlog[:, t] = carried
    return served, backlog


def _sum_rows(stack: np.ndarray) -> np.ndarray:
    """stack[0] + stack[1] + ... in that order (as :func:`total_of`), into a new array."""
    out = stack[0] + stack[1]
    for i in range(2, stack.shape[0]):
        out += stack[i]
    return out


def project_cloud(
    e: EngineInputs, v: Values, base: BaseQuarters, quarters: int, capex: CapexResult, demand: dict[str, np.ndarray],
    demand_total: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    revenue_exit = base.series(v, f"{P}.revenue")[:, -1:]
    capacity_exit = revenue_exit / v(f"{P}.supply.exit_utilisation")
    share = v(f"{P}.supply.capacity_share_of_capex")
    m = f"{P}.margin_before_new_depreciation"
    start = v(f"{m}.start") + exit_add_back(e, v, f"{m}.start", capex, share)
    margin = converging_path(start, v(f"{m}.long_run"), v(f"{m}.half_life"), quarters)
    total_demand = total_of(demand) if demand_total is None else demand_total
    n = np.broadcast_shapes(*(d.shape for d in demand.values()), capex.gross_in_service.shape, margin.shape)[0]
    kernels = kernels_for() if tuple(demand) == STREAMS else None  # the kernel's planes are the three streams, in order
    if kernels is not None:
        out = {f"{P}.demand": total_demand, **_supply_compiled(kernels, v, n, quarters, capex, demand, capacity_exit, share, margin)}
        return {name: out[name] for name in SERIES_ORDER}
    added = v(f"{P}.supply.revenue_yield") * share * (capex.gross_in_service - capex.gross_exit)
    capacity = capacity_exit + added
    served_qm, backlog_qm = serve_stacked(demand, capacity)
    served = {st: served_qm[i].T for i, st in enumerate(demand)}
    revenue = _sum_rows(served_qm).T
    depreciation = cloud_depreciation(v, capex.depreciation_new)
    return {
        f"{P}.ai_revenue": served["ai_revenue"],
        f"{P}.other_external_revenue": served["other_external_revenue"],
        f"{P}.internal_revenue": served["internal_revenue"],
        f"{P}.external_revenue": served["ai_revenue"] + served["other_external_revenue"],
        f"{P}.revenue": revenue,
        f"{P}.demand": total_demand,
        f"{P}.backlog": _sum_rows(backlog_qm).T,
        f"{P}.capacity_revenue": np.broadcast_to(capacity, revenue.shape),
        f"{P}.utilisation": revenue / capacity,
        f"{P}.depreciation": depreciation,
        f"{P}.adjusted_ebita": margin * revenue - depreciation,
    }


def _supply_compiled(kernels, v: Values, n: int, quarters: int, capex: CapexResult, demand: dict[str, np.ndarray],
                     capacity_exit: np.ndarray, share: np.ndarray, margin: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`project_cloud`'s series after demand by :func:`pivotmodel.model.kernels.cloud_supply`
    (the same arithmetic, one pass a quarter), as (draws, quarters) views of one buffer."""
    rows = lambda x: np.ascontiguousarray(np.broadcast_to(x, (n, quarters)).T, dtype=float)  # noqa: E731  (no copy for engine arrays)
    p = np.stack([per_draw(capacity_exit, n), per_draw(v(f"{P}.supply.revenue_yield"), n), per_draw(share, n),
                  per_draw(capex.gross_exit, n)])
    out = np.empty((len(kernels.CLOUD_OUT), quarters, n))
    kernels.cloud_supply(tuple(rows(d) for d in demand.values()), rows(capex.gross_in_service), p, rows(margin),
                         rows(capex.depreciation_new), out)
    return {name: out[j].T for j, name in enumerate(kernels.CLOUD_OUT)}

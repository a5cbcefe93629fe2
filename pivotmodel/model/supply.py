"""Cloud supply and the capex that feeds it, quarter by quarter (capacity <- lagged capex <- policy).

Units: RMB million a quarter. Every quarter t of the projection, for all draws at once:

1. **Capex.** Inside the plan window: the plan (:func:`pivotmodel.model.capex.plan_capex`).
   After it, the policy in ``capex.after_plan``: order the capacity that, once in service
   ``lag`` quarters later, serves the demand then expected plus a share of the backlog at the
   target utilisation::

       required  = (demand_t x (demand_t / demand_t-1) ^ lag + backlog_t-1 / clear_quarters) / target_utilisation
       pipeline  = capacity in service at t + lag from the capex already spent (retirements included)
       capex_t   = max(required - pipeline, 0) / (revenue_yield_t x capacity_share_of_capex)

   bounded by the funding rule ``capex_t <= max_capex_to_revenue x group revenue_t`` (group
   revenue: the other segments' revenue after their elimination, this quarter, plus the
   cloud's external revenue served a quarter earlier, the latest the decision can know).
   ``funding_bound`` records, per draw and quarter, whether the rule cut the capex the policy
   wanted (1) or not (0; always 0 inside the plan window, which the rule does not govern).
2. **Capacity** = capacity at exit + ``capacity_share_of_capex`` x the revenue capacity of new
   assets in service: each vintage's capex x ``revenue_yield`` x (1 - ``yield_deflation``) ^
   (its quarter / 4), in service from ``lag`` quarters later until its class's life ends
   (servers: ``capex.useful_life``, buildings: ``capex.building_life``).
3. **Service.** What is wanted (new demand + the backlog) is served up to capacity, every
   stream cut pro rata; of what is not served, ``leak_rate`` is lost (customers buy elsewhere)
   and the rest is the backlog carried to the next quarter. Demand = served + lost + change
   in backlog, in every stream and quarter. A lost customer does not come back: each
   stream's later demand is its path x the share of its demand not yet lost, so when supply
   binds for long, demand bends toward what can be served and the backlog stays bounded.

The loop runs in numpy on quarter-major (quarters, draws) rows; the compiled kernels do not
cover it (README "Performance": the block is routed to numpy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..periods import Quarter
from .capex import CapexResult, capex_result, interpolate, plan_capex
from .inputs import EngineInputs, Values
from .paths import per_draw

__all__ = ["Supply", "project_supply"]


@dataclass(frozen=True)
class Supply:
    """The cloud's supply side, (draws, quarters) each."""

    served: dict[str, np.ndarray]  # stream -> revenue served
    backlog: np.ndarray  # demand carried at the quarter's end (all streams)
    lost: np.ndarray  # demand lost in the quarter (all streams)
    capacity: np.ndarray  # revenue the capacity in service can earn
    demand: np.ndarray  # revenue demanded by the customers not lost (all streams)
    potential: np.ndarray  # revenue the demand paths ask for if no customer were lost (all streams)
    funding_bound: np.ndarray  # 1.0 where the funding rule cut the capex the policy wanted, else 0.0


@dataclass(frozen=True)
class _Draws:
    """Per-draw inputs of the loop, (draws,) vectors."""

    lag: np.ndarray
    life_s: np.ndarray
    life_b: np.ndarray
    servers: np.ndarray
    per_rmb: np.ndarray  # revenue_yield x capacity_share_of_capex

    def in_service(self, padded: np.ndarray, position: float | np.ndarray) -> np.ndarray:
        """Vintage-weighted capex in service at capex index ``position`` (each class within its
        life), from the cumulative curve ``padded`` (rows beyond it: the curve stays flat)."""
        at = (position - self.lag)[None, :]
        on = interpolate(padded, at)[0]
        servers = on - _retired(padded, at - self.life_s[None, :])
        buildings = on - _retired(padded, at - self.life_b[None, :])
        return self.servers * servers + (1.0 - self.servers) * buildings


def _retired(padded: np.ndarray, position: np.ndarray) -> np.ndarray | float:
    """Cumulative capex at ``position`` (1, draws): 0.0 without a lookup when every position
    is before the first vintage (the curve is 0 there; the same number, fewer passes)."""
    if position.max() <= -1.0:
        return 0.0
    return interpolate(padded, position)[0]


def project_supply(
    e: EngineInputs,
    v: Values,
    first: Quarter,
    quarters: int,
    demand: dict[str, np.ndarray],
    funding: np.ndarray,
    external_exit: np.ndarray,
) -> tuple[CapexResult, Supply]:
    """Capex and the cloud's supply side. ``demand``: stream -> (draws, quarters) revenue
    demanded; ``funding``: the other segments' revenue after elimination (draws, quarters);
    ``external_exit``: external cloud revenue in the last reported quarter (draws or 1, 1)."""
    names = list(demand)
    n = max(v.draws, *(d.shape[0] for d in demand.values()))
    new_hist, new_from, capex, after = plan_capex(e, v, first, quarters, n)
    h = new_hist.size
    d = _Draws(
        per_draw(v("cloud.supply.deployment_lag"), n),
        per_draw(v("capex.useful_life"), n),
        per_draw(v("capex.building_life"), n),
        per_draw(v("capex.server_share"), n),
        per_draw(v("cloud.supply.revenue_yield") * v("cloud.supply.capacity_share_of_capex"), n),
    )
    padded = np.zeros((h + quarters + 1, n))  # cumulative vintage-weighted capex, quarter-major
    np.cumsum(np.broadcast_to(new_hist[:, None], (h, n)), axis=0, out=padded[1 : h + 1])
    exit_in_service = d.in_service(padded[: h + 1], h - 1.0) if h else np.zeros(n)
    capacity_exit = per_draw(e.base.series(v, "cloud.revenue")[:, -1:] / v("cloud.supply.exit_utilisation"), n)
    deflation = per_draw(v("cloud.supply.yield_deflation"), n)
    policy = _policy(v, n)
    # own copies, quarter-major: each stream is scaled below by the share of its customers kept
    rows = {s: np.array(np.broadcast_to(demand[s], (n, quarters)).T, order="C") for s in names}
    total = np.empty((quarters, n))  # demand of the customers still here, all streams
    keep = {s: np.ones(n) for s in names}  # share of each stream's customers not yet lost
    funding_rows = np.broadcast_to(funding, (n, quarters)).T
    served = {s: np.empty((quarters, n)) for s in names}
    backlog, lost, capacity = np.empty((quarters, n)), np.empty((quarters, n)), np.empty((quarters, n))
    bound = np.zeros((quarters, n))
    carried = {s: np.zeros(n) for s in names}
    previous_external = per_draw(external_exit, n)
    capex_rows = np.ascontiguousarray(capex.T)
    for t in range(quarters):
        for s in names:
            rows[s][t] *= keep[s]
        total[t] = sum(rows[s][t] for s in names)
        weight = (1.0 - deflation) ** ((t + 1) / 4.0)  # vintage t's capacity per RMB against the exit's
        if t >= after:
            previous = total[t - 1] if t else capacity_exit * v("cloud.supply.exit_utilisation")[:, 0]
            pipeline = capacity_exit + d.per_rmb * (d.in_service(padded[: h + t + 1], h + t + d.lag) - exit_in_service)
            cap = policy.cap * (funding_rows[t] + previous_external)
            backlog_now = np.add.reduce([carried[s] for s in names])
            capex_rows[t], bound[t] = _policy_capex(policy, total[t], previous, backlog_now, pipeline, d, weight, cap)
        padded[h + t + 1] = padded[h + t] + weight * capex_rows[t]
        capacity[t] = capacity_exit + d.per_rmb * (d.in_service(padded[: h + t + 2], h + t) - exit_in_service)
        lost[t], backlog[t] = _serve(rows, carried, served, t, capacity[t], policy.leak, keep)
        previous_external = sum(served[s][t] for s in names if s != "internal_revenue")
    capex = np.asfortranarray(capex_rows.T)
    result = capex_result(e, v, new_from, new_hist, capex)
    potential = np.add.reduce([np.broadcast_to(demand[s], (n, quarters)) for s in names])
    served_t = {s: served[s].T for s in names}
    return result, Supply(served_t, backlog.T, lost.T, capacity.T, total.T, potential, bound.T)


@dataclass(frozen=True)
class _Policy:
    target: np.ndarray
    clear: np.ndarray
    cap: np.ndarray
    leak: np.ndarray


def _policy(v: Values, n: int) -> _Policy:
    return _Policy(
        per_draw(v("capex.after_plan.target_utilisation"), n),
        per_draw(v("capex.after_plan.backlog_clear_quarters"), n),
        per_draw(v("capex.after_plan.max_capex_to_revenue"), n),
        per_draw(v("cloud.supply.leak_rate"), n),
    )


def _policy_capex(
    p: _Policy,
    demand: np.ndarray,
    previous: np.ndarray,
    backlog: np.ndarray,
    pipeline: np.ndarray,
    d: _Draws,
    weight: np.ndarray,
    cap: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Capex of one quarter after the plan: the capacity gap at the in-service date, bounded
    by zero and the funding cap (see the module docstring); and 1.0 where the cap cut it."""
    growth = np.divide(demand, previous, out=np.ones_like(demand), where=previous > 0)
    required = (demand * growth**d.lag + backlog / p.clear) / p.target
    per_rmb = d.per_rmb * weight
    gap = np.maximum(required - pipeline, 0.0)
    wanted = np.divide(gap, per_rmb, out=np.zeros_like(gap), where=per_rmb > 0)
    allowed = np.maximum(cap, 0.0)
    return np.minimum(wanted, allowed), (wanted > allowed).astype(float)


def _serve(
    rows: dict[str, np.ndarray],
    carried: dict[str, np.ndarray],
    served: dict[str, np.ndarray],
    t: int,
    capacity: np.ndarray,
    leak: np.ndarray,
    keep: dict[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Quarter t: each stream's demand plus backlog served up to capacity pro rata; ``leak``
    of the unserved part is lost, the rest carried (``carried`` updated in place), and the
    customers lost leave for good: ``keep`` (the share of the stream's demand still here)
    falls by the share of what they wanted that was lost. Returns (lost, backlog) summed over
    the streams."""
    wanted = {s: rows[s][t] + carried[s] for s in rows}
    asked = sum(wanted.values())
    scale = np.divide(np.minimum(asked, capacity), asked, out=np.ones_like(asked), where=asked > 0)
    lost, backlog = np.zeros_like(asked), np.zeros_like(asked)
    for s, w in wanted.items():
        served[s][t] = w * scale
        unserved = w - served[s][t]
        gone = leak * unserved
        carried[s] = unserved - gone
        keep[s] *= 1.0 - np.divide(gone, w, out=np.zeros_like(gone), where=w > 0)
        lost += gone
        backlog += carried[s]
    return lost, backlog

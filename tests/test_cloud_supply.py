"""Issue 19: the cloud's supply as a business runs it. Demand grows quarter on quarter from the
exit run-rate; after the capex plan, capex follows a policy (target utilisation, backlog cleared
over a few quarters, a capex/revenue funding cap) coupled quarter by quarter with capacity;
unserved demand partly leaks away (lost revenue, customers who do not come back).

Fixture: the frozen assumptions (FY2026Q4 cloud revenue 41,626; plan to FY2028Q4)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import col, sampled_values, values_with

from pivotmodel.model import project

STREAMS = ("ai_revenue", "other_external_revenue", "internal_revenue")


def growth(start: float, long_run: float | None = None, half_life: float = 8.0) -> dict[str, float]:
    out = {}
    for s in STREAMS:
        path = f"cloud.{s}.growth"
        out.update(
            {
                f"{path}.start": start,
                f"{path}.long_run": start if long_run is None else long_run,
                f"{path}.half_life": half_life,
            }
        )
    return out


def q(p, name, label):
    return p[name][0, col(p, label)]


def test_leak_and_lost_customers_by_hand(bundled):
    # Capacity fixed at the exit: no yield on new capex, exit utilisation 1 -> 41,626 a quarter.
    # Demand grows 10% a year from 41,626: 41,626 x 1.1 ^ (k / 4). Half the unserved part leaks.
    changes = {
        **growth(0.10),
        "cloud.supply.revenue_yield": 0.0,
        "cloud.supply.exit_utilisation": 1.0,
        "cloud.supply.leak_rate": 0.5,
    }
    p = project(bundled, values_with(bundled, changes))
    cap = 41_626.0
    # FY2027Q1: demand 42,630.7; served 41,626; unserved 1,004.7: 502.3 lost, 502.3 waits
    d1 = cap * 1.1**0.25
    assert q(p, "cloud.demand", "FY2027Q1") == pytest.approx(d1, rel=1e-12)
    assert q(p, "cloud.revenue", "FY2027Q1") == pytest.approx(cap, rel=1e-12)
    assert q(p, "cloud.lost_demand", "FY2027Q1") == pytest.approx(0.5 * (d1 - cap), rel=1e-12)
    assert q(p, "cloud.backlog", "FY2027Q1") == pytest.approx(0.5 * (d1 - cap), rel=1e-12)
    # the customers lost (502.3 of the 42,630.7 they wanted) leave for good: FY2027Q2's demand
    # is the path x (1 - 502.3 / 42,630.7)
    keep = 1.0 - 0.5 * (d1 - cap) / d1
    d2 = cap * 1.1**0.5 * keep
    assert q(p, "cloud.demand", "FY2027Q2") == pytest.approx(d2, rel=1e-12)
    assert q(p, "cloud.potential_demand", "FY2027Q2") == pytest.approx(cap * 1.1**0.5, rel=1e-12)  # no one lost
    unserved2 = d2 + 0.5 * (d1 - cap) - cap
    assert q(p, "cloud.lost_demand", "FY2027Q2") == pytest.approx(0.5 * unserved2, rel=1e-12)
    assert q(p, "cloud.utilisation", "FY2027Q2") == 1.0


def test_demand_is_served_plus_lost_plus_the_change_in_backlog_in_every_draw(bundled):
    p = project(bundled, sampled_values(bundled, 300, 19))
    cols = slice(col(p, "FY2027Q1"), None)
    demand, served = p["cloud.demand"][:, cols], p["cloud.revenue"][:, cols]
    lost, backlog = p["cloud.lost_demand"][:, cols], p["cloud.backlog"][:, cols]
    change = np.diff(backlog, axis=1, prepend=0.0)  # the backlog starts at zero
    np.testing.assert_allclose(served + lost + change, demand, rtol=1e-12, atol=1e-6)
    assert np.all(lost >= 0) and np.all(backlog >= 0)
    assert np.all(demand <= p["cloud.potential_demand"][:, cols] * (1 + 1e-12))  # lost customers only subtract
    assert np.all(served <= p["cloud.capacity_revenue"][:, cols] * (1 + 1e-12))


def test_with_demand_faster_than_the_plan_the_policy_reaches_its_target_and_the_backlog_stops_growing(bundled):
    # Demand +60% a year falling to +40%: the plan's capex cannot keep up (utilisation 100%, a
    # backlog); after the plan (FY2029Q1), with no funding bound, capex buys capacity for the
    # demand expected when it enters service (lag 2) plus a quarter of the backlog, at 85%.
    changes = {
        **growth(0.60, 0.40, 8.0),
        "capex.after_plan.max_capex_to_revenue": 1.0,
        "capex.after_plan.target_utilisation": 0.85,
        "capex.after_plan.backlog_clear_quarters": 4.0,
        "cloud.supply.deployment_lag": 2.0,
        "cloud.supply.leak_rate": 0.25,
        "cloud.supply.yield_deflation": 0.0,
    }
    p = project(bundled, values_with(bundled, changes))
    util = lambda label: q(p, "cloud.utilisation", label)  # noqa: E731
    backlog = p["cloud.backlog"][0]
    assert util("FY2028Q4") == pytest.approx(1.0, rel=1e-12) and backlog[col(p, "FY2028Q4")] > 0
    # capex responds in FY2029Q1 and its capacity arrives two quarters later: from then on the
    # backlog only falls, then stays cleared, and utilisation settles at the target
    after = backlog[col(p, "FY2029Q3") :]
    assert np.all(np.diff(after) <= 1e-6)
    assert backlog[col(p, "FY2031Q4")] < 1e-6
    for label in ("FY2030Q4", "FY2031Q2", "FY2031Q4"):
        assert util(label) == pytest.approx(0.85, abs=0.02)
    assert p.total("cloud.utilisation", "FY2031")[0] < 1.0
    # the policy's capex stood once the backlog was cleared: the funding rule (no bound here:
    # 100% of revenue) cut it in no quarter of FY2031
    assert not p["cloud.capex_funding_bound"][0, col(p, "FY2031Q1") : col(p, "FY2031Q4") + 1].any()


def test_the_funding_rule_caps_capex_at_a_share_of_group_revenue(bundled):
    # Demand +60% a year: the policy wants more than 8% of revenue, so the cap binds every
    # quarter after the plan. The cap reads the other segments' revenue after elimination this
    # quarter and the cloud's external revenue a quarter earlier (the latest it can know).
    changes = {**growth(0.60), "capex.after_plan.max_capex_to_revenue": 0.08}
    v = values_with(bundled, changes)
    p = project(bundled, v)
    other = 1.0 - float(v["group.elimination.other_share"][0])
    for label, previous in (("FY2029Q1", "FY2028Q4"), ("FY2030Q3", "FY2030Q2"), ("FY2031Q4", "FY2031Q3")):
        funding = other * sum(q(p, f"{s}.revenue", label) for s in ("china_ecommerce", "international", "all_others"))
        funding += q(p, "cloud.external_revenue", previous)
        assert q(p, "group.capex", label) == pytest.approx(0.08 * funding, rel=1e-12)
        assert q(p, "cloud.capex_funding_bound", label) == 1.0  # the rule cut the policy's capex
    assert q(p, "cloud.utilisation", "FY2031Q4") == 1.0  # capacity binds: the rule, not demand, decides
    # inside the plan (to FY2028Q4) the rule does not govern capex: never flagged there
    plan = slice(col(p, "FY2027Q1"), col(p, "FY2028Q4") + 1)
    assert not p["cloud.capex_funding_bound"][0, plan].any()
    # a cap of 30% of revenue: what the policy wants in FY2029Q1 (capacity for +60% demand and a
    # quarter of the backlog built up in the plan) is still more, so capex rises to the new cap
    wider = project(bundled, values_with(bundled, {**changes, "capex.after_plan.max_capex_to_revenue": 0.30}))
    assert q(wider, "cloud.capex_funding_bound", "FY2029Q1") == 1.0
    assert q(wider, "group.capex", "FY2029Q1") > 3.0 * q(p, "group.capex", "FY2029Q1")


def test_later_vintages_earn_less_capacity_per_rmb_when_compute_prices_deflate(bundled):
    # lag 2 (whole quarters), servers only with a long life: FY2027Q3's capacity adds the
    # FY2027Q1 vintage, the first projected one, weighted (1 - deflation) ^ (1 / 4)
    base = {"cloud.supply.deployment_lag": 2.0, "capex.server_share": 1.0, "capex.useful_life": 40.0}
    flat_ = project(bundled, values_with(bundled, {**base, "cloud.supply.yield_deflation": 0.0}))
    falling = project(bundled, values_with(bundled, {**base, "cloud.supply.yield_deflation": 0.10}))
    per_rmb = (
        bundled.inputs["cloud.supply.revenue_yield"].base_value
        * bundled.inputs["cloud.supply.capacity_share_of_capex"].base_value
    )
    capex_q1 = q(flat_, "group.capex", "FY2027Q1")
    assert q(falling, "group.capex", "FY2027Q1") == capex_q1  # the plan does not depend on it
    gap = q(flat_, "cloud.capacity_revenue", "FY2027Q3") - q(falling, "cloud.capacity_revenue", "FY2027Q3")
    assert gap == pytest.approx(per_rmb * capex_q1 * (1 - 0.9**0.25), rel=1e-9)
    assert q(flat_, "cloud.capacity_revenue", "FY2027Q2") == q(falling, "cloud.capacity_revenue", "FY2027Q2")

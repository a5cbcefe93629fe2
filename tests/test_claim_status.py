"""Claims that test the business: not evaluable with missing history inside all()/any(),
decided by inputs, on estimates, and the CFO's trailing-capex reading evaluated."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import sampled_values

from pivotmodel.claim_status import claim_statuses
from pivotmodel.claims import evaluate, parse_claims
from pivotmodel.model import project


def claims_of(a, *entries):
    raw = {"claims": [
        {"id": cid, "words": "w", "source": {"publication": "p", "date": "2026-01", "url": "u"}, "reading": "r", "test": test}
        for cid, test in entries
    ]}
    return parse_claims(raw)


def test_all_over_quarters_with_missing_history_is_not_evaluable(bundled):
    p = project(bundled)
    # FY2025Q3-Q4 quick-commerce EBITA is neither reported nor estimated; every later quarter holds
    (c_all, c_any, c_fail, c_proj) = claims_of(
        bundled,
        ("nan_all", "all(sum(china_ecommerce.quick_commerce_ebita) > -40, FY2025Q3:FY2027Q4)"),
        ("nan_any", "any(sum(china_ecommerce.quick_commerce_ebita) < -100, FY2025Q3:FY2027Q4)"),
        ("decided_all", "all(sum(china_ecommerce.quick_commerce_ebita) > 0, FY2025Q3:FY2027Q4)"),
        ("projected_all", "all(sum(china_ecommerce.quick_commerce_ebita) > -36, FY2026Q3:FY2027Q4)"),
    )
    assert np.isnan(evaluate(c_all, p).holds).all()  # never a silent False
    assert np.isnan(evaluate(c_any, p).holds).all()
    # a quarter that can be evaluated and fails decides all() whatever is missing
    assert evaluate(c_fail, p).holds.tolist() == [0.0]
    assert evaluate(c_proj, p).holds.tolist() == [1.0]


def test_a_threshold_on_an_inputs_bound_is_decided_by_inputs(bundled):
    # the plan total is PERT(320, 450, 560) RMB bn and the window's capex equals it
    claims = claims_of(
        bundled,
        ("on_bound", "cumsum(capex, FY2026Q1:FY2028Q4) > 320"),
        ("outside", "cumsum(capex, FY2026Q1:FY2028Q4) > 600"),
        ("inside", "cumsum(capex, FY2026Q1:FY2028Q4) > 480"),
        ("history", "share(cloud.revenue, group.revenue, FY2026) > 0.30"),
    )
    st = claim_statuses(bundled, claims)
    assert st["on_bound"].decided and st["outside"].decided and not st["inside"].decided
    assert (st["on_bound"].low, st["on_bound"].high) == pytest.approx((320.0, 560.0))
    assert st["on_bound"].drivers[0] == "capex.plan.total"
    assert st["history"].labels == ("reported",)
    assert st["outside"].message(claims[1]) == (
        "decided by input capex.plan.total: threshold 600 lies outside or on the bound of [320, 560], the range of its "
        "metric the inputs allow (largest swing: capex.plan.total, capex.plan.phasing_tilt)")


def test_bundled_capex_plan_claim_is_no_longer_decided_by_its_input(bundled):
    claims = bundled.claims
    st = claim_statuses(bundled, claims)
    assert not st["capex_380bn_fy2026_fy2028"].decided  # the plan range includes under-spending
    p = project(bundled, sampled_values(bundled, 2000, 3))
    c = next(c for c in claims if c.id == "capex_380bn_fy2026_fy2028")
    assert 0.5 < np.nanmean(evaluate(c, p).holds) < 1.0


def test_cfo_trailing_capex_is_evaluated_from_the_stated_quarter(bundled):
    c = next(c for c in bundled.claims if c.id == "cfo_capex_120bn_trailing_fy2026q2")
    v = evaluate(c, project(bundled))
    # FY2025Q3 stated 31,800 + FY2025Q4 23,993 + FY2026Q1 38,629 + FY2026Q2 31,428 = 125,850
    assert v.holds.tolist() == [1.0]
    p = project(bundled)
    assert p.total("group.capex", "FY2025Q3:FY2026Q2")[0] == 125_850


def test_past_quarter_claims_are_evaluated_on_estimates(bundled):
    claims = bundled.claims
    st = claim_statuses(bundled, claims)
    for cid in ("burn_usd11bn_qc_losses_fy2026q3", "burn_usd11bn_qc_losses_cumulative_fy2026", "qc_sep2025_peak_loss_quarter"):
        assert "on estimates" in st[cid].labels, cid
    assert "on estimates" not in st["capex_480bn_fy2026_fy2028"].labels
    p = project(bundled)
    c = next(c for c in claims if c.id == "burn_usd11bn_qc_losses_fy2026q3")
    assert evaluate(c, p).holds.tolist() == [0.0]  # ~RMB23bn is about US$3.3bn, not 11


def test_a_registered_reading_the_model_cannot_test_is_not_evaluable_with_its_reason(bundled):
    raw = {"claims": [{"id": "needs_a_series", "words": "w", "source": {"publication": "p", "date": "2026-01", "url": "u"},
                       "reading": "r", "test": "yoy(group.adjusted_ebita, FY2026Q3) < -0.60",
                       "not_evaluable": "needs a figure the model does not carry"}]}
    (c,) = parse_claims(raw)
    assert np.isnan(evaluate(c, project(bundled)).holds).all()
    assert evaluate(dataclasses.replace(c, not_evaluable=""), project(bundled)).holds.tolist() == [0.0]  # -57%
    claims = bundled.claims
    cited = {c.article.rsplit("/", 1)[-1][:3] for c in claims if c.article}
    assert {"001", "002", "003", "004"} <= cited


def test_net_profit_reading_is_settled_by_reported_net_income(bundled):
    c = next(c for c in bundled.claims if c.id == "net_profit_fall_60pct_fy2026q3")
    v = evaluate(c, project(bundled))
    assert v.metric[0] == pytest.approx(-0.663, abs=0.001) and v.holds.tolist() == [1.0]
    assert claim_statuses(bundled, [c])[c.id].labels == ("reported",)


def test_loss_per_order_halved_is_evaluated_on_estimates(bundled):
    claims = bundled.claims
    c = next(c for c in claims if c.id == "qc_loss_per_order_halved_fy2027")
    p = project(bundled)
    # FY2026 orders as the engine sizes them: quick-commerce revenue / (RMB30 x 0.10)
    fy26 = [14_784, 22_906]  # reported FY2026Q1-Q2; Q3-Q4 are seed estimates
    assert p["china_ecommerce.quick_commerce_orders"][0, 8:10].tolist() == pytest.approx([x / 3.0 for x in fy26])
    assert np.isfinite(evaluate(c, p).holds).all()
    assert "on estimates" in claim_statuses(bundled, claims)[c.id].labels

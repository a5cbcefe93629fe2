"""Claims that test the business: not evaluable with missing history inside all()/any(),
decided by inputs, on estimates, and the CFO's trailing-capex reading evaluated."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from conftest import col, sampled_values

from pivotmodel.claim_status import claim_statuses
from pivotmodel.claims import evaluate, parse_claims
from pivotmodel.model import project


def claims_of(a, *entries):
    raw = {
        "claims": [
            {
                "id": cid,
                "words": "w",
                "source": {"publication": "p", "date": "2026-01", "url": "u"},
                "reading": "r",
                "test": test,
            }
            for cid, test in entries
        ]
    }
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
        "metric the inputs allow (largest swing: capex.plan.total, capex.plan.phasing_tilt)"
    )


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
    for cid in (
        "burn_usd11bn_qc_losses_fy2026q3",
        "burn_usd11bn_qc_losses_cumulative_fy2026",
        "qc_sep2025_peak_loss_quarter",
    ):
        assert "on estimates" in st[cid].labels, cid
    assert "on estimates" not in st["capex_480bn_fy2026_fy2028"].labels
    p = project(bundled)
    c = next(c for c in claims if c.id == "burn_usd11bn_qc_losses_fy2026q3")
    assert evaluate(c, p).holds.tolist() == [0.0]  # ~RMB23bn is about US$3.3bn, not 11


def test_a_registered_reading_the_model_cannot_test_is_not_evaluable_with_its_reason(bundled):
    raw = {
        "claims": [
            {
                "id": "needs_a_series",
                "words": "w",
                "source": {"publication": "p", "date": "2026-01", "url": "u"},
                "reading": "r",
                "test": "yoy(group.adjusted_ebita, FY2026Q3) < -0.60",
                "not_evaluable": "needs a figure the model does not carry",
            }
        ]
    }
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


# --- what decides each claim after a run (issue 19) ------------------------------------------------


def run_with(a, *entries, draws=256):
    from pivotmodel.simulate import simulate

    return simulate(
        dataclasses.replace(a, claims=tuple(claims_of(a, *entries))),
        draws=draws,
        seed=7,
        method="mc",
        jobs=1,
        progress=False,
    )


def test_a_claim_reading_back_one_inputs_cdf_is_decided_by_that_input(bundled):
    # the plan window's capex is the plan total itself (PERT 320/450/560 RMB bn), so the claim
    # holds exactly where capex.plan.total > 450,000 RMB mn: it reads back 1 - that input's CDF
    r = run_with(bundled, ("reads_plan", "cumsum(capex, FY2026Q1:FY2028Q4) > 450"), ("fcf", "sum(fcf, FY2027) < 0"))
    plan = r.inputs["capex.plan.total"].to_numpy()
    assert r.claim_holds["reads_plan"].tolist() == (plan > 450_000).astype(float).tolist()
    t = r.claims_table()
    assert t.loc["reads_plan", "status"] == "decided by input capex.plan.total"
    assert t.loc["reads_plan", "status_reason"] == (
        "its metric moves with capex.plan.total alone (rank correlation +1.000 over 256 draws; threshold 0.9)"
    )
    assert not t.loc["fcf", "status"].startswith("decided by input")


def test_a_cut_on_one_input_that_splits_the_outcome_is_decided_by_that_input(bundled):
    # no metric (an all() test): the outcome is 1{plan total > 450bn} in every draw, so the KS
    # distance between the plan totals of holding and failing draws is 1
    r = run_with(bundled, ("plan_outcome", "all(cumsum(capex, FY2026Q1:FY2028Q4) > 450, FY2027Q1:FY2027Q2)"))
    st = r.claims_table().loc["plan_outcome"]
    assert st["status"] == "decided by input capex.plan.total"
    assert st["status_reason"] == (
        "a cut on capex.plan.total separates the draws where it holds from those where it "
        "fails (KS distance 1.000 over 256 draws; threshold 0.95)"
    )


def test_a_seeded_quarter_read_only_through_yoy_is_on_estimates(bundled):
    # FY2026Q3-Q4 CMR are seed estimates; yoy(cmr, FY2027) reads them as its base year, and
    # all(yoy(ai) ...) reads FY2026Q1-Q3 AI revenue the same way; FY2027's own total reads none
    cmr27 = project(bundled).total("china_ecommerce.cmr", "FY2027")[0] / 1000  # base case: inside the range
    claims = claims_of(
        bundled,
        ("yoy_only", "yoy(china_ecommerce.cmr, FY2027) > 0.05"),
        ("all_yoy", "all(yoy(cloud.ai_revenue) >= 1.0, FY2027Q1:FY2027Q4)"),
        ("projected", f"sum(china_ecommerce.cmr, FY2027) > {cmr27:.3f}"),
    )
    st = claim_statuses(bundled, claims)
    assert st["yoy_only"].label == "on estimates"
    assert st["yoy_only"].reason == (
        "reads quarters Alibaba did not report in RMB, filled by sourced estimates "
        "(china_ecommerce.cmr FY2026Q3-FY2026Q4)"
    )
    assert st["all_yoy"].reason == (
        "reads quarters Alibaba did not report in RMB, filled by sourced estimates (cloud.ai_revenue FY2026Q1-FY2026Q3)"
    )
    assert st["projected"].label == "model"


def test_a_claim_settled_by_history_is_reported(bundled):
    c = next(c for c in bundled.claims if c.id == "cfo_capex_120bn_trailing_fy2026q2")
    st = claim_statuses(bundled, [c])[c.id]
    assert (st.label, st.reason) == ("reported", "reads only reported quarters (FY2025Q3-FY2026Q2): settled by history")


def _planted_run(bundled, binding_draws: int, draws: int = 10):
    """A run's kept quarters: the base case in every draw, with capacity planted to bind (and
    demand 1.5x served) in FY2031 in the first ``binding_draws`` draws."""
    from types import SimpleNamespace

    p = project(bundled)
    cols = slice(col(p, "FY2031Q1"), col(p, "FY2031Q4") + 1)
    q = {name: np.repeat(p[name], draws, axis=0) for name in p.series}
    q["cloud.utilisation"][:, cols] = 0.9
    for name in ("cloud.backlog", "cloud.lost_demand"):
        if name in q:
            q[name][:, cols] = 0.0
    q["cloud.demand"][:, cols] = q["cloud.revenue"][:, cols]
    q["cloud.utilisation"][:binding_draws, cols] = 1.0
    q["cloud.demand"][:binding_draws, cols] *= 1.5
    # the funding rule cut the policy's capex in the binding draws' quarters only (FY2031 is after the plan)
    q["cloud.capex_funding_bound"][:, cols] = 0.0
    q["cloud.capex_funding_bound"][:binding_draws, cols] = 1.0
    return SimpleNamespace(totals={"quarter": q}, inputs=None), float(p.total_usd("cloud.revenue", "FY2031")[0]) / 1000


def test_capacity_binding_in_most_draws_is_decided_by_construction_with_the_probability_on_demand(bundled):
    from pivotmodel.claim_status import STATUS_DEFAULTS, _construction, _Context, claim_reads

    ctx = _Context.build(bundled)
    s = dict(STATUS_DEFAULTS)
    for binding, expected in ((8, True), (4, False)):
        r, served_usd = _planted_run(bundled, binding)
        # served US$ x 1.2 fails on served revenue in every draw; x 1.5 on demand passes it
        (cloud, fcf) = claims_of(
            bundled,
            ("usd_fy2031", f"usd(cloud.revenue, FY2031) > {1.2 * served_usd:.6f}"),
            ("fcf", "sum(fcf, FY2031) < 1e9"),
        )
        cells = {c.id: claim_reads(c, ctx.base)[0] for c in (cloud, fcf)}
        out = _construction(r, [cloud, fcf], ctx, cells, s)
        assert "fcf" not in out  # no cloud series read: the mechanism cannot decide it
        finding, on_demand = out.get("usd_fy2031", (None, np.nan))
        if not expected:  # capacity binds in 4 of 10 draws: not most
            assert finding is None
            continue
        assert on_demand == pytest.approx(0.8)  # the 8 binding draws hold on demand
        status, key, reason = finding
        assert (status, key) == ("decided by construction", "")
        assert reason.startswith(
            "served cloud revenue is capped by capacity: it binds (utilisation >= 99.9%, a backlog"
        )
        assert reason.endswith(
            ") in 80% of draws over the projected quarters read (FY2031Q1-FY2031Q4; threshold 0.5); the capex "
            "funding rule (capex.after_plan.max_capex_to_revenue) cut the capex the target-utilisation policy "
            "wanted in 80% of draws over the 4 quarters read after the capex plan; on demand "
            "P = 0.800 against 0.000 served (shift threshold 0.02)"
        )


def test_the_construction_reason_says_whether_the_funding_rule_or_the_plan_sets_capacity():
    """8 of 10 draw-quarters bound by the funding rule after the plan: 80%; quarters inside the
    plan (which the rule does not govern) are named as such, not counted."""
    from pivotmodel.claim_status import _funding_reason

    funded = np.array([0.0, 0.0, 0.8, 0.6])  # columns 0-1 inside the plan, 2-3 after it
    assert _funding_reason(funded, [2, 3]) == (
        "; the capex funding rule (capex.after_plan.max_capex_to_revenue) cut the capex the target-utilisation "
        "policy wanted in 70% of draws over the 2 quarters read after the capex plan"
    )  # (0.8 + 0.6) / 2
    assert _funding_reason(funded, []) == (
        "; every quarter read is inside the capex plan (capex.plan.total sets the capacity there)"
    )
    assert _funding_reason(None, [2, 3]) == ""  # a model without the series says nothing of it


def test_first_fy_shows_the_share_of_draws_that_never_get_there_and_never_as_a_value(bundled):
    from pivotmodel.cli.run import format_claims

    r = run_with(bundled, ("share_first", "first_fy(share(cloud.revenue, group.revenue) > 0.30) <= 2031"))
    row = r.claims_table().loc["share_first"]
    metric = r.claim_metric["share_first"].to_numpy()
    years = np.sort(metric)
    assert 0.5 < row["metric_never"] < 1 and row["metric_p50"] == np.inf  # most draws never get there
    # quantiles over every draw, "never" (+inf) ranked last: the value at rank ceil(q x 256)
    assert row["metric_never"] == np.isinf(metric).mean()
    assert [row["metric_p5"], row["metric_p50"], row["metric_p95"]] == [years[12], years[127], years[243]]
    table = pd.DataFrame(
        [
            {
                "headline": False,
                "probability": 0.25,
                "ci_low": 0.2,
                "ci_high": 0.3,
                "draws": 400,
                "base_case": 0.0,
                "metric_p5": 2030.0,
                "metric_p50": np.inf,
                "metric_p95": np.inf,
                "metric_never": 0.75,
                "threshold": 2031.0,
                "interval": "Wilson 95%",
                "status": "model",
                "status_reason": "r",
            }
        ],
        index=pd.Index(["first_fy_claim"], name="id"),
    )
    text = format_claims(table, "base", {"draws": 400, "method": "mc", "seed": 1})
    assert "never [2030, never] vs 2031; never in 75.0% of draws  [model]" in text


def test_a_table_read_back_without_a_status_prints_no_nan_label(bundled):
    from pivotmodel.cli.run import format_claims

    table = pd.DataFrame(
        [
            {
                "headline": True,
                "probability": 0.5,
                "ci_low": 0.4,
                "ci_high": 0.6,
                "draws": 400,
                "base_case": 1.0,
                "metric_p5": np.nan,
                "metric_p50": np.nan,
                "metric_p95": np.nan,
                "metric_never": np.nan,
                "threshold": np.nan,
                "interval": "Wilson 95%",
                "status": np.nan,
                "status_reason": np.nan,
            }
        ],
        index=pd.Index(["unlabelled"], name="id"),
    )
    text = format_claims(table, "base", {"draws": 400, "method": "mc", "seed": 1})
    line = next(x for x in text.splitlines() if x.startswith("*unlabelled"))
    assert line.rstrip().endswith("yes") and "nan" not in text and "[]" not in text


def test_a_test_on_a_gap_in_history_is_not_evaluable_not_reported(bundled):
    # FY2025Q3-Q4 quick-commerce EBITA is neither reported nor estimated (see the all() test above)
    (c,) = claims_of(bundled, ("gap", "all(sum(china_ecommerce.quick_commerce_ebita) > -40, FY2025Q3:FY2025Q4)"))
    st = claim_statuses(bundled, [c])["gap"]
    assert (st.label, st.reason) == ("not evaluable", "the test needs a figure Alibaba did not report")


def test_a_run_without_kept_quarters_projects_its_kept_draws_again(bundled):
    # a run over 50,000 draws keeps no quarterly series: the mechanism re-projects the kept
    # draws from their inputs, which must give the very quarters a smaller run keeps
    from types import SimpleNamespace

    from pivotmodel.claim_status import _Context, _kept_projection

    r = run_with(bundled, ("fcf", "sum(fcf, FY2027) < 0"), draws=64)
    ctx = _Context.build(bundled)
    names = {"cloud.revenue", "cloud.utilisation", "cloud.backlog"}
    again = _kept_projection(SimpleNamespace(totals={"quarter": {}}, inputs=r.inputs), ctx, names)
    kept = _kept_projection(r, ctx, names)
    for name in names:
        np.testing.assert_array_equal(again[name], kept[name])


@pytest.mark.parametrize(
    "setting, value, message",
    [
        (
            "status_rank_correlation",
            "1.5",
            "must lie in (0.5, 1], got 1.5 (decided by an input: its metric's |rank "
            "correlation| with it is at least this)",
        ),
        (
            "status_binding_share",
            "0.4",
            "must lie in [0.5, 1], got 0.4 (decided by construction: cloud capacity binds in "
            "at least this share of draws)",
        ),
    ],
)
def test_a_status_threshold_outside_its_range_is_refused_with_the_file_key_and_line(
    assumptions_copy, capsys, setting, value, message
):
    from conftest import replace_once

    from pivotmodel.cli import main

    sim = assumptions_copy / "simulation.yaml"
    replace_once(sim, "  boundary_margin:", f"  {setting}: {value}\n  boundary_margin:")
    assert main(["validate", "--assumptions", str(assumptions_copy)]) == 2
    err = capsys.readouterr().err
    line = next(i for i, x in enumerate(sim.read_text().splitlines(), 1) if x.startswith(f"  {setting}:"))
    assert f"simulation.yaml:{line}: simulation.{setting}: {message}" in err and "Traceback" not in err

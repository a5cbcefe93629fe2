"""Issue 8: starts anchored at the exit rate, the boundary report, capacity with a backlog,
and depreciation split by use. Each test works on a copy of the bundled assumptions."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from conftest import col, copy_assumptions, replace_once, values_with

import pivotmodel.assumptions as assumptions_mod
from pivotmodel.boundary import boundary_report, boundary_warnings
from pivotmodel.cli import main
from pivotmodel.model import project
from pivotmodel.model.capex import split_depreciation
from pivotmodel.model.inputs import Values

SOURCE = "https://example.com/synthetic-test-quarter"

# A synthetic FY2027Q1 with every figure an anchor reads (segment revenue and EBITA).
FY2027Q1 = [
    ("Consolidated", "revenue", 262_000),
    ("Alibaba China E-commerce Group", "revenue", 150_000),
    ("Cloud Intelligence Group", "revenue", 46_000),
    ("Cloud Intelligence Group", "adjusted_ebita", 5_520),  # 12%
    ("Alibaba International Digital Commerce Group", "revenue", 38_211),  # +10% on 34,741
    ("Alibaba International Digital Commerce Group", "adjusted_ebita", 764),
    ("All others", "revenue", 60_000),
    ("All others", "adjusted_ebita", -6_000),
    ("Alibaba China E-commerce Group", "customer_management_revenue", 95_000),
    ("Alibaba China E-commerce Group", "quick_commerce_revenue", 20_000),
    ("Cloud Intelligence Group", "ai_related_product_revenue", 10_000),
    ("Consolidated", "capex_purchase_of_ppe_fcf_table", 30_000),
]


def append_rows(directory, period, rows):
    with open(directory / "history" / "reported.csv", "a", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        for segment, metric, value in rows:
            writer.writerow([period, segment, metric, value, "RMB_mn", "reported", SOURCE, "synthetic test row"])


def test_a_newly_reported_quarter_moves_the_anchored_starts(tmp_path):
    before = assumptions_mod.load(copy_assumptions(tmp_path, "before"))
    # FY2026Q4 AIDC 35,429 / 33,600 - 1; margins over FY2026Q3-Q4
    assert before.inputs["international.revenue.growth.start"].base_value == pytest.approx(
        35_429 / 33_600 - 1, rel=1e-12
    )
    assert before.inputs["international.margin.start"].base_value == pytest.approx(
        (-2_016 - 138) / (39_201 + 35_429), rel=1e-12
    )
    # cloud: the exit quarter's own margin (issue 19), FY2026Q4 3,807 / 41,626
    start = before.inputs["cloud.margin_before_new_depreciation.start"].base_value
    assert start == pytest.approx(3_807 / 41_626, rel=1e-12)

    directory = copy_assumptions(tmp_path, "after")
    append_rows(directory, "FY2027Q1", FY2027Q1)  # history appended; no other file edited
    a = assumptions_mod.load(directory)
    assert a.history.last_quarter.label == "FY2027Q1"
    # FY2027Q1 AIDC YoY on FY2026Q1; margins over FY2026Q4-FY2027Q1
    assert a.inputs["international.revenue.growth.start"].base_value == pytest.approx(38_211 / 34_741 - 1, rel=1e-12)
    assert a.inputs["international.margin.start"].base_value == pytest.approx(
        (-138 + 764) / (35_429 + 38_211), rel=1e-12
    )
    assert a.inputs["cloud.margin_before_new_depreciation.start"].base_value == pytest.approx(5_520 / 46_000, rel=1e-12)
    # the declared Qwen campaign (FY2026Q4, -3,000) stays out of the run-rate (the start's mode; its band is -3pt/+8pt)
    assert a.inputs["all_others.margin.start"].anchor.value == pytest.approx(
        (-20_698 - 6_000 + 3_000) / (65_459 + 60_000), rel=1e-12
    )
    # the spread stays around the new centre
    d = a.inputs["international.margin.start"].dist
    assert d.params["high"] - d.params["mode"] == pytest.approx(0.015)
    assert "FY2026Q4-FY2027Q1" in a.inputs["international.margin.start"].anchor.describe()


def test_an_anchor_without_its_figures_names_the_quarter(tmp_path, capsys):
    directory = copy_assumptions(tmp_path)
    replace_once(directory / "international.yaml", "quarters: 2}, spread: 0.015", "quarters: 4}, spread: 0.015")
    append_rows(directory, "FY2027Q1", [r for r in FY2027Q1 if r[1] != "adjusted_ebita"])
    # AIDC EBITA for FY2026Q1-Q4 exists, FY2027Q1's does not: 4 of the last 4 quarters are needed
    assert main(["validate", "--assumptions", str(directory)]) == 2
    err = capsys.readouterr().err
    assert "international.margin.start.anchor" in err and "international.adjusted_ebita FY2027Q1" in err


def test_the_boundary_report_flags_a_planted_step_and_names_its_input(tmp_path, capsys):
    directory = copy_assumptions(tmp_path)
    replace_once(
        directory / "international.yaml",
        "start: {anchor: {rule: yoy, series: international.revenue, quarters: 1}, spread: 0.04,",
        "start: {dist: triangular, low: 0.30, mode: 0.35, high: 0.40,",
    )
    a = assumptions_mod.load(directory)
    rows = {(r.segment, r.metric): r for r in boundary_report(a) if r.quarter == "FY2027Q1"}
    yoy = rows[("international", "yoy")]
    assert yoy.last == pytest.approx(35_429 / 33_600 - 1, rel=1e-12)
    assert yoy.first == pytest.approx(0.35, rel=1e-9)  # FY2027Q1 = FY2026Q1 x 1.35
    assert yoy.flagged and yoy.inputs == ("international.revenue.growth.start",)
    warnings = boundary_warnings(list(rows.values()))
    assert any("international yoy" in w and "international.revenue.growth.start" in w for w in warnings)
    assert not rows[("cloud", "yoy")].flagged and not rows[("international", "margin")].flagged
    assert main(["validate", "--assumptions", str(directory)]) == 0
    assert "boundary: international yoy" in capsys.readouterr().err
    # a note that declares the step silences the warning
    replace_once(
        directory / "international.yaml",
        'note: "the last reported quarter',
        'note: "known step (an acquisition); the last reported quarter',
    )
    rows = boundary_report(assumptions_mod.load(directory))
    assert not any(r.flagged for r in rows if r.segment == "international")


def test_capacity_starts_from_the_assets_serving_the_last_quarter(bundled):
    # yield 0.01, cloud share 0.85, lag 2, servers only, life 24, exit utilisation 1: capacity in
    # FY2027Q1 = 41,626 (FY2026Q4 revenue) + 0.01 x 0.85 x (181,405 - 156,029) of capex put in
    # service since (FY2026Q3 25,376); demand is above it, so all of it is served.
    changes = {
        "cloud.supply.revenue_yield": 0.01,
        "cloud.supply.capacity_share_of_capex": 0.85,
        "cloud.supply.deployment_lag": 2,
        "capex.useful_life": 24,
        "capex.server_share": 1.0,
        "cloud.supply.exit_utilisation": 1.0,
        "cloud.supply.leak_rate": 0.0,
        "cloud.supply.yield_deflation": 0.0,
    }
    p = project(bundled, values_with(bundled, changes))
    q1, q4 = col(p, "FY2027Q1"), col(p, "FY2026Q4")
    assert p["cloud.capacity_revenue"][0, q1] == pytest.approx(41_626 + 0.01 * 0.85 * 25_376, rel=1e-12)
    assert p["cloud.revenue"][0, q1] == pytest.approx(p["cloud.capacity_revenue"][0, q1], rel=1e-12)
    assert p["cloud.revenue"][0, q1] >= p["cloud.revenue"][0, q4]
    assert p["cloud.backlog"][0, q1] == pytest.approx(p["cloud.demand"][0, q1] - p["cloud.revenue"][0, q1], rel=1e-12)
    # unserved demand is served later, not dropped (leak rate 0)
    served, demand = p["cloud.revenue"][0, q1:], p["cloud.demand"][0, q1:]
    np.testing.assert_allclose(np.cumsum(demand - served), p["cloud.backlog"][0, q1:], rtol=1e-9)


def test_first_projected_served_revenue_is_not_below_the_last_reported_in_any_draw(bundled):
    from conftest import sampled_values

    p = project(bundled, sampled_values(bundled, 400, 11))
    q1, q4 = col(p, "FY2027Q1"), col(p, "FY2026Q4")
    # capacity never starts below what was served; served is below it only where demand is
    assert np.all(p["cloud.capacity_revenue"][:, q1] >= 41_626)
    assert np.all(p["cloud.revenue"][:, q1] >= np.minimum(41_626, p["cloud.demand"][:, q1]))
    assert np.all(p["cloud.revenue"][:, q4] == 41_626)


def test_depreciation_split_by_use_sums_to_the_total(bundled):
    v = Values(values_with(bundled, {"cloud.supply.capacity_share_of_capex": 0.7, "capex.own_ai_share": 0.2}), 1)
    total = np.array([[100.0, 250.0]])
    parts = split_depreciation(v, total)
    np.testing.assert_allclose(parts["cloud"], [[70.0, 175.0]])
    np.testing.assert_allclose(parts["own_ai"], [[20.0, 50.0]])
    np.testing.assert_allclose(parts["cloud"] + parts["own_ai"] + parts["other"], total, rtol=1e-15)


def test_every_part_of_new_depreciation_is_charged_to_a_segment(bundled):
    # cloud 0.70, own AI 0.20, the rest 0.10: 0.65 of it to China E-commerce (0.065), 0.07 to
    # AIDC (0.007), 0.28 to All others with its own AI work (0.20 + 0.028 = 0.228)
    changes = {
        "cloud.supply.capacity_share_of_capex": 0.7,
        "capex.own_ai_share": 0.2,
        "capex.rest_share.china_ecommerce": 0.65,
        "capex.rest_share.international": 0.07,
    }
    p = project(bundled, values_with(bundled, changes))
    cols = slice(col(p, "FY2027Q1"), None)
    total = p["group.depreciation_new"][:, cols]
    charged = {
        s: p[f"{s}.new_depreciation" if s != "cloud" else "cloud.depreciation"][:, cols]
        for s in ("cloud", "china_ecommerce", "international", "all_others")
    }
    for s, share in (("cloud", 0.70), ("china_ecommerce", 0.065), ("international", 0.007), ("all_others", 0.228)):
        np.testing.assert_allclose(charged[s], share * total, rtol=1e-12)
    np.testing.assert_allclose(sum(charged.values()), total, rtol=1e-12)
    np.testing.assert_allclose(p["all_others.ai_depreciation"][:, cols], 0.2 * total, rtol=1e-12)
    # China E-commerce bears what it is charged beyond the exit quarter's rate: against the
    # same run with its share 0, EBITA is lower by 0.065 x (D_t - D_exit / R_exit x R_t), so
    # (D_t - difference / 0.065) / R_t is one constant, the exit quarter's rate D_exit / R_exit
    free = project(bundled, values_with(bundled, {**changes, "capex.rest_share.china_ecommerce": 0.0}))
    difference = free["china_ecommerce.adjusted_ebita"][0, cols] - p["china_ecommerce.adjusted_ebita"][0, cols]
    rate = (total[0] - difference / 0.065) / p["china_ecommerce.revenue"][0, cols]
    np.testing.assert_allclose(rate, rate[0], rtol=1e-9)
    # the exit quarter's depreciation (rate x FY2026Q4 revenue) is below FY2027Q1's: it grows
    assert 0 < rate[0] * p["china_ecommerce.revenue"][0, col(p, "FY2026Q4")] < total[0, 0]
    np.testing.assert_allclose(free["cloud.revenue"], p["cloud.revenue"], rtol=0)  # nothing else moves


def test_project_quarter_basis_csv_shows_the_boundary(capsys):
    assert main(["project", "--basis", "quarter", "--format", "csv"]) == 0
    out = capsys.readouterr().out.splitlines()
    header = out[0].split(",")
    assert header[2:7] == ["FY2026Q1 (A)", "FY2026Q2 (A)", "FY2026Q3 (A)", "FY2026Q4 (A)", "FY2027Q1 (P)"]
    cloud = next(line for line in out if line.startswith("Cloud Intelligence,Revenue")).split(",")
    assert float(cloud[5]) == pytest.approx(41.626)


def test_fy2024_and_fy2025_capex_are_shown(bundled):
    p = project(bundled)
    assert p.total("group.capex", "FY2024")[0] == 32_087  # 20-F cash flow
    assert p.total("group.capex", "FY2025")[0] == 85_972
    assert p["group.capex"][0, col(p, "FY2025Q3")] == 31_800  # stated Dec-2024 capex


def test_fcf_proxy_beside_reported_fcf_on_reported_years(bundled):
    # FY2026 proxy = EBITA 76,416 + D&A 34,963 - capex 122,021 - 20% x 76,416 (every quarter
    # positive) = -25,925, beside reported FCF -46,615; the projection adds other cash items
    p = project(bundled)
    rate = bundled.inputs["group.tax.cash_tax_rate"].base_value
    assert rate == pytest.approx(0.20)
    assert p.total("group.fcf_proxy", "FY2026")[0] == pytest.approx(76_416 + 34_963 - 122_021 - rate * 76_416, rel=1e-9)
    assert p.total("group.fcf", "FY2026")[0] == -46_615
    other = bundled.inputs["group.other_cash_items"].base_value
    q = col(p, "FY2027Q1")
    assert p["group.fcf"][0, q] - p["group.fcf_proxy"][0, q] == pytest.approx(other, rel=1e-12)


def test_servers_and_buildings_depreciate_over_their_own_lives(bundled):
    # lag 2: in FY2027Q1 the capex of FY2025Q1-FY2026Q3 (181,405) is in service, half servers
    # over 20 quarters, half buildings over 100
    from conftest import values_with as vw

    from pivotmodel.model import prepare
    from pivotmodel.model.capex import capex_result, plan_capex

    values = vw(
        bundled,
        {
            "cloud.supply.deployment_lag": 2,
            "capex.server_share": 0.5,
            "capex.useful_life": 20,
            "capex.building_life": 100,
        },
    )
    first = bundled.history.last_quarter + 1
    quarters = bundled.horizon.index - first.index + 1
    e, v = prepare(bundled), Values(values, 1)
    new_hist, new_from, capex, _ = plan_capex(e, v, first, quarters, 1)
    res = capex_result(e, v, new_from, new_hist, capex)
    assert res.depreciation_new[0, 0] == pytest.approx(0.5 * 181_405 / 20 + 0.5 * 181_405 / 100, rel=1e-12)
    assert res.gross_in_service[0, 0] == pytest.approx(181_405, rel=1e-12)
    # the same gross in service with one life for both would depreciate 181,405 / 20
    assert res.depreciation_new[0, 0] < 181_405 / 20


def test_a_planted_margin_step_is_flagged_against_both_references(tmp_path):
    directory = copy_assumptions(tmp_path)
    replace_once(
        directory / "international.yaml",
        "start: {anchor: {rule: margin, series: international.adjusted_ebita, over: international.revenue, quarters: "
        "2}, spread: 0.015,",
        "start: {dist: triangular, low: 0.07, mode: 0.08, high: 0.09,",
    )
    report = boundary_report(assumptions_mod.load(directory))
    rows = {(r.segment, r.metric): r for r in report if r.quarter == "FY2027Q1"}
    m = rows[("international", "margin")]
    # exit margin (FY2026Q3-Q4) -2.9%; FY2026Q1 a year earlier -59 / 34,741 = -0.2%: the nearer
    assert m.reference == pytest.approx(-59 / 34_741, rel=1e-9)
    # 8%, less AIDC's share of new depreciation beyond its exit rate (0.1 x 0.07 of it: ~0.02pt)
    assert m.first == pytest.approx(0.08, abs=5e-4) and m.flagged and m.inputs == ("international.margin.start",)

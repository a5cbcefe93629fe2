"""Reported history: rows reach the model unchanged, structures are not mixed, and adding a
quarter of actuals moves the projection on by one quarter.

``reported.csv`` and ``segment_map.csv`` are read here with the csv module, independently
of :mod:`pivotmodel.history`, so the checks are not circular.
"""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from conftest import BUNDLED, col, copy_assumptions, sampled_values, values_with

import pivotmodel.assumptions as assumptions_mod
from pivotmodel.cli import main
from pivotmodel.model import project
from pivotmodel.periods import Quarter, parse_quarter

REVENUE_SEGMENTS = {
    "Consolidated": "group.revenue",
    "Alibaba China E-commerce Group": "china_ecommerce.revenue",
    "Cloud Intelligence Group": "cloud.revenue",
    "Alibaba International Digital Commerce Group": "international.revenue",
    "All others": "all_others.revenue",
}


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def reported_rows():
    relation = {r["segment"]: r["relation"] for r in read_csv(BUNDLED / "history" / "segment_map.csv")}
    rows = read_csv(BUNDLED / "history" / "reported.csv")
    return [r for r in rows if relation[r["segment"]] == "equals"]


@pytest.fixture(scope="module")
def base_projection(bundled):
    return project(bundled)


def test_last_reported_fy2026q4_cloud_revenue(base_projection):
    p = base_projection
    assert p["cloud.revenue"][0, col(p, "FY2026Q4")] == 41_626
    assert p["cloud.revenue"][0, col(p, "FY2026Q1")] == 33_398


def test_every_reported_quarter_of_segment_revenue_is_reproduced(reported_rows, base_projection):
    p = base_projection
    checked = 0
    for row in reported_rows:
        if row["metric"] != "revenue" or row["segment"] not in REVENUE_SEGMENTS or "Q" not in row["period"]:
            continue
        q = parse_quarter(row["period"])
        if q < p.timeline.first:
            continue
        series = REVENUE_SEGMENTS[row["segment"]]
        assert p[series][0, col(p, row["period"])] == float(row["value"]), (series, row["period"])
        checked += 1
    # group 12 quarters FY2024Q1-FY2026Q4, cloud 12, AIDC 11, China e-commerce 4, All others 4
    assert checked == 12 + 12 + 11 + 4 + 4


def test_quarters_without_a_reported_figure_are_nan(base_projection):
    p = base_projection
    assert np.isnan(p["china_ecommerce.revenue"][0, col(p, "FY2025Q4")])  # four-segment quarters start FY2026Q1
    assert np.isnan(p["international.revenue"][0, col(p, "FY2024Q2")])  # a gap in the reference
    assert np.isnan(p["all_others.adjusted_ebita"][0, col(p, "FY2026Q1")])  # not reported (Q4 is derived)


def test_part_of_rows_never_stand_for_a_model_segment(bundled, base_projection):
    # Taobao and Tmall Group CMR (71,100 in FY2025Q4) is part of China e-commerce, not its CMR
    assert math.isnan(bundled.history.value("china_ecommerce.cmr", Quarter(2025, 4)))
    # the seven-segment All others (-9,160) is not the four-segment one (-11,252)
    assert bundled.history.annual_value("all_others.adjusted_ebita", 2024) == -11_252
    assert base_projection.total("all_others.adjusted_ebita", "FY2024") == -11_252


def test_history_is_the_same_in_every_draw(bundled):
    p = project(bundled, sampled_values(bundled, 20, seed=3))
    split = col(p, "FY2027Q1")
    for name in ("cloud.revenue", "group.revenue", "group.fcf"):
        history = p[name][:, :split]
        np.testing.assert_array_equal(history, np.broadcast_to(history[0], history.shape))


def test_a_partial_year_is_never_passed_off_as_a_full_one(base_projection):
    p = base_projection
    # CY2025 = FY2025Q4..FY2026Q3; China e-commerce lacks FY2025Q4 and no CY annual row exists
    assert np.isnan(p.total("china_ecommerce.revenue", "CY2025"))
    # a range is not a fiscal year: the annual row does not fill it
    assert np.isnan(p.total("china_ecommerce.revenue", "FY2025Q1:FY2025Q4"))
    assert p.total("china_ecommerce.revenue", "FY2025") == 508_380


def annual_rows():
    """(series, year, value) of every FY2024/FY2025 revenue and EBITA row of the five segments."""
    out = []
    for row in read_csv(BUNDLED / "history" / "reported.csv"):
        if (
            row["period"] in ("FY2024", "FY2025")
            and row["segment"] in REVENUE_SEGMENTS
            and row["metric"] in ("revenue", "adjusted_ebita")
        ):
            prefix = REVENUE_SEGMENTS[row["segment"]].split(".")[0]
            out.append((f"{prefix}.{row['metric']}", row["period"], float(row["value"])))
    return sorted(out)


# FY2024 cloud quarters are seven-segment figures (DingTalk in Cloud until June 2024; they sum
# to 106,432 vs 106,374 restated), FY2025 AIDC and cloud EBITA quarters are partly rounded.
# Projection.total uses the annual row only when a quarter is missing, so these (A) columns
# disagree with the restated four-segment annuals of the FY2026 20-F.
# The restated annual rows win over quarterly sums, which may be on the seven-segment
# perimeter (cloud FY2024: 106,432 summed vs 106,374 restated) or rounded (AIDC FY2025).
@pytest.mark.parametrize("series, fy, expected", [pytest.param(s, fy, v, id=f"{s}-{fy}") for s, fy, v in annual_rows()])
def test_fy2024_fy2025_totals_are_the_restated_annual_rows(base_projection, series, fy, expected):
    assert base_projection.total(series, fy)[0] == expected


def test_there_are_restated_annual_rows_for_every_segment():
    found = {(s, fy) for s, fy, _ in annual_rows()}
    for prefix in ("group", "china_ecommerce", "cloud", "international", "all_others"):
        for fy in ("FY2024", "FY2025"):
            assert (f"{prefix}.revenue", fy) in found and (f"{prefix}.adjusted_ebita", fy) in found


def test_the_model_starts_after_the_last_reported_quarter(bundled, base_projection):
    p = base_projection
    last = bundled.history.last_quarter
    assert last == Quarter(2026, 4)
    assert p.first_projected == last + 1 == Quarter(2027, 1)
    assert p.timeline.first == Quarter(2024, 1) and p.timeline.last == bundled.horizon == Quarter(2031, 4)
    assert not p.is_projected("FY2026") and p.is_projected("FY2027") and p.is_projected("CY2026")
    projected = p["cloud.revenue"][0, col(p, "FY2027Q1") :]
    assert np.all(np.isfinite(projected)) and np.all(projected > 0)


# --- adding a quarter of actuals ----------------------------------------------------------------

SOURCE = "https://example.invalid/pivotmodel-test-fixture"
FY2027Q1_REVENUE = [
    ("Consolidated", "revenue", 262_000),
    ("Alibaba China E-commerce Group", "revenue", 150_000),
    ("Cloud Intelligence Group", "revenue", 45_000),
    ("Alibaba International Digital Commerce Group", "revenue", 37_000),
    ("All others", "revenue", 60_000),
]
FY2027Q1_SEED_ROWS = [
    ("Alibaba China E-commerce Group", "customer_management_revenue", 95_000),
    ("Alibaba China E-commerce Group", "quick_commerce_revenue", 20_000),
    ("Cloud Intelligence Group", "ai_related_product_revenue", 10_000),
]
FY2027Q1_CAPEX = [("Consolidated", "capex_purchase_of_ppe_fcf_table", 30_000)]


def append_quarter(directory, rows):
    path = directory / "history" / "reported.csv"
    with open(path, "a", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        for segment, metric, value in rows:
            writer.writerow(["FY2027Q1", segment, metric, value, "RMB_mn", "reported", SOURCE, "test row"])


def test_appending_a_quarter_moves_the_projection_on(tmp_path):
    directory = copy_assumptions(tmp_path)
    append_quarter(directory, FY2027Q1_REVENUE + FY2027Q1_SEED_ROWS + FY2027Q1_CAPEX)
    a = assumptions_mod.load(directory)  # rows only: no edit of any other file
    assert a.history.last_quarter == Quarter(2027, 1)
    # the FY2026Q1 AI seed is now outside the base quarters: it keeps standing for that past quarter
    # (an estimate row of the history, its median), with no warning to delete it
    assert not any(w.key == "cloud.ai_revenue.seed.FY2026Q1" for w in a.warnings)
    seed = a.seeds[("cloud.ai_revenue", Quarter(2026, 1))]
    assert a.history.value_or_estimate("cloud.ai_revenue", Quarter(2026, 1)) == seed.base_value
    assert math.isnan(a.history.value("cloud.ai_revenue", Quarter(2026, 1)))  # still not reported

    growth = {
        f"cloud.{s}.growth.{k}": 0.10
        for s in ("ai_revenue", "other_external_revenue", "internal_revenue")
        for k in ("start", "long_run")
    }
    p = project(a, values_with(a, {**growth, "cloud.supply.revenue_yield": 1e6}))
    assert p.first_projected == Quarter(2027, 2)
    assert p.timeline.last == Quarter(2031, 4)
    for segment, _, value in FY2027Q1_REVENUE:
        assert p[REVENUE_SEGMENTS[segment]][0, col(p, "FY2027Q1")] == value
    # the exit is now FY2027Q1's 45,000: cloud grows from it a quarter at a time, 1.1 ^ (1/4) a quarter
    assert p["cloud.revenue"][0, col(p, "FY2027Q2")] == pytest.approx(45_000 * 1.1**0.25, rel=1e-12)
    assert p["cloud.revenue"][0, col(p, "FY2028Q1")] == pytest.approx(1.1 * 45_000, rel=1e-12)
    year = 45_000 * (1 + 1.1**0.25 + 1.1**0.5 + 1.1**0.75)
    assert p.total("cloud.revenue", "FY2027")[0] == pytest.approx(year, rel=1e-12)


def test_appending_revenue_alone_asks_for_the_base_quarter_seeds(capsys, tmp_path):
    directory = copy_assumptions(tmp_path)
    append_quarter(directory, FY2027Q1_REVENUE + FY2027Q1_CAPEX)
    rc = main(["validate", "--assumptions", str(directory)])
    out, err = capsys.readouterr()
    assert rc == 2 and "Traceback" not in out + err
    for key in (
        "china_ecommerce.seed.cmr.FY2027Q1",
        "china_ecommerce.seed.quick_commerce_revenue.FY2027Q1",
        "cloud.seed.ai_revenue.FY2027Q1",
    ):
        assert f": {key}: " in err and "has no reported value for FY2027Q1" in err


def test_appending_a_quarter_without_capex_is_an_input_error(capsys, tmp_path):
    directory = copy_assumptions(tmp_path)
    append_quarter(directory, FY2027Q1_REVENUE + FY2027Q1_SEED_ROWS)
    rc = main(["project", "--assumptions", str(directory)])
    out, err = capsys.readouterr()
    assert rc == 2 and "Traceback" not in out + err
    assert "reported.csv" in err and "FY2027Q1" in err and "capex" in err


def test_appending_a_quarter_keeps_the_usd_table_complete(capsys, tmp_path):
    directory = copy_assumptions(tmp_path)
    append_quarter(directory, FY2027Q1_REVENUE + FY2027Q1_SEED_ROWS + FY2027Q1_CAPEX)
    assert main(["validate", "--assumptions", str(directory)]) == 0
    p = project(assumptions_mod.load(directory))
    assert np.isfinite(p.total_usd("cloud.revenue", "FY2027")[0])

"""A declared perimeter change (history/perimeter.csv): the Sun Art and Intime disposals.

The frozen copy with the recast FY2025 quarters (tests/fixtures/frozen_children) is copied to a
temporary folder and given the four rows below (the bundled rows, notes shortened). Every figure
asserted is worked out by hand from the fixture's rows in the comments.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import FROZEN_CHILDREN, edit_csv_row

import pivotmodel.assumptions as assumptions_mod
from pivotmodel.backtest import backtest_scores, summarise
from pivotmodel.cli import main
from pivotmodel.errors import InputError
from pivotmodel.model import project
from pivotmodel.periods import Quarter

Q = Quarter
LABEL = "assumptions/history/perimeter.csv"
HEADER = "period,segment,metric,value,unit,basis,source,note,spread,valid_from,published"
ROWS = [  # valid_from: Sun Art's sale announced 2025-01-01 (Intime's 2024-12-17); published: the release
    "FY2025Q1,All others,revenue,18098,RMB_mn,derived,https://www.itiger.com/news/2563043180,"
    '"243,236 - 247,652 / 1.10",1023,2025-01-01,2025-08-29',
    "FY2025Q2,All others,revenue,21029,RMB_mn,derived,https://markets.ft.com/x,"
    '"236,503 - 247,795 / 1.15",937,2025-01-01,2025-11-25',
    "FY2025Q3,All others,revenue,18830,RMB_mn,derived,https://www.eminnews.com/zh-hk/article/j00013,"
    '"280,154 - 284,843 / 1.09",1199,2025-01-01,2026-03-19',
    "FY2025Q4,All others,revenue,17193,RMB_mn,derived,https://markets.ft.com/y,"
    '"236,454 - 243,380 / 1.11",988,2025-01-01,2026-05-13',
]


def _write(folder: Path, rows: list[str], header: str = HEADER) -> Path:
    path = folder / "history" / "perimeter.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def folder(tmp_path) -> Path:
    out = tmp_path / "assumptions"
    shutil.copytree(FROZEN_CHILDREN, out)
    _write(out, ROWS)
    return out


def test_the_disposed_revenue_is_derived_from_the_like_for_like_growth():
    """disposed(FY2025Qk) = revenue(FY2025Qk) - revenue(FY2026Qk) / (1 + like-for-like growth), from the
    fixture's Consolidated rows; the reported growth it implies rounds to the printed one."""
    h = assumptions_mod.load(FROZEN_CHILDREN).history
    rows = {(r.period, r.metric): r.value for r in h.rows if r.segment == "Consolidated"}
    # by hand: 243,236 - 225,138 = 18,098; 236,503 - 215,474 = 21,029; 280,154 - 261,324 = 18,830;
    # 236,454 - 219,261 = 17,193
    for k, disposed, spread in [(1, 18_098, 1023), (2, 21_029, 937), (3, 18_830, 1199), (4, 17_193, 988)]:
        before, after = rows[(f"FY2025Q{k}", "revenue")], rows[(f"FY2026Q{k}", "revenue")]
        lfl = rows[(f"FY2026Q{k}", "revenue_lfl_yoy_pct")] / 100
        assert round(before - after / (1 + lfl)) == disposed
        assert round((after / before - 1) * 100) == rows[(f"FY2026Q{k}", "revenue_yoy_pct")]  # 2, 5, 2, 3
        # the whole-percent rounding of the like-for-like rate: +-0.5 point
        low, high = before - after / (1 + lfl - 0.005), before - after / (1 + lfl + 0.005)
        assert round((high - low) / 2) == spread


def test_an_as_of_run_after_the_announcement_projects_from_the_like_for_like_base(folder):
    a = assumptions_mod.load(folder, as_of=Q(2025, 4))  # results known by 2025-06-30, after 2025-01-01
    h = a.history
    # All others FY2025Q1 84,784 (estimate) - 18,098 = 66,686; group 243,236 - 18,098 = 225,138
    assert h.value("all_others.revenue", Q(2025, 1)) == 66_686
    assert h.value("group.revenue", Q(2025, 1)) == 225_138
    # FY2025Q4: 82,899 - 17,193 = 65,706; group 236,454 - 17,193 = 219,261
    assert h.value("all_others.revenue", Q(2025, 4)) == 65_706
    assert h.value("group.revenue", Q(2025, 4)) == 219_261
    assert h.quarterly["group.revenue"][Q(2025, 4)].basis == "derived"
    assert h.quarterly["all_others.revenue"][Q(2025, 4)].basis == "estimate"
    assert [c.quarter.label for c in h.restated] == ["FY2025Q1", "FY2025Q2", "FY2025Q3", "FY2025Q4"]
    assert h.value("all_others.adjusted_ebita", Q(2025, 1)) == -788  # no EBITA row: left as it was
    [warn] = [p for p in a.warnings if p.file == "history/perimeter.csv" and p.key.endswith("FY2025Q1")]
    assert (warn.key, warn.line, warn.level) == ("all_others.revenue.FY2025Q1", 2, "warn")
    assert warn.message == (
        "like-for-like base: 18,098 +- 1,023 of disposed businesses removed from all_others.revenue and "
        "group.revenue (disposal announced 2025-01-01); look-ahead in its size: derived from figures "
        "published 2025-08-29"
    )
    # as of FY2026Q1 the base is FY2025Q2..FY2026Q1: FY2025Q1 is outside it, FY2026Q1 is reported (new perimeter)
    h1 = assumptions_mod.load(folder, as_of=Q(2026, 1)).history
    assert h1.value("all_others.revenue", Q(2026, 1)) == 58_600
    assert h1.value("all_others.revenue", Q(2025, 2)) == 84_353 - 21_029 == 63_324
    assert h1.value("group.revenue", Q(2025, 1)) == 243_236  # not a base quarter: as reported
    assert len(h1.restated) == 3


def test_the_projection_grows_all_others_from_the_like_for_like_base(folder):
    """All others grows each quarter from the same quarter a year earlier, its children and residual
    by the same shares of it: the projected FY2026Q1 scales with the base, 66,686 / 84,784."""
    plain = project(assumptions_mod.load(FROZEN_CHILDREN, as_of=Q(2025, 4)))
    lfl = project(assumptions_mod.load(folder, as_of=Q(2025, 4)))
    col = plain.timeline.labels.index
    for k, base, disposed in [(1, 84_784, 18_098), (4, 82_899, 17_193)]:
        i = col(f"FY2026Q{k}")
        ratio = lfl["all_others.revenue"][0, i] / plain["all_others.revenue"][0, i]
        assert ratio == pytest.approx((base - disposed) / base, rel=1e-12)
    for series in ("china_ecommerce.revenue", "international.revenue"):
        assert np.array_equal(lfl[series], plain[series], equal_nan=True), series
    # cloud too over the backtest's horizons; after the capex plan the funding cap (capex / group
    # revenue) ties capex, and so cloud's capacity years later, to the group's smaller revenue
    end = col("FY2028Q4") + 1
    assert np.array_equal(lfl["cloud.revenue"][:, :end], plain["cloud.revenue"][:, :end], equal_nan=True)
    assert np.array_equal(lfl["group.capex"][:, :end], plain["group.capex"][:, :end], equal_nan=True)


def test_an_as_of_run_before_the_announcement_keeps_the_reported_base(folder):
    # announced after 2025-06-30, when FY2025Q4's results were known: not yet known then
    _write(folder, [r.replace("2025-01-01", "2025-08-29") for r in ROWS])
    a = assumptions_mod.load(folder, as_of=Q(2025, 4))
    h = a.history
    assert h.value("all_others.revenue", Q(2025, 1)) == 84_784
    assert h.value("group.revenue", Q(2025, 1)) == 243_236
    assert h.restated == () and len(h.perimeter_kept) == 4
    [warn] = [p for p in a.warnings if p.file == "history/perimeter.csv" and p.key.endswith("FY2025Q4")]
    assert warn.message == (
        "disposal announced 2025-08-29, after FY2025Q4's results were known (2025-06-30): "
        "the reported perimeter is kept (no look-ahead)"
    )
    # as of FY2026Q1 (results known by 2025-09-30) the disposal is known: 84,353 - 21,029
    assert assumptions_mod.load(folder, as_of=Q(2026, 1)).history.value("all_others.revenue", Q(2025, 2)) == 63_324


def test_the_ordinary_run_is_unchanged(folder):
    plain, declared = assumptions_mod.load(FROZEN_CHILDREN), assumptions_mod.load(folder)
    assert len(declared.history.perimeter) == 4 and declared.history.restated == ()
    for a in (declared, assumptions_mod.load(folder, as_of=Q(2026, 4))):  # --as-of the last quarter: the same
        p0, p1 = project(plain), project(a)
        assert sorted(p0.series) == sorted(p1.series)
        for series in p0.series:
            assert np.array_equal(p0[series], p1[series], equal_nan=True), series


def test_an_ebita_row_leaves_the_segment_and_the_group(folder):
    ebita = "FY2025Q4,All others,adjusted_ebita,-300,RMB_mn,derived,https://x,a loss,100,2025-01-01,2025-05-15"
    _write(folder, [*ROWS, ebita])
    h = assumptions_mod.load(folder, as_of=Q(2025, 4)).history
    # All others -5,336 (estimate) - (-300) = -5,036; group 32,616 - (-300) = 32,916
    assert h.value("all_others.adjusted_ebita", Q(2025, 4)) == -5_036
    assert h.value("group.adjusted_ebita", Q(2025, 4)) == 32_916


BAD = [
    (("source", ""), "source", "every row needs a source"),
    (("source", ""), "source", "every row needs a source"),  # with a bad date too (below): still one message
    (
        ("segment", "Consolidated"),
        "segment",
        "'Consolidated': a disposal leaves one of the model's segments (the group follows it); valid: "
        "Alibaba China E-commerce Group, Alibaba International Digital Commerce Group, All others, "
        "Cloud Intelligence Group",
    ),
    (
        ("value", "0"),
        "value",
        "'0': the revenue of the disposed businesses in the quarter, > 0 (an acquisition is not modelled)",
    ),
    (("value", "90000"), "value", "90,000 is not below all_others.revenue in FY2025Q2 (84,353)"),
    (
        ("metric", "customer_management_revenue"),
        "metric",
        "'customer_management_revenue' in 'RMB_mn': valid are revenue or adjusted_ebita, in RMB_mn",
    ),
    (("spread", "-1"), "spread", "'-1' is not a number >= 0 (the +- half-width, RMB million)"),
    (("spread", "inf"), "spread", "'inf' is not a number >= 0 (the +- half-width, RMB million)"),
    (("valid_from", "soon"), "valid_from", "'soon' is not a date like 2025-01-01 (when the disposal was announced)"),
    (
        ("published", "2025-13-01"),
        "published",
        "'2025-13-01' is not a date like 2025-01-01 (when the figures it rests on came out)",
    ),
    (("period", "FY2025"), "period", "'FY2025' is not a quarter like FY2025Q3 (one row per quarter of the base)"),
    (
        ("period", "FY2025Q1"),
        "period,segment,metric",
        "duplicate row ('FY2025Q1', 'All others', 'revenue') (first on line 2)",
    ),
]


@pytest.mark.parametrize("case", range(len(BAD)))
def test_a_malformed_row_gives_one_message_with_file_line_and_key(folder, case):
    (column, value), key, message = BAD[case]
    changes = {column: value, **({"valid_from": "soon"} if case == 1 else {})}
    edit_csv_row(folder / "history" / "perimeter.csv", 1, changes)  # the FY2025Q2 row, line 3
    with pytest.raises(InputError) as exc:
        assumptions_mod.load(folder)
    assert [(p.file, p.key, p.line, p.message) for p in exc.value.problems] == [(LABEL, key, 3, message)]


def test_a_malformed_row_exits_2_without_a_traceback(folder, capsys):
    _write(folder, [ROWS[0], ROWS[1].replace("2025-01-01", "Jan 2025")])
    assert main(["validate", "--assumptions", str(folder)]) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert f"{LABEL}:3: valid_from: 'Jan 2025' is not a date like 2025-01-01 (when the disposal was announced)" in err


def test_a_missing_column_is_named(folder):
    _write(folder, [",".join(r.rsplit(",", 1)[:1]) for r in ROWS], header=HEADER.rsplit(",", 1)[0])
    with pytest.raises(InputError) as exc:
        assumptions_mod.load(folder)
    [p] = exc.value.problems
    assert (p.file, p.key, p.line) == (LABEL, "published", 1)
    assert p.message == f"missing column(s) published; the header must be: {HEADER}"


def test_backtest_scores_all_others_on_the_like_for_like_base(folder):
    opts = {"draws": 200, "seed": 3, "method": "mc"}
    plain, _ = backtest_scores(FROZEN_CHILDREN, None, Q(2025, 4), 4, opts, 1)
    lfl, _ = backtest_scores(folder, None, Q(2025, 4), 4, opts, 1)
    notes = lfl.attrs["as_of_inputs"]
    assert notes["FY2025Q4"]["restated"][0] == "all_others.revenue.FY2025Q1 -18,098 (size look-ahead)"
    assert len(notes["FY2025Q4"]["restated"]) == 4 and len(notes["FY2026Q3"]["restated"]) == 1
    crps = lambda s, series: summarise(s).loc[(series, "model"), "crps_mean"]  # noqa: E731
    # the disposed revenue (17-21bn a quarter) is most of the old error on All others and the group
    assert crps(lfl, "all_others.revenue") < 0.25 * crps(plain, "all_others.revenue")
    assert crps(lfl, "group.revenue") < 0.5 * crps(plain, "group.revenue")
    for series in ("china_ecommerce.revenue", "cloud.revenue", "international.revenue"):
        assert crps(lfl, series) == crps(plain, series), series


def test_the_backtest_lines_name_the_restated_and_the_kept_quarters():
    from pivotmodel.cli.backtest import _input_lines

    notes = {
        "FY2025Q2": {
            "on_estimates": [],
            "later_inputs": [],
            "restated": [],
            "perimeter_kept": ["all_others.revenue.FY2025Q1"],
        },
        "FY2025Q4": {"on_estimates": [], "later_inputs": [], "restated": ["all_others.revenue.FY2025Q4 -17,193"]},
    }
    assert _input_lines(notes) == [
        "as of FY2025Q2: 0 base-quarter figures on estimates (history/estimates.csv); 0 hand-set inputs with a "
        "source dated after its results were known (look-ahead); disposals not yet announced, reported perimeter "
        "kept: all_others.revenue.FY2025Q1",
        "as of FY2025Q4: 0 base-quarter figures on estimates (history/estimates.csv); 0 hand-set inputs with a "
        "source dated after its results were known (look-ahead); like-for-like base (history/perimeter.csv), "
        "disposed businesses removed: all_others.revenue.FY2025Q4 -17,193",
    ]

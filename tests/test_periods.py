"""Fiscal quarters, fiscal and calendar years, ranges, timelines and year aggregation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pivotmodel.periods import (
    PeriodError,
    Quarter,
    Timeline,
    parse_period,
    parse_quarter,
    ratio_of_sums,
)

quarters = st.builds(Quarter, st.integers(2000, 2100), st.integers(1, 4))


# --- quarters ---------------------------------------------------------------------------


def test_fy2026q1_is_the_quarter_ended_30_june_2025():
    q = parse_quarter("FY2026Q1")
    assert (q.fiscal_year, q.q) == (2026, 1)
    assert q.quarter_end == "2025-06-30"
    assert q.calendar_year == 2025


@pytest.mark.parametrize(
    "label, end",
    [("FY2026Q2", "2025-09-30"), ("FY2026Q3", "2025-12-31"), ("FY2026Q4", "2026-03-31")],
)
def test_quarter_ends(label, end):
    assert parse_quarter(label).quarter_end == end


def test_quarter_arithmetic_crosses_the_fiscal_year():
    assert parse_quarter("FY2026Q4") + 1 == Quarter(2027, 1)
    assert parse_quarter("FY2027Q1") + (-1) == Quarter(2026, 4)
    assert parse_quarter("FY2026Q3") + 8 == Quarter(2028, 3)
    assert parse_quarter("FY2027Q1").index - parse_quarter("FY2026Q2").index == 3


def test_parse_quarter_strips_whitespace():
    assert parse_quarter("  FY2026Q2 ") == Quarter(2026, 2)


@given(quarters)
def test_quarter_label_and_index_round_trip(q):
    assert parse_quarter(q.label) == q
    assert Quarter.from_index(q.index) == q
    assert (q + 4).fiscal_year == q.fiscal_year + 1 and (q + 4).q == q.q


@pytest.mark.parametrize("bad", ["FY26Q1", "FY2026Q5", "FY2026Q0", "fy2026q1", "2026Q1", "FY2026", ""])
def test_bad_quarter_label_raises_period_error_with_an_example(bad):
    with pytest.raises(PeriodError, match=r"is not a fiscal quarter like FY2026Q2"):
        parse_quarter(bad)


def test_period_error_is_a_value_error():
    assert issubclass(PeriodError, ValueError)


# --- periods ----------------------------------------------------------------------------


def test_fiscal_year_is_april_to_march():
    p = parse_period("FY2026")
    assert p.kind == "fy"
    assert [q.label for q in p.quarters()] == ["FY2026Q1", "FY2026Q2", "FY2026Q3", "FY2026Q4"]
    assert p.first.quarter_end == "2025-06-30" and p.last.quarter_end == "2026-03-31"


def test_cy2026_is_fy2026q4_to_fy2027q3():
    p = parse_period("CY2026")
    assert p.kind == "cy"
    assert [q.label for q in p.quarters()] == ["FY2026Q4", "FY2027Q1", "FY2027Q2", "FY2027Q3"]
    assert p.first.quarter_end == "2026-03-31" and p.last.quarter_end == "2026-12-31"


def test_single_quarter_period():
    p = parse_period("FY2027Q3")
    assert p.kind == "quarter" and p.first == p.last == Quarter(2027, 3)


def test_range_period():
    p = parse_period("FY2026Q1:FY2028Q4")
    assert p.kind == "range"
    assert len(p.quarters()) == 12
    assert p.first == Quarter(2026, 1) and p.last == Quarter(2028, 4)


def test_range_of_one_quarter_is_allowed():
    assert parse_period("FY2026Q4:FY2026Q4").quarters() == [Quarter(2026, 4)]


def test_range_that_ends_before_it_starts():
    with pytest.raises(PeriodError, match=r"'FY2027Q1:FY2026Q4' ends before it starts"):
        parse_period("FY2027Q1:FY2026Q4")


def test_range_with_a_bad_end_names_the_bad_part():
    with pytest.raises(PeriodError, match=r"'FY2026Q9' is not a fiscal quarter"):
        parse_period("FY2026Q1:FY2026Q9")


@pytest.mark.parametrize("bad", ["FY26", "CY26", "2026", "fy2026", "FY2026H1", "Q1 2026", "FY2026Q5"])
def test_bad_period_label_lists_every_valid_form(bad):
    with pytest.raises(PeriodError) as info:
        parse_period(bad)
    msg = str(info.value)
    assert repr(bad) in msg
    for example in ("FY2026Q2", "FY2026", "CY2026", "FY2026Q1:FY2028Q4"):
        assert example in msg


@pytest.mark.parametrize(
    "label, years, expected",
    [
        ("FY2027", -1, "FY2026"),
        ("CY2026", -1, "CY2025"),
        ("FY2027Q2", 2, "FY2029Q2"),
        ("FY2026Q1:FY2026Q3", -1, "FY2025Q1:FY2025Q3"),
    ],
)
def test_shifted_years(label, years, expected):
    shifted = parse_period(label).shifted_years(years)
    assert shifted.label == expected
    assert shifted.kind == parse_period(label).kind


@given(st.integers(2001, 2100))
def test_every_year_has_four_consecutive_quarters(year):
    for label in (f"FY{year}", f"CY{year}"):
        qs = parse_period(label).quarters()
        assert len(qs) == 4
        assert [q.index for q in qs] == list(range(qs[0].index, qs[0].index + 4))
    # each calendar-year quarter ends in that calendar year
    assert {q.quarter_end[:4] for q in parse_period(f"CY{year}").quarters()} == {str(year)}


# --- timelines --------------------------------------------------------------------------


@pytest.fixture
def timeline():
    return Timeline.between("FY2024Q1", "FY2026Q4")  # 12 quarters


def test_timeline_length_labels_and_positions(timeline):
    assert len(timeline) == 12
    assert timeline.labels[0] == "FY2024Q1" and timeline.labels[-1] == "FY2026Q4"
    assert timeline.position(Quarter(2025, 3)) == 6


def test_timeline_that_ends_before_it_starts():
    with pytest.raises(PeriodError, match="ends"):
        Timeline.between("FY2026Q1", "FY2025Q4")


def test_position_outside_timeline(timeline):
    with pytest.raises(PeriodError, match=r"FY2027Q1 is outside the timeline FY2024Q1..FY2026Q4"):
        timeline.position(Quarter(2027, 1))


def test_year_totals_by_hand(timeline):
    series = np.arange(1.0, 13.0)  # FY2024Q1 = 1, ..., FY2026Q4 = 12
    assert timeline.total(series, parse_period("FY2024")) == 1 + 2 + 3 + 4
    assert timeline.total(series, parse_period("FY2025")) == 5 + 6 + 7 + 8
    # CY2025 = FY2025Q4 .. FY2026Q3 = positions 7..10
    assert timeline.total(series, parse_period("CY2025")) == 8 + 9 + 10 + 11
    assert timeline.total(series, parse_period("FY2025Q2:FY2026Q1")) == 6 + 7 + 8 + 9
    assert timeline.total(series, parse_period("FY2026Q2")) == 10


def test_totals_keep_the_draw_axis(timeline):
    series = np.vstack([np.ones(12), 2 * np.ones(12)])  # two draws
    out = timeline.totals(series, timeline.year_periods("fy"))
    np.testing.assert_array_equal(out, [[4, 4, 4], [8, 8, 8]])


def test_period_outside_timeline_raises(timeline):
    with pytest.raises(PeriodError, match=r"FY2027 is outside the model's timeline FY2024Q1..FY2026Q4"):
        timeline.total(np.zeros(12), parse_period("FY2027"))
    # CY2023 needs FY2023Q4, one quarter before the timeline starts
    with pytest.raises(PeriodError, match="CY2023"):
        timeline.total(np.zeros(12), parse_period("CY2023"))


def test_only_complete_years_are_listed(timeline):
    assert timeline.fiscal_years() == [2024, 2025, 2026]
    assert timeline.calendar_years() == [2024, 2025]  # CY2023 lacks FY2023Q4, CY2026 FY2027Q1-Q3
    assert timeline.calendar_years(complete=False) == [2023, 2024, 2025, 2026]
    assert [p.label for p in timeline.year_periods("cy")] == ["CY2024", "CY2025"]
    with pytest.raises(PeriodError, match="'fy' or 'cy'"):
        timeline.year_periods("quarterly")


def test_nan_in_one_history_quarter_makes_the_year_total_nan(timeline):
    series = np.arange(1.0, 13.0)
    series[5] = np.nan  # FY2025Q2 not reported
    assert np.isnan(timeline.total(series, parse_period("FY2025")))
    assert np.isnan(timeline.total(series, parse_period("CY2024")))  # FY2024Q4..FY2025Q3
    assert timeline.total(series, parse_period("FY2024")) == 10  # other years unaffected
    assert timeline.total(series, parse_period("FY2026")) == 9 + 10 + 11 + 12


@settings(max_examples=50)
@given(st.lists(st.floats(-1e6, 1e6), min_size=12, max_size=12))
def test_sum_of_fiscal_years_is_the_total_of_the_range(values):
    t = Timeline.between("FY2024Q1", "FY2026Q4")
    series = np.array(values)
    years = t.totals(series, t.year_periods("fy"))
    assert years.sum() == pytest.approx(t.total(series, parse_period("FY2024Q1:FY2026Q4")), abs=1e-6)


# --- ratios of sums ---------------------------------------------------------------------


def test_ratio_of_sums_is_not_the_mean_of_ratios():
    t = Timeline.between("FY2026Q1", "FY2026Q4")
    revenue = np.array([100.0, 300.0, 100.0, 500.0])
    ebita = np.array([10.0, 90.0, 10.0, 50.0])  # margins 10%, 30%, 10%, 10%: mean 15%
    year = parse_period("FY2026")
    margin = ratio_of_sums(t.total(ebita, year), t.total(revenue, year))
    assert margin == pytest.approx(160.0 / 1000.0)  # 16%
    assert margin != pytest.approx(np.mean(ebita / revenue))  # 15%


def test_ratio_of_sums_is_nan_for_a_zero_or_missing_denominator():
    out = ratio_of_sums(np.array([1.0, 1.0, np.nan, 3.0]), np.array([0.0, np.nan, 2.0, 4.0]))
    assert np.isnan(out[0]) and np.isnan(out[1]) and np.isnan(out[2])
    assert out[3] == 0.75


def test_ratio_of_sums_broadcasts_draws():
    out = ratio_of_sums(np.array([[1.0], [2.0]]), np.array([4.0]))
    np.testing.assert_array_equal(out, [[0.25], [0.5]])

"""Plausibility checks on history/reported.csv (issue 9, item 6): signs, sizes, neighbours,
quarters against the year, and Excel's byte-order mark.

Each broken kind is a fixture ``tests/fixtures/bad/history_<kind>/reported_rows.csv``: rows
(with the header) that replace the rows of the same period, segment and metric in a copy of
the bundled file, so the fixture stays small and current as quarters are appended.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from conftest import FIXTURES, line_of
from test_assumptions import validate_fails

from pivotmodel.cli import main
from pivotmodel.errors import Problem
from pivotmodel.history import Row
from pivotmodel.history_checks import check_rows

CLOUD_Q4 = "FY2026Q4,Cloud Intelligence Group,revenue,"
REPORTED = "assumptions/history/reported.csv"


def overlay_rows(kind: str, directory: Path) -> int:
    """Replace rows of ``directory``'s reported.csv by those of the fixture; return the line
    of the (first) replaced row."""
    path = directory / "history" / "reported.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    with open(FIXTURES / "bad" / kind / "reported_rows.csv", newline="", encoding="utf-8") as fh:
        new = list(csv.reader(fh))[1:]
    lines = []
    for replacement in new:
        i = next(i for i, r in enumerate(rows) if r[:3] == replacement[:3])
        rows[i] = replacement
        lines.append(i + 1)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return lines[0]


def validate_warns(capsys, directory: Path) -> list[str]:
    assert main(["validate", "--assumptions", str(directory)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("OK: ") and "Traceback" not in err
    # left out: claims decided by inputs (the bundled register has some, warned about on every
    # run) and boundary steps, which a planted history figure also causes (issue 8)
    return [line for line in err.splitlines() if not line.startswith(("warning: claim ", "warning: boundary: "))]


@pytest.mark.parametrize(
    "kind, message",
    [
        (
            "history_unit_slip",
            "value: 4.1626e+09 RMB_mn for FY2026Q4 Cloud Intelligence Group revenue is beyond any plausible "
            "figure (limit 1e+08 in absolute value) - is it in RMB rather than RMB million?",
        ),
        (
            "history_overflow",
            "value: 1e+308 RMB_mn for FY2026Q4 Cloud Intelligence Group revenue is beyond any plausible figure",
        ),
        ("history_negative_revenue", "value: -41626: revenue is never negative (FY2026Q4 Cloud Intelligence Group)"),
        ("history_nan_text", "value: 'nan' is not a finite number (RMB million, no thousands separators)"),
    ],
)
def test_impossible_history_values_are_errors_with_file_and_line(capsys, assumptions_copy, kind, message):
    line = overlay_rows(kind, assumptions_copy)
    err = validate_fails(capsys, assumptions_copy)
    assert f"{REPORTED}:{line}: {message}" in err


@pytest.mark.parametrize("value", ["inf", "-Infinity", "1e309", "NaN"])
def test_non_finite_text_is_rejected(capsys, assumptions_copy, value):
    path = assumptions_copy / "history" / "reported.csv"
    line = line_of(path, CLOUD_Q4)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(CLOUD_Q4 + "41626,", CLOUD_Q4 + value + ","), encoding="utf-8")
    err = validate_fails(capsys, assumptions_copy)
    assert f"{REPORTED}:{line}: value: '{value}' is not a finite number" in err


def test_an_extra_digit_is_an_error_above_the_group_and_warned_against_neighbours(capsys, assumptions_copy):
    line = overlay_rows("history_extra_digit", assumptions_copy)
    err = validate_fails(capsys, assumptions_copy)
    # the segment's quarter (416,260) above the whole group's (243,380): an error (issue 24)
    assert (
        f"  {REPORTED}:{line}: value: FY2026Q4 Cloud Intelligence Group revenue = 416,260 is above the group's "
        "revenue of the quarter (243,380): a unit slip (RMB thousand?) or a typo"
    ) in err
    assert err.startswith("pivotmodel: 1 problem in the inputs:")  # 416,260 / 43,284 = 9.6x: not 10x every neighbour


def test_four_quarters_against_the_annual_row(capsys, assumptions_copy):
    overlay_rows("history_quarters_vs_year", assumptions_copy)
    year = line_of(assumptions_copy / "history" / "reported.csv", "FY2026,Cloud Intelligence Group,revenue,")
    err = validate_warns(capsys, assumptions_copy)
    # 44,000 - 41,626 = 2,374 over 158,132: +1.5%, beyond 1%; within 3x of its neighbours
    assert err == [
        f"warning: {REPORTED}:{year}: value: FY2026 Cloud Intelligence Group revenue: the four quarters add up to "
        "160,506, the year's row says 158,132 (+1.5%; more than 1% apart)"
    ]


def test_a_byte_order_mark_is_read_as_normal(capsys, assumptions_copy):
    for name in ("reported.csv", "segment_map.csv"):
        path = assumptions_copy / "history" / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert main(["validate", "--assumptions", str(assumptions_copy)]) == 0
    out, err = capsys.readouterr()
    assert (
        "589 history rows to FY2026Q4" in out
    )  # 564 + All others FY2026Q4 (derived, issue 8) + 10 EPS and share rows (issue 20) + 14 reported-year
    # rows (issue 20: 4 ordinary-shareholder annual lines, FY2026Q3 derived, 9 EPS, share and NCI rows)
    # only what the bundled files always warn about: claims decided by inputs, boundary steps
    assert all(line.startswith(("warning: claim ", "warning: boundary: ")) for line in err.splitlines())


def row(
    period: str,
    value: float,
    metric: str = "revenue",
    segment: str = "Cloud Intelligence Group",
    unit: str = "RMB_mn",
    line: int = 2,
) -> Row:
    return Row(period, segment, metric, value, unit, "reported", "src", "", line)


RELATION = {
    "Cloud Intelligence Group": ("cloud", "equals"),
    "Inter-segment elimination": ("group.elimination", "equals"),
}


def test_check_rows_by_hand():
    quarters = [row(f"FY2026Q{k}", v, line=k) for k, v in enumerate([100.0, 110.0, 120.0, 130.0], 1)]
    assert check_rows(quarters + [row("FY2026", 460.0, line=9)], RELATION, "r.csv") == []
    # 1% of the year's 455.5 is 4.555: a sum of 460 is 4.5 away (fine); against 455 it is 5 away
    assert check_rows(quarters + [row("FY2026", 455.5, line=9)], RELATION, "r.csv") == []
    [p] = check_rows(quarters + [row("FY2026", 455.0, line=9)], RELATION, "r.csv")
    assert p.level == "warn" and p.line == 9 and "add up to 460, the year's row says 455 (+1.1%" in p.message
    # the band is 3x against every neighbour that exists: with only two quarters both are suspects
    assert check_rows([row("FY2026Q1", 100.0), row("FY2026Q2", 300.0)], RELATION, "r.csv") == []
    flagged = check_rows([row("FY2026Q1", 100.0, line=2), row("FY2026Q2", 301.0, line=3)], RELATION, "r.csv")
    assert [(p.line, p.level) for p in flagged] == [(2, "warn"), (3, "warn")]
    # a quarter 3x off one neighbour but not the other (Q2: 3.5x Q1, within 3x of Q3) is not flagged;
    # Q1, whose only neighbour is Q2, is
    [p] = check_rows(
        [row("FY2026Q1", 100.0, line=2), row("FY2026Q2", 350.0, line=3), row("FY2026Q3", 300.0, line=4)],
        RELATION,
        "r.csv",
    )
    assert p.line == 2
    # in a longer series only the quarter off all of its neighbours and the year-earlier quarter is
    series = [row(f"FY{y}Q{k}", 100.0 + k, line=4 * (y - 2025) + k) for y in (2025, 2026) for k in (1, 2, 3, 4)]
    series[5] = row("FY2026Q2", 1000.0, line=6)
    [p] = check_rows(series, RELATION, "r.csv")
    assert p.line == 6 and "= 1,000 is more than 3x away from FY2026Q1 101, FY2026Q3 103, FY2025Q2 102" in p.message


@pytest.mark.parametrize(
    "r, message",
    [
        (
            row("FY2026Q1", 5.0, segment="Inter-segment elimination"),
            "inter-segment elimination of revenue is never positive",
        ),
        (
            row("FY2026Q1", -1.0, metric="depreciation_and_amortization"),
            "depreciation_and_amortization is never negative",
        ),
        (
            row("FY2026Q1", 101.0, metric="share_of_consolidated_revenue_pct", unit="pct"),
            "a share in percent, within [0, 100]",
        ),
        (
            row("FY2026Q1", 0.0, metric="usd_rmb_rate_implied", unit="RMB_per_USD"),
            "an exchange rate (RMB per US$) is positive",
        ),
        (
            row("FY2026Q1", -2.0, metric="ai_revenue_triple_digit_consecutive_quarters", unit="count"),
            "is never negative",
        ),
    ],
)
def test_signs_by_metric_are_errors(r, message):
    [p] = check_rows([r], RELATION, "r.csv")
    assert p.level == "error" and message in p.message


def test_profits_and_costs_may_be_negative_and_a_profit_beyond_revenue_warns():
    rows = [
        row("FY2026Q1", 100.0),
        row("FY2026Q1", -30.0, metric="adjusted_ebita"),
        row("FY2026Q1", -80.0, metric="cost_of_revenue"),
        row("FY2026Q1", -20.0, metric="revenue_yoy_pct", unit="pct"),
    ]
    assert check_rows(rows, RELATION, "r.csv") == []
    [p] = check_rows(rows + [row("FY2026Q1", -3000.0, metric="free_cash_flow", line=7)], RELATION, "r.csv")
    assert p == Problem(
        "r.csv",
        "value",
        "FY2026Q1 Cloud Intelligence Group free_cash_flow = -3,000 is larger in size "
        "than the segment's revenue (100): a typo or a unit slip?",
        7,
        level="warn",
    )

"""A reported line whose release figure is not in the history, standing on a dated estimate
(``history/estimates.csv``): FY2026Q3 non-GAAP net income (issue 20).

The row is written here on a copy of the frozen tree (which has no estimates.csv), with the
bundled folder's value and spread: 16,179 +- 10,517 RMB mn. Every figure below is worked by hand
from that row and the frozen history rows (reported.csv): FY2026 non-GAAP net income by quarter
33,510 / 10,352 / (estimate) / 86; net income 42,382 / 20,612 / 15,631 / 23,502.
"""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
from conftest import FROZEN_CHILDREN, copy_assumptions

import pivotmodel.assumptions as assumptions_mod
from pivotmodel.claim_status import claim_statuses
from pivotmodel.claims import Claim, parse_test
from pivotmodel.cli import main
from pivotmodel.model import project
from pivotmodel.periods import Quarter

Q3 = Quarter(2026, 3)
NG = "group.non_gaap_net_income"
ROW = (
    "FY2026Q3,Consolidated,non_gaap_net_income,16179,RMB_mn,estimate,"
    "https://www.sec.gov/Archives/edgar/data/1577552/000110465926032060/tm269353d1_ex99-1.htm,"
    '"estimate: bottom-up 28,383 less 12,204 of investment gains = 16,179",10517,2026-05-20\n'
)
HEADER = "period,segment,metric,value,unit,basis,source,note,spread,valid_from\n"
NGNI_FY2026 = 33_510 + 10_352 + 16_179 + 86  # = 60,127
NI_FY2026 = 42_382 + 20_612 + 15_631 + 23_502  # = 102,127


def _with_estimate(directory):
    path = directory / "history" / "estimates.csv"
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    path.write_text(text + ROW, encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return _with_estimate(copy_assumptions(tmp_path_factory.mktemp("gap")))


@pytest.fixture(scope="module")
def a(folder):
    return assumptions_mod.load(folder)


def test_the_estimate_row_loads_with_its_spread_and_basis_and_stands_for_the_gap(a, bundled):
    row = a.history.estimates["group.non_gaap_net_income"][Q3]
    assert (row.value, row.spread, row.basis, row.valid_from) == (16_179, 10_517, "estimate", "2026-05-20")
    assert row.segment == "Consolidated" and row.line == 2
    assert math.isnan(a.history.value("group.non_gaap_net_income", Q3))  # not reported: a gap
    assert a.history.value_or_estimate("group.non_gaap_net_income", Q3) == 16_179
    assert a.history.estimated_cells() == {("group.non_gaap_net_income", Q3): row}
    assert bundled.history.estimated_cells() == {}  # the frozen tree: no estimates.csv


def test_fy2026_non_gaap_net_income_is_the_sum_of_its_four_quarters_and_the_projection_does_not_move(a, bundled):
    p, before = project(a), project(bundled)
    assert NGNI_FY2026 == 60_127
    assert float(p.total("group.non_gaap_net_income", "FY2026")[0]) == NGNI_FY2026
    assert np.isnan(before.total("group.non_gaap_net_income", "FY2026")).all()  # without it: a gap, n/a
    for name in ("group.non_gaap_net_income", "group.net_income", "group.eps_non_gaap_ads"):
        for year in ("FY2027", "FY2031"):  # a past quarter's estimate changes no projected figure
            assert float(p.total(name, year)[0]) == float(before.total(name, year)[0]), (name, year)


def _row(out: str, label: str) -> list[str]:
    line = next(x for x in out.splitlines() if label in x and not x.startswith(" " * 2 + "FY"))
    return line.split(label)[1].replace(" (e)", "(e)").replace(" (d)", "(d)").split()


def test_the_project_table_marks_the_estimated_cell_alone_and_footnotes_it(folder, capsys):
    assert main(["project", "--assumptions", str(folder)]) == 0
    out = capsys.readouterr().out
    table = out.split("n/a: not reported")[0]
    cells = _row(out, "Non-GAAP net income (RMB bn)")
    assert cells[:4] == ["n/a", "158.1", "60.1(e)", cells[3]]  # 60,127 / 1,000 = 60.1
    assert table.count("(e)") == 1  # no reported cell (FY2024-FY2025, GAAP lines, EPS) is marked
    assert "(e): includes an estimate for a quarter whose release figure is not in the stored pages" in out
    assert (
        "FY2026 (A) Non-GAAP net income (RMB bn): FY2026Q3 is an estimate, not the release figure: "
        "16.2 +- 10.5 RMB bn (5.7 to 26.7; history/estimates.csv line 2)" in out
    )
    assert main(["project", "--assumptions", str(folder), "--basis", "quarter"]) == 0
    out = capsys.readouterr().out
    assert _row(out, "Non-GAAP net income (RMB bn)")[:4] == ["33.5", "10.4", "16.2(e)", "0.1"]
    assert "FY2026Q3 (A) Non-GAAP net income (RMB bn): FY2026Q3 is an estimate" in out


def test_marked_cells_names_the_estimate_and_the_derived_row(a):
    from pivotmodel.earnings_table import marked_cells
    from pivotmodel.tables import year_columns

    cells = marked_cells(a.history, year_columns(project(a)))
    assert [(item, col, m) for item, col, m, _ in cells] == [
        ("Basic EPS, GAAP, reported only (RMB per ADS)", "FY2026 (A)", "d"),
        ("Non-GAAP net income (RMB bn)", "FY2026 (A)", "e"),
    ]


def test_the_bridge_shows_fy2026_non_gaap_lines_marked(folder, capsys):
    assert main(["project", "--assumptions", str(folder), "--bridge"]) == 0
    out = capsys.readouterr().out
    assert _row(out, "Non-GAAP net income attributable (derived: + NCI line)")[0] == "63.9(e)"  # 60,127 + NCI 3,777
    assert _row(out, "Non-GAAP net income ")[0] == "60.1(e)"
    # adjustments: FY2026Q3's line is missing, so non-GAAP less GAAP net income: 60,127 - 102,127 = -42,000
    assert NGNI_FY2026 - NI_FY2026 == -42_000
    assert _row(out, "Non-GAAP adjustments")[0] == "-42.0(e)"
    assert _row(out, "Net income attributable to ordinary shareholders")[0] == "105.9"  # reported: unmarked
    assert "FY2026 Non-GAAP adjustments: computed (non-GAAP net income - net income) from a line with an estimate" in (
        out
    )


def test_a_claim_reading_fy2026_non_gaap_net_income_is_on_estimates(a):
    def claim(cid, test):
        return Claim(cid, "", {}, "", test, parse_test(test))

    st = claim_statuses(
        a,
        [
            claim("ngni_fy2026", "sum(group.non_gaap_net_income, FY2026) >= 50000"),
            claim("ngni_fy2025", "sum(group.non_gaap_net_income, FY2025) >= 50000"),
            claim("ngni_fy2027_yoy", "yoy(group.non_gaap_net_income, FY2027) >= 0"),  # reads FY2026 as its base
        ],
    )
    assert st["ngni_fy2026"].label == "on estimates"
    assert st["ngni_fy2026"].reason == (
        "reads quarters Alibaba did not report in RMB or whose release figure is not in the history, "
        "filled by sourced estimates (group.non_gaap_net_income FY2026Q3)"
    )
    assert st["ngni_fy2027_yoy"].label == "on estimates"
    assert st["ngni_fy2025"].label == "reported"  # four reported quarters: settled by history


def test_a_forecast_rebased_on_the_estimated_base_is_marked(folder, a, tmp_path):
    from pivotmodel.cli.consensus import format_table
    from pivotmodel.consensus import base_actuals, estimated_reads, load_consensus, metric_draws, place

    (folder / "consensus.yaml").write_text(
        "consensus:\n"
        '  last_results: {quarter: FY2026Q4, released: 2026-05-13, url: "https://example.org/results"}\n'
        "  forecasts:\n"
        + "".join(
            f'    - {{id: {fid}, who: {who}, date: 2026-01-10, date_basis: stated, words: "w", '
            f'url: "https://example.org/{fid}", metric: "{metric}", value: {value}, unit: RMB_bn, '
            f'definition: {{attributable: n/a, gaap: n/a, currency: RMB}}, base: {{metric: "{base}", value: {bv}}}}}\n'
            for fid, who, metric, value, base, bv in (
                ("ng", "A", f"sum({NG}, FY2027)", 140.0, f"sum({NG}, FY2026)", 92.4),
                ("rev", "B", "sum(group.revenue, FY2027)", 1150.0, "sum(group.revenue, FY2026)", 1000.0),
            )
        ),
        encoding="utf-8",
    )
    a2 = assumptions_mod.load(folder)
    c = load_consensus(a2)
    metrics, _ = metric_draws(a2, c, 40, 1, "mc")
    p = project(a2)
    table = place(c, metrics, base_actuals(c, p), estimated_reads(c, p, a2.history))
    ng, rev = table.loc["ng"], table.loc["rev"]
    # by hand: the broker's growth 140 / 92.4 on the estimated actual 60.127 = 91.10; the miss: 140 + (60.127 - 92.4)
    assert ng["rebased_growth"] == pytest.approx(140 / 92.4 * 60.127)
    assert ng["rebased_additive"] == pytest.approx(107.727)
    assert ng["base_on_estimates"] == "group.non_gaap_net_income FY2026Q3 (16,179 +- 10,517 RMB mn)"
    assert rev["base_on_estimates"] == "" and np.isfinite(rev["rebased_growth"])  # a reported base: unmarked
    lines = format_table(table)
    assert "91.1 (e)" in lines[1] and "107.7 (e)" in lines[1]
    assert "(e)" not in lines[2]
    assert any(x.startswith("(e): on an estimated base (1 entries)") for x in lines)


def test_an_as_of_run_flags_the_estimate_as_look_ahead(tmp_path):
    folder = tmp_path / "assumptions"  # the tree with the recast FY2025 estimates an as-of FY2026Q3 run needs
    shutil.copytree(FROZEN_CHILDREN, folder)
    a = assumptions_mod.load(_with_estimate(folder), as_of=Q3)
    got = [w for w in a.warnings if w.key == "group.non_gaap_net_income.FY2026Q3"]
    assert len(got) == 1
    assert "look-ahead: written from figures published 2026-05-20, after 2026-03-31" in got[0].message


def test_appending_a_quarter_keeps_the_estimate_and_carries_on_the_rest(tmp_path, capsys):
    from pathlib import Path

    folder = tmp_path / "assumptions"
    shutil.copytree(FROZEN_CHILDREN, folder)
    _with_estimate(folder)
    full = Path(__file__).parent / "fixtures" / "update" / "next_quarter_full.csv"
    args = ["update", str(full), "--assumptions", str(folder), "--draws", "100", "--out", str(tmp_path / "u")]
    assert main(args) == 0
    assert "on estimates: 6 unreported lines carried on" in capsys.readouterr().out  # as without the row
    text = (folder / "history" / "estimates.csv").read_text(encoding="utf-8")
    assert text.count(ROW) == 1  # kept as written, once
    a = assumptions_mod.load(folder)
    assert a.history.last_quarter == Quarter(2027, 1)
    assert float(project(a).total("group.non_gaap_net_income", "FY2026")[0]) == NGNI_FY2026


def test_the_estimate_reproduces_from_the_quarters_rows_by_its_written_rule(a):
    """The row's note: bottom-up from the quarter's own lines; the spread reaches the highest
    cross-check (non-GAAP net income / adjusted EBITA of a neighbouring quarter x FY2026Q3's)."""
    h = a.history
    v = lambda s, q=Q3: h.value(s, q)  # noqa: E731
    # 15,631 + 2,396 + 841 + 9,515 = 28,383 (expenses are negative in the history)
    add_backs = v("group.net_income") - v("group.sbc") - v("group.amortisation") - v("group.goodwill_impairment")
    assert add_backs == 28_383
    cash = next(r.value for r in h.rows if r.metric == "cash_and_other_liquid_investments" and r.period == "FY2026Q2")
    yield_mode = a.inputs["earnings.cash_yield"].dist.params["mode"]
    interest = yield_mode * cash / 4  # 0.028 x 573,889 / 4 = 4,017.2
    assert interest == pytest.approx(4_017.2, abs=0.1)
    gains = v("group.interest_investment_income") - interest  # 16,221 - 4,017.2 = 12,203.8
    row = h.estimates[NG][Q3]
    assert row.value == round(add_backs - gains) == 16_179
    ratios = [v(NG, Quarter(*q)) / v("group.adjusted_ebita", Quarter(*q)) for q in ((2025, 3), (2026, 1), (2026, 2))]
    cross = [r * v("group.adjusted_ebita") for r in ratios]  # 21,782 / 20,184 / 26,695
    assert [round(x) for x in cross] == [21_782, 20_184, 26_695]
    assert row.spread == math.ceil(max(cross) - row.value)  # the smallest spread reaching 26,695.2: 10,517
    assert row.value - row.spread < min(cross) and row.value + row.spread >= max(cross)


def test_the_reports_bridge_section_marks_the_same_lines(a, tmp_path):
    from pivotmodel.report_consensus import bridge_section

    (tmp_path / "tables").mkdir()
    html, md = bridge_section(a, tmp_path)
    ngni = next(x for x in md if x.startswith("| Non-GAAP net income |"))
    assert ngni.split(" | ")[1] == "60.1 (e)" and "(e)" not in ngni.split(" | ")[2]  # the projected year: unmarked
    assert "| Net income attributable to ordinary shareholders | 105.9 |" in "\n".join(md)
    assert sum(x.startswith("(e) ") for x in md) == 3  # adjustments, non-GAAP, non-GAAP attributable
    assert "<td>60.1 (e)</td>" in html and "(e) Non-GAAP net income: FY2026Q3 is an estimate" in html

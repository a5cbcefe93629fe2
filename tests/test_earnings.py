"""Below adjusted EBITA: hand-worked lines, reported identities, buybacks, claims on the new series."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import copy_assumptions

import pivotmodel.assumptions as assumptions_mod
from pivotmodel.claims import Claim, evaluate, parse_test
from pivotmodel.errors import InputError
from pivotmodel.model import project
from pivotmodel.model.earnings import project_earnings, quarterly_normals
from pivotmodel.model.inputs import Values
from pivotmodel.periods import parse_period, parse_quarter

FIRST = parse_quarter("FY2027Q1")

BASE = {
    "group.fx.usd_rmb": 7.0,
    "earnings.sbc_share_of_revenue": 0.01,
    "earnings.amortisation": -1000.0,
    "earnings.goodwill_impairment.event": 1.0,
    "earnings.goodwill_impairment.size": -5000.0,
    "earnings.goodwill_impairment.quarter": float(parse_quarter("FY2027Q2").index),
    "earnings.cash_yield": 0.04,
    "earnings.investment_gains.centre": 2000.0,
    "earnings.investment_gains.spread": 0.0,
    "earnings.investment_gains.draw": 0.3,
    "earnings.cash.base": 500_000.0,
    "earnings.debt": 200_000.0,
    "earnings.debt_cost": 0.05,
    "earnings.other_income": 300.0,
    "earnings.tax_rate": 0.2,
    "earnings.equity_method": 700.0,
    "earnings.nci": 400.0,
    "earnings.shares.base": 18_000.0,
    "earnings.shares.esop_dilution": 0.0,
    "earnings.shares.dilution_premium": 0.02,
    "earnings.buyback.remaining": 1000.0,
    "earnings.buyback.pace": 800.0,
    "earnings.buyback.program_end": float(parse_quarter("FY2027Q4").index),
    "earnings.buyback.after_program": 0.0,
    "earnings.buyback.price": 100.0,
    "earnings.buyback.price_growth": 0.0,
    "earnings.dividend.per_ads": 2.0,
}


def _run(quarters=4, ecommerce=25_000.0, cloud=-5_000.0, **changes):
    data = {k: np.array([v]) for k, v in {**BASE, **changes}.items()}
    seg = {
        "group.revenue": np.full((1, quarters), 250_000.0),
        "group.adjusted_ebita": np.full((1, quarters), 20_000.0),
        "group.fcf": np.full((1, quarters), -10_000.0),
        "china_ecommerce.adjusted_ebita": np.full((1, quarters), ecommerce),
        "cloud.adjusted_ebita": np.full((1, quarters), cloud),
    }
    return project_earnings(Values(data, 1), seg, FIRST, quarters)


def test_each_line_in_the_first_quarter_is_worked_by_hand():
    out = _run()
    q = lambda name: float(out[name][0, 0])  # noqa: E731
    assert q("group.sbc") == pytest.approx(-2500.0)  # 1% of 250,000
    assert q("group.goodwill_impairment") == 0.0  # the event is in FY2027Q2
    assert q("group.income_from_operations") == pytest.approx(20_000 - 2500 - 1000)  # 16,500
    # cash before the quarter = net cash 300,000 + debt 200,000 = 500,000 at 4% / 4 = 5,000; + gains 2,000
    assert q("group.interest_investment_income") == pytest.approx(7000.0)
    assert q("group.interest_expense") == pytest.approx(-2500.0)  # 5% / 4 x 200,000
    assert q("group.income_before_tax") == pytest.approx(16_500 + 7000 - 2500 + 300)  # 21,300
    # tax by entity group: 20% of China e-commerce's 25,000; Cloud's loss of 5,000 brings no relief
    assert q("group.income_tax") == pytest.approx(-5000.0)
    assert q("group.net_income") == pytest.approx(21_300 - 5000 + 700)  # 17,000
    assert q("group.net_income_attributable") == pytest.approx(17_400.0)
    # non-GAAP adds back SBC and amortisation and removes the investment gains
    assert q("group.non_gaap_net_income") == pytest.approx(17_000 + 2500 + 1000 - 2000)  # 18,500
    # buyback US$800m at US$100 per ADS = 8m ADS = 64m shares; diluted x 1.02; EPS per ADS
    assert q("group.shares_outstanding") == pytest.approx(18_000 - 64)
    ads = (18_000 - 64) * 1.02 / 8
    assert q("group.eps_non_gaap_ads") == pytest.approx((18_500 + 400) / ads)
    assert q("group.eps_non_gaap_ads_usd") == pytest.approx((18_500 + 400) / ads / 7.0)
    # net cash: 300,000 - 10,000 FCF - 800 x 7 buyback; FCF already holds interest (not added again)
    assert q("group.net_cash") == pytest.approx(300_000 - 10_000 - 5600)


def test_impairment_event_dividend_quarter_and_buyback_cap():
    out = _run()
    assert out["group.goodwill_impairment"][0].tolist() == [0.0, -5000.0, 0.0, 0.0]
    # dividend in fiscal Q2 only: US$2 x ADS outstanding at the start of the quarter x 7
    assert out["group.dividends"][0, 1] == pytest.approx(2.0 * (18_000 - 64) / 8 * 7.0)
    assert out["group.dividends"][0, [0, 2, 3]].tolist() == [0.0, 0.0, 0.0]
    # the authorisation of US$1,000m allows 800 then 200, then nothing: 64m then 16m shares
    assert out["group.shares_outstanding"][0].tolist() == pytest.approx([17_936, 17_920, 17_920, 17_920])
    assert out["group.buyback"][0].tolist() == pytest.approx([5600, 1400, 0, 0])


def test_esop_issuance_and_renewal_after_the_programme():
    out = _run(
        quarters=5,
        **{
            "earnings.shares.esop_dilution": 0.04,
            "earnings.buyback.remaining": 0.0,
            "earnings.buyback.after_program": 400.0,
            "earnings.buyback.price": 50.0,
        },
    )
    shares = out["group.shares_outstanding"][0]
    assert shares[:4] == pytest.approx([18_000 * 1.01**k for k in range(1, 5)])
    assert shares[4] == pytest.approx(shares[3] * 1.01 - 8 * 400 / 50)


def test_tax_is_on_the_profit_making_groups_and_zero_when_both_lose():
    both = _run(cloud=4_000.0)
    assert float(both["group.income_tax"][0, 0]) == pytest.approx(-0.2 * 29_000)  # -5,800
    losing = _run(ecommerce=-1_000.0, cloud=-5_000.0, **{"earnings.amortisation": -60_000.0})
    assert float(losing["group.income_tax"][0, 0]) == 0.0
    # investment gains are outside the taxed base: 10,000 more gains, the same tax
    richer = _run(**{"earnings.investment_gains.centre": 12_000.0})
    assert float(richer["group.income_tax"][0, 0]) == float(_run()["group.income_tax"][0, 0])


def test_investment_gains_are_drawn_for_each_quarter_independently():
    spread = {"earnings.investment_gains.centre": 0.0, "earnings.investment_gains.spread": 7000.0}
    one = _run(quarters=8, **spread)["group.investment_gains"][0]
    assert len(set(one.tolist())) == 8  # different in each quarter of one draw
    base = _run(quarters=8, **spread, **{"earnings.investment_gains.draw": 0.5})["group.investment_gains"][0]
    assert base.tolist() == [0.0] * 8  # the base case: every quarter at the median
    u = np.random.default_rng(1).random((20_000, 1))
    z = quarterly_normals(u, 4)
    assert abs(z.mean()) < 0.02 and z.std() == pytest.approx(1.0, abs=0.02)
    assert np.abs(np.corrcoef(z, rowvar=False) - np.eye(4)).max() < 0.03  # independent quarters
    from scipy import special

    assert np.array_equal(z[:, 0], special.ndtri(u[:, 0]))  # the first quarter rises with the input (tornado, solve)
    # a draw's quarters depend on that draw alone: any chunking gives the same numbers
    assert np.array_equal(np.vstack([quarterly_normals(u[:7], 4), quarterly_normals(u[7:], 4)]), z)


# --- reported quarters: segments -> adjusted EBITA -> net income ---------------------------


def _h(bundled, name, q):
    return bundled.history.value(name, parse_quarter(q))


def test_dec_2025_quarter_adjusted_ebita_reconciles_to_income_from_operations(bundled):
    # every term reported (SBC from the secondary extraction of the same release)
    h = lambda name: _h(bundled, name, "FY2026Q3")  # noqa: E731
    assert (
        h("group.adjusted_ebita") + h("group.sbc") + h("group.amortisation") + h("group.goodwill_impairment")
        == h("group.income_from_operations")
        == 10_645
    )


@pytest.mark.parametrize("quarter", ["FY2025Q3", "FY2026Q3"])
def test_dec_quarters_income_before_tax_is_the_sum_of_its_reported_lines(bundled, quarter):
    h = lambda name: _h(bundled, name, quarter)  # noqa: E731
    total = (
        h("group.income_from_operations")
        + h("group.interest_investment_income")
        + h("group.interest_expense")
        + h("group.other_income")
    )
    assert total == h("group.income_before_tax")


def test_reported_quarters_reproduce_net_income_attributable_and_non_gaap(bundled):
    checked = {"ni": 0, "attr": 0, "non_gaap": 0}
    for q in bundled.history.quarterly["group.net_income"]:
        h = lambda name, q=q: bundled.history.value(name, q)  # noqa: E731
        if not np.isnan(h("group.income_before_tax") + h("group.income_tax") + h("group.equity_method")):
            assert h("group.income_before_tax") + h("group.income_tax") + h("group.equity_method") == h(
                "group.net_income"
            )
            checked["ni"] += 1
        if not np.isnan(h("group.nci") + h("group.net_income_attributable")):
            assert h("group.net_income") + h("group.nci") == h("group.net_income_attributable")
            checked["attr"] += 1
        if not np.isnan(h("group.non_gaap_adjustments") + h("group.non_gaap_net_income")):
            assert h("group.net_income") + h("group.non_gaap_adjustments") == h("group.non_gaap_net_income")
            checked["non_gaap"] += 1
    assert checked == {"ni": 6, "attr": 11, "non_gaap": 9}  # attr: FY2026Q3 is derived from the 20-F (16,328)


def test_projection_holds_the_reported_quarters_and_the_identities_in_projected_ones(bundled):
    p = project(bundled)
    col = p.timeline.position(parse_quarter("FY2026Q4"))
    assert p["group.net_income"][0, col] == 23_502 and p["group.non_gaap_net_income"][0, col] == 86
    s = p.timeline.position(p.first_projected)
    get = lambda name: p[name][:, s:]  # noqa: E731
    np.testing.assert_allclose(
        get("group.adjusted_ebita") + get("group.sbc") + get("group.amortisation") + get("group.goodwill_impairment"),
        get("group.income_from_operations"),
    )
    np.testing.assert_allclose(
        get("group.income_before_tax") + get("group.income_tax") + get("group.equity_method"), get("group.net_income")
    )
    np.testing.assert_allclose(
        get("group.net_income") + get("group.non_gaap_adjustments"), get("group.non_gaap_net_income")
    )


# --- claims on the new series --------------------------------------------------------------


def _claim(test: str) -> Claim:
    return Claim("t", "w", {"publication": "p", "date": "d", "url": "u"}, "r", test, parse_test(test))


def test_the_net_profit_reading_of_profits_dropped_60pct_is_evaluable(bundled):
    p = project(bundled)
    value = evaluate(_claim("yoy(group.net_income, FY2026Q3) < -0.6"), p)
    assert value.metric[0] == pytest.approx(15_631 / 46_434 - 1)  # -66.3%
    assert value.holds[0] == 1.0


def test_non_gaap_net_income_and_eps_are_usable_in_claims(bundled):
    p = project(bundled)
    ni = evaluate(_claim("sum(group.non_gaap_net_income, FY2028)"), p).metric[0]
    eps = evaluate(_claim("sum(group.eps_non_gaap_ads, FY2028)"), p).metric[0]
    cols = p.timeline.columns(parse_period("FY2028"))
    assert ni == pytest.approx(p["group.non_gaap_net_income"][0, cols].sum() / 1000.0)  # RMB bn
    assert eps == pytest.approx(p["group.eps_non_gaap_ads"][0, cols].sum())  # RMB per ADS, not bn
    assert 10 < eps < 500


def test_a_duplicate_row_across_the_two_history_files_names_both(tmp_path):
    directory = copy_assumptions(tmp_path)
    path = directory / "history" / "earnings.csv"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("FY2026Q4,Consolidated,net_income,1,RMB_mn,reported,http://x,dup\n")
    lines = path.read_text(encoding="utf-8").splitlines()
    with pytest.raises(InputError) as exc:
        assumptions_mod.load(directory)
    msg = str(exc.value)
    assert f"assumptions/history/earnings.csv:{len(lines)}: period,segment,metric: duplicate row" in msg
    assert "of assumptions/history/reported.csv" in msg


def test_annual_net_income_attributable_is_the_sum_of_its_quarters_and_net_cash_the_year_end(bundled):
    p = project(bundled)
    h = bundled.history
    for fy in ("FY2024", "FY2025", "FY2026"):
        quarters = [_h(bundled, "group.net_income_attributable", f"{fy}Q{k}") for k in range(1, 5)]
        assert float(p.total("group.net_income_attributable", fy)[0]) == pytest.approx(sum(quarters))
        # the 20-F's annual row is on the same ordinary-shareholder basis: it equals the quarters
        assert h.annual_value("group.net_income_attributable", int(fy[2:])) == pytest.approx(sum(quarters))
    # FY2025: 24,269 + 43,874 + 48,945 + 12,382 = 129,470 (the EPS numerator); the 20-F's line before
    # accretion of mezzanine equity, 130,109 (= 129,470 + 639), is a metric of its own
    assert float(p.total("group.net_income_attributable", "FY2025")[0]) == pytest.approx(129_470.0)
    assert h.annual_value("group.net_income_attributable_company", 2025) == pytest.approx(130_109.0)
    # FY2026: 43,110 + 20,990 + 16,328 (derived: the 20-F's 105,904 less the three released quarters) + 25,476
    assert float(p.total("group.net_income_attributable", "FY2026")[0]) == pytest.approx(105_904.0)
    assert h.quarterly["group.net_income_attributable"][parse_quarter("FY2026Q3")].basis == "derived"
    assert h.annual_value("group.net_income_attributable_company", 2026) == pytest.approx(103_592.0)
    # the NCI line on the same basis: FY2026 105,904 - 102,127 = 3,777 = 728 + 378 + 697 + 1,974
    assert float(p.total("group.nci", "FY2026")[0]) == pytest.approx(3_777.0)
    assert sum(_h(bundled, "group.nci", f"FY2026Q{k}") for k in range(1, 5)) == pytest.approx(3_777.0)
    last = p.timeline.position(parse_quarter("FY2027Q4"))
    assert float(p.total("group.net_cash", "FY2027")[0]) == float(p["group.net_cash"][0, last])


def test_diluted_eps_of_a_reported_year_reproduces_from_the_reported_rows(bundled):
    """FY2025 diluted EPS per ADS 53.59 (20-F) from its reported rows: the annual identity, and
    the engine's formula (quarterly EPS = attributable / (diluted shares / 8), a year = the sum of
    its quarters) on the reported quarters."""
    h = bundled.history
    attributable = h.annual_value("group.net_income_attributable", 2025)  # 129,470
    diluted = h.annual_value("group.diluted_shares", 2025)  # 19,328 (derived: 129,470 / 53.59 x 8)
    eps = h.annual_value("group.eps_gaap_ads", 2025)
    assert (attributable, diluted, eps) == (129_470, 19_328, 53.59)
    assert h.annual["group.diluted_shares"][2025].basis == "derived"
    # 129,470 / (19,328 / 8) = 53.589, the reported 53.59 to its rounding
    assert attributable / (diluted / 8) == pytest.approx(53.59, abs=0.005)
    # Engine formula, quarter by quarter: Q3 48,945 / (19,204 / 8) = 20.39 and Q4 12,382 / (19,160 / 8) = 5.17,
    # as reported. Q1-Q2 diluted counts are not in the history: the annual weighted average (the mean of the
    # quarters' averages) leaves (4 x 19,328 - 19,204 - 19,160) / 2 = 19,474 for each.
    quarters = [parse_quarter(f"FY2025Q{k}") for k in range(1, 5)]
    shares = [h.value("group.diluted_shares", q) for q in quarters]
    assert np.isnan(shares[0]) and np.isnan(shares[1]) and shares[2:] == [19_204, 19_160]
    rest = (4 * diluted - shares[2] - shares[3]) / 2
    assert rest == 19_474
    per_quarter = [
        h.value("group.net_income_attributable", q) / ((rest if np.isnan(n) else n) / 8)
        for q, n in zip(quarters, shares)
    ]
    assert per_quarter[2:] == pytest.approx([20.39, 5.17], abs=0.005)
    # 24,269 / 2,434.25 + 43,874 / 2,434.25 + 20.39 + 5.17 = 9.970 + 18.024 + 20.390 + 5.170 = 53.553: -0.07%
    assert sum(per_quarter) == pytest.approx(53.553, abs=0.001)
    assert sum(per_quarter) == pytest.approx(eps, rel=0.01)
    # the projection shows the reported annual figure for the year, never a sum of quarters
    from pivotmodel.earnings_table import reported_value

    p = project(bundled)
    assert reported_value(p, "group.eps_gaap_ads", parse_period("FY2025")) == 53.59
    assert reported_value(p, "group.eps_basic_ads", parse_period("FY2026")) == 45.60  # derived: 5.70 x 8
    assert np.isnan(reported_value(p, "group.eps_gaap_ads", parse_period("FY2026")))  # a gap: n/a
    assert reported_value(p, "group.eps_gaap_ads", parse_period("FY2025Q3")) == 20.39


def test_the_bridge_reproduces_the_reported_year_and_adds_up_in_the_projected_one(bundled):
    from pivotmodel.earnings_table import bridge_table

    table = bridge_table(project(bundled), "FY2026", "FY2027")
    a, pcol = table["FY2026 (A)"], table["FY2027 (P)"]
    reported = {  # FY2026 as reported (20-F R66/R124 and reported.csv rows), RMB bn
        "China E-commerce adjusted EBITA": 107.509,
        "Cloud adjusted EBITA": 14.265,
        "AIDC adjusted EBITA": -2.051,
        "All others adjusted EBITA": -35.737,
        "Group adjusted EBITA": 76.416,
        "Share-based compensation": -11.180,
        "Amortisation and impairment of intangibles": -5.079,
        "Income from operations": 50.150,
        "Interest and investment income": 87.512,
        "Income before tax": 129.387,
        "Income tax": -30.045,
        "Net income": 102.127,
        "NCI and mezzanine equity": 3.777,
        "Net income attributable to ordinary shareholders": 105.904,  # 20-F, ordinary shareholders
    }
    for line, value in reported.items():
        assert a[line] == pytest.approx(value), line
    # derived rows: unallocated 76.416 - (107.509 + 14.265 - 2.051 - 35.737) = -7.570
    assert a["Unallocated and eliminations (derived: group - segments)"] == pytest.approx(-7.570)
    # 129.387 - 50.150 - 87.512 = -8.275 (interest expense and other income together)
    below = "Interest expense + other income (derived: before tax - operations - interest/investment)"
    assert a[below] == pytest.approx(-8.275)
    assert np.isnan(a["Non-GAAP net income"])  # FY2026Q3 non-GAAP is not in the history: a gap, not filled
    assert np.isnan(a["Diluted EPS, GAAP (RMB per ADS)"])  # FY2026 diluted EPS: a gap, not a sum of quarters
    # the projected year adds up: operations + interest/investment + interest expense + other = before tax
    assert pcol["Income before tax"] == pytest.approx(
        pcol["Income from operations"]
        + pcol["Interest and investment income"]
        + pcol["Interest expense"]
        + pcol["Other income, net"]
    )
    assert pcol["Net income"] == pytest.approx(
        pcol["Income before tax"] + pcol["Income tax"] + pcol["Share of results of equity method investees"]
    )
    both = a.notna() & pcol.notna()
    assert table["change"][both].tolist() == pytest.approx((pcol - a)[both].tolist())
    assert table["change"][~both].isna().all()


def test_project_bridge_prints_the_walk_and_refuses_a_reported_year(capsys):
    from pivotmodel.cli import main

    assert main(["project", "--bridge"]) == 0
    out = capsys.readouterr().out
    assert "FY2026 as reported to FY2027" in out
    assert "Group adjusted EBITA" in out and "76.4" in out
    assert main(["project", "--bridge", "FY2026"]) == 2
    assert "--bridge: bridge: 'FY2026' is not a projected fiscal year; valid: FY2027..FY2031" in capsys.readouterr().err


def _printed_row(out: str, label: str) -> dict[str, str]:
    """A row of the printed project table: column label -> cell text."""
    import re

    header = next(line for line in out.splitlines() if "FY2024 (A)" in line)
    columns = re.findall(r"FY\d{4} \([AP]\)", header)
    line = next(line for line in out.splitlines() if label in line)
    cells = re.findall(r"n/a|-?[\d,]+\.\d+(?: \(d\))?", line.split(label, 1)[1])
    assert len(cells) == len(columns), line
    return dict(zip(columns, cells))


def test_project_prints_reported_eps_per_ads_and_marks_the_derived_one(capsys):
    from pivotmodel.cli import main

    assert main(["project"]) == 0
    out = capsys.readouterr().out
    diluted = _printed_row(out, "Diluted EPS, GAAP (RMB per ADS)")
    basic = _printed_row(out, "Basic EPS, GAAP, reported only (RMB per ADS)")
    # as the 20-F prints them (history/earnings.csv), not the sums of quarters
    assert (diluted["FY2024 (A)"], diluted["FY2025 (A)"], diluted["FY2026 (A)"]) == ("31.24", "53.59", "n/a")
    assert (basic["FY2024 (A)"], basic["FY2025 (A)"]) == ("31.61", "55.12")
    assert basic["FY2026 (A)"] == "45.60 (d)"  # derived: RMB5.70 per share x 8, marked and footnoted
    assert basic["FY2027 (P)"] == "n/a"  # reported only: the model does not project basic EPS
    assert diluted["FY2027 (P)"] != "n/a"  # projected years: the model's figure
    assert "(d): derived, not printed per ADS by Alibaba:" in out
    assert "FY2026 (A) Basic EPS, GAAP, reported only (RMB per ADS): derived: basic EPS per share RMB5.70" in out
    attributable = _printed_row(out, "Net income attributable, GAAP (RMB bn)")
    line_20f = _printed_row(out, "20-F line, before mezzanine accretion (RMB bn)")
    assert (attributable["FY2025 (A)"], attributable["FY2026 (A)"]) == ("129.5", "105.9")
    assert (line_20f["FY2025 (A)"], line_20f["FY2026 (A)"], line_20f["FY2027 (P)"]) == ("130.1", "103.6", "n/a")


def test_only_derived_history_rows_are_marked(bundled):
    from pivotmodel.earnings_table import marked_cells
    from pivotmodel.tables import year_columns

    cells = marked_cells(bundled.history, year_columns(project(bundled)))
    # the frozen tree has no estimates.csv: no "(e)" cell (test_gap_estimates.py adds one)
    assert [(item, col, m) for item, col, m, _ in cells] == [
        ("Basic EPS, GAAP, reported only (RMB per ADS)", "FY2026 (A)", "d")
    ]


def test_diluted_eps_of_reported_quarters_is_reproduced_by_the_engines_identity(bundled):
    """EPS per ADS = net income attributable / (shares outstanding x (1 + dilution premium) / 8),
    the engine's formula, on reported rows with the calibrated premium (its mode, 3.5%)."""
    premium = bundled.inputs["earnings.shares.dilution_premium"].dist.quantile(0.5)
    assert 0.03 < premium < 0.04
    for q, eps in (("FY2025Q4", 5.17), ("FY2026Q2", 8.75)):  # reported diluted EPS per ADS (history/earnings.csv)
        assert _h(bundled, "group.eps_gaap_ads", q) == eps
        attributable = _h(bundled, "group.net_income_attributable", q)
        shares = _h(bundled, "group.shares_outstanding", q)  # 18,474m (Mar-2025), 18,552m (Sep-2025)
        # FY2025Q4: 12,382 / (18,474 x 1.035 / 8) = 5.18; FY2026Q2: 20,990 / (18,552 x 1.035 / 8) = 8.75
        assert attributable / (shares * (1 + premium) / 8) == pytest.approx(eps, rel=0.01)
        # the old 1.5% premium overstated EPS by about 2%
        assert attributable / (shares * 1.015 / 8) > eps * 1.015
    p = project(bundled)
    col = p.timeline.position(parse_quarter("FY2026Q2"))
    assert float(p["group.eps_non_gaap_ads"][0, col]) == 4.36  # the reported row is spliced into the projection

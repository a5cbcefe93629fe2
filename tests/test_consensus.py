"""Published forecasts: strict loading, percentile against a closed form, stale marking, CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import copy_assumptions, line_of, replace_once

import pivotmodel.assumptions as assumptions_mod
from pivotmodel.cli import main
from pivotmodel.consensus import load_consensus, metric_draws, percentile, place
from pivotmodel.errors import InputError

HEADER = """consensus:
  last_results: {quarter: FY2026Q4, released: 2026-05-13, url: "https://example.org/results"}
  forecasts:
"""


def _entry(fid: str, metric: str, value: float, date: str = "2026-06-01", unit: str = "RMB_bn") -> str:
    return (
        f'    - {{id: {fid}, who: Test broker, date: {date}, date_basis: stated, words: "w", '
        f'url: "https://example.org/{fid}", metric: "{metric}", value: {value}, unit: {unit}}}\n'
    )


def test_percentile_is_the_mid_rank_share_below():
    assert percentile(np.array([1.0, 2.0, 3.0, 4.0]), 2.5) == 0.5
    assert percentile(np.array([1.0, 2.0, 2.0, 3.0]), 2.0) == 0.5  # ties count half
    assert percentile(np.array([1.0, np.nan, 3.0]), 0.0) == 0.0  # NaN draws are left out
    assert percentile(np.array([1.0, 2.0]), 9.0) == 1.0


def test_a_forecast_on_an_input_with_a_known_distribution_sits_at_its_cdf(tmp_path):
    # sum(group.amortisation, FY2027) = 4 x earnings.amortisation / 1000 (RMB bn), and the input is
    # triangular(low -1600, mode -1250, high -800). A forecast of -5.0 bn means -1,250 a quarter:
    # F = (x - low)^2 / ((high - low)(mode - low)) = 350^2 / (800 x 350) = 0.4375; -6.0 bn -> -1,500:
    # 100^2 / (800 x 350) = 0.0357; -3.6 bn -> -900: 1 - (high - x)^2 / ((high - low)(high - mode))
    # = 1 - 100^2 / (800 x 450) = 0.9722.
    directory = copy_assumptions(tmp_path)
    (directory / "consensus.yaml").write_text(
        HEADER
        + _entry("mid", "sum(group.amortisation, FY2027)", -5.0)
        + _entry("low", "sum(group.amortisation, FY2027)", -6.0)
        + _entry("high", "sum(group.amortisation, FY2027)", -3.6),
        encoding="utf-8",
    )
    a = assumptions_mod.load(directory)
    c = load_consensus(a)
    metrics, inputs = metric_draws(a, c, 4000, 7, "lhs")
    np.testing.assert_allclose(metrics["mid"], 4 * inputs["earnings.amortisation"] / 1000.0)
    table = place(c, metrics)
    assert table.loc["mid", "percentile"] == pytest.approx(0.4375, abs=0.01)
    assert table.loc["low", "percentile"] == pytest.approx(100**2 / (800 * 350), abs=0.01)
    assert table.loc["high", "percentile"] == pytest.approx(1 - 100**2 / (800 * 450), abs=0.01)
    # P5/P95 of the metric are 4/1000 x the input's quantiles
    p5 = -1600 + np.sqrt(0.05 * 800 * 350)
    assert table.loc["mid", "p5"] == pytest.approx(4 * p5 / 1000, abs=0.02)
    assert table["outside"].tolist() == [False, True, True]  # 0.036 < 0.05 and 0.972 > 0.95


def test_same_numbers_whatever_the_chunk_size(bundled):
    c = load_consensus(bundled)
    one, _ = metric_draws(bundled, c, 60, 3, "mc", chunk=60)
    many, _ = metric_draws(bundled, c, 60, 3, "mc", chunk=7)
    for k in one:
        np.testing.assert_array_equal(one[k], many[k])


def test_forecasts_before_the_last_results_are_stale(tmp_path):
    directory = copy_assumptions(tmp_path)
    (directory / "consensus.yaml").write_text(
        HEADER
        + _entry("old", "sum(group.revenue, FY2027)", 1100, "2026-05-12")
        + _entry("new", "sum(group.revenue, FY2027)", 1100, "2026-05-13"),
        encoding="utf-8",
    )
    a = assumptions_mod.load(directory)
    c = load_consensus(a)
    assert [c.stale(f) for f in c.forecasts] == [True, False]


def test_the_bundled_file_holds_at_least_15_sourced_forecasts(bundled):
    c = load_consensus(bundled)
    assert len(c.forecasts) >= 15
    assert all(f.url.startswith("http") and f.words and f.who for f in c.forecasts)


def test_a_malformed_entry_names_file_line_and_key(tmp_path, capsys):
    directory = copy_assumptions(tmp_path)
    path = directory / "consensus.yaml"
    replace_once(path, "      value: 143.8\n", "      value: lots\n")
    line = line_of(path, "value: lots")
    assert main(["consensus", "--assumptions", str(directory), "--draws", "20"]) == 2
    err = capsys.readouterr().err
    assert (
        f"assumptions/consensus.yaml:{line}: forecasts[0] (cicc_fy27_non_gaap_ni).value: 'lots' is not a number" in err
    )
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "old, new, key, message",
    [
        (
            "      metric: sum(group.non_gaap_net_income, FY2027) + sum(group.nci, FY2027)\n      value: 143.8\n",
            "      metric: sum(group.non_gaap_net_income, FY2027) + sum(group.nci, FY2027) > 140\n      value: 143.8\n",
            "metric",
            "a forecast's metric is a value, not a comparison",
        ),
        (
            "      value: 143.8\n      unit: RMB_bn\n",
            "      value: 143.8\n      unit: RMB\n",
            "unit",
            "'RMB' is not one of RMB_bn, USD_bn, ratio, RMB_per_ADS, USD_per_ADS",
        ),
        (
            "      who: CICC\n      date: 2025-10-10\n",
            "      who: CICC\n      date: 10/10/2025\n",
            "date",
            "is not a date YYYY-MM-DD",
        ),
        (
            "    - id: cicc_fy27_non_gaap_ni\n      who: CICC\n",
            "    - id: cicc_fy27_non_gaap_ni\n      who: CICC\n      target: 197\n",
            "target",
            "unknown key",
        ),
    ],
)
def test_bad_entries_are_refused(tmp_path, old, new, key, message):
    directory = copy_assumptions(tmp_path)
    replace_once(directory / "consensus.yaml", old, new)
    a = assumptions_mod.load(directory)
    with pytest.raises(InputError) as exc:
        load_consensus(a)
    text = str(exc.value)
    assert f"forecasts[0] (cicc_fy27_non_gaap_ni).{key}: " in text and message in text


def test_last_results_behind_the_history_warns_and_marks_by_the_quarter_end(tmp_path):
    # a quarter was appended (here: last_results left at FY2026Q3, released 2026-03-19) ->
    # warning, and every forecast dated up to the end of FY2026Q4 (2026-03-31) is stale
    directory = copy_assumptions(tmp_path)
    (directory / "consensus.yaml").write_text(
        HEADER.replace("quarter: FY2026Q4, released: 2026-05-13", "quarter: FY2026Q3, released: 2026-03-19")
        + _entry("before_end", "sum(group.revenue, FY2027)", 1100, "2026-03-31")
        + _entry("after_end", "sum(group.revenue, FY2027)", 1100, "2026-04-01"),
        encoding="utf-8",
    )
    c = load_consensus(assumptions_mod.load(directory))
    assert [c.stale(f) for f in c.forecasts] == [True, False]
    assert c.released.isoformat() == "2026-04-01" and c.last_quarter == "FY2026Q4"
    (w,) = c.warnings
    assert w.level == "warn" and "last reported quarter in history is FY2026Q4" in str(w)


def test_the_command_prints_the_placement_table(capsys):
    assert main(["consensus", "--draws", "200", "--explain", "1"]) == 0
    out = capsys.readouterr().out
    assert "P5" in out and "pctile" in out
    assert "street_fy27_cloud_growth" in out and "stale" in out and "OUTSIDE" in out
    assert "What would have to move" in out
    lines = out.splitlines()
    c = load_consensus(assumptions_mod.load())
    # entries, brokers counted once, superseded entries named
    assert lines[1].startswith(f"{len(c.forecasts)} entries from {c.brokers()} brokers (")
    assert lines[3].split() == [
        "forecast",
        "date",
        "flags",
        "unit",
        "forecast",
        "P5",
        "P50",
        "P95",
        "pctile",
        "by",
        "growth",
        "pctile",
        "by",
        "miss",
        "pctile",
        "definition",
    ]
    placed = [f for f in c.forecasts if "FY2027" in f.metric or "FY2028" in f.metric]  # FY2026 ones are scored
    rows = lines[4 : 4 + len(placed)]
    assert [r.split()[0] for r in rows] == [f.id for f in placed] and lines[4 + len(placed)] == ""
    assert "Forecasts of periods now reported" in out
    assert (
        "Superseded (a later note of the same broker on the same metric): cicc_fy27_non_gaap_ni -> "
        "cicc_jan26_fy27_non_gaap_ni" in out
    )
    money = [r.split() for r in rows if " RMB_bn " in r]
    assert len(money) >= 5
    for cells in money:  # OUTSIDE exactly when the forecast lies beyond the printed P5-P95
        i = cells.index("RMB_bn")
        fc, p5, p95 = (float(cells[i + k].replace(",", "")) for k in (1, 2, 4))
        assert (cells[-1] == "OUTSIDE") == (fc < p5 or fc > p95), cells
    # segment-level forecasts: at least five, scored or placed
    segment = [f for f in c.forecasts if not f.metric.split("(")[1].startswith("group.")]
    assert len(segment) >= 5


def test_report_section_writes_the_table_and_the_fan_markers(bundled, tmp_path):
    from pivotmodel.report_consensus import consensus_section

    for sub in ("charts", "data", "tables"):
        (tmp_path / sub).mkdir()
    html, md = consensus_section(bundled, tmp_path, 100, 5, "test source")
    assert "Published forecasts in the model" in html and "What would have to move" in html
    assert (tmp_path / "tables" / "consensus.csv").exists() and (tmp_path / "charts" / "consensus_fans.png").exists()
    markers = pd.read_csv(tmp_path / "data" / "consensus_markers.csv").set_index("id")
    # a growth forecast is drawn as the level it implies on the reported year before
    cloud_fy2026 = bundled.history.annual_value("cloud.revenue", 2026) / 1000.0
    assert markers.loc["street_fy27_cloud_growth", "value"] == pytest.approx(cloud_fy2026 * 1.40)
    assert markers.loc["cms_fy27_non_gaap_ni", "value"] == 134.4 and bool(markers.loc["cms_fy27_non_gaap_ni", "stale"])
    assert any(line.startswith("| street_fy27_cloud_growth |") for line in md)


def test_csv_out_never_overwrites_a_file_pivotmodel_did_not_write(tmp_path, capsys):
    theirs = tmp_path / "notes.csv"
    theirs.write_text("my own notes\n", encoding="utf-8")
    assert main(["consensus", "--draws", "20", "--format", "csv", "--out", str(theirs)]) == 2
    assert "was not written by pivotmodel" in capsys.readouterr().err
    assert theirs.read_text(encoding="utf-8") == "my own notes\n"
    ours = tmp_path / "placement.csv"
    assert main(["consensus", "--draws", "20", "--explain", "0", "--format", "csv", "--out", str(ours)]) == 0
    assert (
        main(["consensus", "--draws", "20", "--explain", "0", "--format", "csv", "--out", str(ours)]) == 0
    )  # ours: replaced
    assert ours.read_text(encoding="utf-8").startswith("# written by pivotmodel consensus;")  # the ownership line
    table = pd.read_csv(ours, index_col="id", skiprows=1)
    assert len(table) >= 15 and set(table.columns) >= {"p5", "p50", "p95", "percentile", "outside", "stale", "url"}


def test_validate_checks_the_consensus_file_too(tmp_path, capsys):
    directory = copy_assumptions(tmp_path)
    path = directory / "consensus.yaml"
    replace_once(path, "      value: 0.1111\n      unit: ratio\n", "      value: 0.1111\n      unit: percent\n")
    line = line_of(path, "unit: percent")
    assert main(["validate", "--assumptions", str(directory)]) == 2
    err = capsys.readouterr().err
    assert (
        f"assumptions/consensus.yaml:{line}: forecasts[2] (csc_fy27_revenue_growth).unit: 'percent' is not one of"
        in err
    )


def test_a_unit_that_does_not_match_the_metric_is_refused(tmp_path):
    directory = copy_assumptions(tmp_path)
    (directory / "consensus.yaml").write_text(
        HEADER + _entry("eps_in_usd", "sum(group.eps_non_gaap_ads, FY2027)", 8.0, unit="USD_per_ADS"), encoding="utf-8"
    )
    with pytest.raises(
        InputError, match=r"eps_in_usd\)\.metric: returns RMB_per_ADS, but the entry's unit is USD_per_ADS"
    ):
        load_consensus(assumptions_mod.load(directory))


def _broker(fid: str, metric: str, value: float, date: str, base: str = "", who: str = "Broker A") -> str:
    extra = f', base: {{metric: "{base.split("=")[0]}", value: {base.split("=")[1]}}}' if base else ""
    return (
        f'    - {{id: {fid}, who: {who}, date: {date}, date_basis: stated, words: "w", url: '
        f'"https://example.org/{fid}", '
        f'metric: "{metric}", value: {value}, unit: RMB_bn, '
        f"definition: {{attributable: n/a, gaap: n/a, currency: RMB}}{extra}}}\n"
    )


def test_rebased_forecast_is_the_brokers_growth_on_the_actual_and_a_later_note_supersedes(tmp_path):
    directory = copy_assumptions(tmp_path)
    (directory / "consensus.yaml").write_text(
        HEADER
        + _broker("a_old", "sum(group.revenue, FY2027)", 1100, "2025-11-01")
        + _broker("a_new", "sum(group.revenue, FY2027)", 1150, "2026-01-10", "sum(group.revenue, FY2026)=1000")
        + _broker("b_one", "sum(group.revenue, FY2027)", 1120, "2026-01-11", who="Broker B"),
        encoding="utf-8",
    )
    a = assumptions_mod.load(directory)
    c = load_consensus(a)
    assert c.brokers() == 2  # three entries, two brokers
    assert [c.superseded_by(f) for f in c.forecasts] == ["a_new", "", ""]
    metrics, _ = metric_draws(a, c, 40, 1, "mc")
    from pivotmodel.consensus import base_actuals
    from pivotmodel.model import project

    table = place(c, metrics, base_actuals(c, project(a)))
    actual = a.history.annual_value("group.revenue", 2026) / 1000.0  # FY2026 revenue, RMB bn: 1,023.670
    assert actual == pytest.approx(1023.67)
    row = table.loc["a_new"]
    # by hand: the broker's growth 1,150 / 1,000 = 1.15 on the actual: 1.15 x 1,023.67 = 1,177.22
    assert row["rebased_growth"] == pytest.approx(1.15 * 1023.67)
    # the broker's miss carried additively: 1,150 + (1,023.67 - 1,000) = 1,173.67
    assert row["rebased_additive"] == pytest.approx(1173.67)
    assert row["pctile_growth"] == pytest.approx(percentile(metrics["a_new"], 1.15 * 1023.67))
    assert np.isnan(table.loc["b_one", "rebased_growth"])  # no base given: nothing to rebase on
    assert table.loc["a_old", "superseded_by"] == "a_new"


def test_a_forecast_of_a_reported_quarter_is_scored_not_placed(tmp_path):
    directory = copy_assumptions(tmp_path)
    (directory / "consensus.yaml").write_text(
        HEADER + _broker("q3_all_others", "sum(all_others.adjusted_ebita, FY2026Q3)", -8.0, "2026-02-01"),
        encoding="utf-8",
    )
    a = assumptions_mod.load(directory)
    c = load_consensus(a)
    metrics, _ = metric_draws(a, c, 20, 1, "mc")
    row = place(c, metrics).loc["q3_all_others"]
    # FY2026Q3 All others adjusted EBITA -9,800 (derived) -> -9.8bn; the broker missed by -8.0 - (-9.8) = +1.8
    assert bool(row["reported"]) and row["actual"] == pytest.approx(-9.8) and row["miss"] == pytest.approx(1.8)
    assert np.isnan(row["percentile"]) and not row["outside"]


def test_a_bad_definition_names_the_key(tmp_path):
    directory = copy_assumptions(tmp_path)
    tail = '\n      base: {metric: "sum(group.non_gaap_net_income, FY2026) + sum(group.nci, FY2026)", value: 101.2'
    replace_once(
        directory / "consensus.yaml",
        "      definition: {attributable: true, gaap: non_gaap, currency: RMB}" + tail,
        "      definition: {attributable: true, gaap: adjusted, currency: RMB}" + tail,
    )
    with pytest.raises(InputError) as exc:
        load_consensus(assumptions_mod.load(directory))
    assert "forecasts[0] (cicc_fy27_non_gaap_ni).definition.gaap: 'adjusted' is not one of gaap, non_gaap, n/a" in str(
        exc.value
    )


def test_cumulative_bridge_moves_inputs_together_until_the_forecast_is_reached(tmp_path):
    import re

    from pivotmodel.consensus import cumulative_bridge

    directory = copy_assumptions(tmp_path)
    (directory / "consensus.yaml").write_text(
        HEADER
        + _broker("near", "sum(group.non_gaap_net_income, FY2027)", 70.0, "2026-06-01")
        + _broker("far", "sum(group.non_gaap_net_income, FY2027)", 1000.0, "2026-06-01"),
        encoding="utf-8",
    )
    a = assumptions_mod.load(directory)
    c = load_consensus(a)
    metrics, inputs = metric_draws(a, c, 40, 2, "mc")
    table = place(c, metrics)
    by_id = {f.id: f for f in c.forecasts}
    near = cumulative_bridge(a, by_id["near"], table.loc["near"], inputs, metrics["near"])
    assert near.startswith("together: ") and "reach 70.0" in near
    reached = float(re.search(r"the metric at ([\d,.]+)", near).group(1).replace(",", ""))
    assert reached >= 70.0  # the named moves, applied together, reach the forecast
    assert all(0.0 < float(p) < 100.0 for p in re.findall(r"\(P([\d.]+);", near))
    far = cumulative_bridge(a, by_id["far"], table.loc["far"], inputs, metrics["far"])
    assert far.startswith("not reached: even ") and far.endswith("against 1,000.0 (everything else at base)")


def test_report_bridge_section_writes_the_walk(bundled, tmp_path):
    from pivotmodel.report_consensus import bridge_section

    (tmp_path / "tables").mkdir()
    html, md = bridge_section(bundled, tmp_path)
    assert "From FY2026 to FY2027, line by line" in html and "Group adjusted EBITA" in html
    table = pd.read_csv(tmp_path / "tables" / "bridge.csv", index_col="line")
    assert table.loc["Group adjusted EBITA", "FY2026 (A)"] == pytest.approx(76.416)
    assert "| Income tax | -30.0 |" in "\n".join(md)

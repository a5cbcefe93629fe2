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
    return (f"    - {{id: {fid}, who: Test broker, date: {date}, date_basis: stated, words: \"w\", "
            f"url: \"https://example.org/{fid}\", metric: \"{metric}\", value: {value}, unit: {unit}}}\n")


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
        HEADER + _entry("mid", "sum(group.amortisation, FY2027)", -5.0)
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
        HEADER + _entry("old", "sum(group.revenue, FY2027)", 1100, "2026-05-12")
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
    assert f"assumptions/consensus.yaml:{line}: forecasts[0] (cicc_fy27_non_gaap_ni).value: 'lots' is not a number" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "old, new, key, message",
    [
        ("      metric: sum(group.non_gaap_net_income, FY2027)\n      value: 143.8\n",
         "      metric: sum(group.non_gaap_net_income, FY2027) > 140\n      value: 143.8\n",
         "metric", "a forecast's metric is a value, not a comparison"),
        ("      unit: RMB_bn\n    - id: csc_fy27_non_gaap_ni", "      unit: RMB\n    - id: csc_fy27_non_gaap_ni",
         "unit", "'RMB' is not one of RMB_bn, USD_bn, ratio, RMB_per_ADS, USD_per_ADS"),
        ("      date: 2025-10-10\n", "      date: 10/10/2025\n", "date", "is not a date YYYY-MM-DD"),
        ("      who: CICC\n", "      who: CICC\n      target: 197\n", "target", "unknown key"),
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
    forecasts = load_consensus(assumptions_mod.load()).forecasts
    assert lines[2].split() == ["forecast", "date", "unit", "forecast", "P5", "P50", "P95", "pctile"]
    rows = lines[3:3 + len(forecasts)]
    assert [r.split()[0] for r in rows] == [f.id for f in forecasts] and lines[3 + len(forecasts)] == ""
    money = [r.split() for r in rows if " RMB_bn " in r]
    assert len(money) >= 5
    for cells in money:  # OUTSIDE exactly when the forecast lies beyond the printed P5-P95
        i = cells.index("RMB_bn")
        fc, p5, p95 = (float(cells[i + k].replace(",", "")) for k in (1, 2, 4))
        assert (cells[-1] == "OUTSIDE") == (fc < p5 or fc > p95), cells


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
    assert markers.loc["cicc_fy27_non_gaap_ni", "value"] == 143.8 and bool(markers.loc["cicc_fy27_non_gaap_ni", "stale"])
    assert any(line.startswith("| street_fy27_cloud_growth |") for line in md)


def test_csv_out_never_overwrites_a_file_pivotmodel_did_not_write(tmp_path, capsys):
    theirs = tmp_path / "notes.csv"
    theirs.write_text("my own notes\n", encoding="utf-8")
    assert main(["consensus", "--draws", "20", "--format", "csv", "--out", str(theirs)]) == 2
    assert "was not written by pivotmodel" in capsys.readouterr().err
    assert theirs.read_text(encoding="utf-8") == "my own notes\n"
    ours = tmp_path / "placement.csv"
    assert main(["consensus", "--draws", "20", "--explain", "0", "--format", "csv", "--out", str(ours)]) == 0
    assert main(["consensus", "--draws", "20", "--explain", "0", "--format", "csv", "--out", str(ours)]) == 0  # ours: replaced
    assert ours.read_text(encoding="utf-8").startswith("# written by pivotmodel consensus;")  # the ownership line
    table = pd.read_csv(ours, index_col="id", skiprows=1)
    assert len(table) >= 15 and set(table.columns) >= {"p5", "p50", "p95", "percentile", "outside", "stale", "url"}


def test_validate_checks_the_consensus_file_too(tmp_path, capsys):
    directory = copy_assumptions(tmp_path)
    path = directory / "consensus.yaml"
    replace_once(path, "      unit: ratio\n    - id: cms_fy27_non_gaap_ni", "      unit: percent\n    - id: cms_fy27_non_gaap_ni")
    line = line_of(path, "unit: percent")
    assert main(["validate", "--assumptions", str(directory)]) == 2
    err = capsys.readouterr().err
    assert f"assumptions/consensus.yaml:{line}: forecasts[2] (csc_fy27_revenue_growth).unit: 'percent' is not one of" in err


def test_a_unit_that_does_not_match_the_metric_is_refused(tmp_path):
    directory = copy_assumptions(tmp_path)
    (directory / "consensus.yaml").write_text(
        HEADER + _entry("eps_in_usd", "sum(group.eps_non_gaap_ads, FY2027)", 8.0, unit="USD_per_ADS"), encoding="utf-8")
    with pytest.raises(InputError, match=r"eps_in_usd\)\.metric: returns RMB_per_ADS, but the entry's unit is USD_per_ADS"):
        load_consensus(assumptions_mod.load(directory))

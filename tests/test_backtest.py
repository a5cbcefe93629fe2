"""`pivotmodel timeline` and `pivotmodel backtest` on the bundled folder with the SYNTHETIC
next quarter of tests/fixtures/update/next_quarter.csv appended (a stand-in, not a reported figure)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

import pivotmodel.assumptions as assumptions_mod
from pivotmodel.backtest import backtest_scores, verdicts
from pivotmodel.cli import main
from pivotmodel.periods import Quarter
from pivotmodel.update import append_rows, check_new_rows

NEXT = Path(__file__).parent / "fixtures" / "update" / "next_quarter.csv"
OPTS = {"draws": 400, "seed": 11, "method": "mc"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bt") / "assumptions"
    shutil.copytree(assumptions_mod.default_directory(), out)
    rep = out / "history" / "reported.csv"
    rows, _ = check_new_rows(NEXT, assumptions_mod.load(out).history)
    rep.write_text(append_rows(rep.read_text(encoding="utf-8"), rows), encoding="utf-8")
    return out


def test_backtest_scores_the_model_on_the_quarter_that_followed(folder):
    scores, skipped = backtest_scores(folder, None, Quarter(2026, 3), 1, OPTS, 1)
    assert (
        "FY2026Q3" in skipped and "too early" in skipped["FY2026Q3"]
    )  # before four quarters on the four-segment basis
    model = scores[(scores.forecaster == "model") & (scores.series == "group.revenue")]
    assert list(model.as_of) == ["FY2026Q4"] and list(model.target) == ["FY2027Q1"]
    assert model.actual.iloc[0] == 255548  # the synthetic quarter's group revenue
    assert (model.crps >= 0).all() and model.pit.between(0, 1).all()
    # the naive baseline runs as of FY2026Q3 too (group revenue has quarters since FY2023Q1)
    naive = scores[(scores.forecaster == "naive") & (scores.series == "group.revenue")]
    assert set(naive.as_of) == {"FY2026Q3", "FY2026Q4"}
    text = "\n".join(verdicts(scores))
    assert "group.revenue: model: " in text and "of 1 actuals inside the 50/80/90% bands" in text
    assert "CRPS" in text and "naive on 1 common points" in text
    assert "china_ecommerce.cmr: " in text


def test_backtest_cli_prints_coverage_and_writes_tables(folder, tmp_path, capsys):
    out = tmp_path / "bt"
    assert (
        main(
            [
                "backtest",
                "--assumptions",
                str(folder),
                "--from",
                "FY2026Q4",
                "--horizon",
                "2",
                "--draws",
                "300",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "backtest from FY2026Q4, horizons 1-2, 300 draws" in text
    summary = pd.read_csv(out / "summary.csv")
    assert {"series", "forecaster", "n", "inside_P10-P90", "inside_P5-P95", "crps_mean", "pit_histogram"} <= set(
        summary.columns
    )
    fans = pd.read_csv(out / "backtest_fans.csv")
    one = fans[(fans.series == "group.revenue") & (fans.forecaster == "model")]
    assert list(one.target) == ["FY2027Q1"] and one.actual.iloc[0] == pytest.approx(255.548)
    assert (one.p5 <= one.p10).all() and (one.p10 <= one["median"]).all() and (one["median"] <= one.p90).all()
    assert (out / "backtest_fans.png").stat().st_size > 0


def test_timeline_tracks_each_headline_claim_and_charts_it(folder, tmp_path, capsys):
    out = tmp_path / "tl"
    assert main(["timeline", "--assumptions", str(folder), "--draws", "300", "--out", str(out)]) == 0
    table = pd.read_csv(out / "timeline.csv", keep_default_na=False)
    headline = [c.id for c in assumptions_mod.load(folder).claims if c.headline]
    assert set(table.claim) == set(headline)
    # every claim made before FY2027Q1 was reported has a point as of FY2026Q4 and FY2027Q1
    assert set(table[table.claim == "cloud_share_30pct_cy2026"].as_of) == {"FY2026Q4", "FY2027Q1"}
    assert table.probability.between(0, 1).all()
    assert (out / "timeline.png").stat().st_size > 0 and (out / "timeline.svg").exists()
    err = capsys.readouterr().err
    assert "as of FY2026Q3: model not run" in err


def test_report_has_the_over_time_sections(tmp_path):
    out = tmp_path / "rep"
    assert main(["report", "--out", str(out), "--draws", "60", "--seed", "2"]) == 0
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "## Claims over time" in summary and "| cloud_share_30pct_cy2026 | FY2026Q4 |" in summary
    assert "## Backtest (from FY2024Q3, horizons 1-4)" in summary and "cloud.revenue: model: " in summary
    assert "; naive: 2/3/4 of 14 actuals" in summary.split("cloud.revenue: ")[1].split("\n")[0]
    assert (out / "tables" / "timeline.csv").exists() and (out / "charts" / "claim_timeline.png").exists()
    assert (out / "data" / "claim_timeline.csv").exists()
    assert "Claims over time" in (out / "index.html").read_text(encoding="utf-8")

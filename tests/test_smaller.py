"""The smaller items of issue 24 (list 8), each reproduced: empty timeline/backtest runs refused,
the backtest verdict naming what was not scored, report --compare by a path, an unwritable
history/ found before the runs, a full disk's message, long --out names, single-file outputs'
ownership line, dangling links, 1e9 in YAML, dist: value, did-you-mean on names, too few draws
for replicates, the claims footer, the --as-of help."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pandas as pd
import pytest
import test_reliability
from conftest import replace_once
from test_reliability import run

from pivotmodel import atomic
from pivotmodel.backtest import verdicts
from pivotmodel.cli import build_parser

work = test_reliability.work  # the fixture: my_assumptions/ in the current folder
NEXT = Path(__file__).parent / "fixtures" / "update" / "next_quarter.csv"


def test_timeline_with_an_unknown_claim_is_refused_with_did_you_mean(work, capsys):
    rc, _, err = run(capsys, "timeline", "--assumptions", "my_assumptions", "--claim", "fcf_negative_fy2072")
    assert rc == 2 and "unknown claim id 'fcf_negative_fy2072' (did you mean 'fcf_negative_fy2027'?)" in err
    assert not (work / "runs").exists()


def test_backtest_from_past_the_history_is_refused(work, capsys):
    rc, _, err = run(capsys, "backtest", "--assumptions", "my_assumptions", "--from", "FY2099Q1")
    assert (
        rc == 2 and "--from: FY2099Q1 leaves nothing to score: give a reported quarter from FY2023Q1 to FY2026Q3" in err
    )
    assert not (work / "runs").exists()


def test_the_backtest_verdict_names_the_forecaster_not_scored():
    row = {
        "series": "group.revenue",
        "as_of": "FY2025Q1",
        "horizon": 1,
        "target": "FY2025Q2",
        "actual": 10.0,
        "median": 10.0,
        "p5": 9.0,
        "p10": 9.5,
        "p90": 10.5,
        "p95": 11.0,
        "crps": 0.5,
        "pit": 0.5,
        "p25": 9.8,
        "p75": 10.2,
        "in_P25-P75": True,
        "in_P10-P90": True,
        "in_P5-P95": True,
    }
    only_model = pd.DataFrame([{**row, "forecaster": "model"}])
    line = next(ln for ln in verdicts(only_model) if ln.startswith("group.revenue:"))
    assert "naive not scored (too few consecutive reported quarters before each as-of quarter)" in line
    assert "model not scored" not in line


def test_report_compare_by_path_is_named_by_the_file_stem(work, capsys):
    rc, out, _ = run(
        capsys,
        "report",
        "--assumptions",
        "my_assumptions",
        "--draws",
        "20",
        "--compare",
        str(work / "my_assumptions" / "scenarios" / "bull.yaml"),
    )
    assert rc == 0 and "wrote reports/base_vs_bull/" in out
    assert sorted(p.name for p in (work / "reports").iterdir()) == ["base_vs_bull"]


def test_an_unwritable_history_folder_is_found_before_the_runs(work, capsys, monkeypatch):
    import pivotmodel.simulate as sim

    monkeypatch.setattr(sim, "simulate", lambda *a, **k: (_ for _ in ()).throw(AssertionError("ran first")))
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, m: False if str(p).endswith("history") else real(p, m))
    rc, _, err = run(capsys, "update", str(NEXT), "--assumptions", "my_assumptions", "--draws", "32")
    assert rc == 2 and "my_assumptions/history: cannot be written (permission denied)" in err


def test_a_full_disk_is_one_clear_line(work, capsys, monkeypatch):
    def full(*a, **k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "write_bytes", full)
    rc, _, err = run(capsys, "project", "--assumptions", "my_assumptions", "--out", "p.xlsx")
    assert rc == 1 and err == "pivotmodel: No space left on device; outputs left as they were\n"
    assert not (work / "p.xlsx").exists() and not list(work.glob(".p.xlsx*"))


def test_a_250_character_out_folder_works(work, capsys):
    name = "r" * 250
    rc, _, err = run(
        capsys, "simulate", "--assumptions", "my_assumptions", "--draws", "40", "--jobs", "1", "--out", name
    )
    assert rc == 0, err
    assert (work / name / "claims.csv").is_file() and [p.name for p in work.iterdir() if p.name.startswith(".")] == []
    rc, _, err = run(
        capsys, "simulate", "--assumptions", "my_assumptions", "--draws", "40", "--jobs", "1", "--out", name
    )
    assert rc == 0, err  # replaced: the swap's temporaries fit too


def test_a_csv_whose_header_matches_is_not_overwritten_unless_it_carries_the_ownership_line(work, capsys):
    theirs = work / "user.csv"
    theirs.write_text("segment,item,FY2027 (P)\nmy,own,1\n", encoding="utf-8")
    rc, _, err = run(capsys, "project", "--assumptions", "my_assumptions", "--format", "csv", "--out", "user.csv")
    assert (
        rc == 2
        and "was not written by pivotmodel" in err
        and theirs.read_text() == "segment,item,FY2027 (P)\nmy,own,1\n"
    )
    assert run(capsys, "project", "--assumptions", "my_assumptions", "--format", "csv", "--out", "ours.csv")[0] == 0
    first, header = (work / "ours.csv").read_text(encoding="utf-8").splitlines()[:2]
    assert first.startswith(atomic.CSV_MARKER + " project;") and header.startswith("segment,item,")
    assert run(capsys, "project", "--assumptions", "my_assumptions", "--format", "csv", "--out", "ours.csv")[0] == 0


def test_a_dangling_link_is_not_replaced(work, capsys):
    (work / "link.csv").symlink_to(work / "nowhere" / "x.csv")
    rc, _, err = run(capsys, "project", "--assumptions", "my_assumptions", "--format", "csv", "--out", "link.csv")
    assert rc == 2 and "link.csv is a symbolic link" in err
    assert (work / "link.csv").is_symlink() and not (work / "nowhere").exists()


def test_1e9_and_dist_value_are_read_as_the_readme_says(work, capsys):
    cloud = work / "my_assumptions" / "cloud.yaml"
    replace_once(cloud, "high: 0.40, unit: ratio,", "high: 4e-1, unit: ratio,")  # read as text before: "not a number"
    capex = work / "my_assumptions" / "capex.yaml"
    replace_once(capex, "new_assets_from: {value: FY2025Q1,", "new_assets_from: {dist: value, value: FY2025Q1,")
    rc, out, err = run(capsys, "validate", "--assumptions", "my_assumptions")
    assert rc == 0 and out.startswith("OK: "), err


def test_a_float_without_a_dot_is_a_number():
    import yaml

    from pivotmodel.yamlio import _StrictLoader

    assert yaml.load("high: 1e9\nlow: -2.5E-3\nx: 1e\n", Loader=_StrictLoader) == {
        "high": 1e9,
        "low": -0.0025,
        "x": "1e",
    }


@pytest.mark.parametrize(
    "argv, message",
    [
        (["solve", "fcf_negative_fy2027", "--input", "group.fx.usd_rmbb"], "(did you mean 'group.fx.usd_rmb'?)"),
        (
            ["sensitivity", "--output", "group.revenu@FY2027"],
            "unknown series 'group.revenu' (did you mean 'group.revenue'?)",
        ),
        (["drivers", "fcf_negative_fy2072", "--draws", "40"], "(did you mean 'fcf_negative_fy2027'?)"),
    ],
)
def test_unknown_names_come_with_did_you_mean(work, capsys, argv, message):
    rc, _, err = run(capsys, *argv, "--assumptions", "my_assumptions")
    assert rc == 2 and message in err


def test_too_few_draws_for_replicates_are_refused(work, capsys):
    rc, _, err = run(
        capsys, "simulate", "--assumptions", "my_assumptions", "--draws", "7", "--method", "lhs", "--out", "x"
    )
    assert (
        rc == 2
        and (
            "--draws: 7 draws with method lhs: its interval is taken over 10 replicates, so it needs at least "
            "20 draws (2 a replicate); give more draws or --method mc"
        )
        in err
    )
    assert (
        run(
            capsys,
            "simulate",
            "--assumptions",
            "my_assumptions",
            "--draws",
            "7",
            "--method",
            "mc",
            "--jobs",
            "1",
            "--out",
            "x",
        )[0]
        == 0
    )


def test_the_claims_footer_names_the_folder_given(work, capsys):
    rc, out, _ = run(
        capsys, "simulate", "--assumptions", "my_assumptions", "--draws", "40", "--jobs", "1", "--out", "x"
    )
    assert rc == 0 and "Tests and readings: my_assumptions/claims.yaml\n" in out


def test_the_as_of_help_suggests_a_quarter_that_runs():
    text = (
        build_parser().format_help()
        + next(
            a for a in build_parser()._subparsers._group_actions[0].choices["project"]._actions if a.dest == "as_of"
        ).help
    )
    assert "FY2025Q2" not in text and "such as FY2026Q4" in text

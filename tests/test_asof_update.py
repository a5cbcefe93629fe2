"""As-of runs (history after a quarter hidden) and `pivotmodel update` with a synthetic quarter.

tests/fixtures/update/next_quarter.csv is SYNTHETIC (FY2026Q4 rows x 1.05, labelled so): a
stand-in for the next release, never a reported figure.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest

import pivotmodel.assumptions as assumptions_mod
from pivotmodel.asof import cut_history, known_by, lookahead
from pivotmodel.cli import main
from pivotmodel.errors import InputError
from pivotmodel.periods import Quarter
from pivotmodel.update import append_rows, check_new_rows

NEXT = Path(__file__).parent / "fixtures" / "update" / "next_quarter.csv"
BUNDLED = assumptions_mod.default_directory()


@pytest.fixture
def folder(tmp_path) -> Path:
    out = tmp_path / "assumptions"
    shutil.copytree(BUNDLED, out)
    return out


def _appended(folder: Path, rows_path: Path = NEXT) -> Path:
    """The folder with the synthetic quarter appended (as `update` would)."""
    rep = folder / "history" / "reported.csv"
    rows, _ = check_new_rows(rows_path, assumptions_mod.load(folder).history)
    rep.write_text(append_rows(rep.read_text(encoding="utf-8"), rows), encoding="utf-8")
    return folder


def test_as_of_the_last_quarter_is_the_ordinary_run():
    a = assumptions_mod.load()
    b = assumptions_mod.load(as_of=a.history.last_quarter)
    assert b.history == a.history  # nothing cut: the same rows and series
    assert {k: v.dist for k, v in a.inputs.items()} == {k: v.dist for k, v in b.inputs.items()}


def test_as_of_never_reads_a_row_after_its_quarter(folder):
    ordinary = assumptions_mod.load()
    planted = assumptions_mod.load(_appended(folder))
    assert planted.history.last_quarter == Quarter(2027, 1)
    cut = assumptions_mod.load(folder, as_of=Quarter(2026, 4))
    assert cut.history.last_quarter == Quarter(2026, 4)
    assert not any(r.period.startswith("FY2027") for r in cut.history.rows)
    # the planted quarter moves the anchored starts when read; as of FY2026Q4 they are the ordinary ones
    anchored = [k for k, v in ordinary.inputs.items() if v.anchor is not None]
    assert anchored
    assert any(planted.inputs[k].dist != ordinary.inputs[k].dist for k in anchored)
    assert all(cut.inputs[k].dist == ordinary.inputs[k].dist for k in anchored)


def test_as_of_cli_matches_ordinary_projection(capsys):
    assert main(["project", "--format", "csv"]) == 0
    ordinary = capsys.readouterr().out
    assert main(["project", "--format", "csv", "--as-of", "FY2026Q4"]) == 0
    out = capsys.readouterr()
    assert out.out == ordinary
    assert "as of FY2026Q4" in out.err and "possible look-ahead" in out.err


def test_as_of_too_early_is_a_clear_input_error(capsys):
    assert main(["project", "--as-of", "FY2026Q3"]) == 2
    err = capsys.readouterr().err
    assert "FY2026Q3 is too early" in err and "china_ecommerce.revenue FY2025Q4" in err
    assert "Traceback" not in err
    assert main(["project", "--as-of", "FY2031Q1"]) == 2
    assert "after the last reported quarter FY2026Q4" in capsys.readouterr().err
    assert main(["project", "--as-of", "2026Q1"]) == 2  # not a quarter: argparse says so


def test_cut_history_drops_years_that_end_later():
    h = assumptions_mod.load().history
    assert not np.isnan(h.row("group.revenue", (Quarter(2026, 4),))[0])  # fills the full history's row cache
    cut = cut_history(h, Quarter(2026, 3))
    assert np.isnan(cut.row("group.revenue", (Quarter(2026, 4),))[0])  # the cut history has its own cache
    assert cut.last_quarter == Quarter(2026, 3)
    assert all(y <= 2025 for m in cut.annual.values() for y in m)
    assert known_by(Quarter(2026, 3)) == "2026-03-31"


def test_lookahead_lists_later_dated_sources_first():
    a = assumptions_mod.load()
    items = lookahead(a)
    assert not any(a.inputs[k].anchor is not None for k, _, _ in items)
    assert len(items) == sum(1 for v in a.inputs.values() if v.anchor is None)
    early = assumptions_mod.load(as_of=Quarter(2026, 4))
    later = [i for i in lookahead(early) if i[2].startswith("source dated")]
    assert all(i[2] > "source dated " + known_by(Quarter(2026, 4)) for i in later)


def test_update_rebases_and_reports_each_claim(folder, tmp_path, capsys):
    out = tmp_path / "change"
    code = main(["update", str(NEXT), "--assumptions", str(folder), "--draws", "500", "--jobs", "1", "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0
    after = assumptions_mod.load(folder)
    assert after.history.last_quarter == Quarter(2027, 1)  # the first projected quarter moves on to FY2027Q2
    rep = (folder / "history" / "reported.csv").read_text(encoding="utf-8")
    assert rep.startswith(
        (BUNDLED / "history" / "reported.csv").read_text(encoding="utf-8")
    )  # appended, old bytes kept
    new = [line.split(",")[:3] for line in rep.splitlines() if line.startswith("FY2027Q1")]
    assert new == sorted(new)
    import pandas as pd

    claims = pd.read_csv(out / "claims_change.csv", index_col=0)
    ids = [c.id for c in assumptions_mod.load(folder).claims]
    assert sorted(claims.index) == sorted(ids)
    ok = claims.dropna()
    assert np.allclose(ok.probability_change, ok.probability_from_actuals + ok.probability_from_anchors)
    outputs = pd.read_csv(out / "outputs_change.csv", index_col=[0, 1])
    assert ("group.revenue", "FY2027") in outputs.index
    r = outputs.loc[("group.revenue", "FY2027")]
    assert r.base_change == pytest.approx(r.base_from_actuals + r.base_from_anchors)
    assert r.base_change != 0  # the new actuals re-base FY2027
    assert "history FY2026Q4 -> FY2027Q1" in text and "cloud_share_30pct_cy2026" in text


def _broken(tmp_path: Path) -> Path:
    rows = list(csv.reader(NEXT.open(encoding="utf-8")))
    for r in rows:
        if r[1] == "Consolidated" and r[2] == "revenue":
            r[3] = str(int(r[3]) + 5000)
    path = tmp_path / "broken.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return path


def test_update_rejects_a_broken_identity_and_changes_nothing(folder, tmp_path, capsys):
    rep = folder / "history" / "reported.csv"
    before = rep.read_bytes()
    bad = _broken(tmp_path)
    assert main(["update", str(bad), "--assumptions", str(folder), "--draws", "200", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:11: FY2027Q1,Consolidated,revenue" in err
    assert "segments + elimination must equal the group" in err and "Traceback" not in err
    assert rep.read_bytes() == before
    assert not (tmp_path / "o").exists()


def test_update_takes_no_tolerance_and_honours_max_memory(folder, tmp_path, capsys):
    """The runs before and after are compared at the same draws, so update has no --tolerance;
    --max-memory refuses, before any work, runs expected to need more."""
    rep = folder / "history" / "reported.csv"
    before = rep.read_bytes()
    out = tmp_path / "o"
    assert main(["update", str(NEXT), "--assumptions", str(folder), "--tolerance", "0.1", "--out", str(out)]) == 2
    assert "unrecognized arguments: --tolerance 0.1" in capsys.readouterr().err
    assert (
        main(
            [
                "update",
                str(NEXT),
                "--assumptions",
                str(folder),
                "--draws",
                "200",
                "--max-memory",
                "0.000001",
                "--out",
                str(out),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "--draws: draws: 200 draws need about " in err and "more than the cap you set (1e-06 GB)" in err
    assert rep.read_bytes() == before and not out.exists()


def test_update_rejects_rows_the_folder_cannot_use(folder, tmp_path, capsys):
    """Without the capex row the folder cannot project: rejected, history byte-identical."""
    rows = [line for line in NEXT.read_text(encoding="utf-8").splitlines() if "capex" not in line]
    path = tmp_path / "no_capex.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    before = (folder / "history" / "reported.csv").read_bytes()
    assert (
        main(["update", str(path), "--assumptions", str(folder), "--draws", "200", "--out", str(tmp_path / "o")]) == 2
    )
    assert "after appending" in capsys.readouterr().err
    assert (folder / "history" / "reported.csv").read_bytes() == before


def test_update_checks_period_and_warns_on_implausible_growth(tmp_path):
    h = assumptions_mod.load().history
    old = tmp_path / "old.csv"
    old.write_text(NEXT.read_text(encoding="utf-8").replace("FY2027Q1", "FY2026Q4"), encoding="utf-8")
    with pytest.raises(InputError) as exc:
        check_new_rows(old, h)
    assert "not after the last reported quarter FY2026Q4" in str(exc.value.problems[0])
    _, warnings = check_new_rows(NEXT, h)
    # group adjusted EBITA 5,357 against FY2026Q1's 38,844: -86%, flagged, not changed
    assert any("FY2027Q1,Consolidated,adjusted_ebita" in str(w) and "-86%" in str(w) for w in warnings)


def test_as_of_is_part_of_the_run_key(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["simulate", "--as-of", "FY2026Q4", "--draws", "200", "--jobs", "1", "--out", str(out)]) == 0
    import json

    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["options"]["as_of"] == "FY2026Q4"
    capsys.readouterr()
    # the same run without --as-of has another key: `claims` runs again rather than reuse it
    assert main(["claims", "--draws", "200", "--jobs", "1", "--out", str(out)]) == 0
    assert "running again" in capsys.readouterr().err


def test_update_refuses_a_gap_or_a_missing_segment(folder, tmp_path, capsys):
    rep = folder / "history" / "reported.csv"
    before = rep.read_bytes()
    gap = tmp_path / "gap.csv"
    gap.write_text(NEXT.read_text(encoding="utf-8").replace("FY2027Q1", "FY2027Q2"), encoding="utf-8")
    assert main(["update", str(gap), "--assumptions", str(folder), "--draws", "200", "--out", str(tmp_path / "o")]) == 2
    assert f"{gap}:2: period: FY2027Q2 does not follow FY2026Q4: update appends" in capsys.readouterr().err
    lacking = tmp_path / "lacking.csv"
    lacking.write_text(
        "".join(
            line
            for line in NEXT.read_text(encoding="utf-8").splitlines(keepends=True)
            if "All others,revenue" not in line
        ),
        encoding="utf-8",
    )
    assert (
        main(["update", str(lacking), "--assumptions", str(folder), "--draws", "200", "--out", str(tmp_path / "o")])
        == 2
    )
    err = capsys.readouterr().err
    # named first as the CSV row to add (issue 24), then the loader's base-quarter check (every load)
    assert err.splitlines()[1] == (
        f"  {lacking}: FY2027Q1,All others,revenue: no row, though FY2026Q4 has one "
        "(the model's all_others.revenue, needed for FY2027Q1): add the row"
    )
    assert (
        "FY2027Q1,All others,revenue: missing row: the model grows "
        "all_others.revenue from its reported values in the four base quarters FY2026Q2..FY2027Q1, and FY2027Q1 has "
        "none" in err
    )
    assert "Traceback" not in err and rep.read_bytes() == before

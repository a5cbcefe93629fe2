"""``pivotmodel report``: every file present, byte-identical regeneration, atomic swap."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pivotmodel.assumptions as assumptions_mod
from pivotmodel import charts as C
from pivotmodel import report
from pivotmodel.cli import main
from pivotmodel.drivers import drivers
from pivotmodel.sensitivity import tornado
from pivotmodel.simulate import simulate

DRAWS = "300"
EXPECTED = [
    "index.html", "summary.md", "manifest.json", "pivotmodel_base.xlsx",
    "tables/claims.csv", "tables/quantiles_fy.csv", "tables/quantiles_cy.csv", "tables/segment_table.csv",
    "tables/key_outputs.csv", "tables/assumptions.csv",
    "tables/claim_drivers.csv", "tables/claim_boxes.csv", "tables/what_would_have_to_be_true.csv",
    *[f"tables/{n}.csv" for n, _, _ in report.TORNADO_OUTPUTS],
    *[f"charts/{n}.{ext}" for n, _, _ in report.TORNADO_OUTPUTS for ext in ("png", "svg")],
    *[f"charts/{n}.{ext}" for n in C.CHARTS for ext in ("png", "svg")],
    *[f"data/{n}.csv" for n in C.CHARTS],
]


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.suffix in (".png", ".svg", ".csv")}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("rep")
    out1, out2 = root / "one", root / "two"
    assert main(["report", "--out", str(out1), "--draws", "20", "--seed", "1"]) == 0
    (out1 / "old.txt").write_text("old report")  # in a folder pivotmodel made: replaced by the swap
    assert main(["report", "--out", str(out1), "--draws", DRAWS, "--seed", "3"]) == 0
    assert main(["report", "--out", str(out2), "--draws", DRAWS, "--seed", "3"]) == 0
    return out1, out2


def test_every_expected_file(built):
    out, _ = built
    for rel in EXPECTED:
        assert (out / rel).is_file(), rel
    assert any(p.name.startswith("metric_") for p in (out / "charts").glob("*.png"))
    html = (out / "index.html").read_text()
    assert (html.index("<h2>Claims") < html.index("<h2>Charts") < html.index('<h2 id="drivers">What drives each claim')
            < html.index('<h2 id="tornado">') < html.index("<h2>Assumptions") < html.index("<h2>Run manifest"))
    assert html.count("data:image/png;base64,") >= len(C.CHARTS) + len(report.TORNADO_OUTPUTS)
    assert "started_utc" not in html and "cloud.ai_revenue.growth.start" in html
    for csv in (out / "tables").glob("*.csv"):
        assert "started_utc" not in csv.read_text()


def test_regeneration_is_byte_identical(built):
    one, two = built
    a, b = _files(one), _files(two)
    assert a.keys() == b.keys() and len(a) > 20
    different = [k for k in a if a[k] != b[k]]
    assert not different
    assert (one / "index.html").read_bytes() == (two / "index.html").read_bytes()


def test_failure_midway_leaves_old_folder(built, tmp_path, monkeypatch):
    out = tmp_path / "rep"
    out.mkdir()
    (out / ".pivotmodel-output").write_text("made by pivotmodel")
    (out / "old.txt").write_text("old report")

    def boom(data, ax=None):
        raise RuntimeError("chart failed")

    monkeypatch.setitem(C.CHARTS, "fcf", (C.fcf_data, boom))
    with pytest.raises(RuntimeError):
        main(["report", "--out", str(out), "--draws", "50", "--seed", "1"])
    assert sorted(p.name for p in out.iterdir()) == [".pivotmodel-output", "old.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]  # no temporary folder left


def test_swap_replaces_old_folder(built):
    out, _ = built
    assert not (out / "old.txt").exists() and (out / "index.html").exists()
    assert sorted(p.name for p in out.parent.iterdir()) == ["one", "two"]  # no temporary or backup folder


def test_input_error_returns_2(tmp_path, capsys):
    assert main(["report", "--out", str(tmp_path / "r"), "--draws", "1"]) == 2
    assert main(["report", "--out", str(tmp_path / "r"), "--scenario", "no_such_scenario"]) == 2
    assert main(["report", "--out", str(tmp_path / "r"), "--draws", "50", "--compare", "no_such_scenario"]) == 2
    assert not (tmp_path / "r").exists()


def test_compare_and_default_out(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--scenario", "bull", "--draws", "100", "--seed", "2", "--compare", "base,bear"]) == 0
    out = tmp_path / "reports" / "bull"
    for rel in ("tables/compare_claims.csv", "tables/compare_outputs.csv", "charts/compare_claims.png", "charts/compare_claims.svg"):
        assert (out / rel).is_file(), rel
    head = (out / "tables/compare_claims.csv").read_text().splitlines()[0]
    assert head.index("bull probability (ratio)") < head.index("base probability (ratio)") < head.index("bear probability (ratio)")
    assert "Scenarios compared" in (out / "index.html").read_text()
    assert (out / "pivotmodel_bull.xlsx").is_file()
    assert len(report.KEY_OUTPUTS) == len((out / "tables/compare_outputs.csv").read_text().splitlines()) - 1


# --- what drives each claim, what would have to be true, tornado charts ----------------------------

@pytest.fixture(scope="module")
def run():
    """The Results the report in ``built`` was made from (same scenario, draws and seed)."""
    a = assumptions_mod.load()
    return a, simulate(a, draws=int(DRAWS), seed=3, jobs=1, progress=False)


def test_drivers_table_matches_drivers_on_the_same_results(built, run):
    out, _ = built
    _, r = run
    table = pd.read_csv(out / "tables/claim_drivers.csv")
    boxes = pd.read_csv(out / "tables/claim_boxes.csv", keep_default_na=False).set_index("claim")
    assert list(boxes.index) == [c.id for c in r.claims if c.headline] + [c.id for c in r.claims if not c.headline]
    checked = 0
    for c in r.claims:
        d = drivers(r, c.id)
        rows = table[table["claim"] == c.id].reset_index(drop=True)
        assert len(rows) == min(report.TOP_DRIVERS, len(d)), c.id
        assert boxes.loc[c.id, "message"] == d.attrs["message"]
        if d.attrs["message"]:
            assert f"{d.attrs['message']}" in (out / "index.html").read_text()
            continue
        assert list(rows["rank"]) == list(range(1, len(rows) + 1))
        assert list(rows["input"]) == list(d["input"].head(len(rows)))
        for col in ("ks", "p_value", "median_holds", "median_fails"):
            np.testing.assert_allclose(rows[col], d[col].head(len(rows)), rtol=1e-5, err_msg=f"{c.id} {col}")
        assert list(rows["direction"]) == list(d["direction"].head(len(rows)))
        assert boxes.loc[c.id, "box_sentence"]
        checked += 1
    assert checked >= 3
    assert boxes["message"].astype(bool).any()  # some claims always/never hold or cannot be evaluated


def test_tornado_tables_match_tornado(built, run):
    out, _ = built
    a, _ = run
    for name, spec, _ in report.TORNADO_OUTPUTS:
        got = pd.read_csv(out / f"tables/{name}.csv")
        want = tornado(a, spec)
        assert list(got["input"]) == list(want["input"])
        for col in ("low_value", "high_value", "output_low", "output_high", "swing", "base_output"):
            np.testing.assert_allclose(got[col], want[col], rtol=1e-5, atol=1e-12, err_msg=f"{name} {col}")
        assert list(got["monotonic"]) == list(want["monotonic"])
        assert (out / f"data/{name}.csv").is_file()


def test_solve_sentences_for_headline_claims_with_thresholds(built, run):
    out, _ = built
    _, r = run
    wwt = pd.read_csv(out / "tables/what_would_have_to_be_true.csv", keep_default_na=False)
    expected = [c.id for c in r.claims if c.headline and c.threshold is not None]
    assert list(wwt["claim"]) == expected and expected
    html = (out / "index.html").read_text()
    summary = (out / "summary.md").read_text()
    for _, x in wwt.iterrows():
        assert x["input"] and x["sentence"].strip(), x["claim"]
        assert x["claim"] in x["sentence"]
        assert x["status"] in ("solved", "always", "never", "mixed", "not_evaluable")
        assert x["sentence"] in summary
        assert report._e(x["sentence"]) in html
    first = wwt.iloc[0]  # the top driver from the drivers table, or the tornado fallback when there are none
    d = drivers(r, first["claim"])
    if len(d):
        assert first["input"] == d["input"].iloc[0]
    assert "What would have to be true" in summary

"""``pivotmodel report``: every file present, byte-identical regeneration, atomic swap."""

from __future__ import annotations

from pathlib import Path

import pytest

from pivotmodel import charts as C
from pivotmodel import report
from pivotmodel.cli import main

DRAWS = "300"
EXPECTED = [
    "index.html", "summary.md", "manifest.json", "pivotmodel_base.xlsx",
    "tables/claims.csv", "tables/quantiles_fy.csv", "tables/quantiles_cy.csv", "tables/segment_table.csv",
    "tables/key_outputs.csv", "tables/assumptions.csv",
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
    out1.mkdir()
    (out1 / "old.txt").write_text("old report")  # replaced by the swap
    assert main(["report", "--out", str(out1), "--draws", DRAWS, "--seed", "3"]) == 0
    assert main(["report", "--out", str(out2), "--draws", DRAWS, "--seed", "3"]) == 0
    return out1, out2


def test_every_expected_file(built):
    out, _ = built
    for rel in EXPECTED:
        assert (out / rel).is_file(), rel
    assert any(p.name.startswith("metric_") for p in (out / "charts").glob("*.png"))
    html = (out / "index.html").read_text()
    assert html.index("<h2>Claims") < html.index("<h2>Charts") < html.index("<h2>Assumptions") < html.index("<h2>Run manifest")
    assert html.count("data:image/png;base64,") >= len(C.CHARTS)
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
    (out / "old.txt").write_text("old report")

    def boom(data, ax=None):
        raise RuntimeError("chart failed")

    monkeypatch.setitem(C.CHARTS, "fcf", (C.fcf_data, boom))
    with pytest.raises(RuntimeError):
        main(["report", "--out", str(out), "--draws", "50", "--seed", "1"])
    assert [p.name for p in out.iterdir()] == ["old.txt"]
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

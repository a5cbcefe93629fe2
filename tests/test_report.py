"""``pivotmodel report``: every file present, byte-identical regeneration, atomic swap."""

from __future__ import annotations

import re
from html import escape as html_escape
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
    "index.html",
    "summary.md",
    "manifest.json",
    "pivotmodel_base.xlsx",
    "tables/claims.csv",
    "tables/quantiles_fy.csv",
    "tables/quantiles_cy.csv",
    "tables/segment_table.csv",
    "tables/key_outputs.csv",
    "tables/assumptions.csv",
    "tables/claim_drivers.csv",
    "tables/claim_boxes.csv",
    "tables/what_would_have_to_be_true.csv",
    *[f"tables/{n}.csv" for n, _, _ in report.TORNADO_OUTPUTS],
    *[f"charts/{n}.{ext}" for n, _, _ in report.TORNADO_OUTPUTS for ext in ("png", "svg")],
    *[f"charts/{n}.{ext}" for n in C.CHARTS for ext in ("png", "svg")],
    *[f"data/{n}.csv" for n in C.CHARTS],
]


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.suffix in (".png", ".svg", ".csv")
    }


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
    heads = [
        '<h2 id="findings">Findings',
        '<h2 id="claims">Claims',
        '<h2 id="charts">Charts',
        '<h2 id="drivers">What drives each claim',
        '<h2 id="tornado">',
        '<h2 id="boundary">',
        '<h2 id="assumptions">Assumptions',
        "<h2>Run manifest",
    ]
    assert [html.index(h) for h in heads] == sorted(html.index(h) for h in heads)
    assert html.count("data:image/png;base64,") >= len(C.CHARTS) + len(report.TORNADO_OUTPUTS)
    assert "started_utc" not in html and "cloud.ai_revenue.growth.start" in html
    assert (
        html.index('<h2 id="claims">Claims')
        < html.index('<h2 id="bridge">From FY2026 to FY2027')
        < html.index('<h2 id="consensus">')
    )
    assert (out / "tables" / "bridge.csv").is_file()
    for csv in (out / "tables").glob("*.csv"):
        assert "started_utc" not in csv.read_text()


def test_report_folder_respects_the_umask(built):
    import os

    umask = os.umask(0o022)
    os.umask(umask)
    assert (built[0].stat().st_mode & 0o777) == 0o777 & ~umask
    assert ((built[0] / "index.html").stat().st_mode & 0o777) == 0o666 & ~umask


def test_regeneration_is_byte_identical(built):
    one, two = built
    a, b = _files(one), _files(two)
    assert a.keys() == b.keys() and len(a) > 20
    different = [k for k in a if a[k] != b[k]]
    assert not different
    assert (one / "index.html").read_bytes() == (two / "index.html").read_bytes()
    assert (one / "pivotmodel_base.xlsx").read_bytes() == (two / "pivotmodel_base.xlsx").read_bytes()


def test_regenerated_with_no_input_change_reuses_every_chart_and_is_byte_identical(built, capsys):
    """The second report (seed 3) replaced one made with seed 1: charts whose data did not move
    (the tornadoes: deterministic) were copied, the rest drawn, and the files equal a report
    drawn afresh (test above). Regenerating it again copies every chart; a chart file edited
    since no longer matches its recorded hash and is drawn again, restoring it."""
    import json

    _, two = built
    before = _files(two) | {"index.html": (two / "index.html").read_bytes()}
    recorded = json.loads((two / "manifest.json").read_text())["charts"]
    assert len(recorded) >= len(C.CHARTS) + len(report.TORNADO_OUTPUTS)
    assert all(set(v) == {"key", "png", "svg"} for v in recorded.values())
    (two / "charts" / "revenue_mix.svg").write_bytes(b"edited")
    capsys.readouterr()
    assert main(["report", "--out", str(two), "--draws", DRAWS, "--seed", "3", "--profile"]) == 0
    out, err = capsys.readouterr()
    assert f"; {len(recorded) - 1} of {len(recorded)} charts unchanged, copied from the previous report)" in out
    for stage in (
        "simulating",
        "drivers of every claim",
        "published forecasts",
        "claims over time and backtest",
        "total",
    ):
        assert stage in err, stage
    after = _files(two) | {"index.html": (two / "index.html").read_bytes()}
    assert after == before
    assert json.loads((two / "manifest.json").read_text())["charts"] == recorded


def test_a_charts_key_changes_with_anything_it_is_drawn_from():
    import functools

    from pivotmodel.chartfiles import chart_key, registered_plot

    data = pd.DataFrame({"x": [1.0, 2.0], "y": ["a", "b"]})
    key = chart_key("c", data, registered_plot("margins"), "src")
    assert key == chart_key("c", data.copy(), registered_plot("margins"), "src") and len(key) == 64
    nudged = data.copy()
    nudged.loc[1, "x"] = np.nextafter(2.0, 3.0)  # one ulp: invisible in the %.6g data file, not here
    flagged = data.copy()
    flagged.attrs["base_output"] = 1.0
    others = [
        chart_key("c", nudged, registered_plot("margins"), "src"),
        chart_key("c", flagged, registered_plot("margins"), "src"),
        chart_key("d", data, registered_plot("margins"), "src"),
        chart_key("c", data, registered_plot("fcf"), "src"),
        chart_key("c", data, registered_plot("margins"), "src 2"),
        chart_key("c", data, functools.partial(C.plot_output_tornado, title="A"), "src"),
        chart_key("c", data, functools.partial(C.plot_output_tornado, title="B"), "src"),
        chart_key("c", data.set_axis([5, 6]), registered_plot("margins"), "src"),
    ]
    assert len({key, *others}) == 1 + len(others)


def test_workbook_is_formatted(built):
    from openpyxl import load_workbook

    wb = load_workbook(built[0] / "pivotmodel_base.xlsx")
    assert all(re.fullmatch(r"[A-Za-z0-9_]{1,31}", n) for n in wb.sheetnames)
    ws = wb["claims"]
    header = [c.value for c in ws[1]]
    assert ws.freeze_panes == "B2" and ws.auto_filter.ref.startswith("A1:")
    assert ws.cell(2, header.index("probability (ratio)") + 1).number_format == "0.0%"
    q = wb["quantiles_fy"]
    assert q.freeze_panes == "C2" and {c.number_format for c in q["D"][1:]} <= {"#,##0.0", "0.0%", "General"}
    w = wb["what_would_have_to_be_true"]
    cols = [c.value for c in w[1]]
    for row in w.iter_rows(min_row=2, values_only=True):
        x = dict(zip(cols, row))
        assert x["unit"] != "RMB_mn" or x["input"] not in ("capex.plan.total",)  # shown in the RMB bn it is written in
        assert x["metric_unit"] in ("ratio", "RMB bn", "US$ bn", "year")


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


def test_compare_and_default_out(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--scenario", "bull", "--draws", "100", "--seed", "2", "--compare", "base,bear"]) == 0
    assert capsys.readouterr().err == ""  # no progress when stderr is not a terminal
    out = tmp_path / "reports" / "bull_vs_base_bear"  # a comparison does not overwrite reports/bull
    assert not (tmp_path / "reports" / "bull").exists()
    for rel in (
        "tables/compare_claims.csv",
        "tables/compare_outputs.csv",
        "charts/compare_claims.png",
        "charts/compare_claims.svg",
    ):
        assert (out / rel).is_file(), rel
    head = (out / "tables/compare_claims.csv").read_text().splitlines()[0]
    assert (
        head.index("bull probability (ratio)")
        < head.index("base probability (ratio)")
        < head.index("bear probability (ratio)")
    )
    html = (out / "index.html").read_text()
    assert "Scenarios compared" in html
    a = {n: assumptions_mod.load(None, n).scenario for n in ("bull", "base", "bear")}
    for n in ("bull", "bear"):
        assert html_escape(a[n].title) in html and html_escape(a[n].rationale[:60]) in html
    assert re.search(r"<td>(&lt; 0\.1%|> 99\.9%|&gt; 99\.9%|\d+\.\d%) \[", html)  # probability [interval]
    summary = (out / "summary.md").read_text()
    assert "## Scenarios compared: bull, base, bear" in summary and "| claim | bull | base | bear |" in summary
    assert re.search(r"\| ★ \S+ \| [^|]+ \[[^|]+\] \|", summary)
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
    for _, x in wwt.iterrows():  # the top driver (KS), or the largest tornado swing when the run has no drivers
        d = drivers(r, x["claim"])
        want = "top driver (KS)" if len(d) else "largest tornado swing of the metric (no drivers in this run)"
        assert x["basis"] == want, x["claim"]
        if len(d):
            assert x["input"] == d["input"].iloc[0], x["claim"]
        else:
            assert x["input"] in r.inputs.columns, x["claim"]  # an uncertain input
    assert "What would have to be true" in summary


def test_page_wraps_tables_and_shows_no_file_paths(built):
    """Every table sits in a sideways-scrolling wrapper (the page reads at 1000 px); claim
    sources show publication, date and a web address, never a path inside the project."""
    import re

    html = (built[0] / "index.html").read_text()
    assert ".tw{overflow-x:auto" in html
    n_tables = html.count("<table")
    assert n_tables >= 5 and html.count("<div class=tw><table") == n_tables
    assert "shared/" not in html and "DESIGN.md" not in html and "reference/articles" not in html
    hrefs = re.findall(r'href="([^"]+)"', html)
    # "#": the page's own sections
    assert hrefs and all(h.startswith(("http://", "https://", "charts/", "data/", "tables/", "#")) for h in hrefs)
    assert "share the whole report folder" in html
    assert "td.text{" in html and "<td class=text>" in html


def test_progress_names_the_stages_on_a_terminal(tmp_path, capsys):
    a = assumptions_mod.load()
    report.write_report(a, tmp_path / "r", 100, 1, progress=True, chart_worker=False)
    err = capsys.readouterr().err
    for stage in ("simulating", "charts", "drivers of every claim", "workbook", "page and summary"):
        assert stage in err, stage
    counts = [(int(n), int(t)) for n, t in re.findall(r"\| (\d+)/(\d+) \[", err)]
    total = counts[-1][1]
    assert total > 7 and all(n <= t for n, t in counts) and max(n for n, _ in counts) >= total - 1


def test_claims_and_assumptions_read_as_written(built):
    html = (built[0] / "index.html").read_text()
    assert "2,03" not in html and "over all draws; never in " in html  # first_fy years as integers, "never" a value
    assert "0.0% - 0.0%" not in html and not re.search(r">0\.0%<", html) and "&lt; 0.1%" in html
    assert "(seed estimate)" in html and "<th>median</th>" in html
    t = pd.read_csv(built[0] / "tables/assumptions.csv", keep_default_na=False).set_index("key")
    a = assumptions_mod.load()
    assert set(t.index) >= set(a.inputs) and (t["kind"] == "seed estimate").sum() == len(a.seeds) > 0
    shown = {"RMB_bn": 0, "period": 0}
    for key, inp in a.inputs.items():
        row = t.loc[key]
        if inp.unit == "RMB_bn":  # shown in RMB bn, as written, not the engine's RMB mn
            assert float(row["median"]) == pytest.approx(inp.base_value / 1000, rel=1e-3)
            assert all(float(v) < inp.base_value / 100 for v in re.findall(r"=(-?[\d.]+)", row["distribution"]))
        if inp.unit == "period":
            assert re.fullmatch(r"FY\d{4}Q[1-4]", row["median"]) and row["distribution"] == row["median"]
        shown[inp.unit] = shown.get(inp.unit, 0) + 1
    assert shown["RMB_bn"] >= 1 and shown["period"] >= 1  # both kinds were checked
    # the median of PERT(320, 450, 560) RMB bn (mean 446.7, mode 450), in bn as written, not the engine's mn
    assert t.loc["capex.plan.total", "median"] == "447.5"


def test_probabilities_never_round_to_zero_or_one():
    assert report._pct(0.0) == "< 0.1%" and report._pct(0.0004) == "< 0.1%" and report._pct(0.0006) == "0.1%"
    assert report._pct(1.0) == "> 99.9%" and report._pct(float("nan")) == "n/a"
    assert report._interval(0.0, 0.0002) == "< 0.1%" and report._interval(0.0, 0.0025) == "0.0% - 0.2%"
    assert report._metric(2031.0, "year") == "2031" and report._metric(455.04, "RMB bn") == "455.0"


def test_claims_decided_by_inputs_or_on_estimates_say_so_in_the_page_and_summary(built, run):
    """A 0% decided by an input's range is labelled, never shown bare (issue 8)."""
    out, _ = built
    _, r = run
    table = r.claims_table()
    labelled = table[table["status"].fillna("").str.len() > 0]
    assert len(labelled)
    html = (out / "index.html").read_text()
    summary = (out / "summary.md").read_text()
    for cid, x in labelled.iterrows():
        row = html[html.index(f"<code>{cid.replace('_', '_<wbr>')}</code>") :]
        row = row[: row.index("</tr>")]
        assert x["status"].replace("'", "&#x27;") in row, cid
        if x["headline"]:
            assert f"| {x['status']} |" in summary, cid

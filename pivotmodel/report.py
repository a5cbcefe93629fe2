"""``pivotmodel report``: the whole report folder for a scenario, rebuilt in one go.

Contents: every chart as PNG and SVG (``charts/``) with the numbers each draws
(``data/``); tables as CSV and one XLSX workbook; ``summary.md``; a self-contained
``index.html`` (claims, charts as embedded PNG, the assumptions used with their sources,
the run manifest); ``manifest.json`` (the only file with times in it).

Same inputs and seed give byte-identical PNG, SVG and CSV files. The folder is built
beside the target and swapped in at the end, so a failure leaves the old report as it was.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import assumptions as assumptions_mod
from .atomic import check_dir_target
from .errors import InputError
from .options import SEED, int_at_least


class _LazyCharts:
    """:mod:`pivotmodel.charts` (matplotlib) is imported on first use, so the CLI starts fast."""

    def __getattr__(self, name: str) -> Any:
        from . import charts

        return getattr(charts, name)


C = _LazyCharts()

__all__ = ["build_report", "write_report", "cmd_report", "register", "KEY_OUTPUTS", "TORNADO_OUTPUTS",
           "claim_drivers", "what_would_have_to_be_true", "TOP_DRIVERS"]

FLOAT = "%.6g"
# (label, series, numerator/denominator or None, fiscal year): the key outputs compared across scenarios.
KEY_OUTPUTS = [
    ("Group revenue FY2031 (RMB bn)", "group.revenue", None, "FY2031"),
    ("Cloud revenue FY2031 (RMB bn)", "cloud.revenue", None, "FY2031"),
    ("Cloud share of group revenue FY2031 (ratio)", "cloud.revenue", "group.revenue", "FY2031"),
    ("Group adjusted EBITA FY2031 (RMB bn)", "group.adjusted_ebita", None, "FY2031"),
    ("Cloud adjusted EBITA margin FY2031 (ratio)", "cloud.adjusted_ebita", "cloud.revenue", "FY2031"),
    ("Group capex FY2028 (RMB bn)", "group.capex", None, "FY2028"),
    ("Group free cash flow FY2028 (RMB bn)", "group.fcf", None, "FY2028"),
]
# (file name, output spec for pivotmodel.sensitivity, caption): the outputs drawn as tornado charts.
TORNADO_OUTPUTS = [
    ("tornado_cloud_share_cy2026", "share(cloud.revenue, group.revenue, CY2026)",
     "Cloud share of group revenue CY2026 (ratio)"),
    ("tornado_group_ebita_fy2028", "group.adjusted_ebita@FY2028", "Group adjusted EBITA FY2028 (RMB bn)"),
    ("tornado_group_fcf_fy2027", "group.fcf@FY2027", "Group free cash flow FY2027 (RMB bn)"),
]
TOP_DRIVERS = 5  # drivers shown per claim (and the inputs the box is peeled over: the top 4)
CLAIM_COLUMNS = {
    "headline": "headline", "probability": "probability (ratio)", "ci_low": "ci_low (ratio)",
    "ci_high": "ci_high (ratio)", "draws": "draws (count)", "base_case": "base_case (1 holds, 0 fails)",
    "metric_p5": "metric_p5 (claim units)", "metric_p50": "metric_p50 (claim units)",
    "metric_p95": "metric_p95 (claim units)", "threshold": "threshold (claim units)",
}


# --- tables -----------------------------------------------------------------------------------

def claims_frame(r) -> pd.DataFrame:
    t = r.claims_table()
    t.insert(list(t.columns).index("threshold") + 1, "metric_unit", [C.metric_unit(c.test) for c in r.claims])
    return t.rename(columns=CLAIM_COLUMNS)


def key_outputs(r) -> pd.DataFrame:
    rows = []
    for label, num, den, year in KEY_OUTPUTS:
        i = r.periods["fy"].index(year)
        x = r.totals["fy"][num][:, i]
        x = x / r.totals["fy"][den][:, i] if den else x / 1000.0
        p5, p50, p95 = np.nanquantile(x, [0.05, 0.5, 0.95])
        rows.append({"output": label, "P5": p5, "P50": p50, "P95": p95})
    return pd.DataFrame(rows).set_index("output")


def assumptions_frame(a) -> pd.DataFrame:
    rows = []
    for key, inp in a.inputs.items():
        src = a.sources.get(inp.source)
        rows.append({
            "key": key, "distribution": inp.dist.describe(), "unit": inp.unit, "basis": inp.basis,
            "source": src.title if src else (inp.source or ""), "href": src.href if src else "",
            "note": inp.note or "",
        })
    return pd.DataFrame(rows)


def _ordered_claims(r) -> list:
    """Headline claims first, then the rest, each in register order."""
    return [c for c in r.claims if c.headline] + [c for c in r.claims if not c.headline]


def claim_drivers(r, top: int = TOP_DRIVERS) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, pd.DataFrame]]:
    """Drivers of every claim from the draws of ``r`` (no new simulation).

    Returns (``drivers``: the top ``top`` inputs by KS distance of each claim, long table with
    claim, rank, input, ks, ...; ``boxes``: one row per claim with its probability, counts,
    the always/never/not-evaluable message and the PRIM-style box sentence; the full
    :func:`pivotmodel.drivers.drivers` table of each claim)."""
    from .drivers import drivers, prim_box

    probs = r.claims_table()
    rows, box_rows, full = [], [], {}
    for c in _ordered_claims(r):
        d = drivers(r, c.id)
        full[c.id] = d
        for i, x in enumerate(d.head(top).itertuples(index=False), start=1):
            rows.append({"claim": c.id, "headline": c.headline, "rank": i, **x._asdict()})
        box = prim_box(r, c.id, inputs=list(d["input"].head(4))) if len(d) else prim_box(r, c.id)
        at = d.attrs
        p = probs.loc[c.id]
        box_rows.append({
            "claim": c.id, "headline": c.headline, "probability": p["probability"], "ci_low": p["ci_low"],
            "ci_high": p["ci_high"], "draws": at["draws"], "evaluable": at["evaluable"], "holding": at["holding"],
            "failing": at["failing"], "message": at["message"], "box_density": box.attrs["density"] if len(d) else np.nan,
            "box_coverage": box.attrs["coverage"], "box_support": box.attrs["support"],
            "box_sentence": "" if at["message"] else box.attrs["sentence"],
        })
    cols = ["claim", "headline", "rank", "input", "ks", "p_value", "median_holds", "median_fails", "direction", "unit"]
    return pd.DataFrame(rows, columns=cols), pd.DataFrame(box_rows), full


def _claim_metric_output(claim) -> str | None:
    """The left side of ``metric <cmp> threshold`` as an output spec, or None."""
    import ast
    import re

    body = claim.tree.body
    if claim.threshold is None or not isinstance(body, ast.Compare):
        return None
    # parse_test quotes period ranges (FY2026Q1:FY2028Q4); write them back bare
    return re.sub(r"""(['"])([A-Za-z0-9]+:[A-Za-z0-9]+)\1""", r"\2", ast.unparse(body.left))


def what_would_have_to_be_true(a, full_drivers: dict[str, pd.DataFrame], claims) -> pd.DataFrame:
    """For each headline claim with a threshold: :func:`pivotmodel.solve.solve` on its top
    driver (by KS); when the run has no drivers (the claim always or never holds), on the
    input with the largest tornado swing of the claim's metric. Deterministic engine."""
    from .errors import InputError as _InputError
    from .sensitivity import tornado
    from .solve import solve

    rows = []
    for c in claims:
        if not c.headline or c.threshold is None:
            continue
        d = full_drivers[c.id]
        key, basis, sol, sentence = None, "", None, ""
        if len(d):
            key, basis = str(d["input"].iloc[0]), "top driver (KS)"
        else:
            spec = _claim_metric_output(c)
            why = f"{c.id} has no drivers in this run and its metric cannot be swung input by input"
            try:
                t = tornado(a, spec) if spec else None
            except _InputError as exc:
                t, why = None, f"{why} ({exc})"
            if t is not None and len(t) and t["swing"].iloc[0] > 0:
                key, basis = str(t["input"].iloc[0]), "largest tornado swing of the metric (no drivers in this run)"
            elif t is not None:
                why = f"no input moves the metric of {c.id}, so there is nothing to solve for"
        if key is None:
            sentence = why
        else:
            try:
                sol = solve(a, c.id, key)
                sentence = sol.sentence
            except _InputError as exc:
                sentence = f"{c.id}: cannot solve for {key} ({exc})"
        rows.append({
            "claim": c.id, "input": key or "", "basis": basis, "status": sol.status if sol else "",
            "solved_value": sol.value if sol else np.nan, "direction": sol.direction if sol else "",
            "base_value": sol.base_value if sol else np.nan, "unit": sol.unit if sol else "",
            "threshold": c.threshold, "comparison": c.comparison,
            "base_metric": sol.base_metric if sol else np.nan, "sentence": sentence,
        })
    cols = ["claim", "input", "basis", "status", "solved_value", "direction", "base_value", "unit", "threshold",
            "comparison", "base_metric", "sentence"]
    return pd.DataFrame(rows, columns=cols)


# --- html -------------------------------------------------------------------------------------

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;max-width:1200px;color:#202124;font-size:14px}
h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #dadce0;padding-bottom:4px;margin-top:32px}
table{border-collapse:collapse;font-size:12px;margin:8px 0}th,td{border:1px solid #dadce0;padding:3px 6px;vertical-align:top}
th{background:#f1f3f4;text-align:left}td.num{text-align:right;white-space:nowrap}
figure{margin:16px 0}figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:12px;color:#5f6368}
td.small{word-break:break-word;min-width:160px;max-width:260px}
pre{background:#f8f9fa;padding:8px;font-size:12px;overflow:auto}.small{font-size:12px;color:#5f6368}
"""


def _e(x: Any) -> str:
    return html.escape("" if x is None or (isinstance(x, float) and np.isnan(x)) else str(x))


def _pct(x: float) -> str:
    return "n/a" if x is None or pd.isna(x) else f"{x:.1%}"


def _num(x: Any) -> str:
    if x is None or pd.isna(x):
        return ""
    return f"{x:,.1f}" if abs(x) >= 10 else f"{x:.3f}"


def _source_html(src: dict) -> str:
    pub, date, url = _e(src.get("publication", "")), _e(src.get("date", "")), src.get("url", "")
    if str(url).startswith(("http://", "https://")):
        pub = f'<a href="{_e(url)}">{pub}</a>'
    elif url:
        pub = f"{pub} ({_e(url)})"
    return f"{pub}, {date}" if date else pub


def _claims_html(r) -> str:
    t = r.claims_table().reset_index()
    t["order"] = range(len(t))
    t = t.sort_values(["headline", "order"], ascending=[False, True], kind="stable")
    head = ("<tr><th>claim</th><th>headline</th><th>probability</th><th>95% interval</th><th>base case</th>"
            "<th>metric P5 / P50 / P95</th><th>threshold</th><th>statement</th><th>source</th></tr>")
    rows = []
    for _, x in t.iterrows():
        metric = "" if pd.isna(x["metric_p50"]) else f"{_num(x['metric_p5'])} / {_num(x['metric_p50'])} / {_num(x['metric_p95'])}"
        base = "n/a" if pd.isna(x["base_case"]) else ("holds" if x["base_case"] == 1 else "fails")
        rows.append(
            f"<tr><td><code>{_e(x['id'])}</code></td><td>{'&#9733;' if x['headline'] else ''}</td>"
            f"<td class=num>{_pct(x['probability'])}</td><td class=num>{_pct(x['ci_low'])} - {_pct(x['ci_high'])}</td>"
            f"<td>{base}</td><td class=num>{metric}</td>"
            f"<td class=num>{_num(x['threshold'])}</td><td>{_e(x['words'])}<br><span class=small>Test: <code>{_e(x['test'])}</code></span></td>"
            f"<td class=small>{_source_html(r.claim(x['id']).source)}</td></tr>")
    return f"<table>{head}{''.join(rows)}</table><p class=small>Interval: {_e(r.interval_method)}.</p>"


def _drivers_html(a, boxes: pd.DataFrame, drv: pd.DataFrame, wwt: pd.DataFrame, draws: int) -> str:
    from .sensitivity import format_value

    solved = wwt.set_index("claim")
    intro = (f"<p>Drivers come from the same {draws:,} draws as the claims table (no further simulation): "
             "the draws where a claim holds and where it fails are split, and the inputs are ranked by the "
             "Kolmogorov-Smirnov distance between the two (0: the input does not separate them; 1: it decides "
             f"them). The top {TOP_DRIVERS} are shown; the box peels the ranges of the top 4 inputs to where the "
             "claim holds most often. <i>What would have to be true</i>: for each headline claim with a "
             "threshold, the value of its top driver at which the claim flips, with every other input at its "
             "median (deterministic engine; a claim without drivers in this run is solved on the input that swings "
             "its metric most). Full tables: <a href=\"tables/claim_drivers.csv\">claim_drivers.csv</a>, "
             "<a href=\"tables/claim_boxes.csv\">claim_boxes.csv</a>, "
             "<a href=\"tables/what_would_have_to_be_true.csv\">what_would_have_to_be_true.csv</a>.</p>")
    parts = [intro]
    head = ("<tr><th>rank</th><th>input</th><th>KS</th><th>median where it holds</th>"
            "<th>median where it fails</th><th>claim favours</th></tr>")
    for _, b in boxes.iterrows():
        cid = b["claim"]
        parts.append(f'<h3 id="drivers-{_e(cid)}">{"&#9733; " if b["headline"] else ""}<code>{_e(cid)}</code></h3>')
        parts.append(f"<p>Probability {_pct(b['probability'])} [{_pct(b['ci_low'])} - {_pct(b['ci_high'])}]; "
                     f"holds in {b['holding']:,} of {b['evaluable']:,} evaluable draws"
                     + (f" ({b['draws'] - b['evaluable']:,} not evaluable)" if b["draws"] != b["evaluable"] else "") + ".</p>")
        if b["message"]:
            parts.append(f"<p><b>No drivers:</b> {_e(b['message'])}.</p>")
        else:
            rows = []
            for _, x in drv[drv["claim"] == cid].iterrows():
                rows.append(f"<tr><td class=num>{x['rank']}</td><td><code>{_e(x['input'])}</code></td>"
                            f"<td class=num>{x['ks']:.3f}</td>"
                            f"<td class=num>{_e(format_value(a, x['input'], x['median_holds']))}</td>"
                            f"<td class=num>{_e(format_value(a, x['input'], x['median_fails']))}</td>"
                            f"<td>{_e(x['direction'])} values</td></tr>")
            parts.append(f"<table>{head}{''.join(rows)}</table>")
            parts.append(f"<p><b>Box:</b> {_e(b['box_sentence'])}.</p>")
        if cid in solved.index:
            w = solved.loc[cid]
            how = f" <span class=small>(input: {_e(w['basis'])})</span>" if w["basis"] else ""
            parts.append(f"<p><b>What would have to be true:</b> {_e(w['sentence'])}.{how}</p>")
    return "".join(parts)


def _frame_html(df: pd.DataFrame, fmt=_num) -> str:
    return df.to_html(float_format=lambda v: fmt(v), na_rep="", border=0, escape=True)


def _img(path: Path, caption: str) -> str:
    b64 = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure><img alt="{_e(caption)}" src="data:image/png;base64,{b64}">'
            f'<figcaption>{_e(caption)} (<a href="charts/{path.stem}.svg">SVG</a>, '
            f'<a href="data/{path.stem}.csv">data</a>)</figcaption></figure>')


def _assumptions_html(table: pd.DataFrame) -> str:
    head = "<tr><th>input</th><th>distribution</th><th>unit</th><th>basis</th><th>source</th><th>note</th></tr>"
    rows = []
    for _, x in table.iterrows():
        src = _e(x["source"])
        if x["href"]:
            src = f'<a href="{_e(x["href"])}">{src}</a>'
        rows.append(f"<tr><td><code>{_e(x['key'])}</code></td><td>{_e(x['distribution'])}</td><td>{_e(x['unit'])}</td>"
                    f"<td>{_e(x['basis'])}</td><td>{src}</td><td class=small>{_e(x['note'])}</td></tr>")
    return f"<table>{head}{''.join(rows)}</table>"


# --- build ------------------------------------------------------------------------------------

def _chart(folder: Path, name: str, data: pd.DataFrame, plot, source: str) -> Path:
    import matplotlib.pyplot as plt

    ax = plot(data)
    fig = ax.figure
    try:
        C.add_source(fig, source)
        C.save(fig, folder / "charts" / name)
    finally:
        plt.close(fig)
    data.to_csv(folder / "data" / f"{name}.csv", index=False, float_format=FLOAT)
    return folder / "charts" / f"{name}.png"


def build_report(a, folder: Path, draws: int, seed: int, compare: list[str] | None = None,
                 assumptions_dir: Path | None = None) -> dict[str, Any]:
    """Write every report file into ``folder`` (which must exist and be empty)."""
    from .model import project
    from .sensitivity import tornado
    from .simulate import manifest_json, simulate
    from .tables import segment_table

    started = time.time()
    for sub in ("charts", "data", "tables"):
        (folder / sub).mkdir()
    r = simulate(a, draws=draws, seed=seed, jobs=1, progress=False)
    source = C.source_line(r)
    figures: list[tuple[Path, str]] = []
    captions = {
        "revenue_mix": "Revenue mix by segment: reported, then median projection (RMB bn)",
        "cloud_share": "Cloud share of group revenue: median and P25-P75, P5-P95 bands, claims marked",
        "margins": "Adjusted EBITA margin by segment and group",
        "capex": "Capex, depreciation and cloud revenue (RMB bn)",
        "fcf": "Group free cash flow (RMB bn)",
        "claim_probabilities": "Claim probabilities with 95% intervals (headline first)",
        "convergence": "Convergence of headline claim estimates",
    }
    for name, (data_fn, plot_fn) in C.CHARTS.items():
        figures.append((_chart(folder, name, data_fn(r), plot_fn, source), captions.get(name, name)))
    for c in r.claims:
        if c.headline and c.threshold is not None and np.isfinite(r.claim_metric[c.id]).any():
            png = _chart(folder, f"metric_{c.id}", C.claim_metric_data(r, c.id), C.plot_claim_metric, source)
            figures.append((png, f"Metric distribution: {c.id}"))

    tornado_frames: dict[str, pd.DataFrame] = {}
    tornado_figures: list[tuple[Path, str]] = []
    for name, spec, caption in TORNADO_OUTPUTS:
        tf = tornado(a, spec)
        tornado_frames[name] = tf
        title = f"What moves {caption[0].lower()}{caption[1:]}"
        png = _chart(folder, name, tf, lambda d, title=title: C.plot_output_tornado(d, title=title), source)
        tornado_figures.append((png, f"Tornado: {caption}; each input from its P10 to its P90, others at their medians "
                                     f"(base {tf.attrs['base_output']:.4g}); top 12 of {len(tf)} inputs"))

    t = folder / "tables"
    drv, boxes, full_drivers = claim_drivers(r)
    drv.to_csv(t / "claim_drivers.csv", index=False, float_format=FLOAT)
    boxes.to_csv(t / "claim_boxes.csv", index=False, float_format=FLOAT)
    wwt = what_would_have_to_be_true(a, full_drivers, _ordered_claims(r))
    wwt.to_csv(t / "what_would_have_to_be_true.csv", index=False, float_format=FLOAT)
    for name, tf in tornado_frames.items():
        tf.to_csv(t / f"{name}.csv", index=False, float_format=FLOAT)
    claims = claims_frame(r)
    claims.to_csv(t / "claims.csv", float_format=FLOAT)
    q_fy, q_cy = r.quantiles("fy"), r.quantiles("cy")
    q_fy.to_csv(t / "quantiles_fy.csv", float_format=FLOAT)
    q_cy.to_csv(t / "quantiles_cy.csv", float_format=FLOAT)
    seg = segment_table(project(a))
    seg.to_csv(t / "segment_table.csv", float_format=FLOAT)
    outputs = key_outputs(r)
    outputs.to_csv(t / "key_outputs.csv", float_format=FLOAT)
    assumptions = assumptions_frame(a)
    assumptions.to_csv(t / "assumptions.csv", index=False)
    conv = r.convergence()
    conv.to_csv(t / "convergence.csv", index=False, float_format=FLOAT)

    compare_html = ""
    comp_frames: dict[str, pd.DataFrame] = {}
    if compare:
        runs = {a.scenario.name: r}
        for name in compare:
            if name in runs:
                continue
            runs[name] = simulate(assumptions_mod.load(assumptions_dir, name), draws=draws, seed=seed, jobs=1, progress=False)
        comp = C.scenario_compare_data(runs)
        ids = list(dict.fromkeys(comp["id"]))
        wide = pd.DataFrame(index=pd.Index(ids, name="id"))
        for s in runs:
            d = comp[comp["scenario"] == s].set_index("id")
            for v in ("probability", "ci_low", "ci_high"):
                wide[f"{s} {v} (ratio)"] = d[v].reindex(ids)
        wide.to_csv(t / "compare_claims.csv", float_format=FLOAT)
        outs = pd.concat({s: key_outputs(x)["P50"] for s, x in runs.items()}, axis=1)
        outs.columns = [f"{s} median" for s in outs.columns]
        outs.to_csv(t / "compare_outputs.csv", float_format=FLOAT)
        src = C.source_line(scenario=", ".join(runs), draws=draws, seed=seed).replace("scenario ", "scenarios ")
        png = _chart(folder, "compare_claims", comp, C.plot_scenario_compare, src)
        comp_frames = {"compare_claims": wide, "compare_outputs": outs}
        probs = wide[[f"{s} probability (ratio)" for s in runs]]
        probs.columns = list(runs)
        compare_html = (f"<h2>Scenarios compared: {_e(', '.join(runs))}</h2>"
                        f"<h3>Claim probabilities</h3>{_frame_html(probs, _pct)}"
                        f"<h3>Key outputs (median)</h3>{_frame_html(outs)}{_img(png, 'Claim probabilities by scenario')}")

    from .consensus_cli import consensus_section  # published forecasts placed in the run (issue 12)
    consensus_html, consensus_md = consensus_section(a, folder, draws, seed, source)

    with pd.ExcelWriter(folder / f"pivotmodel_{a.scenario.name}.xlsx", engine="openpyxl") as xw:
        claims.to_excel(xw, sheet_name="claims")
        q_fy.to_excel(xw, sheet_name="quantiles_fy (RMB bn)")
        q_cy.to_excel(xw, sheet_name="quantiles_cy (RMB bn)")
        seg.to_excel(xw, sheet_name="segments_deterministic")
        outputs.to_excel(xw, sheet_name="key_outputs")
        assumptions.to_excel(xw, sheet_name="assumptions", index=False)
        drv.to_excel(xw, sheet_name="claim_drivers", index=False)
        boxes.to_excel(xw, sheet_name="claim_boxes", index=False)
        wwt.to_excel(xw, sheet_name="what_would_have_to_be_true", index=False)
        for name, tf in tornado_frames.items():
            tf.to_excel(xw, sheet_name=name, index=False)
        for name, frame in comp_frames.items():
            frame.to_excel(xw, sheet_name=name)

    mjson = manifest_json(r, deterministic=True)
    manifest = dict(r.manifest, report_seconds=round(time.time() - started, 2), compare=list(compare or []))
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")

    m = r.manifest
    title = f"pivotmodel report: scenario {a.scenario.name}"
    intro = (f"{_e(a.scenario.title)}. {m['draws']:,} draws ({_e(m['method'])}), seed {m['seed']}; reported to "
             f"{_e(m['last_reported_quarter'])}, projected to {_e(m['horizon'])}. Money in RMB bn unless marked.")
    body = [
        f"<h1>{_e(title)}</h1><p>{intro}</p>",
        f"<h2>Claims</h2>{_claims_html(r)}",
        consensus_html,
        "<h2>Charts</h2>", *[_img(p, cap) for p, cap in figures],
        f'<h2 id="drivers">What drives each claim</h2>{_drivers_html(a, boxes, drv, wwt, m["draws"])}',
        '<h2 id="tornado">What moves the key outputs (tornado)</h2>'
        "<p>Each uncertain input is swung from its P10 to its P90 with every other input at its median "
        "(deterministic engine); the bars show the output at each end. Tables: "
        + ", ".join(f'<a href="tables/{n}.csv">{n}.csv</a>' for n, _, _ in TORNADO_OUTPUTS) + ".</p>",
        *[_img(p, cap) for p, cap in tornado_figures],
        f"<h2>Key outputs (P5 / P50 / P95)</h2>{_frame_html(outputs)}",
        compare_html,
        f"<h2>Assumptions used ({len(assumptions)} inputs)</h2>{_assumptions_html(assumptions)}",
        f"<h2>Run manifest</h2><pre>{_e(mjson)}</pre>",
    ]
    page = (f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{_e(title)}</title>"
            f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>\n")
    (folder / "index.html").write_text(page, encoding="utf-8")

    lines = [f"# {title}", "", f"{a.scenario.title}. {m['draws']:,} draws ({m['method']}), seed {m['seed']}; "
             f"reported to {m['last_reported_quarter']}, projected to {m['horizon']}.", "",
             "## Headline claims", "", "| claim | probability | 95% interval |", "|---|---:|---:|"]
    for cid, x in r.claims_table().iterrows():
        if x["headline"]:
            lines.append(f"| {cid} | {_pct(x['probability'])} | {_pct(x['ci_low'])} - {_pct(x['ci_high'])} |")
    lines += ["", "## What would have to be true (headline claims with a threshold)", ""]
    lines += [f"- {x['sentence']}." for _, x in wwt.iterrows()]
    lines += ["", "Drivers of every claim: index.html (What drives each claim), tables/claim_drivers.csv, "
              "tables/claim_boxes.csv."]
    lines += ["", "## Key outputs", "", "| output | P5 | P50 | P95 |", "|---|---:|---:|---:|"]
    for label, x in outputs.iterrows():
        lines.append(f"| {label} | {_num(x['P5'])} | {_num(x['P50'])} | {_num(x['P95'])} |")
    if compare:
        lines += ["", "Scenarios compared: see tables/compare_claims.csv and charts/compare_claims.png."]
    lines += consensus_md
    lines += ["", "Files: index.html (full report), charts/, data/, tables/, "
              f"pivotmodel_{a.scenario.name}.xlsx, manifest.json.", ""]
    (folder / "summary.md").write_text("\n".join(lines), encoding="utf-8")
    return manifest


def write_report(a, out: Path, draws: int, seed: int, compare: list[str] | None = None,
                 assumptions_dir: Path | None = None) -> dict[str, Any]:
    """Build in a temporary folder beside ``out``, then swap it into place
    (:func:`pivotmodel.atomic.write_dir_atomic`: only a folder pivotmodel made is replaced)."""
    from .atomic import write_dir_atomic

    result: dict[str, Any] = {}
    protected = [a.directory, *a.scenario.paths]
    write_dir_atomic(Path(out), lambda tmp: result.update(build_report(a, tmp, draws, seed, compare, assumptions_dir)),
                     protected)
    return result


def cmd_report(args: argparse.Namespace) -> int:
    a = assumptions_mod.load(args.assumptions, args.scenario)
    draws = int(args.draws if args.draws is not None else a.settings["draws"])
    seed = int(args.seed if args.seed is not None else a.settings["seed"])
    if draws < 2:
        raise InputError.single("--draws", "draws", f"needs at least 2 draws, got {draws}")
    compare = [s.strip() for s in (args.compare or "").split(",") if s.strip()]
    for name in compare:  # fail before any work on a bad scenario name
        assumptions_mod.load(args.assumptions, name)
    out = Path(args.out) if args.out else Path("reports") / a.scenario.name
    check_dir_target(out, [a.directory, *a.scenario.paths])  # before any work
    t0 = time.time()
    write_report(a, out, draws, seed, compare, args.assumptions)
    print(f"wrote {out}/ ({draws:,} draws, seed {seed}, {time.time() - t0:.1f} s)")
    return 0


def register(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("report", parents=[common], help="charts, tables, summary.md and index.html for a scenario")
    p.add_argument("--compare", default=None, metavar="NAME,...", help="other scenarios to set side by side")
    p.add_argument("--out", default=None, metavar="DIR", help="report folder (default reports/<scenario>)")
    p.add_argument("--draws", type=int_at_least(2), default=None, metavar="N", help="draws (default: simulation.yaml)")
    p.add_argument("--seed", type=SEED, default=None, metavar="S", help="seed (default: simulation.yaml)")
    p.set_defaults(handler=cmd_report)

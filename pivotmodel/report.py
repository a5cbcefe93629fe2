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
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import assumptions as assumptions_mod
from .errors import InputError


class _LazyCharts:
    """:mod:`pivotmodel.charts` (matplotlib) is imported on first use, so the CLI starts fast."""

    def __getattr__(self, name: str) -> Any:
        from . import charts

        return getattr(charts, name)


C = _LazyCharts()

__all__ = ["build_report", "write_report", "cmd_report", "register", "KEY_OUTPUTS"]

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

    t = folder / "tables"
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

    with pd.ExcelWriter(folder / f"pivotmodel_{a.scenario.name}.xlsx", engine="openpyxl") as xw:
        claims.to_excel(xw, sheet_name="claims")
        q_fy.to_excel(xw, sheet_name="quantiles_fy (RMB bn)")
        q_cy.to_excel(xw, sheet_name="quantiles_cy (RMB bn)")
        seg.to_excel(xw, sheet_name="segments_deterministic")
        outputs.to_excel(xw, sheet_name="key_outputs")
        assumptions.to_excel(xw, sheet_name="assumptions", index=False)
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
        "<h2>Charts</h2>", *[_img(p, cap) for p, cap in figures],
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
    lines += ["", "## Key outputs", "", "| output | P5 | P50 | P95 |", "|---|---:|---:|---:|"]
    for label, x in outputs.iterrows():
        lines.append(f"| {label} | {_num(x['P5'])} | {_num(x['P50'])} | {_num(x['P95'])} |")
    if compare:
        lines += ["", f"Scenarios compared: see tables/compare_claims.csv and charts/compare_claims.png."]
    lines += ["", "Files: index.html (full report), charts/, data/, tables/, "
              f"pivotmodel_{a.scenario.name}.xlsx, manifest.json.", ""]
    (folder / "summary.md").write_text("\n".join(lines), encoding="utf-8")
    return manifest


def write_report(a, out: Path, draws: int, seed: int, compare: list[str] | None = None,
                 assumptions_dir: Path | None = None) -> dict[str, Any]:
    """Build in a temporary folder beside ``out``, then swap it into place
    (:func:`pivotmodel.cli.write_dir_atomic`)."""
    from .cli import write_dir_atomic

    result: dict[str, Any] = {}
    write_dir_atomic(Path(out), lambda tmp: result.update(build_report(a, tmp, draws, seed, compare, assumptions_dir)))
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
    t0 = time.time()
    write_report(a, out, draws, seed, compare, args.assumptions)
    print(f"wrote {out}/ ({draws:,} draws, seed {seed}, {time.time() - t0:.1f} s)")
    return 0


def register(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("report", parents=[common], help="charts, tables, summary.md and index.html for a scenario")
    p.add_argument("--compare", default=None, metavar="NAME,...", help="other scenarios to set side by side")
    p.add_argument("--out", default=None, metavar="DIR", help="report folder (default reports/<scenario>)")
    p.add_argument("--draws", type=int, default=None, metavar="N", help="draws (default: simulation.yaml)")
    p.add_argument("--seed", type=int, default=None, metavar="S", help="seed (default: simulation.yaml)")
    p.set_defaults(handler=cmd_report)

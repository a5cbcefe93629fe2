"""``pivotmodel report``: the whole report folder for a scenario, rebuilt in one go.

Contents: every chart as PNG and SVG (``charts/``) with the numbers each draws
(``data/``); tables as CSV and one XLSX workbook; ``summary.md``; an
``index.html`` that reads on its own (claims, charts as embedded PNG, the assumptions used
with their sources, the run manifest; its links to SVG, data and tables need the folder);
``manifest.json`` (the only file with times in it). The command is :mod:`pivotmodel.cli.report`.

Same inputs and seed give byte-identical PNG, SVG and CSV files. The folder is built
beside the target and swapped in at the end, so a failure leaves the old report as it was.
"""

from __future__ import annotations

import base64
import functools
import html
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .lazy import lazy

if TYPE_CHECKING:  # the real modules for the type checker; lazy stand-ins at run time
    import numpy as np
    import pandas as pd

    from . import assumptions as assumptions_mod
else:
    np = lazy("numpy")
    pd = lazy("pandas")
    assumptions_mod = lazy("pivotmodel.assumptions")


class _LazyCharts:
    """:mod:`pivotmodel.charts` (matplotlib) is imported on first use, so the CLI starts fast."""

    def __getattr__(self, name: str) -> Any:
        from . import charts

        return getattr(charts, name)


C = _LazyCharts()

__all__ = [
    "build_report",
    "write_report",
    "KEY_OUTPUTS",
    "TORNADO_OUTPUTS",
    "claim_drivers",
    "what_would_have_to_be_true",
    "TOP_DRIVERS",
]

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
    (
        "tornado_cloud_share_cy2026",
        "share(cloud.revenue, group.revenue, CY2026)",
        "Cloud share of group revenue CY2026 (ratio)",
    ),
    ("tornado_group_ebita_fy2028", "group.adjusted_ebita@FY2028", "Group adjusted EBITA FY2028 (RMB bn)"),
    ("tornado_group_fcf_fy2027", "group.fcf@FY2027", "Group free cash flow FY2027 (RMB bn)"),
]
TOP_DRIVERS = 5  # drivers shown per claim (and the inputs the box is peeled over: the top 4)
CLAIM_COLUMNS = {
    "headline": "headline",
    "probability": "probability (ratio)",
    "ci_low": "ci_low (ratio)",
    "ci_high": "ci_high (ratio)",
    "draws": "draws (count)",
    "base_case": "base_case (1 holds, 0 fails)",
    "metric_p5": "metric_p5 (claim units)",
    "metric_p50": "metric_p50 (claim units)",
    "metric_p95": "metric_p95 (claim units)",
    "threshold": "threshold (claim units)",
    "metric_never": "metric_never (ratio of draws; year metrics, where 'never' is +inf)",
    "probability_on_demand": "probability_on_demand (ratio)",
}


# --- tables -----------------------------------------------------------------------------------


def claims_frame(r) -> pd.DataFrame:
    t = r.claims_table()
    t.insert(list(t.columns).index("threshold") + 1, "metric_unit", [c.measure.unit for c in r.claims])
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


_UNSCALED = ("sigma", "lambda", "p", "shape")  # parameters assumptions.py does not convert with the unit


def as_written(inp) -> tuple[str, str]:
    """(distribution, median) of an input in the unit printed beside it: RMB_bn inputs in RMB bn
    (the engine holds RMB mn), period inputs as their quarter label."""
    if inp.text:
        return inp.text, inp.text
    from .schema import UNITS

    factor = UNITS[inp.unit][1] if inp.unit in UNITS else 1.0

    def shown(k: str, v: Any, digits: int = 6) -> str:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return str(v)
        return f"{(v if k in _UNSCALED else v / factor):.{digits}g}"

    body = ", ".join(f"{k}={shown(k, v)}" for k, v in inp.dist.params.items())
    return f"{inp.dist.kind}({body})", shown("median", inp.base_value, 4)


def assumptions_frame(a) -> pd.DataFrame:
    """Every input and seed estimate, its distribution and median in the unit printed beside it."""
    from .schema import seed_key

    entries = [(key, "input", inp) for key, inp in a.inputs.items()]
    entries += [(seed_key(series, q), "seed estimate", inp) for (series, q), inp in a.seeds.items()]
    rows = []
    for key, kind, inp in entries:
        src = a.sources.get(inp.source)
        dist, median = as_written(inp)
        rows.append(
            {
                "key": key,
                "kind": kind,
                "distribution": dist,
                "median": median,
                "unit": inp.unit,
                "basis": inp.basis,
                "source": src.title if src else (inp.source or ""),
                "href": src.href if src else "",
                "note": inp.note or "",
            }
        )
    return pd.DataFrame(rows)


def _ordered_claims(r) -> list:
    """Headline claims first, then the rest, each in register order."""
    return [c for c in r.claims if c.headline] + [c for c in r.claims if not c.headline]


def claim_drivers(r, top: int = TOP_DRIVERS) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, pd.DataFrame]]:
    """Drivers of every claim from the draws of ``r`` (no new simulation).

    Returns (``drivers``: the top ``top`` inputs by KS distance of each claim, long table with
    claim, rank, input, ks, ...; ``boxes``: one row per claim with its probability, counts,
    the always/never/not-evaluable message and the PRIM-style box sentence; the
    :func:`pivotmodel.drivers.drivers` table of each claim, its top ``top`` rows)."""
    from .drivers import drivers_all, prim_box

    probs = r.claims_table()
    rows, box_rows = [], []
    full = drivers_all(r, [c.id for c in _ordered_claims(r)], top=top)
    for c in _ordered_claims(r):
        d = full[c.id]
        for i, x in enumerate(d.head(top).itertuples(index=False), start=1):
            rows.append({"claim": c.id, "headline": c.headline, "rank": i, **x._asdict()})
        box = prim_box(r, c.id, inputs=list(d["input"].head(4))) if len(d) else prim_box(r, c.id)
        at = d.attrs
        p = probs.loc[c.id]
        box_rows.append(
            {
                "claim": c.id,
                "headline": c.headline,
                "probability": p["probability"],
                "ci_low": p["ci_low"],
                "ci_high": p["ci_high"],
                "draws": at["draws"],
                "evaluable": at["evaluable"],
                "holding": at["holding"],
                "failing": at["failing"],
                "message": at["message"],
                "box_density": box.attrs["density"] if len(d) else np.nan,
                "box_coverage": box.attrs["coverage"],
                "box_support": box.attrs["support"],
                "box_sentence": "" if at["message"] else box.attrs["sentence"],
            }
        )
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
    from .sensitivity import input_spec, tornado
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
        scale, unit = 1.0, sol.unit if sol else ""
        if sol and key and unit == "RMB_mn" and input_spec(a, key).unit == "RMB_bn":  # the unit the analyst wrote it in
            scale, unit = 1000.0, "RMB_bn"
        rows.append(
            {
                "claim": c.id,
                "input": key or "",
                "basis": basis,
                "status": sol.status if sol else "",
                "solved_value": sol.value / scale if sol else np.nan,
                "direction": sol.direction if sol else "",
                "base_value": sol.base_value / scale if sol else np.nan,
                "unit": unit,
                "threshold": c.threshold,
                "comparison": c.comparison,
                "base_metric": sol.base_metric if sol else np.nan,
                "metric_unit": c.measure.unit,
                "sentence": sentence,
            }
        )
    cols = [
        "claim",
        "input",
        "basis",
        "status",
        "solved_value",
        "direction",
        "base_value",
        "unit",
        "threshold",
        "comparison",
        "base_metric",
        "metric_unit",
        "sentence",
    ]
    return pd.DataFrame(rows, columns=cols)


# --- html -------------------------------------------------------------------------------------

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;\
max-width:1200px;padding:0 16px;color:#202124;font-size:14px}
h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #dadce0;padding-bottom:4px;margin-top:32px}
.tw{overflow-x:auto;max-width:100%;margin:8px 0}
table{border-collapse:collapse;font-size:12px}th,td{border:1px solid #dadce0;padding:3px 6px;\
vertical-align:top;overflow-wrap:break-word}
th{background:#f1f3f4;text-align:left}td.num{text-align:right;white-space:nowrap}
td.text{min-width:220px;max-width:420px}td.small{min-width:140px;max-width:240px}
code{white-space:pre-wrap;overflow-wrap:anywhere}td.id code{overflow-wrap:normal}
figure{margin:16px 0}figure img{max-width:100%;height:auto;border:1px solid #eee}\
figcaption{font-size:12px;color:#5f6368}
pre{background:#f8f9fa;padding:8px;font-size:12px;overflow:auto}.small{font-size:12px;color:#5f6368}
"""


def _e(x: Any) -> str:
    return html.escape("" if x is None or (isinstance(x, float) and np.isnan(x)) else str(x))


def _pct(x: float) -> str:
    """A probability: one decimal, and "< 0.1%" / "> 99.9%" rather than a rounded 0.0% or 100.0%."""
    if x is None or pd.isna(x):
        return "n/a"
    if 0 <= x < 0.0005:
        return "< 0.1%"
    if 0.9995 < x <= 1:
        return "> 99.9%"
    return f"{x:.1%}"


def _interval(lo: float, hi: float) -> str:
    """A 95% interval of a probability, e.g. "12.3% - 15.0%", "< 0.1%" when all of it rounds to 0."""
    if pd.isna(lo) or pd.isna(hi):
        return "n/a"
    if hi < 0.0005:
        return "< 0.1%"
    if lo > 0.9995:
        return "> 99.9%"
    return f"{lo:.1%} - {hi:.1%}"


def _metric(x: Any, unit: str) -> str:
    """A claim's metric in its unit: years as integers ("never" where the condition never
    holds), ratios to three decimals, money to one."""
    if x is None or pd.isna(x):
        return ""
    if unit == "year":
        return "never" if x == np.inf else f"{x:.0f}"
    return _num(x)


def _status_html(x) -> str:
    """A claim's status (bold), its probability on demand where capacity binds, and its reason."""
    status = x.get("status", "")
    if not isinstance(status, str) or not status:
        return ""
    demand = x.get("probability_on_demand", np.nan)
    on_demand = f" (on demand {_pct(demand)})" if pd.notna(demand) else ""
    reason = x.get("status_reason", "")
    return f"<b>{_e(status)}</b>{_e(on_demand)}" + (
        f"<br><span class=small>{_e(reason)}</span>" if isinstance(reason, str) and reason else ""
    )


def _num(x: Any) -> str:
    if x is None or pd.isna(x):
        return ""
    return f"{x:,.1f}" if abs(x) >= 10 else f"{x:.3f}"


def _public_url(url: Any) -> str:
    """``url`` if it is a web address, else "" (a path inside the project is not shown)."""
    return str(url) if str(url or "").startswith(("http://", "https://")) else ""


def _table(head: str, rows: list[str]) -> str:
    """A table in a wrapper that scrolls sideways when the page is narrower than the table."""
    return f"<div class=tw><table>{head}{''.join(rows)}</table></div>"


def _source_html(src: dict) -> str:
    """Publication, date and web address of a claim's source (never a file path)."""
    parts = [_e(src.get("publication", ""))]
    if src.get("date"):
        parts.append(_e(src["date"]))
    url = _public_url(src.get("url"))
    if url:
        host = url.split("/")[2]
        parts.append(f'<a href="{_e(url)}">{_e(host)}</a>')
    else:
        parts.append("no public URL")
    return ", ".join(p for p in parts if p)


def _claims_html(r) -> str:
    t = r.claims_table().reset_index()
    t["order"] = range(len(t))
    t = t.sort_values(["headline", "order"], ascending=[False, True], kind="stable")
    head = (
        "<tr><th>claim</th><th title=headline>&#9733;</th><th>probability</th><th>95% interval</th><th>base case</th>"
        "<th>metric P5 / P50 / P95</th><th>threshold</th><th>what decides it</th><th>statement</th>"
        "<th>source</th></tr>"
    )
    rows = []
    for _, x in t.iterrows():
        unit = r.claim(x["id"]).measure.unit
        metric = (
            ""
            if pd.isna(x["metric_p50"])
            else " / ".join(_metric(x[k], unit) for k in ("metric_p5", "metric_p50", "metric_p95"))
        )
        if metric and unit == "year":
            metric += f"<br><span class=small>over all draws; never in {_pct(x['metric_never'])}</span>"
        base = "n/a" if pd.isna(x["base_case"]) else ("holds" if x["base_case"] == 1 else "fails")
        rows.append(
            f'<tr id="claim-{_e(x["id"])}"><td class=id><code>{_e(x["id"]).replace("_", "_<wbr>")}</code></td>'
            f"<td>{'&#9733;' if x['headline'] else ''}</td><td class=num>{_e(_pct(x['probability']))}</td>"
            f"<td class=num>{_e(_interval(x['ci_low'], x['ci_high']))}</td>"
            f"<td>{base}</td><td class=num>{metric}</td>"
            f"<td class=num>{_metric(x['threshold'], unit)}</td><td class=small>{_status_html(x)}</td>"
            f"<td class=text>{_e(x['words'])}<br>"
            f"<span class=small>Test: <code>{_e(x['test'])}</code></span></td>"
            f"<td class=small>{_source_html(r.claim(x['id']).source)}</td></tr>"
        )
    return f"{_table(head, rows)}<p class=small>Interval: {_e(r.interval_method)}.</p>"


def _boundary(a) -> tuple[str, list[str], list[str]]:
    """(verdict sentence, the boundary table's lines, its warnings) in the base case."""
    from .boundary import boundary_report, boundary_warnings, format_boundary

    rows = boundary_report(a)
    last, first = a.history.last_quarter.label, (a.history.last_quarter + 1).label
    warnings = boundary_warnings(rows)
    explained = sum(r.beyond and r.declared for r in rows)
    verdict = (
        f"the projection continues {last} within tolerance"
        if not warnings
        else f"{len(warnings)} step{'s' if len(warnings) > 1 else ''} beyond tolerance at the boundary"
    )
    if explained:
        verdict += f" ({explained} more explained by declared one-offs)"
    return verdict, format_boundary(rows, last, first), warnings


def _findings_html(r, verdict: str, warnings: list[str]) -> str:
    """The first screen: headline claims with probability, status and reason; how many
    claims each status has; the boundary verdict; where the evidence is."""
    t = r.claims_table()
    counts = t["status"].fillna("").map(lambda s: "decided by input" if s.startswith("decided by input") else s)
    tally = ", ".join(f"{n} {s}" for s, n in counts.value_counts().sort_index().items())
    head = "<tr><th>headline claim</th><th>probability [95% interval]</th><th>what decides it</th></tr>"
    rows = [
        f'<tr><td class=id><a href="#claim-{_e(cid)}"><code>{_e(cid).replace("_", "_<wbr>")}</code></a></td>'
        f"<td class=num>{_e(_pct(x['probability']))} [{_e(_interval(x['ci_low'], x['ci_high']))}]</td>"
        f"<td class=text>{_status_html(x)}</td></tr>"
        for cid, x in t[t["headline"].astype(bool)].iterrows()
    ]
    steps = "".join(f"<li class=small>{_e(w)}</li>" for w in warnings)
    return (
        '<h2 id="findings">Findings</h2>'
        + _table(head, rows)
        + f"<p>Statuses of all {len(t)} claims: {_e(tally)} (how each is decided: README, "
        "'Claims: what decides each'). "
        + f'<a href="#boundary">Boundary</a>: {_e(verdict)}.</p>'
        + (f"<ul>{steps}</ul>" if steps else "")
        + _funding_html(r)
        + '<p>Evidence: <a href="#claims">every claim</a> with its metric, status and source; '
        '<a href="#drivers">what drives each claim</a> (inputs ranked by KS, boxes, what would have to be '
        'true); <a href="#tornado">what moves the key outputs</a>; <a href="#charts">charts</a>; '
        '<a href="#assumptions">the assumptions used</a> with their sources.</p>'
    )


def funding_sentence(r) -> str:
    """What sets cloud capacity in the horizon's last fiscal year, from the run's kept draws: the
    share of draw-quarters in which the capex funding rule cut the capex the target-utilisation
    policy wanted, and the median utilisation; "" when the run kept neither series by year."""
    fy = r.totals.get("fy", {})
    if "cloud.capex_funding_bound" not in fy or "cloud.utilisation" not in fy:
        return ""
    year = r.periods["fy"][-1]
    i = r.periods["fy"].index(year)
    bound = float(np.nanmean(fy["cloud.capex_funding_bound"][:, i]))
    util = float(np.nanmedian(fy["cloud.utilisation"][:, i]))
    return (
        f"In {year} the capex funding rule (capex.after_plan.max_capex_to_revenue) cut the capex the "
        f"target-utilisation policy wanted in {bound:.1%} of draw-quarters; median cloud utilisation "
        f"{util:.1%}: capacity, not demand, sets cloud revenue where the rule binds."
    )


def _funding_html(r) -> str:
    text = funding_sentence(r)
    return f'<p>{_e(text)} See <a href="#views">the views the outcome rests on</a>.</p>' if text else ""


def _drivers_html(a, boxes: pd.DataFrame, drv: pd.DataFrame, wwt: pd.DataFrame, draws: int) -> str:
    from .sensitivity import format_value

    solved = wwt.set_index("claim")
    intro = (
        f"<p>Drivers come from the same {draws:,} draws as the claims table (no further simulation): "
        "the draws where a claim holds and where it fails are split, and the inputs are ranked by the "
        "Kolmogorov-Smirnov distance between the two (0: the input does not separate them; 1: it decides "
        f"them). The top {TOP_DRIVERS} are shown; the box peels the ranges of the top 4 inputs to where the "
        "claim holds most often. <i>What would have to be true</i>: for each headline claim with a "
        "threshold, the value of its top driver at which the claim flips, with every other input at its "
        "median (deterministic engine; a claim without drivers in this run is solved on the input that swings "
        'its metric most). Full tables: <a href="tables/claim_drivers.csv">claim_drivers.csv</a>, '
        '<a href="tables/claim_boxes.csv">claim_boxes.csv</a>, '
        '<a href="tables/what_would_have_to_be_true.csv">what_would_have_to_be_true.csv</a>.</p>'
    )
    parts = [intro]
    head = (
        "<tr><th>rank</th><th>input</th><th>KS</th><th>median where it holds</th>"
        "<th>median where it fails</th><th>claim favours</th></tr>"
    )
    for _, b in boxes.iterrows():
        cid = b["claim"]
        parts.append(f'<h3 id="drivers-{_e(cid)}">{"&#9733; " if b["headline"] else ""}<code>{_e(cid)}</code></h3>')
        parts.append(
            f"<p>Probability {_e(_pct(b['probability']))} [{_e(_interval(b['ci_low'], b['ci_high']))}]; "
            f"holds in {b['holding']:,} of {b['evaluable']:,} evaluable draws"
            + (f" ({b['draws'] - b['evaluable']:,} not evaluable)" if b["draws"] != b["evaluable"] else "")
            + ".</p>"
        )
        if b["message"]:
            parts.append(f"<p><b>No drivers:</b> {_e(b['message'])}.</p>")
        else:
            rows = []
            for _, x in drv[drv["claim"] == cid].iterrows():
                rows.append(
                    f"<tr><td class=num>{x['rank']}</td><td><code>{_e(x['input'])}</code></td>"
                    f"<td class=num>{x['ks']:.3f}</td>"
                    f"<td class=num>{_e(format_value(a, x['input'], x['median_holds']))}</td>"
                    f"<td class=num>{_e(format_value(a, x['input'], x['median_fails']))}</td>"
                    f"<td>{_e(x['direction'])} values</td></tr>"
                )
            parts.append(_table(head, rows))
            parts.append(f"<p><b>Box:</b> {_e(b['box_sentence'])}.</p>")
        if cid in solved.index:
            w = solved.loc[cid]
            how = f" <span class=small>(input: {_e(w['basis'])})</span>" if w["basis"] else ""
            parts.append(f"<p><b>What would have to be true:</b> {_e(w['sentence'])}.{how}</p>")
    return "".join(parts)


def compare_tables(runs: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Text tables of scenarios side by side: each claim's probability with its interval
    (headline claims first, starred; "n/a" where not evaluable), and each key output's median
    with its P5-P95 range in the output's unit (ratios as percentages)."""
    first = next(iter(runs.values()))
    order = [("★ " if c.headline else "") + c.id for c in _ordered_claims(first)]
    claims = pd.DataFrame(index=pd.Index(order, name="claim"))
    outputs = pd.DataFrame(index=pd.Index([k[0] for k in KEY_OUTPUTS], name="output"))
    for name, run in runs.items():
        t = run.claims_table()
        claims[name] = [
            "n/a"
            if pd.isna(t.loc[cid, "probability"])
            else f"{_pct(t.loc[cid, 'probability'])} [{_interval(t.loc[cid, 'ci_low'], t.loc[cid, 'ci_high'])}]"
            for cid in (o.removeprefix("★ ") for o in order)
        ]
        k = key_outputs(run)
        outputs[name] = [
            f"{_output(lab, x['P50'])} [{_output(lab, x['P5'])} - {_output(lab, x['P95'])}]" for lab, x in k.iterrows()
        ]
    return claims, outputs


def _output(label: str, v: float) -> str:
    """A key output in its unit: ratios as percentages, money in RMB bn to one decimal."""
    return "n/a" if pd.isna(v) else f"{v:.1%}" if label.endswith("(ratio)") else f"{v:,.1f}"


def _outputs_text(outputs: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {c: [_output(lab, v) for lab, v in outputs[c].items()] for c in outputs.columns}, index=outputs.index
    )


def _markdown(df: pd.DataFrame) -> str:
    head = [df.index.name or "", *map(str, df.columns)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" + "---:|" * len(df.columns)]
    lines += ["| " + " | ".join([str(i), *map(str, row)]) + " |" for i, row in zip(df.index, df.to_numpy())]
    return "\n".join(lines)


def _frame_html(df: pd.DataFrame, fmt=_num) -> str:
    return f"<div class=tw>{df.to_html(float_format=lambda v: fmt(v), na_rep='', border=0, escape=True)}</div>"


def _img(path: Path, caption: str) -> str:
    b64 = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<figure><img alt="{_e(caption)}" src="data:image/png;base64,{b64}">'
        f'<figcaption>{_e(caption)} (<a href="charts/{path.stem}.svg">SVG</a>, '
        f'<a href="data/{path.stem}.csv">data</a>)</figcaption></figure>'
    )


def _assumptions_html(table: pd.DataFrame) -> str:
    head = (
        "<tr><th>input</th><th>distribution</th><th>median</th><th>unit</th><th>basis</th><th>source</th>"
        "<th>note</th></tr>"
    )
    rows = []
    for _, x in table.iterrows():
        src = _e(x["source"])
        if _public_url(x["href"]):
            src = f'<a href="{_e(x["href"])}">{src}</a>'
        seed = " <span class=small>(seed estimate)</span>" if x["kind"] == "seed estimate" else ""
        key = _e(x["key"]).replace(".", ".<wbr>").replace("_", "_<wbr>")
        rows.append(
            f"<tr><td class=id><code>{key}</code>{seed}</td><td>{_e(x['distribution'])}</td>"
            f"<td class=num>{_e(x['median'])}</td><td>{_e(x['unit'])}</td>"
            f"<td>{_e(x['basis'])}</td><td>{src}</td><td class='small text'>{_e(x['note'])}</td></tr>"
        )
    return _table(head, rows)


# --- build ------------------------------------------------------------------------------------


def _memoised(r):
    """``r`` with its claims table and convergence computed once (the report asks often);
    callers get copies, so none can change what another sees."""
    table, conv = r.claims_table(), r.convergence()
    r.claims_table = lambda: table.copy()
    r.convergence = lambda points=20: conv.copy() if points == 20 else type(r).convergence(r, points)
    return r


def build_report(
    a,
    folder: Path,
    draws: int,
    seed: int,
    compare: list[str] | None = None,
    assumptions_dir: Path | None = None,
    progress: bool | None = None,
    chart_worker: bool | None = None,
    previous: Path | None = None,
) -> dict[str, Any]:
    """Write every report file into ``folder`` (which must exist and be empty).

    ``progress``: stages and a bar on stderr (default: when stderr is a terminal);
    ``chart_worker``: draw the charts in a worker process while the drivers and tables are
    computed (default: when there is a spare core); ``previous``: a report folder this one
    replaces, whose charts are copied where nothing they depend on changed
    (:class:`pivotmodel.chartfiles.ChartFiles`); the files are the same either way. The
    manifest returned also holds the stages' timings (``stages``: name, wall s, CPU s) and
    the charts copied (``charts_reused``)."""
    from .chartfiles import ChartFiles
    from .progress import Progress

    started = time.time()
    umask = os.umask(0o022)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)  # a temporary folder is private to its owner; the report is not
    compare = [s for s in dict.fromkeys(compare or []) if s != a.scenario.name]
    with Progress(total=7 + len(compare), enabled=progress) as bar:  # + one per chart, added when known
        bar.stage("simulating")
        from .simulate import simulate

        r = _memoised(simulate(a, draws=draws, seed=seed, jobs=1, progress=False))
        bar.step()
        with ChartFiles(folder, C.source_line(r), worker=chart_worker, on_done=bar.step, previous=previous) as cf:
            manifest = _build(a, r, folder, compare, assumptions_dir, bar, cf, started)
    return dict(manifest, stages=bar.timings, charts_reused=list(cf.reused))


def _report_charts(a, r, compare: list[str], bar, cf) -> tuple[list, dict, list]:
    """Queue the run's charts, metric distributions and tornado charts; return their figures and frames."""
    from .chartfiles import registered_plot
    from .sensitivity import tornado

    bar.stage("charts")
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
    metric_ids = [
        c.id for c in r.claims if c.headline and c.threshold is not None and np.isfinite(r.claim_metric[c.id]).any()
    ]
    bar.add_total(len(C.CHARTS) + len(metric_ids) + len(TORNADO_OUTPUTS) + (1 if compare else 0))
    for name, (data_fn, _) in C.CHARTS.items():
        figures.append((cf.add(name, data_fn(r), registered_plot(name)), captions.get(name, name)))
    for cid in metric_ids:
        png = cf.add(f"metric_{cid}", C.claim_metric_data(r, cid), C.plot_claim_metric)
        figures.append((png, f"Metric distribution: {cid}"))

    tornado_frames: dict[str, pd.DataFrame] = {}
    tornado_figures: list[tuple[Path, str]] = []
    bar.stage("tornado charts")
    for name, spec, caption in TORNADO_OUTPUTS:
        tf = tornado(a, spec)
        tornado_frames[name] = tf
        title = f"What moves {caption[0].lower()}{caption[1:]}"
        png = cf.add(name, tf, functools.partial(C.plot_output_tornado, title=title))
        tornado_figures.append(
            (
                png,
                f"Tornado: {caption}; each input from its P10 to its P90, others at their medians "
                f"(base {tf.attrs['base_output']:.4g}); top 12 of {len(tf)} inputs",
            )
        )
    return figures, tornado_frames, tornado_figures


def _report_tables(a, r, t: Path, bar, tornado_frames: dict) -> tuple:
    """Compute the claim drivers and write the report's tables; return the frames the page and workbook use."""
    from .model import project
    from .tables import segment_table

    bar.step()
    bar.stage("drivers of every claim")
    drv, boxes, full_drivers = claim_drivers(r)
    bar.step()
    bar.stage("what would have to be true")
    drv.to_csv(t / "claim_drivers.csv", index=False, float_format=FLOAT)
    boxes.to_csv(t / "claim_boxes.csv", index=False, float_format=FLOAT)
    wwt = what_would_have_to_be_true(a, full_drivers, _ordered_claims(r))
    wwt.to_csv(t / "what_would_have_to_be_true.csv", index=False, float_format=FLOAT)
    bar.step()
    bar.stage("tables")
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
    return drv, boxes, wwt, claims, q_fy, q_cy, seg, outputs, assumptions, conv


def _report_compare(a, r, compare: list[str], assumptions_dir, draws, seed, t: Path, bar, cf) -> tuple:
    """Simulate the compared scenarios and write their tables; return their HTML, markdown, frames and chart."""
    from .simulate import simulate

    compare_png = None
    compare_html = ""
    compare_md: list[str] = []
    comp_frames: dict[str, pd.DataFrame] = {}
    if compare:
        runs = {a.scenario.name: r}
        for name in compare:
            bar.stage(f"simulating {name}")
            runs[name] = simulate(
                assumptions_mod.load(assumptions_dir, name), draws=draws, seed=seed, jobs=1, progress=False
            )
            bar.step()
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
        scen = {a.scenario.name: a.scenario} | {s: runs[s].assumptions.scenario for s in compare}
        src = C.source_line(scenario=", ".join(runs), draws=draws, seed=seed).replace("scenario ", "scenarios ")
        png = cf.add("compare_claims", comp, C.plot_scenario_compare, src)
        comp_frames = {"compare_claims": wide, "compare_outputs": outs}
        claims_cmp, outputs_cmp = compare_tables(runs)
        compare_html = (
            f"<h2>Scenarios compared: {_e(', '.join(runs))}</h2>"
            "<ul>"
            + "".join(
                f"<li><b>{_e(n)}</b>: {_e(x.title)}"
                + (f" (from {_e(x.baseline)})" if x.baseline and x.baseline != n else "")
                + (f". <span class=small>{_e(x.rationale)}</span>" if x.rationale else "")
                + "</li>"
                for n, x in scen.items()
            )
            + "</ul>"
            "<h3>Claim probabilities [95% interval], same draws and seed in every scenario</h3>"
            f"{_frame_html(claims_cmp)}"
            f"<h3>Key outputs, median [P5 - P95]</h3>{_frame_html(outputs_cmp)}"
        )
        compare_md = ["", f"## Scenarios compared: {', '.join(runs)}", ""]
        compare_md += [f"- **{n}**: {x.title}" + (f". {x.rationale}" if x.rationale else "") for n, x in scen.items()]
        compare_md += [
            "",
            "Claim probabilities [95% interval] (headline claims):",
            "",
            _markdown(claims_cmp[claims_cmp.index.str.startswith("★")]),
            "",
            "Key outputs, median [P5 - P95]:",
            "",
            _markdown(outputs_cmp),
        ]
        compare_png = png
    return compare_html, compare_md, comp_frames, compare_png


def _report_sections(a, r, folder: Path, draws, seed, bar) -> tuple:
    """Build the published-forecast, bridge, over-time, All-others and views sections (HTML and markdown)."""
    from .report_consensus import consensus_section  # published forecasts placed in the run (issue 12)
    from .report_over_time import over_time_section  # claims over time and the backtest (issue 11)

    bar.stage("published forecasts")
    consensus_html, consensus_md = consensus_section(a, folder, draws, seed, C.source_line(r))
    from .report_consensus import bridge_section  # the last reported year to the next, line by line (issue 20)

    bridge_html, bridge_md = bridge_section(a, folder)
    bar.stage("claims over time and backtest")
    over_time_html, over_time_md = over_time_section(
        a, r, folder, draws, seed, C.source_line(r)
    )  # pivotmodel.report_over_time
    from .report_children import children_section  # All others by business (issue 23)

    children_html, children_md = children_section(a, r, folder, C.source_line(r))
    from .claim_status import run_statuses
    from .report_views import views_section  # the judgements the outcome rests on (issue 19)

    views = views_section(a, run_statuses(r))
    return (
        (consensus_html, consensus_md),
        (bridge_html, bridge_md),
        (over_time_html, over_time_md),
        (children_html, children_md),
        views,
    )


def _report_workbook(a, folder: Path, frames: tuple, tornado_frames: dict, comp_frames: dict) -> None:
    """Write the report's Excel workbook."""
    drv, boxes, wwt, claims, q_fy, q_cy, seg, outputs, assumptions, _ = frames
    from .workbook import Sheet, write_workbook

    write_workbook(
        folder / f"pivotmodel_{a.scenario.name}.xlsx",
        [
            Sheet("claims", claims, True, {c: "metric_unit" for c in claims.columns if c.endswith("(claim units)")}),
            Sheet("quantiles_fy", q_fy, True, dict.fromkeys(q_fy.columns, "unit")),
            Sheet("quantiles_cy", q_cy, True, dict.fromkeys(q_cy.columns, "unit")),
            Sheet("segments_deterministic", seg, True, dict.fromkeys(seg.columns, "item")),
            Sheet("key_outputs", outputs, True, dict.fromkeys(outputs.columns, "output")),
            Sheet("assumptions", assumptions),
            Sheet(
                "claim_drivers",
                drv,
                False,
                {"rank": "count", "ks": "distance", "p_value": "p", "median_holds": "unit", "median_fails": "unit"},
            ),
            Sheet(
                "claim_boxes",
                boxes,
                False,
                {
                    **dict.fromkeys(
                        ("probability", "ci_low", "ci_high", "box_density", "box_coverage", "box_support"), "ratio"
                    ),
                    **dict.fromkeys(("draws", "evaluable", "holding", "failing"), "count"),
                },
            ),
            Sheet(
                "what_would_have_to_be_true",
                wwt,
                False,
                {
                    "solved_value": "unit",
                    "base_value": "unit",
                    "threshold": "metric_unit",
                    "base_metric": "metric_unit",
                },
            ),
            *[
                Sheet(
                    name,
                    tf,
                    False,
                    {
                        "low_value": "unit",
                        "high_value": "unit",
                        **dict.fromkeys(
                            ("output_low", "output_high", "swing", "base_output"), tf.attrs.get("unit") or ""
                        ),
                    },
                )
                for name, tf in tornado_frames.items()
            ],
            *[
                Sheet(name, frame, True, dict.fromkeys(frame.columns, "output") if name == "compare_outputs" else {})
                for name, frame in comp_frames.items()
            ],
        ],
    )


def _report_page(
    a, r, folder: Path, title: str, boundary: tuple, mjson: str, figs: tuple, frames: tuple, html_parts: tuple
) -> None:
    """Write the report's index.html."""
    m = r.manifest
    verdict, boundary_lines, boundary_steps = boundary
    figures, tornado_figures = figs
    drv, boxes, wwt, _, _, _, _, outputs, assumptions, _ = frames
    compare_html, consensus_html, bridge_html, over_time_html, children_html, views_html = html_parts
    intro = (
        f"{_e(a.scenario.title)}. {m['draws']:,} draws ({_e(m['method'])}), seed {m['seed']}; reported to "
        f"{_e(m['last_reported_quarter'])}, projected to {_e(m['horizon'])}. Money in RMB bn unless marked.</p>"
        "<p class=small>The page embeds its charts and reads on its own; the links to SVG charts, chart data "
        "and tables open the files beside it, so share the whole report folder to keep them working."
    )
    body = [
        f"<h1>{_e(title)}</h1><p>{intro}</p>",
        _findings_html(r, verdict, boundary_steps),
        f'<h2 id="claims">Claims</h2>{_claims_html(r)}',
        views_html,
        bridge_html,
        consensus_html,
        over_time_html.replace(
            "<!--timeline-->",
            _img(
                folder / "charts" / "claim_timeline.png",
                "Claims as each quarter was reported (star: the outcome once known)",
            ),
        ),
        '<h2 id="charts">Charts</h2>',
        *[_img(p, cap) for p, cap in figures],
        children_html.replace(
            "<!--children-charts-->",
            ""
            if not children_html
            else _img(folder / "charts" / "all_others_waterfall.png", "All others FY2026 -> FY2027")
            + _img(folder / "charts" / "all_others_fans.png", "Adjusted EBITA fan per business"),
        ),
        f'<h2 id="drivers">What drives each claim</h2>{_drivers_html(a, boxes, drv, wwt, m["draws"])}',
        '<h2 id="tornado">What moves the key outputs (tornado)</h2>'
        "<p>Each uncertain input is swung from its P10 to its P90 with every other input at its median "
        "(deterministic engine); the bars show the output at each end. Tables: "
        + ", ".join(f'<a href="tables/{n}.csv">{n}.csv</a>' for n, _, _ in TORNADO_OUTPUTS)
        + ".</p>",
        *[_img(p, cap) for p, cap in tornado_figures],
        f"<h2>Key outputs (P5 / P50 / P95)</h2>{_frame_html(_outputs_text(outputs))}",
        compare_html,
        '<h2 id="boundary">Boundary: the first projected quarter against the last reported</h2>'
        f"<p>{_e(verdict[0].upper() + verdict[1:])} (base case; tolerances in simulation.yaml).</p>"
        f"<pre>{_e(chr(10).join(boundary_lines + ['warning: ' + w for w in boundary_steps]))}</pre>",
        f'<h2 id="assumptions">Assumptions used ({(assumptions["kind"] == "input").sum()} inputs, '
        f"{(assumptions['kind'] != 'input').sum()} seed estimates)</h2>"
        "<p class=small>Each value in the unit printed beside it; the engine holds money in RMB mn.</p>"
        f"{_assumptions_html(assumptions)}",
        f"<h2>Run manifest</h2><pre>{_e(mjson)}</pre>",
    ]
    page = (
        f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{_e(title)}</title>"
        f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>\n"
    )
    (folder / "index.html").write_text(page, encoding="utf-8")


def _report_summary(
    a, r, folder: Path, title: str, verdict: str, frames: tuple, compare: list[str], md_parts: tuple
) -> None:
    """Write the report's summary.md."""
    m = r.manifest
    wwt, outputs = frames[2], frames[7]
    funding = funding_sentence(r)
    compare_md, bridge_md, consensus_md, over_time_md, children_md, views_md = md_parts
    lines = [
        f"# {title}",
        "",
        f"{a.scenario.title}. {m['draws']:,} draws ({m['method']}), seed {m['seed']}; "
        f"reported to {m['last_reported_quarter']}, projected to {m['horizon']}.",
        "",
        f"Boundary: {verdict}.",
        "",
        *([funding, ""] if funding else []),
        "## Headline claims",
        "",
        "| claim | probability | 95% interval | status | reason |",
        "|---|---:|---:|---|---|",
    ]
    table = r.claims_table()
    for cid, x in table[table["headline"].astype(bool)].iterrows():
        lines.append(_summary_row(cid, x))
    lines += [
        "",
        "## Every claim: what decides it",
        "",
        "| claim | probability | 95% interval | status | reason |",
        "|---|---:|---:|---|---|",
    ]
    lines += [_summary_row(cid, x) for cid, x in table.iterrows()]
    lines += ["", "## What would have to be true (headline claims with a threshold)", ""]
    lines += [f"- {x['sentence']}." for _, x in wwt.iterrows()]
    lines += [
        "",
        "Drivers of every claim: index.html (What drives each claim), tables/claim_drivers.csv, "
        "tables/claim_boxes.csv.",
    ]
    lines += views_md
    lines += ["", "## Key outputs", "", "| output | P5 | P50 | P95 |", "|---|---:|---:|---:|"]
    for label, x in outputs.iterrows():
        lines.append(
            f"| {label} | {_output(label, x['P5'])} | {_output(label, x['P50'])} | {_output(label, x['P95'])} |"
        )
    if compare:
        lines += compare_md + [
            "",
            "Tables: tables/compare_claims.csv, tables/compare_outputs.csv; chart: charts/compare_claims.png.",
        ]
    lines += bridge_md
    lines += consensus_md
    lines += over_time_md
    lines += children_md
    lines += [
        "",
        f"Files: index.html (full report), charts/, data/, tables/, pivotmodel_{a.scenario.name}.xlsx, manifest.json.",
        "",
    ]
    (folder / "summary.md").write_text("\n".join(lines), encoding="utf-8")


def _build(a, r, folder: Path, compare: list[str], assumptions_dir, bar, cf, started: float) -> dict[str, Any]:
    """Write the whole report folder: charts, tables, workbook, index.html, summary.md and manifest."""
    from .simulate import manifest_json

    draws, seed = r.manifest["draws"], r.manifest["seed"]
    for sub in ("charts", "data", "tables"):
        (folder / sub).mkdir()
    figures, tornado_frames, tornado_figures = _report_charts(a, r, compare, bar, cf)
    t = folder / "tables"
    frames = _report_tables(a, r, t, bar, tornado_frames)
    compare_html, compare_md, comp_frames, compare_png = _report_compare(
        a, r, compare, assumptions_dir, draws, seed, t, bar, cf
    )
    (
        (consensus_html, consensus_md),
        (bridge_html, bridge_md),
        (over_time_html, over_time_md),
        (children_html, children_md),
        (views_html, views_md),
    ) = _report_sections(a, r, folder, draws, seed, bar)

    bar.step()
    bar.stage("workbook")
    _report_workbook(a, folder, frames, tornado_frames, comp_frames)
    bar.step()
    bar.stage("waiting for the charts")
    cf.finish()
    bar.stage("page and summary")
    if compare_html:  # the chart exists only now
        compare_html += _img(compare_png, "Claim probabilities by scenario")
    mjson = manifest_json(r, deterministic=True)
    manifest = dict(
        r.manifest, report_seconds=round(time.time() - started, 2), compare=list(compare or []), charts=cf.record()
    )
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")

    title = f"pivotmodel report: scenario {a.scenario.name}"
    boundary = _boundary(a)
    html_parts = (compare_html, consensus_html, bridge_html, over_time_html, children_html, views_html)
    _report_page(a, r, folder, title, boundary, mjson, (figures, tornado_figures), frames, html_parts)
    md_parts = (compare_md, bridge_md, consensus_md, over_time_md, children_md, views_md)
    _report_summary(a, r, folder, title, boundary[0], frames, compare, md_parts)
    bar.step()
    return manifest


def _summary_row(cid: str, x) -> str:
    status = x["status"] if isinstance(x.get("status"), str) else ""
    reason = x["status_reason"] if isinstance(x.get("status_reason"), str) else ""
    if pd.notna(x.get("probability_on_demand", np.nan)):
        reason = f"on demand {_pct(x['probability_on_demand'])}; {reason}"
    return (
        f"| {cid} | {_pct(x['probability'])} | {_interval(x['ci_low'], x['ci_high'])} | {status} | "
        f"{reason.replace('|', '/')} |"
    )


def write_report(
    a,
    out: Path,
    draws: int,
    seed: int,
    compare: list[str] | None = None,
    assumptions_dir: Path | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Build in a temporary folder beside ``out``, then swap it into place
    (:func:`pivotmodel.atomic.write_dir_atomic`: only a folder pivotmodel made is replaced);
    the charts of the report being replaced are reused where unchanged (``previous=None``: none)."""
    from .atomic import write_dir_atomic

    result: dict[str, Any] = {}
    options.setdefault("previous", Path(out))
    write_dir_atomic(
        Path(out),
        lambda tmp: result.update(build_report(a, tmp, draws, seed, compare, assumptions_dir, **options)),
        a.input_paths,
    )
    return result

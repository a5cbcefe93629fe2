"""The report's section on published forecasts (``assumptions/consensus.yaml``): where each
forecast sits in the run's distribution, the fans chart and what would have to move.
Called by :mod:`pivotmodel.report`; the analysis is :mod:`pivotmodel.consensus`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .lazy import lazy

if TYPE_CHECKING:  # the real module for the type checker; a lazy stand-in at run time
    import numpy as np
else:
    np = lazy("numpy")

__all__ = ["consensus_section", "bridge_section"]


def bridge_section(a, folder: Path) -> tuple[str, list[str]]:
    """The report's bridge from the last reported fiscal year to the next, base case, line by
    line (tables/bridge.csv); returns (HTML, summary.md lines)."""
    import html

    from .earnings_table import bridge_marks, bridge_table
    from .model import project

    last = a.history.last_quarter
    start = last.fiscal_year if last.q == 4 else last.fiscal_year - 1
    table = bridge_table(project(a), f"FY{start}", f"FY{start + 1}")
    table.to_csv(folder / "tables" / "bridge.csv", float_format="%.6g", index_label="line")
    marks = bridge_marks(a.history, f"FY{start}")
    mark = lambda k, j, x: " (e)" if k in marks and x == x and j != 1 else ""  # noqa: E731  (j 1: projected year)
    cells = {
        k: [("n/a" if x != x else f"{x:,.1f}") + mark(k, j, x) for j, x in enumerate(row)]
        for k, row in table.iterrows()
    }
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ("line", *table.columns))
    body = "".join(
        "<tr>" + f"<td>{html.escape(str(k))}</td>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>"
        for k, row in cells.items()
    )
    estimated = "".join(f" (e) {html.escape(k.strip())}: {html.escape(v)}." for k, v in marks.items())
    note = (
        f"FY{start} as reported to FY{start + 1}, base case (each input at its median); RMB bn, shares in "
        "millions, EPS in RMB per ADS. n/a: not reported for the year (never filled by the model)."
        + estimated
        + ' Table: <a href="tables/bridge.csv">bridge.csv</a>.'
    )
    section = (
        f'<h2 id="bridge">From FY{start} to FY{start + 1}, line by line</h2><p>{note}</p>'
        f"<div class=tw><table><tr>{head}</tr>{body}</table></div>"
    )
    md = [
        "",
        f"## From FY{start} to FY{start + 1}, line by line (base case)",
        "",
        "| line | " + " | ".join(table.columns) + " |",
        "|---|" + "---:|" * len(table.columns),
    ]
    md += [f"| {k} | " + " | ".join(row) + " |" for k, row in cells.items()]
    md += [f"(e) {k.strip()}: {v}" for k, v in marks.items()]
    return section, md


def _consensus_rows_html(table: Any, format_value: Any, pct: Any) -> tuple[str, list[str]]:
    """The consensus table's HTML header cells and one row per forecast."""
    import html

    e = html.escape
    columns = (
        "forecast",
        "who",
        "date",
        "metric",
        "definition",
        "unit",
        "forecast",
        "P5",
        "P50",
        "P95",
        "percentile",
        "rebased by growth",
        "pctile",
        "rebased by miss",
        "pctile",
        "",
    )
    head = "".join(f"<th>{h}</th>" for h in columns)
    body = []
    for fid, r in table.iterrows():
        marks = (
            ("OUTSIDE P5-P95", r["outside"]),
            ("stale", r["stale"]),
            (f"superseded by {r['superseded_by']}", r["superseded_by"] != ""),
            (f"reported: actual {format_value(r['actual'], r['unit'])}", r["reported"]),
            (f"on an estimated actual: {r['actual_on_estimates']}", r["actual_on_estimates"] != ""),
            (f"rebased on an estimated base: {r['base_on_estimates']}", r["base_on_estimates"] != ""),
        )
        est = " (e)" if r["base_on_estimates"] else ""
        flags = " ".join(x for x, on in marks if on)
        cells = [
            f'<a href="{e(r["url"])}">{e(fid)}</a>',
            e(r["who"]),
            e(r["date"]),
            f"<code>{e(r['metric'])}</code>",
            e(r["definition"]),
            e(r["unit"]),
        ]
        cells += [format_value(r[c], r["unit"]) for c in ("forecast", "p5", "p50", "p95")]
        cells += [
            pct(r["percentile"]),
            format_value(r["rebased_growth"], r["unit"]) + (est if np.isfinite(r["rebased_growth"]) else ""),
            pct(r["pctile_growth"]),
            format_value(r["rebased_additive"], r["unit"]) + (est if np.isfinite(r["rebased_additive"]) else ""),
            pct(r["pctile_additive"]),
            e(flags),
        ]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return head, body


def _consensus_md(table: Any, consensus: Any, explanations: Any, stale: int, format_value: Any, pct: Any) -> list[str]:
    """The summary.md lines of the published-forecast section."""
    md = [
        "",
        "## Published forecasts (assumptions/consensus.yaml)",
        "",
        f"{len(table)} forecasts, {int(table['outside'].sum())} outside the model's P5-P95, {stale} stale "
        f"(before the {consensus.last_quarter} results of {consensus.released}).",
        "",
        "| forecast | date | forecast | P5 | P50 | P95 | percentile | flags |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for fid, r in table.iterrows():
        flags = ", ".join(x for x, on in (("outside", r["outside"]), ("stale", r["stale"])) if on)
        md.append(
            f"| {fid} | {r['date']} | "
            + " | ".join(format_value(r[c], r["unit"]) for c in ("forecast", "p5", "p50", "p95"))
            + f" | {pct(r['percentile'])} | {flags} |"
        )
    md += [""] + [f"- {fid}: {s}" for fid, ss in explanations.items() for s in ss]
    return md


def consensus_section(a, folder: Path, draws: int, seed: int, source: str) -> tuple[str, list[str]]:
    """The report's section on published forecasts: writes tables/consensus.csv,
    data/consensus_fans.csv and charts/consensus_fans.(png|svg); returns (HTML, summary.md lines).
    Without a consensus.yaml the section says so and writes nothing."""
    import html

    from . import charts as C
    from .consensus import FILE, consensus_report, fan_data, format_value

    if not (a.directory / FILE).exists():
        return f"<h2>Published forecasts</h2><p>No {FILE} in the assumptions folder.</p>", []
    method = str(a.settings["method"])
    table, consensus, explanations = consensus_report(a, draws, seed, method)
    table.to_csv(folder / "tables" / "consensus.csv", float_format="%.6g")
    fans = fan_data(a, consensus, table, draws, seed, method)
    ax = C.plot_consensus_fans(fans)
    try:
        C.add_source(ax.figure, source + f"; forecasts: {consensus.label}")
        C.save(ax.figure, folder / "charts" / "consensus_fans")
    finally:
        C.close(ax.figure)
    fans.to_csv(folder / "data" / "consensus_fans.csv", index=False, float_format="%.6g")
    fans.attrs["markers"].to_csv(folder / "data" / "consensus_markers.csv", index=False, float_format="%.6g")

    e = html.escape
    pct = lambda x: "n/a" if not np.isfinite(x) else f"{100 * x:.1f}"  # noqa: E731
    head, body = _consensus_rows_html(table, format_value, pct)
    moves = "".join(f"<li><b>{e(fid)}</b>: {e(s)}</li>" for fid, ss in explanations.items() for s in ss)
    stale = int(table["stale"].sum())
    section = (
        '<h2 id="consensus">Published forecasts in the model\'s distribution</h2>'
        f"<p>{len(table)} forecasts from {consensus.brokers()} brokers ({e(consensus.label)}; "
        f"{int((table['superseded_by'] != '').sum())} superseded by a later note of the same broker); "
        f"{int(table['outside'].sum())} lie outside the model's P5-P95. Rebased: the broker's growth applied to the "
        "latest actual, and the broker's miss on it carried additively, where the note gives its estimate for that "
        "year. "
        f"{stale} are stale (dated before the {e(consensus.last_quarter)} results of {consensus.released}). "
        "Money in RMB bn, growth in %, EPS in RMB per ADS; percentile: the forecast's place among the draws. "
        'Table: <a href="tables/consensus.csv">consensus.csv</a>.</p>'
        f"<div class=tw><table><tr>{head}</tr>{''.join(body)}</table></div>"
        "<h3>What would have to move</h3><p>For the forecasts furthest from the model's median (one per metric), the "
        "input most "
        "rank-correlated with the metric, solved for the value that reaches the forecast with everything else at "
        f"base.</p><ul>{moves}</ul>"
        '<figure><img src="charts/consensus_fans.png" alt="Model fans with published forecasts" style="max-width:100%">'
        "<figcaption>Model fans with the published forecasts as dated markers (hollow: stale; red: outside "
        "P5-P95)</figcaption></figure>"
    )
    md = _consensus_md(table, consensus, explanations, stale, format_value, pct)
    return section, md

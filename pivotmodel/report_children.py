"""The report's section on a segment by its children (All others by business, issue 23): a
waterfall of the parent from FY2026 to FY2027 through each child and the residual, a fan of
adjusted EBITA per child, and their table. Called by :mod:`pivotmodel.report`; the charts are
:func:`pivotmodel.charts.children_waterfall_data` and :func:`pivotmodel.charts.children_fans_data`."""

from __future__ import annotations

import html
from pathlib import Path

__all__ = ["children_section"]


def children_section(a, r, folder: Path, source: str, parent: str = "all_others") -> tuple[str, list[str]]:
    """Writes charts/all_others_waterfall.(png|svg), charts/all_others_fans.(png|svg) and their
    data; returns (HTML, summary.md lines). Without declared children: a line saying so."""
    from . import charts as C

    children = tuple(c for c in a.children if c.parent == parent)
    if not children:
        return "", []
    wf = C.children_waterfall_data(r, children, parent)
    fans = C.children_fans_data(r, children, parent)
    for name, data, plot in (
        ("all_others_waterfall", wf, C.plot_children_waterfall),
        ("all_others_fans", fans, C.plot_children_fans),
    ):
        data.to_csv(folder / "data" / f"{name}.csv", index=False, float_format="%.6g")
        ax = plot(data)
        try:
            C.add_source(ax.figure, source + "; children's history: estimates (assumptions/history/children.csv)")
            C.save(ax.figure, folder / "charts" / name)
        finally:
            C.close(ax.figure)
    rows = [(x["metric"], x["step"], x["value"]) for _, x in wf.iterrows()]
    md = [
        "",
        "## All others by business (FY2026 -> FY2027, RMB bn, mean across draws)",
        "",
        "| step | revenue | adj. EBITA |",
        "|---|---:|---:|",
    ]
    steps = list(dict.fromkeys(s for m, s, _ in rows if m == "adjusted_ebita"))  # every part has EBITA
    value = {(m, s): v for m, s, v in rows}

    def cell(m: str, s: str) -> str:  # a change signed, the two totals plain; no revenue step: blank
        if (m, s) not in value:
            return ""
        return f"{value[(m, s)]:.1f}" if s in (steps[0], steps[-1]) else f"{value[(m, s)]:+.1f}"

    md += [f"| {s} | {cell('revenue', s)} | {cell('adjusted_ebita', s)} |" for s in steps]
    e = html.escape
    table = "".join(
        f"<tr><td>{e(s)}</td><td>{cell('revenue', s)}</td><td>{cell('adjusted_ebita', s)}</td></tr>" for s in steps
    )
    section = (
        '<h2 id="all-others">All others by business</h2>'
        f"<p>{len(children)} businesses declared in segments.yaml, their history estimated (history/children.csv) "
        "and the residual the rest; the parent is their sum in every quarter. A child without revenue (consumer AI, "
        "whose revenue is a gap) adds an EBITA step only. RMB bn, the mean across draws (means add up). Data: "
        '<a href="data/all_others_waterfall.csv">all_others_waterfall.csv</a>, '
        '<a href="data/all_others_fans.csv">all_others_fans.csv</a>.</p>'
        f"<table><tr><th>FY2026 -> FY2027</th><th>revenue</th><th>adj. EBITA</th></tr>{table}</table>"
        "<!--children-charts-->"
    )
    return section, md

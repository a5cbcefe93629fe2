"""The report's section on the views the outcome rests on: the inputs ``simulation.yaml``
lists under ``views`` (judgements, not reported figures, such as the long-run cloud margin),
each with its distribution, note (the peers' or brokers' figures beside it are given there or in
its source's note), source and the claims whose status or reason names it. Called by :mod:`pivotmodel.report`."""

from __future__ import annotations

import html

__all__ = ["views_section", "view_rows"]


def view_rows(a, statuses: dict) -> list[dict[str, str]]:
    """One row a listed view: key, distribution, median, unit, basis, note, source (title, href,
    note) and the claims whose status names it as their deciding input or whose reason cites it."""
    from .report import as_written

    rows = []
    for key in a.settings.get("views", ()):
        inp = a.inputs[key]
        src = a.sources.get(inp.source)
        dist, median = as_written(inp)
        claims = sorted(cid for cid, st in statuses.items() if key in f"{st.label} {st.reason}")
        rows.append(
            {
                "key": key,
                "distribution": dist,
                "median": median,
                "unit": inp.unit,
                "basis": inp.basis,
                "note": inp.note or "",
                "source": src.title if src else inp.source,
                "href": src.href if src else "",
                "source_note": (src.note or "") if src else "",
                "claims": ", ".join(claims) or "none of the registered claims names it",
            }
        )
    return rows


def views_section(a, statuses: dict) -> tuple[str, list[str]]:
    """(HTML, summary.md lines) of the views section; empty when ``simulation.yaml`` lists none."""
    rows = view_rows(a, statuses)
    if not rows:
        return "", []
    e = html.escape
    intro = (
        "Inputs that are judgements rather than reported figures, listed under <code>views</code> in "
        "simulation.yaml: the outcome rests on them. Each with its range, its note (where the peers' and "
        "brokers' figures beside it are given) and its source."
    )
    items = "".join(
        f"<h3>{e(r['key'])}</h3><p><b>{e(r['distribution'])}</b> (median {e(r['median'])} {e(r['unit'])}; "
        f"basis {e(r['basis'])}). {e(r['note'])}</p><p class=small>Source: "
        + (f'<a href="{e(r["href"])}">{e(r["source"])}</a>' if r["href"] else e(r["source"]))
        + f". {e(r['source_note'])}</p><p class=small>Claims it decides or drives: {e(r['claims'])}.</p>"
        for r in rows
    )
    md = [
        "",
        "## Views the outcome rests on",
        "",
        "Inputs that are judgements, not reported figures (simulation.yaml `views`):",
        "",
    ]
    for r in rows:
        md += [
            f"- **{r['key']}**: {r['distribution']} (median {r['median']} {r['unit']}; basis {r['basis']}). "
            f"{r['note']}",
            f"  Source: {r['source']}{' (' + r['href'] + ')' if r['href'] else ''}. {r['source_note']}",
            f"  Claims it decides or drives: {r['claims']}.",
        ]
    return f'<h2 id="views">Views the outcome rests on</h2><p>{intro}</p>{items}', md

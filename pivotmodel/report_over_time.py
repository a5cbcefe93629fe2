"""The report's sections on claims over time and the backtest (:mod:`pivotmodel.backtest` computes
them; this module writes their tables and chart and returns the page's HTML and summary lines)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["over_time_section"]


def over_time_section(a, r, folder: Path, draws: int, seed: int, source: str) -> tuple[str, list[str]]:
    """The report's sections on claims over time and the backtest: writes tables/timeline.csv,
    tables/backtest_summary.csv, charts/claim_timeline.(png|svg); returns (HTML, summary.md lines).
    The report's own run stands for the last quarter; the backtest uses at most 2,000 draws."""
    import html

    from . import charts as C
    from .backtest import backtest_scores, summarise, timeline_table, verdicts

    opts = {"draws": draws, "seed": seed, "method": str(a.settings["method"])}
    scenario = str(a.scenario.paths[0]) if a.scenario.paths else None  # the file named (a path works too)
    table, skipped = timeline_table(a.directory, scenario, opts, 1, cache={a.history.last_quarter: (a, r)})
    table.to_csv(folder / "tables" / "timeline.csv", index=False, float_format="%.6g")
    data = C.claim_timeline_data(table)
    data.to_csv(folder / "data" / "claim_timeline.csv", index=False, float_format="%.6g")
    ax = C.plot_claim_timeline(data)
    fig: Any = ax.figure
    try:
        C.add_source(fig, source + "; as of each reported quarter the model can start from")
        C.save(fig, folder / "charts" / "claim_timeline")
    finally:
        C.close(fig)
    first = min(a.history.quarterly["group.revenue"]) + 6
    scores, _ = backtest_scores(a.directory, scenario, first, 4, {**opts, "draws": min(draws, 2000)}, 1)
    summarise(scores).to_csv(folder / "tables" / "backtest_summary.csv", float_format="%.6g")
    summarise(scores, ("series", "horizon", "forecaster")).to_csv(
        folder / "tables" / "backtest_by_horizon.csv", float_format="%.6g"
    )
    lines = verdicts(scores)
    fans = _backtest_fans(C, scores, folder, source)
    inputs = [
        f"As of {q}: {len(n['on_estimates'])} base-quarter figures on estimates (history/estimates.csv), "
        f"{len(n['later_inputs'])} hand-set inputs sourced after its results were known"
        + (
            f"; like-for-like base: {len(n['restated'])} quarters of disposed revenue removed (history/perimeter.csv)."
            if n.get("restated")
            else "."
        )
        for q, n in sorted(scores.attrs.get("as_of_inputs", {}).items())
    ]
    note = f"As-of quarters the model cannot start from: {', '.join(sorted(skipped))}." if skipped else ""
    md = ["", "## Claims over time", "", "| claim | as of | probability | outcome |", "|---|---|---:|---|"]
    md += [f"| {x.claim} | {x.as_of} | {x.probability:.0%} | {x.outcome} |" for x in table.itertuples()]
    md += ["", note, "", f"## Backtest (from {first.label}, horizons 1-4)", ""] + [f"- {v}" for v in lines]
    md += [""] + [f"- {v}" for v in inputs]
    md += [
        "",
        "Tables: tables/timeline.csv, tables/backtest_summary.csv, tables/backtest_by_horizon.csv; charts: "
        "charts/claim_timeline.png"
        + (", charts/backtest_fans.png (model and naive fans one quarter ahead against the actuals)." if fans else "."),
    ]
    e = html.escape
    page = (
        f"<h2>Claims over time</h2><p>{e(note)}</p><!--timeline-->"
        f"<h2>Backtest (from {first.label}, horizons 1-4)</h2><ul>"
        + "".join(f"<li>{e(v)}</li>" for v in lines)
        + "</ul>"
        + "<ul>"
        + "".join(f"<li>{e(v)}</li>" for v in inputs)
        + "</ul>"
        + ('<img src="charts/backtest_fans.svg" alt="model and naive fans against the actuals">' if fans else "")
    )
    return page, md


def _backtest_fans(C, scores, folder: Path, source: str) -> bool:
    """charts/backtest_fans.(png|svg): each forecaster's fan one quarter ahead against the actual."""
    data = C.backtest_fan_data(scores, horizon=1)
    if not len(data):
        return False
    data.to_csv(folder / "data" / "backtest_fans.csv", index=False, float_format="%.6g")
    fig: Any = C.plot_backtest_fans(data).figure
    try:
        C.add_source(fig, source + "; model and naive one quarter ahead, actuals as reported")
        C.save(fig, folder / "charts" / "backtest_fans")
    finally:
        C.close(fig)
    return True

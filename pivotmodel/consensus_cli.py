"""``pivotmodel consensus``: where the published forecasts sit in the model's distribution.

Prints (or writes as CSV) one row per forecast of ``assumptions/consensus.yaml``: the model's
P5/P50/P95 of the same metric, the forecast's percentile, ``OUTSIDE`` when it lies outside
P5-P95 and ``stale`` when it predates the release of the last reported quarter; then, for
the forecasts furthest from the model's median, which input would have to move to reach
them (the solve machinery, everything else at base).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .atomic import check_file_target, write_atomic
from .errors import InputError
from .lazy import lazy
from .options import SEED, int_at_least

if TYPE_CHECKING:  # the real modules for the type checker; lazy stand-ins at run time
    import numpy as np
    import pandas as pd
else:
    np = lazy("numpy")
    pd = lazy("pandas")

__all__ = ["register", "cmd_consensus", "consensus_report", "format_table"]


def _fmt(x: float, unit: str) -> str:
    if not np.isfinite(x):
        return "n/a"
    return f"{x:+.1%}" if unit == "ratio" else f"{x:,.1f}"


def format_table(table: pd.DataFrame) -> list[str]:
    lines = [f"{'forecast':28s} {'date':10s} {'':5s} {'unit':11s} {'forecast':>9s} {'P5':>9s} {'P50':>9s} {'P95':>9s} {'pctile':>7s}"]
    for fid, r in table.iterrows():
        flag = "OUTSIDE" if r["outside"] else ""
        pct = "n/a" if not np.isfinite(r["percentile"]) else f"{100 * r['percentile']:.1f}"
        lines.append(
            f"{fid:28s} {r['date']:10s} {'stale' if r['stale'] else '':5s} {r['unit']:11s} "
            + " ".join(f"{_fmt(r[c], r['unit']):>9s}" for c in ("forecast", "p5", "p50", "p95"))
            + f" {pct:>7s} {flag}"
        )
    return lines


def consensus_report(a, draws: int, seed: int, method: str, explain: int = 3):
    """(table, consensus, explanations {id: [sentences]}) for the CLI and the report."""
    from .consensus import load_consensus, metric_draws, place, what_would_move

    consensus = load_consensus(a)
    metrics, inputs = metric_draws(a, consensus, draws, seed, method)
    table = place(consensus, metrics)
    # the furthest forecast of each distinct metric, furthest first (ties: file order)
    far = (table["percentile"] - 0.5).abs().fillna(-1).sort_values(ascending=False, kind="stable")
    chosen = list(dict.fromkeys(table.loc[far.index, "metric"]).keys())
    first_of = {m: next(fid for fid in far.index if table.loc[fid, "metric"] == m) for m in chosen}
    by_id = {f.id: f for f in consensus.forecasts}
    explanations = {fid: what_would_move(a, by_id[fid], table.loc[fid], inputs, metrics[fid], top=2)
                    for fid in list(first_of.values())[:explain]}
    return table, consensus, explanations


_HEADER = "id,who,date,stale,metric,"


def _is_ours(path: Path) -> bool:
    """A placement table pivotmodel wrote: a CSV starting with its header."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.readline().startswith(_HEADER)
    except OSError:
        return False


def cmd_consensus(args: argparse.Namespace) -> int:
    from .cli import _load

    a = _load(args)
    if args.out:  # checked before any work: never overwrite a file pivotmodel did not write
        if args.format != "csv":
            raise InputError.single("--out", "format", "--format table prints to the terminal; use --format csv with --out")
        check_file_target(Path(args.out), _is_ours, a.input_paths)
    draws = args.draws or int(a.settings.get("draws", 2000))
    seed = args.seed if args.seed is not None else int(a.settings.get("seed", 0))
    method = args.method or str(a.settings.get("method", "lhs"))
    table, consensus, explanations = consensus_report(a, draws, seed, method, args.explain)
    for warning in consensus.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.format == "csv":
        if args.out:
            write_atomic(Path(args.out), lambda tmp: table.to_csv(tmp, float_format="%.6g"))
            print(f"wrote {args.out}")
        else:
            sys.stdout.write(table.to_csv(float_format="%.6g"))
        return 0
    stale = int(table["stale"].sum())
    print(f"Published forecasts in the model's distribution, scenario {a.scenario.name}: {draws:,} draws, method {method}, seed {seed}")
    print(f"money in RMB bn, growth as %, EPS in RMB per ADS; pctile: the forecast's percentile among the draws; "
          f"OUTSIDE: beyond P5-P95; stale: dated before the {consensus.last_quarter} results ({consensus.released}), {stale} of {len(table)}")
    print("\n".join(format_table(table)))
    if explanations:
        print("\nWhat would have to move (the forecasts furthest from the model's median; one input, everything else at base):")
        for fid, sentences in explanations.items():
            for s in sentences:
                print(f"  {fid}: {s}")
    return 0


def register(sub, common) -> None:
    p = sub.add_parser("consensus", parents=[common], help="place published broker forecasts in the model's distribution")
    p.add_argument("--draws", type=int_at_least(10), default=None, metavar="N", help="Monte Carlo draws (default: simulation.yaml)")
    p.add_argument("--seed", type=SEED, default=None, metavar="S", help="random seed, 0 or more (default: simulation.yaml)")
    p.add_argument("--method", choices=["mc", "lhs", "sobol"], default=None,
                   help="sampling: plain Monte Carlo, Latin hypercube or scrambled Sobol (default: simulation.yaml)")
    p.add_argument("--explain", type=int_at_least(0), default=5, metavar="K", help="say what would move for the K forecasts furthest from the median")
    p.add_argument("--format", choices=["table", "csv"], default="table", help="a table on the terminal, or CSV")
    p.add_argument("--out", default=None, metavar="PATH", help="CSV file (with --format csv)")
    p.set_defaults(handler=cmd_consensus)


def consensus_section(a, folder: Path, draws: int, seed: int, source: str) -> tuple[str, list[str]]:
    """The report's section on published forecasts: writes tables/consensus.csv,
    data/consensus_fans.csv and charts/consensus_fans.(png|svg); returns (HTML, summary.md lines).
    Without a consensus.yaml the section says so and writes nothing."""
    import html

    import matplotlib.pyplot as plt

    from . import charts as C
    from .consensus import FILE, fan_data

    if not (a.directory / FILE).exists():
        return f"<h2>Published forecasts</h2><p>No {FILE} in the assumptions folder.</p>", []
    method = str(a.settings.get("method", "lhs"))
    table, consensus, explanations = consensus_report(a, draws, seed, method)
    table.to_csv(folder / "tables" / "consensus.csv", float_format="%.6g")
    fans = fan_data(a, consensus, table, draws, seed, method)
    ax = C.plot_consensus_fans(fans)
    try:
        C.add_source(ax.figure, source + f"; forecasts: {consensus.label}")
        C.save(ax.figure, folder / "charts" / "consensus_fans")
    finally:
        plt.close(ax.figure)
    fans.to_csv(folder / "data" / "consensus_fans.csv", index=False, float_format="%.6g")
    fans.attrs["markers"].to_csv(folder / "data" / "consensus_markers.csv", index=False, float_format="%.6g")

    e = html.escape
    head = "".join(f"<th>{h}</th>" for h in ("forecast", "who", "date", "metric", "unit", "forecast", "P5", "P50", "P95", "percentile", ""))
    body = []
    for fid, r in table.iterrows():
        flags = " ".join(x for x, on in (("OUTSIDE P5-P95", r["outside"]), ("stale", r["stale"])) if on)
        cells = [f'<a href="{e(r["url"])}">{e(fid)}</a>', e(r["who"]), e(r["date"]), f"<code>{e(r['metric'])}</code>", e(r["unit"])]
        cells += [_fmt(r[c], r["unit"]) for c in ("forecast", "p5", "p50", "p95")]
        cells += ["n/a" if not np.isfinite(r["percentile"]) else f"{100 * r['percentile']:.1f}", e(flags)]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    moves = "".join(f"<li><b>{e(fid)}</b>: {e(s)}</li>" for fid, ss in explanations.items() for s in ss)
    stale = int(table["stale"].sum())
    section = (
        '<h2 id="consensus">Published forecasts in the model\'s distribution</h2>'
        f"<p>{len(table)} forecasts from {e(consensus.label)}; {int(table['outside'].sum())} lie outside the model's P5-P95. "
        f"{stale} are stale (dated before the {e(consensus.last_quarter)} results of {consensus.released}). "
        "Money in RMB bn, growth in %, EPS in RMB per ADS; percentile: the forecast's place among the draws. "
        'Table: <a href="tables/consensus.csv">consensus.csv</a>.</p>'
        f"<div class=tw><table><tr>{head}</tr>{''.join(body)}</table></div>"
        f"<h3>What would have to move</h3><p>For the forecasts furthest from the model's median (one per metric), the input most "
        f"rank-correlated with the metric, solved for the value that reaches the forecast with everything else at base.</p><ul>{moves}</ul>"
        '<figure><img src="charts/consensus_fans.png" alt="Model fans with published forecasts" style="max-width:100%">'
        "<figcaption>Model fans with the published forecasts as dated markers (hollow: stale; red: outside P5-P95)</figcaption></figure>"
    )
    md = ["", "## Published forecasts (assumptions/consensus.yaml)", "",
          f"{len(table)} forecasts, {int(table['outside'].sum())} outside the model's P5-P95, {stale} stale "
          f"(before the {consensus.last_quarter} results of {consensus.released}).", "",
          "| forecast | date | forecast | P5 | P50 | P95 | percentile | flags |", "|---|---|---:|---:|---:|---:|---:|---|"]
    for fid, r in table.iterrows():
        flags = ", ".join(x for x, on in (("outside", r["outside"]), ("stale", r["stale"])) if on)
        md.append(f"| {fid} | {r['date']} | " + " | ".join(_fmt(r[c], r["unit"]) for c in ("forecast", "p5", "p50", "p95"))
                  + f" | {100 * r['percentile']:.1f} | {flags} |")
    md += [""] + [f"- {fid}: {s}" for fid, ss in explanations.items() for s in ss]
    return section, md

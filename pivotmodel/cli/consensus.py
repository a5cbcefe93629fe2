"""``pivotmodel consensus``: where the published forecasts sit in the model's distribution.

Prints (or writes as CSV) one row per forecast of ``assumptions/consensus.yaml``: the model's
P5/P50/P95 of the same metric, the forecast's percentile, ``OUTSIDE`` when it lies outside
P5-P95 and ``stale`` when it predates the release of the last reported quarter; then, for
the forecasts furthest from the model's median, which input would have to move to reach
them (the solve machinery, everything else at base). The analysis is :mod:`pivotmodel.consensus`;
the report's section :mod:`pivotmodel.report_consensus`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..atomic import check_file_target, csv_is_ours, write_owned_csv
from ..errors import InputError
from ..lazy import lazy
from ..options import int_at_least
from .common import load_assumptions, sampling_options

if TYPE_CHECKING:  # the real modules for the type checker; lazy stand-ins at run time
    import numpy as np
    import pandas as pd
else:
    np = lazy("numpy")
    pd = lazy("pandas")

__all__ = ["register", "cmd_consensus", "format_table"]


def format_table(table: pd.DataFrame) -> list[str]:
    """The placed forecasts, raw and rebased (percentiles among the draws), then the forecasts
    of periods already reported with the broker's miss."""
    from ..consensus import format_value

    pct = lambda x: "n/a" if not np.isfinite(x) else f"{100 * x:.1f}"  # noqa: E731
    placed, scored = table[~table["reported"]], table[table["reported"]]
    lines = [
        f"{'forecast':30s} {'date':10s} {'flags':14s} {'unit':11s} {'forecast':>9s} {'P5':>9s} {'P50':>9s} "
        f"{'P95':>9s} "
        f"{'pctile':>6s} {'by growth':>9s} {'pctile':>6s} {'by miss':>9s} {'pctile':>6s}  definition"
    ]

    def mark(r, col: str, on: str) -> str:  # " (e)": the figure rests on an estimated actual
        return format_value(r[col], r["unit"]) + (" (e)" if r[on] and np.isfinite(r[col]) else "")

    for fid, r in placed.iterrows():
        flags = ",".join(x for x, on in (("stale", r["stale"]), ("supersd", r["superseded_by"] != "")) if on)
        lines.append(
            f"{fid:30s} {r['date']:10s} {flags:14s} {r['unit']:11s} "
            + " ".join(f"{format_value(r[c], r['unit']):>9s}" for c in ("forecast", "p5", "p50", "p95"))
            + f" {pct(r['percentile']):>6s} {mark(r, 'rebased_growth', 'base_on_estimates'):>9s}"
            + f" {pct(r['pctile_growth']):>6s} {mark(r, 'rebased_additive', 'base_on_estimates'):>9s}"
            + f" {pct(r['pctile_additive']):>6s}  {r['definition']}"
            + (" OUTSIDE" if r["outside"] else "")
        )
    if len(scored):
        lines += [
            "",
            "Forecasts of periods now reported (not placed; the broker's miss = forecast - actual):",
            f"{'forecast':30s} {'date':10s} {'unit':11s} {'forecast':>9s} {'actual':>9s} {'miss':>9s}  metric",
        ]
        for fid, r in scored.iterrows():
            miss = (
                "n/a"
                if not np.isfinite(r["miss"])
                else f"{r['miss']:+.1%}"
                if r["unit"] == "ratio"
                else f"{r['miss']:+,.1f}"
            )
            lines.append(
                f"{fid:30s} {r['date']:10s} {r['unit']:11s} {format_value(r['forecast'], r['unit']):>9s} "
                f"{mark(r, 'actual', 'actual_on_estimates'):>9s} {miss:>9s}  {r['metric']}"
            )
    on_est = table[(table["base_on_estimates"] != "") | (table["actual_on_estimates"] != "")]
    if len(on_est):
        cells = sorted({c for col in ("base_on_estimates", "actual_on_estimates") for c in on_est[col] if c})
        lines += [
            "",
            f"(e): on an estimated base ({len(on_est)} entries): the actual the figure is rebased on (or scored "
            f"against) takes an estimate for a quarter whose release figure is not in the history: {'; '.join(cells)} "
            "(history/estimates.csv); a figure rebased by growth moves with that base in proportion, one rebased by "
            "the miss one for one",
        ]
    superseded = table[table["superseded_by"] != ""]
    if len(superseded):
        lines += [
            "",
            "Superseded (a later note of the same broker on the same metric): "
            + "; ".join(f"{fid} -> {r['superseded_by']}" for fid, r in superseded.iterrows()),
        ]
    return lines


def cmd_consensus(args: argparse.Namespace) -> int:
    from ..consensus import consensus_report

    a = load_assumptions(args)
    if args.out:  # checked before any work: never overwrite a file pivotmodel did not write
        if args.format != "csv":
            raise InputError.single(
                "--out", "format", "--format table prints to the terminal; use --format csv with --out"
            )
        check_file_target(Path(args.out), csv_is_ours, a.input_paths)
    draws = args.draws or int(a.settings.get("draws", 2000))
    seed = args.seed if args.seed is not None else int(a.settings.get("seed", 0))
    method = args.method or str(a.settings["method"])
    table, consensus, explanations = consensus_report(a, draws, seed, method, args.explain)
    for warning in consensus.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.format == "csv":
        if args.out:
            write_owned_csv(Path(args.out), "consensus", lambda tmp: table.to_csv(tmp, float_format="%.6g"))
            print(f"wrote {args.out}")
        else:
            sys.stdout.write(table.to_csv(float_format="%.6g"))
        return 0
    stale = int(table["stale"].sum())
    live = table[table["superseded_by"] == ""]
    print(
        f"Published forecasts in the model's distribution, scenario {a.scenario.name}: {draws:,} draws, method "
        f"{method}, seed {seed}"
    )
    print(
        f"{len(table)} entries from {consensus.brokers()} brokers ({len(live)} current, "
        f"{len(table) - len(live)} superseded by a "
        f"later note of the same broker); {int(live['outside'].sum())} current entries from "
        f"{live[live['outside']]['who'].nunique()} brokers lie outside P5-P95"
    )
    print(
        f"money in RMB bn, growth as %, EPS in RMB per ADS; pctile: the forecast's percentile among the draws; "
        f"OUTSIDE: beyond P5-P95; stale: dated before the {consensus.last_quarter} results ({consensus.released}), "
        f"{stale} of {len(table)}; "
        "rebased on the latest actual where the note gives the broker's own estimate for it: by growth = forecast / "
        "broker's estimate x actual, by miss = forecast + (actual - broker's estimate)"
    )
    print("\n".join(format_table(table)))
    if explanations:
        print(
            "\nWhat would have to move (the forecasts furthest from the model's median; one input, everything else at "
            "base):"
        )
        for fid, sentences in explanations.items():
            for s in sentences:
                print(f"  {fid}: {s}")
    return 0


def register(sub, common) -> None:
    p = sub.add_parser(
        "consensus", parents=[common], help="place published broker forecasts in the model's distribution"
    )
    sampling_options(p, min_draws=10)
    p.add_argument(
        "--explain",
        type=int_at_least(0),
        default=5,
        metavar="K",
        help="say what would move for the K forecasts furthest from the median",
    )
    p.add_argument("--format", choices=["table", "csv"], default="table", help="a table on the terminal, or CSV")
    p.add_argument("--out", default=None, metavar="PATH", help="CSV file (with --format csv)")
    p.set_defaults(handler=cmd_consensus)

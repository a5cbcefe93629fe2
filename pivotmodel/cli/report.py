"""``pivotmodel report``: the report folder for a scenario (the page is built by
:mod:`pivotmodel.report`)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..atomic import check_dir_target
from ..errors import InputError
from ..options import SEED, int_at_least

__all__ = ["cmd_report", "register"]


def cmd_report(args: argparse.Namespace) -> int:
    from ..assumptions import load
    from ..report import write_report

    a = load(args.assumptions, args.scenario)
    draws = int(args.draws if args.draws is not None else a.settings["draws"])
    seed = int(args.seed if args.seed is not None else a.settings["seed"])
    if draws < 2:
        raise InputError.single("--draws", "draws", f"needs at least 2 draws, got {draws}")
    from .common import check_replicates

    check_replicates(draws, a.settings["method"])
    compare = [s.strip() for s in (args.compare or "").split(",") if s.strip()]
    names = [load(args.assumptions, name).scenario.name for name in compare]  # a bad name fails before any work
    others = [n for n in dict.fromkeys(names) if n != a.scenario.name]  # a path is named by its file's stem
    default = a.scenario.name + (f"_vs_{'_'.join(others)}" if others else "")  # a comparison has its own folder
    out = Path(args.out) if args.out else Path("reports") / default
    check_dir_target(out, a.input_paths)  # before any work
    t0 = time.time()
    result = write_report(a, out, draws, seed, compare, args.assumptions, previous=None if args.redraw else out)
    reused = len(result.get("charts_reused", []))
    print(
        f"wrote {out}/ ({draws:,} draws, seed {seed}, {time.time() - t0:.1f} s"
        + (
            f"; {reused} of {len(result.get('charts', {}))} charts unchanged, copied from the previous report"
            if reused
            else ""
        )
        + ")"
    )
    if args.profile:
        from ..progress import format_timings

        print(format_timings(result.get("stages", []), "report stage"), file=sys.stderr)
    return 0


def register(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("report", parents=[common], help="charts, tables, summary.md and index.html for a scenario")
    p.add_argument(
        "--compare", default=None, metavar="NAME,...", help="other scenarios to set side by side (same draws and seed)"
    )
    p.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="report folder (default reports/<scenario>, or reports/<scenario>_vs_<others> with --compare)",
    )
    p.add_argument("--draws", type=int_at_least(2), default=None, metavar="N", help="draws (default: simulation.yaml)")
    p.add_argument("--seed", type=SEED, default=None, metavar="S", help="seed (default: simulation.yaml)")
    p.add_argument(
        "--redraw",
        action="store_true",
        help="draw every chart again (default: a chart whose data, plot and drawing code are unchanged "
        "is copied from the report being replaced)",
    )
    p.add_argument("--profile", action="store_true", help="print each stage's wall and CPU seconds to stderr")
    p.set_defaults(handler=cmd_report)

"""``pivotmodel timeline`` and ``pivotmodel backtest``: the model run as of past quarters
(the runs and scores: :mod:`pivotmodel.backtest`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..atomic import check_dir_target, write_dir_atomic
from ..errors import InputError
from ..options import JOBS, SEED, int_at_least
from .common import chunk_executor, executor_options, load_assumptions

__all__ = ["cmd_timeline", "cmd_backtest", "register"]


def parse_quarter(text: str):
    """The argparse type of ``--from``: a Quarter (the period module, which loads numpy, is
    imported only when the option is given; named as the function it calls, so argparse's
    message is unchanged)."""
    from ..periods import parse_quarter as parse

    return parse(text)


def _options(args: argparse.Namespace, a) -> dict:
    seed = a.settings["seed"] if args.seed is None else args.seed
    return {"draws": int(args.draws), "seed": int(seed), "method": args.method or a.settings["method"]}


def _out(args, name: str, a) -> Path:
    out = Path(args.out) if args.out else Path("runs") / name
    check_dir_target(out, a.input_paths)
    return out


def cmd_timeline(args: argparse.Namespace) -> int:
    from .. import charts
    from ..backtest import timeline_table

    a = load_assumptions(args)
    for cid in args.claim or ():
        a.claim(cid)  # an unknown id: the valid ones, before any run
    out = _out(args, "timeline", a)
    with chunk_executor(args) as executor:
        table, skipped = timeline_table(
            args.assumptions, args.scenario, _options(args, a), args.jobs, args.claim or None, executor=executor
        )
    for q, why in sorted(skipped.items()):
        print(f"as of {q}: model not run ({why})", file=sys.stderr)
    data = charts.claim_timeline_data(table)

    def write(folder: Path) -> None:
        table.to_csv(folder / "timeline.csv", index=False, float_format="%.6g")
        fig: Any = charts.plot_claim_timeline(data).figure
        charts.add_source(
            fig, f"pivotmodel timeline, {args.draws} draws; an as-of quarter the model cannot start from is left out"
        )
        charts.save(fig, folder / "timeline")

    write_dir_atomic(out, write, a.input_paths)
    for cid, g in table.groupby("claim", sort=False):
        points = ", ".join(f"{r.as_of}{'*' if r.before_claim else ''} {r.probability:.0%}" for r in g.itertuples())
        known = g["outcome"].iloc[0]
        print(f"{cid}: {points}" + (f"; outcome: {known}" if known else ""))
    if table["before_claim"].any():
        print("* as of a quarter whose results came before the claim was made (what the model would have said then)")
    print(f"wrote {out}/ (timeline.csv, timeline.png, timeline.svg)")
    return 0


def _horizon_lines(by_h) -> list[str]:
    """The per-horizon table for the terminal: model beside naive on each series and horizon."""
    lines = [f"{'series':30} {'h':>2} {'who':6} {'n':>3} {'in 50/80/90%':>13} {'CRPS bn':>8} {'PIT mean':>8}  PIT hist"]
    for (series, h, who), s in by_h.iterrows():
        cover = f"{s['inside_P25-P75']}/{s['inside_P10-P90']}/{s['inside_P5-P95']}"
        lines.append(
            f"{series:30} {h:>2} {who:6} {s.n:>3} {cover:>13} {s.crps_mean / 1000:>8.2f} {s.pit_mean:>8.2f}  "
            f"{s.pit_histogram}"
        )
    return lines


def _input_lines(notes: dict) -> list[str]:
    """Per as-of run: the base quarters it took on estimates and the inputs it took from later."""
    lines = []
    for q, n in sorted(notes.items()):
        est = n["on_estimates"]
        lines.append(
            f"as of {q}: {len(est)} base-quarter figures on estimates (history/estimates.csv)"
            + (f": {', '.join(est)}" if est else "")
            + f"; {len(n['later_inputs'])} hand-set inputs "
            "with a source dated after its results were known (look-ahead)"
            + (f": {', '.join(x.split(' (')[0] for x in n['later_inputs'])}" if n["later_inputs"] else "")
            + _perimeter_text(n)
        )
    return lines


def _perimeter_text(n: dict) -> str:
    """The disposals (history/perimeter.csv) an as-of run took out of its base, or left in."""
    out = ""
    if n.get("restated"):
        out += f"; like-for-like base (history/perimeter.csv), disposed businesses removed: {', '.join(n['restated'])}"
    if n.get("perimeter_kept"):
        out += f"; disposals not yet announced, reported perimeter kept: {', '.join(n['perimeter_kept'])}"
    return out


def cmd_backtest(args: argparse.Namespace) -> int:
    from .. import charts
    from ..backtest import backtest_scores, summarise, verdicts

    a = load_assumptions(args)
    out = _out(args, "backtest", a)
    start = args.start or (min(a.history.quarterly["group.revenue"]) + 6)
    last, first = a.history.last_quarter, min(a.history.quarterly["group.revenue"])
    if not first <= start < last:
        raise InputError.single(
            "--from",
            "",
            f"{start.label} leaves nothing to score: give a reported quarter from "
            f"{first.label} to {(last + -1).label} (the model is scored on the quarters after it, "
            f"up to the last reported, {last.label})",
        )
    with chunk_executor(args) as executor:
        scores, skipped = backtest_scores(
            args.assumptions, args.scenario, start, args.horizon, _options(args, a), args.jobs, executor
        )
    if skipped:
        print(
            f"model not run as of {len(skipped)} quarters ({', '.join(sorted(skipped))}): e.g. "
            f"{next(iter(skipped.values()))}",
            file=sys.stderr,
        )
    summary = summarise(scores)
    by_h = summarise(scores, ("series", "horizon", "forecaster"))
    lines = verdicts(scores)
    inputs = _input_lines(scores.attrs.get("as_of_inputs", {}))

    def write(folder: Path) -> None:
        scores.to_csv(folder / "scores.csv", index=False, float_format="%.6g")
        summary.to_csv(folder / "summary.csv", float_format="%.6g")
        by_h.to_csv(folder / "summary_by_horizon.csv", float_format="%.6g")
        (folder / "verdicts.txt").write_text("\n".join(lines + [""] + inputs) + "\n", encoding="utf-8")
        data = charts.backtest_fan_data(scores, horizon=1)
        if len(data):
            data.to_csv(folder / "backtest_fans.csv", index=False, float_format="%.6g")
            fig: Any = charts.plot_backtest_fans(data).figure
            charts.add_source(
                fig, f"pivotmodel backtest, {args.draws} draws; actuals as reported (history/reported.csv)"
            )
            charts.save(fig, folder / "backtest_fans")

    write_dir_atomic(out, write, a.input_paths)
    print(f"backtest from {start.label}, horizons 1-{args.horizon}, {args.draws} draws")
    print("\n".join(_horizon_lines(by_h)))
    print("\n".join(lines))
    print("\n".join(inputs))
    print(f"wrote {out}/ (scores.csv, summary.csv, summary_by_horizon.csv, verdicts.txt, backtest_fans.png|svg|csv)")
    return 0


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    def shared(p):
        p.add_argument("--draws", type=int_at_least(100), default=2000, metavar="N", help="draws per as-of run")
        p.add_argument(
            "--method", choices=["mc", "lhs", "sobol"], default=None, help="sampling (default: simulation.yaml)"
        )
        p.add_argument("--seed", type=SEED, default=None, metavar="S", help="random seed (default: simulation.yaml)")
        p.add_argument("--jobs", type=JOBS, default=1, metavar="J", help="worker processes per run")
        executor_options(p)

    p = sub.add_parser(
        "timeline", parents=[common], help="each headline claim's probability as of each reported quarter"
    )
    shared(p)
    p.add_argument(
        "--claim", action="append", metavar="ID", help="a claim id (repeatable; default: the headline claims)"
    )
    p.add_argument("--out", default=None, metavar="DIR", help="output folder (default runs/timeline)")
    p.set_defaults(handler=cmd_timeline)

    p = sub.add_parser(
        "backtest", parents=[common], help="score the bands, run as of past quarters, on what was then reported"
    )
    shared(p)
    p.add_argument(
        "--from",
        dest="start",
        type=parse_quarter,
        default=None,
        metavar="QUARTER",
        help="first as-of quarter (default: six quarters after the first of group revenue)",
    )
    p.add_argument("--horizon", type=int_at_least(1), default=4, metavar="H", help="quarters ahead to score")
    p.add_argument("--out", default=None, metavar="DIR", help="output folder (default runs/backtest)")
    p.set_defaults(handler=cmd_backtest)

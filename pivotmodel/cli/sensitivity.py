"""Subcommands ``sensitivity``, ``drivers`` and ``solve`` (the analysis: :mod:`pivotmodel.sensitivity`,
:mod:`pivotmodel.drivers`, :mod:`pivotmodel.solve`).

Each prints a readable table or sentence; bad input (an unknown claim, input or output) is
an :class:`~pivotmodel.errors.InputError`, listed by the CLI with exit code 2.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from ..errors import InputError
from ..lazy import lazy
from ..options import JOBS, SEED, float_between, int_at_least
from .common import chunk_executor, executor_options

if TYPE_CHECKING:  # the real modules for the type checker; lazy stand-ins at run time
    import pandas as pd
else:
    pd = lazy("pandas")

__all__ = ["cmd_sensitivity", "cmd_drivers", "cmd_solve", "register"]

DEFAULT_OUTPUT = "cloud.revenue@FY2028"


def _load(args):
    from ..assumptions import load

    return load(args.assumptions, args.scenario)


def _show(df: pd.DataFrame, floatfmt: str = "{:,.4g}") -> str:
    with pd.option_context(
        "display.width",
        250,
        "display.max_columns",
        30,
        "display.max_rows",
        500,
        "display.max_colwidth",
        70,
        "display.float_format",
        floatfmt.format,
    ):
        return df.to_string(index=False)


def cmd_sensitivity(args: argparse.Namespace) -> int:
    from .. import sensitivity as s

    if args.low >= args.high:
        raise InputError.single(
            "--low", "low", f"must be below --high ({args.low:g} >= {args.high:g}); both are quantiles in (0, 1)"
        )
    if args.method in ("sobol", "all") and args.samples & (args.samples - 1):
        raise InputError.single("--samples", "samples", f"must be a power of two (Sobol' design), got {args.samples}")
    a = _load(args)
    out = s.parse_output(args.output)
    unit = f" ({out.unit})" if out.unit else ""
    if args.method in ("tornado", "all"):
        t = s.tornado(a, out, low=args.low, high=args.high)
        print(
            f"Tornado: {out.spec}{unit}, scenario {a.scenario.name}; each uncertain input from its "
            f"P{100 * args.low:g} to its P{100 * args.high:g}, every other input at its median. "
            f"Base case {t.attrs['base_output']:,.4g}. Inputs in model units (money in RMB mn)."
        )
        print(_show(t.head(args.top)))
        flat = int((t["swing"] == 0).sum())
        if flat:
            print(f"({flat} inputs have no effect on this output)")
        odd = t.loc[~t["monotonic"], "input"].tolist()
        if odd:
            print("Non-monotonic over P5..P95 (the effect changes direction): " + ", ".join(odd))
        print()
    if args.method in ("sobol", "all"):
        with chunk_executor(args) as executor:
            _print_sobol(args, a, out, unit, executor)
    if args.method in ("rank", "all"):
        from ..simulate import simulate

        r = simulate(a, draws=args.draws, seed=args.seed, keep=(), progress=False)
        rc = s.rank_correlations(r, [out.spec])
        print(
            f"Spearman rank correlation of each input with {out.spec} over {args.draws:,} Monte Carlo draws "
            f"({r.manifest['method']}, seed {r.manifest['seed']}; correlations.yaml applied):"
        )
        print(_show(rc.head(args.top).reset_index(), "{:.3f}"))
        print()
    return 0


def _print_sobol(args: argparse.Namespace, a, out, unit: str, executor) -> None:
    """Sobol indices of the output (and, when inputs are correlated, grouped indices), the
    model runs on a local pool of --jobs processes or on ``executor``."""
    import time

    from .. import sensitivity as s

    started = time.time()
    jobs = args.jobs or os.cpu_count() or 1
    df = s.sobol(a, out, n=args.samples, seed=args.seed, jobs=jobs, executor=executor)
    print(
        f"Sobol indices: {out.spec}{unit}; {df.attrs['evaluations']:,} model runs "
        f"({args.samples} base samples) in {time.time() - started:.1f} s; S1 first order, ST total, "
        "+/- 95% bootstrap half-widths. Inputs sampled independently."
    )
    print(_show(df.drop(columns="note").head(args.top), "{:.3f}"))
    if df.attrs["note"]:
        print("Note: " + df.attrs["note"] + ".")
        g = s.sobol(a, out, n=args.samples, seed=args.seed, grouped=True, jobs=jobs, executor=executor)
        grouped = g[g["input"].str.contains(r" \+ ", regex=True)].drop(columns="note")
        print("Grouped indices (each set of correlated inputs as one group):")
        print(_show(grouped, "{:.3f}"))
    print()


def cmd_drivers(args: argparse.Namespace) -> int:
    from ..drivers import drivers, prim_box
    from ..simulate import simulate

    a = _load(args)
    a.claim(args.claim)  # an unknown id: the valid ones, before any simulation
    r = simulate(a, draws=args.draws, seed=args.seed, method=args.method, keep=(), progress=False)
    d = drivers(r, args.claim)
    info = d.attrs
    print(
        f"Drivers of {args.claim} ({r.claim(args.claim).test}), "
        f"scenario {a.scenario.name}, {info['draws']:,} draws (seed {r.manifest['seed']}): holds in "
        f"{info['holding']:,}, fails in {info['failing']:,}, not evaluable in {info['not_evaluable']:,}."
    )
    if info["message"]:
        print(info["message"] + ".")
        return 0
    print(
        "Inputs ranked by the Kolmogorov-Smirnov distance between draws where the claim holds and where it fails "
        "(direction: the values the claim favours; medians in model units, money in RMB mn):"
    )
    print(_show(d.head(args.top)))
    box = prim_box(r, args.claim, top=args.box_inputs, alpha=args.alpha, min_support=args.min_support)
    print()
    print("PRIM box: " + box.attrs["sentence"] + ".")
    return 0


def cmd_solve(args: argparse.Namespace) -> int:
    from ..solve import solve, solve_grid

    a = _load(args)
    keys = args.input
    if len(keys) > 2:
        raise InputError.single("--input", "input", "give one input (a threshold value) or two (a grid)")
    if len(keys) == 1:
        sol = solve(a, args.claim, keys[0])
        print(sol.sentence + ".")
        return 0
    g = solve_grid(a, args.claim, keys[0], keys[1], size=args.size)
    kx, ky = keys
    label = "metric" if g.attrs["threshold"] is not None else "holds"
    wide = g.pivot(index=ky, columns=kx, values=label).iloc[::-1]
    thr = g.attrs["threshold"]
    print(
        f"{args.claim} ({g.attrs['test']}) on a {args.size} x {args.size} grid of {kx} (columns) and {ky} (rows), "
        f"each over its P0.1-P99.9 range, everything else at base; cells: "
        + (
            f"the metric (threshold {g.attrs['comparison']} {thr:g}); '*' marks cells where the claim holds"
            if thr is not None
            else "1 where the claim holds"
        )
    )
    holds = g.pivot(index=ky, columns=kx, values="holds").iloc[::-1]
    cells = wide.map(lambda v: f"{v:.4g}") + holds.map(lambda h: "*" if h == 1 else " ")
    cells.columns = [f"{c:.4g}" for c in cells.columns]
    cells.index = [f"{i:.4g}" for i in cells.index]
    with pd.option_context("display.width", 400, "display.max_columns", 100):
        print(cells.to_string())
    print(f"The claim holds in {100 * g.attrs['share_holding']:.0f}% of the grid.")
    return 0


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("sensitivity", parents=[common], help="tornado and Sobol indices of one output")
    p.add_argument(
        "--output",
        default=DEFAULT_OUTPUT,
        metavar="SPEC",
        help=f"SERIES@PERIOD (RMB bn) or a claim expression without a comparison, e.g. "
        f"'share(cloud.revenue, group.revenue, CY2026)' (default {DEFAULT_OUTPUT})",
    )
    p.add_argument(
        "--method",
        choices=["tornado", "sobol", "rank", "all"],
        default="tornado",
        help="tornado (P10 to P90 swings), Sobol indices, rank correlations over draws, or all three",
    )
    p.add_argument("--draws", type=int_at_least(2), default=4000, help="Monte Carlo draws for the rank correlations")
    p.add_argument(
        "--low",
        type=float_between(0, 1, open_low=True, open_high=True),
        default=0.10,
        help="low quantile of the tornado swing",
    )
    p.add_argument(
        "--high",
        type=float_between(0, 1, open_low=True, open_high=True),
        default=0.90,
        help="high quantile of the tornado swing",
    )
    p.add_argument(
        "--samples",
        type=int_at_least(2),
        default=1024,
        help="Sobol base samples, a power of two (runs: N x (inputs + 2))",
    )
    p.add_argument("--seed", type=SEED, default=0, help="seed of the Sobol and rank-correlation samples")
    p.add_argument("--top", type=int_at_least(1), default=25, help="rows shown")
    p.add_argument(
        "--jobs",
        type=JOBS,
        default=None,
        metavar="J",
        help="worker processes for the Sobol model runs, 1 to the number of cores (default: all cores)",
    )
    executor_options(p)
    p.set_defaults(handler=cmd_sensitivity)

    p = sub.add_parser(
        "drivers", parents=[common], help="which inputs decide a claim (Monte Carlo filtering, PRIM box)"
    )
    p.add_argument("claim", metavar="CLAIM_ID", help="a claim id from claims.yaml (pivotmodel claims lists them)")
    p.add_argument("--draws", type=int_at_least(2), default=10_000, metavar="N", help="Monte Carlo draws")
    p.add_argument("--seed", type=SEED, default=None, metavar="S", help="random seed (default: simulation.yaml)")
    p.add_argument("--method", choices=["mc", "lhs", "sobol"], default="mc", help="sampling method, as in simulate")
    p.add_argument(
        "--sampling", choices=["mc", "lhs", "sobol"], dest="method", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )  # the old spelling of --method
    p.add_argument("--top", type=int_at_least(1), default=15, help="rows shown")
    p.add_argument("--box-inputs", type=int_at_least(1), default=4, help="inputs the box may restrict (the top by KS)")
    p.add_argument(
        "--alpha",
        type=float_between(0, 0.5, open_low=True, open_high=True),
        default=0.05,
        help="share of the box peeled at each step",
    )
    p.add_argument(
        "--min-support",
        type=float_between(0, 1, open_low=True, open_high=True),
        default=0.05,
        help="smallest share of draws the box may hold",
    )
    p.set_defaults(handler=cmd_drivers)

    p = sub.add_parser("solve", parents=[common], help="the value of an input at which a claim flips")
    p.add_argument("claim", metavar="CLAIM_ID", help="a claim id from claims.yaml")
    p.add_argument(
        "--input", action="append", required=True, metavar="KEY", help="an uncertain input; twice for a grid"
    )
    p.add_argument("--size", type=int_at_least(2, 201), default=25, help="grid points per input with two inputs")
    p.set_defaults(handler=cmd_solve)

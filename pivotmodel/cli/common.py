"""What the commands share: loading the inputs (with the warnings line), listing problems,
the simulation options and their values resolved against ``simulation.yaml``."""

from __future__ import annotations

import argparse
import sys

from ..options import JOBS, SEED, float_between, int_at_least

__all__ = [
    "load_assumptions",
    "print_problems",
    "run_options",
    "simulation_options",
    "check_replicates",
    "executor_options",
    "chunk_executor",
]


def load_assumptions(args: argparse.Namespace):
    from .. import assumptions as assumptions_mod

    a = assumptions_mod.load(args.assumptions, args.scenario)
    if getattr(args, "as_of", None) is not None:
        from ..asof import format_lookahead

        print("\n".join(format_lookahead(a)), file=sys.stderr)
    if a.warnings and args.command != "validate":
        n = len(a.warnings)
        print(
            f"pivotmodel: {n} warning{'s' if n != 1 else ''} in the inputs; `pivotmodel validate` lists "
            f"{'them' if n != 1 else 'it'}",
            file=sys.stderr,
        )
    return a


def print_problems(problems) -> None:
    n = len(problems)
    print(f"pivotmodel: {n} problem{'s' if n != 1 else ''} in the inputs:", file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)


def run_options(args: argparse.Namespace, a) -> dict:
    """The options that decide a run's numbers, each resolved against ``simulation.yaml``."""
    draws = a.settings["draws"] if args.draws is None else args.draws
    check_replicates(int(draws), args.method or a.settings["method"])
    given = getattr(args, "tolerance", None)  # update has no --tolerance: it compares runs of fixed draws
    tolerance = a.settings.get("tolerance", 0.0) if given is None else given
    return {
        "draws": int(draws),
        "seed": int(a.settings["seed"] if args.seed is None else args.seed),
        "method": args.method or a.settings["method"],
        "tolerance": float(tolerance),
        "max_draws": int(max(a.settings.get("max_draws", draws), draws)),
        "nearest_correlation": bool(args.nearest_correlation),
        **({"as_of": args.as_of} if getattr(args, "as_of", None) else {}),  # history cut there
    }


def check_replicates(draws: int, method: str) -> None:
    """lhs and sobol take a claim's interval over independent replicates: each needs 2 draws or more."""
    from ..errors import InputError
    from ..sampling import REPLICATES

    if method != "mc" and draws < 2 * REPLICATES:
        raise InputError.single(
            "--draws",
            "",
            f"{draws} draws with method {method}: its interval is taken over "
            f"{REPLICATES} replicates, so it needs at least {2 * REPLICATES} draws (2 a replicate); "
            "give more draws or --method mc",
        )


def simulation_options(
    p: argparse.ArgumentParser, tolerance: bool = True, out: str = "run folder (default runs/<scenario>)"
) -> None:
    """The options of a Monte Carlo run (``tolerance``: with ``--tolerance``; ``out``: the help of ``--out``)."""
    sampling_options(p)
    p.add_argument(
        "--jobs",
        type=JOBS,
        default=None,
        metavar="J",
        help="worker processes, 1 to the number of cores (default: all cores)",
    )
    executor_options(p)
    if tolerance:
        p.add_argument(
            "--tolerance",
            type=float_between(0, 1, open_high=True),
            default=None,
            metavar="T",
            help="double the draws until every claim's 95%% interval is narrower than T (up to max_draws)",
        )
    p.add_argument(
        "--nearest-correlation",
        action="store_true",
        help="use the nearest valid correlation matrix if the one asked is not PSD",
    )
    p.add_argument(
        "--max-memory",
        type=float_between(0, 1e6, open_low=True),
        default=None,
        metavar="GB",
        help="refuse runs expected to need more memory than this (default: half the machine's RAM)",
    )
    p.add_argument("--out", default=None, metavar="DIR", help=out)


def sampling_options(p: argparse.ArgumentParser, min_draws: int = 1) -> None:
    """``--draws`` (at least ``min_draws``), ``--method`` and ``--seed``, each defaulting to simulation.yaml."""
    p.add_argument(
        "--draws",
        type=int_at_least(min_draws),
        default=None,
        metavar="N",
        help="Monte Carlo draws (default: simulation.yaml)",
    )
    p.add_argument(
        "--method",
        choices=["mc", "lhs", "sobol"],
        default=None,
        help="sampling: plain Monte Carlo, Latin hypercube or scrambled Sobol (default: simulation.yaml)",
    )
    p.add_argument(
        "--seed", type=SEED, default=None, metavar="S", help="random seed, 0 or more (default: simulation.yaml)"
    )


def executor_options(p: argparse.ArgumentParser) -> None:
    """``--executor`` and ``--scheduler``: where the chunks of model runs are computed."""
    p.add_argument(
        "--executor",
        choices=["local", "dask"],
        default="local",
        help="where the chunks of model runs go: a local process pool, or dask.distributed (a cluster of --jobs "
        "workers started on this machine, or the one at --scheduler); the numbers are the same either way",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="a running dask scheduler to run the chunks on, e.g. tcp://10.0.0.5:8786 (implies --executor dask)",
    )


def chunk_executor(args: argparse.Namespace):
    """A context giving the executor a run's chunks go to: None (the local pool) unless
    ``--executor dask`` or ``--scheduler`` asked for dask (imported only then)."""
    from contextlib import nullcontext

    if getattr(args, "scheduler", None) is None and getattr(args, "executor", "local") != "dask":
        return nullcontext(None)
    from ..runner import dask_executor

    return dask_executor(args.scheduler, workers=args.jobs)

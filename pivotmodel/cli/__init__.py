"""Command line: ``pivotmodel <command>``; each handler is short and returns an exit code.

This package holds every command: one module per group (``validate``, ``project``, ``run``:
simulate and claims, ``report``, ``sensitivity``: sensitivity, drivers and solve,
``consensus``, ``update``, ``backtest``: timeline and backtest), each with a ``register``
that adds its subcommands to the parser. The modules import numpy, pandas, scipy or
matplotlib only inside the handlers, so ``pivotmodel --help`` starts fast; analysis modules
never import this package.

Exit codes: 0 success, 2 bad input (every problem listed, no traceback).
Outputs are written atomically: to a temporary file or folder first, then moved into place,
so a failed run leaves earlier outputs as they were.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from ..atomic import write_atomic, write_dir_atomic
from ..errors import InputError
from ..options import QUARTER
from . import backtest, consensus, project, report, run, sensitivity, update, validate
from .common import print_problems
from .run import format_claims

__all__ = ["main", "build_parser", "write_atomic", "write_dir_atomic", "format_claims"]

# The command modules, in the order their commands are listed by --help.
COMMANDS = (validate, project, run, report, sensitivity, consensus, update, backtest)


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Defaults shown after each option's help (unless it says its default itself or has none);
    the examples in the epilog keep their lines."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default is None or action.default is False or "default" in text:
            return text
        return super()._get_help_string(action) or text


# One example per command, shown at the end of its --help.
EXAMPLES = {
    "validate": "pivotmodel validate --assumptions my_assumptions/",
    "project": "pivotmodel project --basis cy --currency usd\n  pivotmodel project --out projection.xlsx",
    "simulate": "pivotmodel simulate --scenario bull --draws 50000 --method sobol",
    "claims": "pivotmodel claims --scenario bear",
    "report": "pivotmodel report --compare bull,bear",
    "sensitivity": "pivotmodel sensitivity --output 'share(cloud.revenue, group.revenue, CY2026)' --method all",
    "drivers": "pivotmodel drivers cloud_share_30pct_cy2026 --draws 20000",
    "solve": "pivotmodel solve capex_380bn_fy2026_fy2028 --input capex.plan.total",
    "consensus": "pivotmodel consensus --draws 50000 --explain 3",
    "update": "pivotmodel update fy2027q1.csv --draws 5000",
    "timeline": "pivotmodel timeline --draws 5000",
    "backtest": "pivotmodel backtest --from FY2025Q1 --horizon 4",
}


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="pivotmodel",
        description="Scenario model of Alibaba's pivot to AI and cloud",
        formatter_class=HelpFormatter,
        epilog="Each command has its own --help, with its defaults and an example.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--assumptions", type=Path, default=None, metavar="DIR", help="assumptions folder (default: the bundled one)"
    )
    common.add_argument(
        "--scenario", default=None, metavar="NAME", help="a scenario in <assumptions>/scenarios, or a path to one"
    )
    common.add_argument(
        "--as-of",
        type=QUARTER,
        default=None,
        metavar="QUARTER",
        help="run as of a reported quarter such as FY2026Q4, whose four base quarters are reported on the "
        "segments' basis (too early a quarter is refused, naming the rows it lacks): later history "
        "hidden (default: the last reported)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    for module in COMMANDS:
        module.register(sub, common)
    for name, p in sub.choices.items():
        p.formatter_class = HelpFormatter
        if name in EXAMPLES and not p.epilog:
            p.epilog = "example:\n  " + EXAMPLES[name]
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised like Ctrl-C so every writer cleans up its temporaries."""


def _on_signal(signum, frame):  # noqa: ARG001
    raise Terminated(signum)


def main(argv: Sequence[str] | None = None) -> int:
    previous = {}
    for sig in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)):
        if sig is not None:
            previous[sig] = signal.signal(sig, _on_signal)
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # argparse has printed the usage and the bad option
            return exc.code if isinstance(exc.code, int) else 2
        from ..engine_setting import engine_setting

        engine_setting()  # PIVOTMODEL_ENGINE checked before any work: a bad value is one message, exit 2
        if getattr(args, "as_of", None) is None:
            return int(args.handler(args))
        from ..asof import AS_OF
        from ..periods import parse_quarter

        token = AS_OF.set(parse_quarter(args.as_of))  # every load in this command is as of it
        try:
            return int(args.handler(args))
        finally:
            AS_OF.reset(token)
    except InputError as exc:
        print_problems(exc.problems)
        return 2
    except BrokenPipeError:  # e.g. `pivotmodel project | head`
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0
    except Terminated as exc:
        print(f"pivotmodel: stopped by signal {exc.args[0]}; outputs left as they were", file=sys.stderr)
        return 128 + int(exc.args[0])
    except KeyboardInterrupt:
        print("pivotmodel: interrupted; outputs left as they were", file=sys.stderr)
        return 130
    except OSError as exc:  # a disk or permission failure while writing: earlier outputs are intact
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"pivotmodel: {exc.strerror or exc}{where}; outputs left as they were", file=sys.stderr)
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

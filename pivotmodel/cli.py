"""Command line: ``pivotmodel <command>``; each handler is short and returns an exit code.

Exit codes: 0 success, 2 bad input (every problem listed, no traceback).
Outputs are written atomically: to a temporary file or folder first, then moved into place,
so a failed run leaves earlier outputs as they were.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Callable, Sequence

from . import assumptions as assumptions_mod
from .errors import InputError

__all__ = ["main", "write_atomic"]


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary path beside ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load(args: argparse.Namespace):
    return assumptions_mod.load(args.assumptions, args.scenario)


def cmd_validate(args: argparse.Namespace) -> int:
    a = _load(args)
    print(
        f"OK: {len(a.inputs)} inputs ({len(a.uncertain_keys)} uncertain), {len(a.seeds)} seed estimates, "
        f"{len(a.history.rows)} history rows to {a.history.last_quarter.label}, {len(a.sources)} sources; "
        f"scenario {a.scenario.name} ({', '.join(a.scenario.chain)})"
    )
    return 0


def cmd_project(args: argparse.Namespace) -> int:
    import pandas as pd

    from .model import project
    from .tables import segment_table

    a = _load(args)
    table = segment_table(project(a), basis=args.basis, currency=args.currency)
    title = (
        f"pivotmodel deterministic projection, scenario {a.scenario.name}: reported (A) to "
        f"{a.history.last_quarter.label}, projected (P) to {a.horizon.label}; each input at its median"
    )
    if args.format == "table":
        if args.out:
            raise InputError.single("--out", "format", "--format table prints to the terminal; use csv or xlsx with --out")
        shown = table.copy().astype(object)
        for key, row in table.iterrows():
            fmt = "{:.3f}" if key[1].endswith("(ratio)") else "{:,.1f}"
            shown.loc[key] = [("n/a" if pd.isna(x) else fmt.format(x)) for x in row]
        with pd.option_context("display.width", 250, "display.max_columns", 20, "display.max_rows", 200):
            print(title)
            print(shown.to_string())
            print("n/a: not reported on this basis (see assumptions/history/README.md). Capex is purchase of "
                  "property and equipment; history FCF is Alibaba's, projected FCF is the proxy EBITDA - capex - cash tax.")
        return 0
    if args.format == "csv" and not args.out:
        sys.stdout.write(table.to_csv(float_format="%.6g"))
        return 0
    if not args.out:
        raise InputError.single("--out", "format", "xlsx needs --out PATH")
    out = Path(args.out)
    if args.format == "csv":
        write_atomic(out, lambda tmp: table.to_csv(tmp, float_format="%.6g"))
    else:
        write_atomic(out, lambda tmp: table.to_excel(tmp, sheet_name="projection", engine="openpyxl"))
    print(f"wrote {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pivotmodel", description="Scenario model of Alibaba's pivot to AI and cloud")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--assumptions", type=Path, default=None, metavar="DIR", help="assumptions folder (default: the bundled one)")
    common.add_argument("--scenario", default=None, metavar="NAME", help="a scenario in <assumptions>/scenarios, or a path to one")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", parents=[common], help="check the assumption files and history")
    p.set_defaults(handler=cmd_validate)

    p = sub.add_parser("project", parents=[common], help="deterministic projection by segment and year")
    p.add_argument("--format", choices=["table", "csv", "xlsx"], default="table")
    p.add_argument("--out", default=None, metavar="PATH")
    p.add_argument("--currency", choices=["rmb", "usd"], default="rmb")
    p.add_argument("--basis", choices=["fy", "cy"], default="fy", help="fiscal (April-March) or calendar years")
    p.set_defaults(handler=cmd_project)

    for register in _EXTRA_COMMANDS:
        register(sub, common)
    return parser


# Later modules add their subcommands here (simulate, report, sensitivity, ...).
_EXTRA_COMMANDS: list[Callable[[argparse._SubParsersAction, argparse.ArgumentParser], None]] = []


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except InputError as exc:
        n = len(exc.problems)
        print(f"pivotmodel: {n} problem{'s' if n != 1 else ''} in the inputs:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("pivotmodel: interrupted; outputs left as they were", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Command line: ``pivotmodel <command>``; each handler is short and returns an exit code.

Exit codes: 0 success, 2 bad input (every problem listed, no traceback).
Outputs are written atomically: to a temporary file or folder first, then moved into place,
so a failed run leaves earlier outputs as they were.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .atomic import check_dir_target, check_file_target, write_atomic, write_dir_atomic
from .errors import InputError
from .options import JOBS, QUARTER, SEED, float_between, int_at_least

__all__ = ["main", "write_atomic", "write_dir_atomic", "format_claims"]


def _load(args: argparse.Namespace):
    from . import assumptions as assumptions_mod

    a = assumptions_mod.load(args.assumptions, args.scenario)
    if getattr(args, "as_of", None) is not None:
        from .asof import format_lookahead

        print("\n".join(format_lookahead(a)), file=sys.stderr)
    if a.warnings and args.command != "validate":
        n = len(a.warnings)
        print(f"pivotmodel: {n} warning{'s' if n != 1 else ''} in the inputs; `pivotmodel validate` lists "
              f"{'them' if n != 1 else 'it'}", file=sys.stderr)
    return a


def _print_problems(problems) -> None:
    n = len(problems)
    print(f"pivotmodel: {n} problem{'s' if n != 1 else ''} in the inputs:", file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)


def cmd_validate(args: argparse.Namespace) -> int:
    from .claims import check_claims
    from .errors import InputError as _InputError
    from .model import project
    from .sampling import correlation_copula, uncertain_inputs

    a = _load(args)
    warnings = [str(w) for w in a.warnings]
    problems = []
    claims = list(a.claims)  # parsed at load; here checked against a projection (periods in range, finite)
    try:
        check_claims(claims, project(a), a.claims_label)
    except _InputError as exc:
        problems += exc.problems
    try:  # the pairs were checked at load; here that they make a valid matrix
        correlation_copula(a, uncertain_inputs(a))
    except _InputError as exc:
        problems += exc.problems
    try:  # published forecasts (consensus.yaml), when the folder has them
        from .consensus import validate_consensus
        warnings += [str(w) for w in validate_consensus(a)]
    except _InputError as exc:
        problems += exc.problems
    boundary: list[str] = []
    if not problems:  # the first projected quarter against the last reported; claims decided by inputs
        from .boundary import boundary_report, boundary_warnings, format_boundary
        from .claim_status import claim_statuses

        rows = boundary_report(a)
        boundary = format_boundary(rows, a.history.last_quarter.label, (a.history.last_quarter + 1).label)
        warnings += boundary_warnings(rows)
        statuses = claim_statuses(a, claims)
        warnings += [f"claim {c.id}: {statuses[c.id].message(c)}" for c in claims if statuses[c.id].decided]
    if problems:  # the problems first, under their header; then what is worth knowing
        _print_problems(problems)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if problems:
        return 2
    print(
        f"OK: {len(a.inputs)} inputs ({len(a.uncertain_keys)} uncertain), {len(a.seeds)} seed estimates, {len(claims)} claims, "
        f"{len(a.history.rows)} history rows to {a.history.last_quarter.label}, {len(a.sources)} sources; "
        f"scenario {a.scenario.name} ({', '.join(a.scenario.chain)})"
    )
    print("\n".join(boundary))
    return 0


def cmd_project(args: argparse.Namespace) -> int:
    import pandas as pd

    from .model import project
    from .tables import segment_table

    a = _load(args)
    if args.out and args.format != "table":
        check_file_target(Path(args.out), _projection_file_is_ours, a.input_paths)
    table = segment_table(project(a), basis=args.basis, currency=args.currency)
    title = (
        f"pivotmodel deterministic projection, scenario {a.scenario.name}: reported (A) to "
        f"{a.history.last_quarter.label}, projected (P) to {a.horizon.label}; each input at its median"
    )
    fmt = args.format or "table"
    if args.out and args.format is None:  # --out p.csv / p.xlsx says the format
        fmt = {".csv": "csv", ".xlsx": "xlsx"}.get(Path(args.out).suffix.lower(), "")
        if not fmt:
            raise InputError.single("--out", "format", f"cannot tell the format from {args.out!r}; name a .csv or .xlsx file or give --format")
    if fmt == "table":
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
                  "property and equipment (FCF table); FY2024-FY2025, which lack it, show the 20-F cash-flow line "
                  "(PP&E and land-use rights). Quarterly capex of FY2025Q1-Q2 (used for depreciation) is that year's "
                  "remainder spread evenly; FY2025Q3 is the stated 31.8bn. FCF: reported on reported years; projected = the "
                  "proxy (EBITDA - capex - cash tax) + other cash items calibrated on FY2025-FY2026 (group.other_cash_items).")
        return 0
    if fmt == "csv" and not args.out:
        sys.stdout.write(table.to_csv(float_format="%.6g"))
        return 0
    if not args.out:
        raise InputError.single("--out", "format", "xlsx needs --out PATH")
    out = Path(args.out)
    if fmt == "csv":
        write_atomic(out, lambda tmp: table.to_csv(tmp, float_format="%.6g"))
    else:
        from .workbook import Sheet, write_workbook

        sheet = Sheet("projection", table, True, dict.fromkeys(table.columns, "item"))
        write_atomic(out, lambda tmp: write_workbook(tmp, [sheet]))
    print(f"wrote {out}")
    return 0


def _projection_file_is_ours(path: Path) -> bool:
    """A projection pivotmodel wrote: a CSV with its header, or a workbook it created."""
    import zipfile

    from .workbook import CREATOR

    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                return f"<dc:creator>{CREATOR}</dc:creator>" in z.read("docProps/core.xml").decode("utf-8", "replace")
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.readline().startswith("segment,item,")
    except (OSError, KeyError, zipfile.BadZipFile):
        return False


def format_claims(table, scenario: str, manifest: dict) -> str:
    """The claims table for a terminal: probability, interval, draws, metric vs threshold."""
    lines = [
        f"Claims, scenario {scenario}: {manifest['draws']:,} draws, method {manifest['method']}, "
        f"seed {manifest['seed']} (interval: {table['interval'].iloc[0] if len(table) else ''})",
        f"{'claim':46s} {'P(holds)':>8s} {'95% interval':>15s} {'draws':>7s} {'base':>5s}  metric P50 [P5, P95] vs threshold",
    ]
    for cid, row in table.sort_values("headline", ascending=False, kind="stable").iterrows():
        mark = "*" if row["headline"] else " "
        status = row.get("status", "") or ""
        if row["draws"] == 0:
            why = status if status.startswith("not evaluable") else "not evaluable: the test needs a figure Alibaba did not report"
            lines.append(f"{mark}{cid:45s} {'n/a':>8s} {'':>15s} {0:>7d} {'':>5s}  {why}")
            continue
        metric = ""
        if row["threshold"] == row["threshold"] and row["threshold"] is not None:
            metric = f"{row['metric_p50']:.4g} [{row['metric_p5']:.4g}, {row['metric_p95']:.4g}] vs {row['threshold']:g}"
        base = {1.0: "yes", 0.0: "no"}.get(row["base_case"], "n/a")
        lines.append(
            f"{mark}{cid:45s} {row['probability']:8.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}] {int(row['draws']):>7d} {base:>5s}  {metric}"
            + (f"  [{status}]" if status else "")
        )
    partial = [cid for cid, row in table.iterrows() if 0 < row["draws"] < manifest["draws"]]
    if partial:
        lines.append(f"'draws' below {manifest['draws']:,}: draws where the test is not a finite number (e.g. a division by "
                     f"zero) are left out of the probability ({', '.join(partial)})")
    lines.append("* headline claim; 'base' is the deterministic base case (draw 0). Tests and readings: assumptions/claims.yaml")
    return "\n".join(lines)


def run_options(args: argparse.Namespace, a) -> dict:
    """The options that decide a run's numbers, each resolved against ``simulation.yaml``."""
    draws = a.settings["draws"] if args.draws is None else args.draws
    tolerance = a.settings.get("tolerance", 0.0) if args.tolerance is None else args.tolerance
    return {
        "draws": int(draws),
        "seed": int(a.settings["seed"] if args.seed is None else args.seed),
        "method": args.method or a.settings["method"],
        "tolerance": float(tolerance),
        "max_draws": int(max(a.settings.get("max_draws", draws), draws)),
        "nearest_correlation": bool(args.nearest_correlation),
        **({"as_of": args.as_of} if getattr(args, "as_of", None) else {}),  # history cut there
    }


def _run_simulation(args: argparse.Namespace, a):
    from .simulate import check_memory, run_key, simulate

    opts = run_options(args, a)
    draws, tolerance, cap = opts["draws"], opts["tolerance"], opts["max_draws"]
    check_memory(a, cap if tolerance > 0 else draws, args.max_memory)
    while True:
        r = simulate(a, draws=draws, seed=opts["seed"], method=opts["method"], jobs=args.jobs,
                     nearest_correlation=opts["nearest_correlation"] or None)
        table = r.claims_table()
        widths = (table["ci_high"] - table["ci_low"]).dropna()
        if tolerance <= 0 or widths.empty or widths.max() <= tolerance or draws >= cap:
            r.manifest["stop_rule"] = {"tolerance": tolerance, "draw_cap": cap, "widest_interval": float(widths.max()) if not widths.empty else None,
                                       "met": bool(tolerance <= 0 or widths.empty or widths.max() <= tolerance)}
            r.manifest["options"] = opts
            r.manifest["run_sha256"] = run_key(a, opts)
            return r, table
        draws = min(cap, draws * 2)


def _write_run(r, table, out: Path, protected: list[Path]) -> None:
    from .simulate import manifest_json

    def write(tmp: Path) -> None:
        table.to_csv(tmp / "claims.csv", float_format="%.6g")
        for basis in r.available_bases():
            r.quantiles(basis).to_csv(tmp / f"quantiles_{basis}.csv", float_format="%.6g")
        r.convergence().to_csv(tmp / "convergence.csv", index=False, float_format="%.6g")
        (tmp / "manifest.json").write_text(manifest_json(r) + "\n", encoding="utf-8")

    write_dir_atomic(out, write, protected)


def _run_folder(args: argparse.Namespace, a) -> Path:
    out = Path(args.out) if args.out else Path("runs") / a.scenario.name
    check_dir_target(out, a.input_paths)  # before any work
    return out


def cmd_simulate(args: argparse.Namespace) -> int:
    a = _load(args)
    out = _run_folder(args, a)
    r, table = _run_simulation(args, a)
    _write_run(r, table, out, a.input_paths)
    print(format_claims(table, a.scenario.name, r.manifest))
    print(f"wrote {out}/ (claims.csv, quantiles_quarter|fy|cy.csv, convergence.csv, manifest.json) in {r.manifest['seconds']} s")
    return 0


def cmd_claims(args: argparse.Namespace) -> int:
    import json

    import pandas as pd

    from .simulate import run_key

    a = _load(args)
    out = _run_folder(args, a)
    manifest_path, claims_path = out / "manifest.json", out / "claims.csv"
    if manifest_path.exists() and claims_path.exists():
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except ValueError:
            manifest = {}
        if manifest.get("run_sha256") == run_key(a, run_options(args, a)):
            table = pd.read_csv(claims_path, index_col="id")
            print(format_claims(table, a.scenario.name, manifest))
            print(f"(from the last run in {out}/: the same input files and options)")
            return 0
        print(f"(the inputs or options differ from the run in {out}/: running again)", file=sys.stderr)
    return cmd_simulate(args)


def _simulation_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--draws", type=int_at_least(1), default=None, metavar="N", help="Monte Carlo draws (default: simulation.yaml)")
    p.add_argument("--method", choices=["mc", "lhs", "sobol"], default=None,
                   help="sampling: plain Monte Carlo, Latin hypercube or scrambled Sobol (default: simulation.yaml)")
    p.add_argument("--seed", type=SEED, default=None, metavar="S", help="random seed, 0 or more (default: simulation.yaml)")
    p.add_argument("--jobs", type=JOBS, default=None, metavar="J", help="worker processes, 1 to the number of cores (default: all cores)")
    p.add_argument("--tolerance", type=float_between(0, 1, open_high=True), default=None, metavar="T",
                   help="double the draws until every claim's 95%% interval is narrower than T (up to max_draws)")
    p.add_argument("--nearest-correlation", action="store_true", help="use the nearest valid correlation matrix if the one asked is not PSD")
    p.add_argument("--max-memory", type=float_between(0, 1e6, open_low=True), default=None, metavar="GB",
                   help="refuse runs expected to need more memory than this (default: half the machine's RAM)")
    p.add_argument("--out", default=None, metavar="DIR", help="run folder (default runs/<scenario>)")


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
    from . import __version__

    parser = argparse.ArgumentParser(prog="pivotmodel", description="Scenario model of Alibaba's pivot to AI and cloud",
                                     formatter_class=HelpFormatter,
                                     epilog="Each command has its own --help, with its defaults and an example.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--assumptions", type=Path, default=None, metavar="DIR", help="assumptions folder (default: the bundled one)")
    common.add_argument("--scenario", default=None, metavar="NAME", help="a scenario in <assumptions>/scenarios, or a path to one")
    common.add_argument("--as-of", type=QUARTER, default=None, metavar="QUARTER",
                        help="run as of a reported quarter such as FY2025Q2: later history hidden (default: the last reported)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", parents=[common], help="check the assumption files and history")
    p.set_defaults(handler=cmd_validate)

    p = sub.add_parser("project", parents=[common], help="deterministic projection by segment and year")
    p.add_argument("--format", choices=["table", "csv", "xlsx"], default=None,
                   help="output format (default: table, or the suffix of --out)")
    p.add_argument("--out", default=None, metavar="PATH", help="write to a file instead of the terminal")
    p.add_argument("--currency", choices=["rmb", "usd"], default="rmb", help="money in RMB or US$ (at the FX input's median)")
    p.add_argument("--basis", choices=["fy", "cy", "quarter"], default="fy",
                   help="fiscal (April-March) or calendar years, or quarters (the last 4 reported, then projected)")
    p.set_defaults(handler=cmd_project)

    p = sub.add_parser("simulate", parents=[common], help="Monte Carlo run: claims, quantile tables, manifest")
    _simulation_options(p)
    p.set_defaults(handler=cmd_simulate)

    p = sub.add_parser("claims", parents=[common], help="the claims table from the last run, or a new run")
    _simulation_options(p)
    p.set_defaults(handler=cmd_claims)

    for register in _EXTRA_COMMANDS:
        register(sub, common)
    for name, p in sub.choices.items():
        p.formatter_class = HelpFormatter
        if name in EXAMPLES and not p.epilog:
            p.epilog = "example:\n  " + EXAMPLES[name]
    return parser


# Later modules add their subcommands here (simulate, report, sensitivity, ...).
_EXTRA_COMMANDS: list[Callable[[argparse._SubParsersAction, argparse.ArgumentParser], None]] = []
_EXTRA_COMMANDS.append(lambda sub, common: __import__("pivotmodel.report", fromlist=["register"]).register(sub, common))  # report: lazy import
_EXTRA_COMMANDS.append(  # sensitivity, drivers, solve: lazy import
    lambda sub, common: __import__("pivotmodel.sensitivity_cli", fromlist=["register"]).register(sub, common))
_EXTRA_COMMANDS.append(lambda sub, common: __import__("pivotmodel.consensus_cli", fromlist=["register"]).register(sub, common))  # consensus: lazy import
_EXTRA_COMMANDS.append(lambda sub, common: __import__("pivotmodel.update", fromlist=["register"]).register(sub, common))  # update: lazy import
_EXTRA_COMMANDS.append(lambda sub, common: __import__("pivotmodel.backtest", fromlist=["register"]).register(sub, common))  # timeline, backtest: lazy import


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
        if getattr(args, "as_of", None) is None:
            return int(args.handler(args))
        from .asof import AS_OF
        from .periods import parse_quarter

        token = AS_OF.set(parse_quarter(args.as_of))  # every load in this command is as of it
        try:
            return int(args.handler(args))
        finally:
            AS_OF.reset(token)
    except InputError as exc:
        _print_problems(exc.problems)
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
        print(f"pivotmodel: {exc.strerror or exc} ({exc.filename or ''}); outputs left as they were", file=sys.stderr)
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

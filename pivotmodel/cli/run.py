"""``pivotmodel simulate`` and ``pivotmodel claims``: a Monte Carlo run written to its folder
(claims, quantile tables, convergence, manifest) and the claims table on the terminal."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..atomic import check_dir_target, write_dir_atomic
from .common import chunk_executor, load_assumptions, run_options, simulation_options

__all__ = ["cmd_simulate", "cmd_claims", "format_claims", "format_claims_markdown", "register"]


def _text(x) -> str:
    """A cell read back from claims.csv: "" for an empty one (NaN), never "nan"."""
    return x if isinstance(x, str) else ""


def _metric_text(row) -> str:
    """P50 [P5, P95] vs threshold; a year metric (first_fy) with "never" as a value and the
    share of draws that never reach it."""
    threshold = row["threshold"]
    if threshold is None or threshold != threshold or row["metric_p50"] != row["metric_p50"]:
        return ""
    never = row.get("metric_never", float("nan"))
    if never == never:  # a year: +inf where the condition never holds
        year = lambda v: "never" if v == float("inf") else f"{v:.0f}"  # noqa: E731
        return (
            f"{year(row['metric_p50'])} [{year(row['metric_p5'])}, {year(row['metric_p95'])}] "
            f"vs {threshold:g}; never in {never:.1%} of draws"
        )
    return f"{row['metric_p50']:.4g} [{row['metric_p5']:.4g}, {row['metric_p95']:.4g}] vs {row['threshold']:g}"


def _status_text(row) -> str:
    """The status with the probability on demand beside it, "" for a run written without statuses."""
    label = _text(row.get("status", ""))
    demand = row.get("probability_on_demand", float("nan"))
    return label + (f" (on demand {demand:.3f})" if label and demand == demand and demand is not None else "")


def format_claims(table, scenario: str, manifest: dict, claims_file: str = "assumptions/claims.yaml") -> str:
    """The claims table for a terminal: probability, interval, draws, metric vs threshold and
    status; then each claim's status with its reason (``claims_file``: the register the run read,
    named in the footer)."""
    lines = [
        f"Claims, scenario {scenario}: {manifest['draws']:,} draws, method {manifest['method']}, "
        f"seed {manifest['seed']} (interval: {table['interval'].iloc[0] if len(table) else ''})",
        f"{'claim':46s} {'P(holds)':>8s} {'95% interval':>15s} {'draws':>7s} {'base':>5s}  "
        "metric P50 [P5, P95] vs threshold  [status]",
    ]
    ordered = table.sort_values("headline", ascending=False, kind="stable")
    for cid, row in ordered.iterrows():
        mark = "*" if row["headline"] else " "
        if row["draws"] == 0:
            why = _text(row.get("status_reason", "")) if _text(row.get("status", "")) == "not evaluable" else ""
            lines.append(
                f"{mark}{cid:45s} {'n/a':>8s} {'':>15s} {0:>7d} {'':>5s}  not evaluable: "
                + (why or "the test needs a figure Alibaba did not report")
            )
            continue
        base = {1.0: "yes", 0.0: "no"}.get(row["base_case"], "n/a")
        metric, status = _metric_text(row), _status_text(row)
        lines.append(
            f"{mark}{cid:45s} {row['probability']:8.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}] "
            f"{int(row['draws']):>7d} {base:>5s}  "
            + (f"{metric}  " if metric else "")
            + (f"[{status}]" if status else "")
        )
    partial = [cid for cid, row in table.iterrows() if 0 < row["draws"] < manifest["draws"]]
    if partial:
        lines.append(
            f"'draws' below {manifest['draws']:,}: draws where the test is not a finite number (e.g. a division by "
            f"zero) are left out of the probability ({', '.join(partial)})"
        )
    lines.append(f"* headline claim; 'base' is the deterministic base case (draw 0). Tests and readings: {claims_file}")
    if "status_reason" in table.columns and table["status_reason"].map(_text).map(bool).any():
        lines.append("What decides each claim (README, 'Claims: what decides each'):")
        lines += [
            f"  {cid}: {_status_text(row)}: {_text(row['status_reason'])}"
            for cid, row in ordered.iterrows()
            if _text(row["status_reason"])
        ]
    return "\n".join(lines)


def format_claims_markdown(table) -> str:
    """The claims with probability, status and reason as a markdown table (for the README)."""
    lines = ["| claim | P(holds) | status | reason |", "|---|---:|---|---|"]
    for cid, row in table.sort_values("headline", ascending=False, kind="stable").iterrows():
        p = "n/a" if row["draws"] == 0 else f"{row['probability']:.3f}"
        reason = _text(row.get("status_reason", "")).replace("|", "/")
        lines.append(f"| {'**' + cid + '**' if row['headline'] else cid} | {p} | {_status_text(row)} | {reason} |")
    return "\n".join(lines)


def _run_simulation(args: argparse.Namespace, a):
    from ..simulate import check_memory

    opts = run_options(args, a)
    draws, tolerance, cap = opts["draws"], opts["tolerance"], opts["max_draws"]
    check_memory(a, cap if tolerance > 0 else draws, args.max_memory)
    with chunk_executor(args) as executor:
        return _run_until_narrow(a, opts, args.jobs, executor)


def _run_until_narrow(a, opts: dict, jobs: int | None, executor):
    """Runs of doubling draws until every claim's interval is narrower than the tolerance
    (or the draw cap): the last run and its claims table."""
    from ..simulate import run_key, simulate

    draws, tolerance, cap = opts["draws"], opts["tolerance"], opts["max_draws"]
    while True:
        r = simulate(
            a,
            draws=draws,
            seed=opts["seed"],
            method=opts["method"],
            jobs=jobs,
            nearest_correlation=opts["nearest_correlation"] or None,
            executor=executor,
        )
        table = r.claims_table()
        widths = (table["ci_high"] - table["ci_low"]).dropna()
        if tolerance <= 0 or widths.empty or widths.max() <= tolerance or draws >= cap:
            r.manifest["stop_rule"] = {
                "tolerance": tolerance,
                "draw_cap": cap,
                "widest_interval": float(widths.max()) if not widths.empty else None,
                "met": bool(tolerance <= 0 or widths.empty or widths.max() <= tolerance),
            }
            r.manifest["options"] = opts
            r.manifest["run_sha256"] = run_key(a, opts)
            return r, table
        draws = min(cap, draws * 2)


def _write_run(r, table, out: Path, protected: list[Path]) -> None:
    from ..simulate import manifest_json

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
    from ..allocator import retain_freed_memory

    retain_freed_memory()  # this process ends with the run: keep freed arrays for reuse
    a = load_assumptions(args)
    out = _run_folder(args, a)
    r, table = _run_simulation(args, a)
    _write_run(r, table, out, a.input_paths)
    markdown = getattr(args, "markdown", False)
    print(
        format_claims_markdown(table) if markdown else format_claims(table, a.scenario.name, r.manifest, a.claims_label)
    )
    print(
        f"wrote {out}/ (claims.csv, quantiles_quarter|fy|cy.csv, convergence.csv, manifest.json) in "
        f"{r.manifest['seconds']} s",
        file=sys.stderr if markdown else sys.stdout,
    )
    return 0


def cmd_claims(args: argparse.Namespace) -> int:
    import json

    import pandas as pd

    from ..simulate import run_key

    a = load_assumptions(args)
    out = _run_folder(args, a)
    manifest_path, claims_path = out / "manifest.json", out / "claims.csv"
    if manifest_path.exists() and claims_path.exists():
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except ValueError:
            manifest = {}
        if manifest.get("run_sha256") == run_key(a, run_options(args, a)):
            table = pd.read_csv(claims_path, index_col="id")
            print(
                format_claims_markdown(table)
                if args.markdown
                else format_claims(table, a.scenario.name, manifest, a.claims_label)
            )
            print(
                f"(from the last run in {out}/: the same input files and options)",
                file=sys.stderr if args.markdown else sys.stdout,
            )
            return 0
        print(f"(the inputs or options differ from the run in {out}/: running again)", file=sys.stderr)
    return cmd_simulate(args)


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("simulate", parents=[common], help="Monte Carlo run: claims, quantile tables, manifest")
    simulation_options(p)
    p.set_defaults(handler=cmd_simulate)

    p = sub.add_parser("claims", parents=[common], help="the claims table from the last run, or a new run")
    simulation_options(p)
    p.add_argument(
        "--markdown", action="store_true", help="print claims, probability, status and reason as a markdown table"
    )
    p.set_defaults(handler=cmd_claims)

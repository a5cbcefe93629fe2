"""``pivotmodel simulate`` and ``pivotmodel claims``: a Monte Carlo run written to its folder
(claims, quantile tables, convergence, manifest) and the claims table on the terminal."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..atomic import check_dir_target, write_dir_atomic
from .common import load_assumptions, run_options, simulation_options

__all__ = ["cmd_simulate", "cmd_claims", "format_claims", "register"]


def format_claims(table, scenario: str, manifest: dict, claims_file: str = "assumptions/claims.yaml") -> str:
    """The claims table for a terminal: probability, interval, draws, metric vs threshold
    (``claims_file``: the register the run read, named in the footer)."""
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
    lines.append(f"* headline claim; 'base' is the deterministic base case (draw 0). Tests and readings: {claims_file}")
    return "\n".join(lines)


def _run_simulation(args: argparse.Namespace, a):
    from ..simulate import check_memory, run_key, simulate

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
    print(format_claims(table, a.scenario.name, r.manifest, a.claims_label))
    print(f"wrote {out}/ (claims.csv, quantiles_quarter|fy|cy.csv, convergence.csv, manifest.json) in {r.manifest['seconds']} s")
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
            print(format_claims(table, a.scenario.name, manifest, a.claims_label))
            print(f"(from the last run in {out}/: the same input files and options)")
            return 0
        print(f"(the inputs or options differ from the run in {out}/: running again)", file=sys.stderr)
    return cmd_simulate(args)


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("simulate", parents=[common], help="Monte Carlo run: claims, quantile tables, manifest")
    simulation_options(p)
    p.set_defaults(handler=cmd_simulate)

    p = sub.add_parser("claims", parents=[common], help="the claims table from the last run, or a new run")
    simulation_options(p)
    p.set_defaults(handler=cmd_claims)

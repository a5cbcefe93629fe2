"""``pivotmodel update ROWS.csv``: a newly reported quarter appended, the model re-run before and
after, and the change written (the checks and the comparison: :mod:`pivotmodel.update`)."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from ..atomic import check_dir_target, write_atomic, write_dir_atomic
from ..errors import InputError, Problem
from .common import chunk_executor, run_options, simulation_options

__all__ = ["cmd_update", "register"]


def cmd_update(args: argparse.Namespace) -> int:
    from .. import assumptions as assumptions_mod
    from ..asof import check_base
    from ..simulate import check_memory, simulate
    from ..update import append_rows, check_new_rows, claim_probabilities, compare, format_change, frozen_starts, headline_outputs

    if args.as_of is not None:
        raise InputError.single(str(args.rows), "--as-of", "update appends to the latest history; leave --as-of out")
    before_a = assumptions_mod.load(args.assumptions, args.scenario)
    first_new = before_a.history.last_quarter + 1
    out = Path(args.out) if args.out else Path("runs") / f"update-{first_new.label}"
    check_dir_target(out, before_a.input_paths)  # before any work
    opts = run_options(args, before_a)
    check_memory(before_a, opts["draws"], args.max_memory)  # each of the three runs, as simulate checks its one
    rows_path = Path(args.rows)
    rows, warnings = check_new_rows(rows_path, before_a.history, str(rows_path))
    rep = before_a.directory / "history" / "reported.csv"
    text = rep.read_bytes().decode("utf-8")
    new_text = append_rows(text, rows)
    with ExitStack() as stack:
        executor = stack.enter_context(chunk_executor(args))
        run = lambda a: simulate(a, draws=opts["draws"], seed=opts["seed"], method=opts["method"], jobs=args.jobs,  # noqa: E731
                                 nearest_correlation=opts["nearest_correlation"] or None, progress=False, executor=executor)
        r_before = run(before_a)
        est_path, est_text, carried = _carry_on(rows, before_a, r_before, rows_path)  # refuses before any file is written
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="pivotmodel-update-"))  # the whole folder must load
        trial = Path(tmp) / before_a.directory.name
        shutil.copytree(before_a.directory, trial)
        (trial / "history" / "reported.csv").write_bytes(new_text.encode("utf-8"))
        if carried:
            (trial / "history" / est_path.name).write_bytes(est_text.encode("utf-8"))
        try:
            after_a = assumptions_mod.load(trial, args.scenario)
            missing = check_base(after_a.history, "history/reported.csv", "cannot start the projection")
            if missing:
                raise InputError(missing)
            r_after = run(after_a)
        except InputError as exc:
            raise InputError([Problem(str(rows_path), p.key, f"after appending, {p.file}: {p.message}", p.line)
                              for p in exc.problems]) from None
        r_mixed = run(frozen_starts(after_a, before_a))
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    first = after_a.history.last_quarter
    years = [first.fiscal_year + k for k in (0, 1, 2)]
    claims = compare(claim_probabilities(r_before), claim_probabilities(r_mixed), claim_probabilities(r_after),
                     {"values": ["probability", "ci_low", "ci_high"], "split": ["probability"]})
    heads = [headline_outputs(r, years) for r in (r_before, r_mixed, r_after)]
    outputs = compare(heads[0], heads[1], heads[2], {"values": ["base", "P5", "P95"], "split": ["base", "P95", "P5"]})
    protected = before_a.input_paths

    def write(folder: Path) -> None:
        claims.to_csv(folder / "claims_change.csv", float_format="%.6g")
        outputs.to_csv(folder / "outputs_change.csv", float_format="%.6g")

    def write_history(tmp: Path) -> None:
        tmp.write_bytes(new_text.encode("utf-8"))

    write_atomic(rep, write_history)
    if carried:
        def write_estimates(tmp: Path) -> None:
            tmp.write_bytes(est_text.encode("utf-8"))

        write_atomic(est_path, write_estimates)
        print(f"on estimates: {len(carried)} unreported lines carried on in {est_path} "
              f"({', '.join(sorted({r['series'] + '.' + r['period'] for r in carried}))})")
    write_dir_atomic(out, write, protected)
    print(format_change(claims, outputs, before_a.history.last_quarter, first, len(rows)))
    print(f"appended {len(rows)} rows to {rep}; wrote {out}/ (claims_change.csv, outputs_change.csv)")
    return 0


def _carry_on(rows, before_a, r_before, rows_path: Path):
    """(estimates.csv path, its new text, the rows added): the unreported lines of the quarters
    leaving the base window and of the appended ones, estimated by the rules of
    :mod:`pivotmodel.update`; an InputError listing the rows to add where a rule cannot run."""
    from ..update import append_estimates, leaving_estimates, new_quarter_estimates

    new_last = max(_quarter(r["period"]) for r in rows)
    added, missing = new_quarter_estimates(rows, before_a, r_before)
    if missing:
        raise InputError([Problem(str(rows_path), "estimates", "not reported and no rule can estimate it; add this "
                                  f"row to history/estimates.csv (or report the figure in {rows_path.name}): {m}")
                          for m in missing])
    added += leaving_estimates(before_a, r_before, new_last)
    path = before_a.directory / "history" / "estimates.csv"
    text = path.read_bytes().decode("utf-8") if path.exists() else ""
    return path, append_estimates(text, added), added


def _quarter(period: str):
    from ..periods import parse_quarter

    return parse_quarter(period)


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("update", parents=[common], help="append a newly reported quarter, re-run, show what changed")
    p.add_argument("rows", metavar="ROWS.csv", help="the new quarter's rows, in the columns of history/reported.csv")
    # no --tolerance: the runs before and after are compared at the same draws
    simulation_options(p, tolerance=False,
                       out="folder for claims_change.csv and outputs_change.csv (default runs/update-<new quarter>)")
    p.set_defaults(handler=cmd_update)

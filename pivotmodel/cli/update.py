"""``pivotmodel update ROWS.csv``: a newly reported quarter appended, the model re-run before and
after, and the change written (the checks and the comparison: :mod:`pivotmodel.update`)."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

from ..atomic import check_dir_target, installed_package, scratch_dir, write_atomic, write_dir_atomic, writer_lock
from ..errors import InputError, Problem
from .common import chunk_executor, run_options, simulation_options

__all__ = ["cmd_update", "register"]


def cmd_update(args: argparse.Namespace) -> int:
    from .. import assumptions as assumptions_mod

    if args.as_of is not None:
        raise InputError.single(str(args.rows), "--as-of", "update appends to the latest history; leave --as-of out")
    directory = Path(args.assumptions) if args.assumptions is not None else assumptions_mod.default_directory()
    if not directory.is_dir():
        raise InputError.single(
            "--assumptions", "", f"{directory} is not a folder; give the assumptions folder to update"
        )
    if installed_package(directory):
        raise InputError.single(
            "--assumptions",
            "",
            f"{directory} is inside an installed package: an update there "
            "is lost on the next upgrade and shared by every user of this Python; copy the folder "
            f"(cp -r {directory} my_assumptions) and run: pivotmodel update {args.rows} "
            "--assumptions my_assumptions",
        )
    with writer_lock(directory, str(directory)):  # one writer per assumptions folder, for the whole update
        return _update_locked(args, directory)


def _update_locked(args: argparse.Namespace, directory: Path) -> int:
    from .. import assumptions as assumptions_mod
    from ..simulate import check_memory
    from ..update import append_rows, check_new_rows

    rep = directory / "history" / "reported.csv"
    if not os.access(rep.parent, os.W_OK | os.X_OK):  # before the three runs, not after them
        raise InputError.single(
            str(rep.parent),
            "",
            "cannot be written (permission denied): update appends to history/reported.csv there; nothing was run",
        )
    checked = _read_bytes(rep)  # the bytes every check below is about; compared again before the swap
    before_a = assumptions_mod.load(directory, args.scenario)
    first_new = before_a.history.last_quarter + 1
    out = Path(args.out) if args.out else Path("runs") / f"update-{first_new.label}"
    check_dir_target(out, before_a.input_paths)  # before any work
    opts = run_options(args, before_a)
    check_memory(before_a, opts["draws"], args.max_memory)  # each of the three runs, as simulate checks its one
    rows_path = Path(args.rows)
    rows, warnings = check_new_rows(rows_path, before_a.history, str(rows_path))
    text = checked.decode("utf-8")
    new_text = append_rows(text, rows)
    after_a, runs, found, (est_path, est_text, carried), children = _trial(args, before_a, text, new_text, rows, opts)
    claims, outputs = _changes(runs, after_a.history.last_quarter)

    def write(folder: Path) -> None:
        claims.to_csv(folder / "claims_change.csv", float_format="%.6g")
        outputs.to_csv(folder / "outputs_change.csv", float_format="%.6g")

    _swap_history(rep, checked, new_text.encode("utf-8"))
    if carried:

        def write_estimates(tmp: Path) -> None:
            tmp.write_bytes(est_text.encode("utf-8"))

        write_atomic(est_path, write_estimates)
        print(
            f"on estimates: {len(carried)} unreported lines carried on in {est_path} "
            f"({', '.join(sorted({r['series'] + '.' + r['period'] for r in carried}))})"
        )
    if children[2]:
        child_path, child_text, child_rows = children

        def write_children(tmp: Path) -> None:
            tmp.write_bytes(child_text.encode("utf-8"))

        write_atomic(child_path, write_children)
        print(
            f"on estimates: {len(child_rows)} child rows carried on in {child_path} (each child's share of its "
            "parent's revenue and its margin in the last quarter before the update)"
        )
    write_dir_atomic(out, write, before_a.input_paths)
    for w in [*map(str, warnings), *found]:
        print(f"warning: {w}", file=sys.stderr)
    from ..update import format_change

    print(format_change(claims, outputs, before_a.history.last_quarter, after_a.history.last_quarter, len(rows)))
    print(f"appended {len(rows)} rows to {rep}; wrote {out}/ (claims_change.csv, outputs_change.csv)")
    return 0


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError.single(str(path), "", f"cannot be read: {exc.strerror or exc}") from None


def _trial(args, before_a, text: str, new_text: str, rows: list[dict], opts: dict):
    """A private copy of the folder with the rows appended (and the unreported lines carried on,
    :func:`_carry_on`) must load; the three runs (before, new actuals with the old starts, after),
    the warnings ``validate`` gives the result and the carried-on estimates (path, text, rows)."""
    from .. import assumptions as assumptions_mod
    from ..asof import check_base
    from ..simulate import simulate
    from ..update import from_trial, frozen_starts, missing_usual, trial_lines
    from .validate import findings

    lines = trial_lines(text, rows)
    rows_label = str(args.rows)
    with ExitStack() as stack:
        executor = stack.enter_context(chunk_executor(args))

        def run(a):
            return simulate(
                a,
                draws=opts["draws"],
                seed=opts["seed"],
                method=opts["method"],
                jobs=args.jobs,
                nearest_correlation=opts["nearest_correlation"] or None,
                progress=False,
                executor=executor,
            )

        r_before = run(before_a)
        carry = _carry_on(rows, before_a, r_before, Path(rows_label))  # refuses before any file is written
        children = _carry_children(rows, before_a)
        tmp = stack.enter_context(
            scratch_dir("pivotmodel-update-")
        )  # removed at the end, or by the next update if killed
        trial = tmp / before_a.directory.name
        shutil.copytree(before_a.directory, trial)
        (trial / "history" / "reported.csv").write_bytes(new_text.encode("utf-8"))
        for path, new, added in (carry, children):
            if added:
                (trial / "history" / path.name).write_bytes(new.encode("utf-8"))
        try:
            after_a = assumptions_mod.load(trial, args.scenario)
            missing = check_base(after_a.history, "history/reported.csv", "cannot start the projection")
            if missing:
                raise InputError(missing)
            problems, found, _ = findings(after_a)
            if problems:
                raise InputError(problems)
            r_after = run(after_a)
        except InputError as exc:  # the rows the new quarter lacks first: the likeliest cause, named as CSV rows
            said = " ".join(p.message + " " + p.key for p in exc.problems)
            lacking = [
                replace(w, level="error")
                for w in missing_usual(rows, before_a.history, rows_label)
                if w.message.split("the model's ")[1].split(",")[0] in said
            ]
            raise InputError(lacking + [from_trial(p, lines, rows_label) for p in exc.problems]) from None
        runs = (r_before, run(frozen_starts(after_a, before_a)), r_after)
    return (
        after_a,
        runs,
        [str(from_trial(w, lines, rows_label)) if not isinstance(w, str) else w for w in found],
        carry,
        children,
    )


def _changes(runs, first):
    from ..update import claim_probabilities, compare, headline_outputs

    r_before, r_mixed, r_after = runs
    years = [first.fiscal_year + k for k in (0, 1, 2)]
    claims = compare(
        *(claim_probabilities(r) for r in runs),
        {"values": ["probability", "ci_low", "ci_high"], "split": ["probability"]},
    )
    heads = [headline_outputs(r, years) for r in (r_before, r_mixed, r_after)]
    outputs = compare(heads[0], heads[1], heads[2], {"values": ["base", "P5", "P95"], "split": ["base", "P95", "P5"]})
    return claims, outputs


def _swap_history(rep: Path, checked: bytes, new: bytes) -> None:
    """Replace ``reported.csv`` only if its bytes are still those checked (under the writer lock,
    just before the swap): an edit made while the update ran is never overwritten."""
    if _read_bytes(rep) != checked:
        raise InputError.single(
            str(rep),
            "",
            "changed while the update ran (an edit saved meanwhile); nothing was "
            "written and the edit is kept: run the update again",
        )

    def write_history(tmp: Path) -> None:
        tmp.write_bytes(new)

    write_atomic(rep, write_history)


def _carry_children(rows, before_a):
    """(path, new text, rows) of ``history/children.csv`` with the appended quarters' child
    revenue estimates (:func:`pivotmodel.update.new_child_rows`); no rows without children."""
    from ..segment_tree import ESTIMATES_CSV
    from ..update import append_child_rows, new_child_rows

    added = new_child_rows(rows, before_a)
    path = before_a.directory / "history" / ESTIMATES_CSV
    text = path.read_bytes().decode("utf-8") if added and path.exists() else ""
    return path, append_child_rows(text, added) if added else "", added


def _carry_on(rows, before_a, r_before, rows_path: Path):
    """(estimates.csv path, its new text, the rows added): the unreported lines of the quarters
    leaving the base window and of the appended ones, estimated by the rules of
    :mod:`pivotmodel.update`; an InputError listing the rows to add where a rule cannot run."""
    from ..update import append_estimates, leaving_estimates, new_quarter_estimates

    new_last = max(_quarter(r["period"]) for r in rows)
    added, missing = new_quarter_estimates(rows, before_a, r_before)
    if missing:
        raise InputError(
            [
                Problem(
                    str(rows_path),
                    "estimates",
                    "not reported and no rule can estimate it; add this "
                    f"row to history/estimates.csv (or report the figure in {rows_path.name}): {m}",
                )
                for m in missing
            ]
        )
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
    simulation_options(
        p,
        tolerance=False,
        out="folder for claims_change.csv and outputs_change.csv (default runs/update-<new quarter>)",
    )
    p.set_defaults(handler=cmd_update)

"""``pivotmodel validate``: every assumption file checked, problems listed with file, line and key."""

from __future__ import annotations

import argparse
import sys

from ..errors import InputError
from .common import load_assumptions, print_problems

__all__ = ["cmd_validate", "register"]


def cmd_validate(args: argparse.Namespace) -> int:
    a = load_assumptions(args)
    problems, warnings, boundary = findings(a)
    if problems:  # the problems first, under their header; then what is worth knowing
        print_problems(problems)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if problems:
        return 2
    print(
        f"OK: {len(a.inputs)} inputs ({len(a.uncertain_keys)} uncertain), {len(a.seeds)} seed estimates, "
        f"{len(a.claims)} claims, "
        f"{len(a.history.rows)} history rows to {a.history.last_quarter.label}, {len(a.sources)} sources; "
        f"scenario {a.scenario.name} ({', '.join(a.scenario.chain)})"
    )
    print("\n".join(boundary))
    return 0


def findings(a) -> tuple[list, list, list[str]]:
    """What ``validate`` reports on loaded assumptions beyond the load's own errors: the problems,
    the warnings (Problems where they name a file, else text) and the boundary table's lines.
    ``update`` prints the same warnings for the folder it has just written."""
    from ..claims import check_claims
    from ..model import project
    from ..sampling import correlation_copula, uncertain_inputs

    warnings: list = list(a.warnings)
    problems = []
    claims = list(a.claims)  # parsed at load; here checked against a projection (periods in range, finite)
    try:
        check_claims(claims, project(a), a.claims_label)
    except InputError as exc:
        problems += exc.problems
    try:  # the pairs were checked at load; here that they make a valid matrix
        correlation_copula(a, uncertain_inputs(a))
    except InputError as exc:
        problems += exc.problems
    try:  # published forecasts (consensus.yaml), when the folder has them
        from ..consensus import validate_consensus

        warnings += list(validate_consensus(a))
    except InputError as exc:
        problems += exc.problems
    boundary: list[str] = []
    if not problems:  # the first projected quarter against the last reported; claims decided by inputs
        from ..boundary import boundary_report, boundary_warnings, format_boundary
        from ..claim_status import claim_statuses

        rows = boundary_report(a)
        boundary = format_boundary(rows, a.history.last_quarter.label, (a.history.last_quarter + 1).label)
        warnings += boundary_warnings(rows)
        statuses = claim_statuses(a, claims)
        warnings += [f"claim {c.id}: {statuses[c.id].message(c)}" for c in claims if statuses[c.id].decided]
    return problems, warnings, boundary


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("validate", parents=[common], help="check the assumption files and history")
    p.set_defaults(handler=cmd_validate)

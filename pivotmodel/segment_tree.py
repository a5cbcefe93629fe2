"""Child segments declared as data: ``segments.yaml`` (the declarations) and
``history/children.csv`` (their estimated history), read and checked for the loader.

``segments.yaml`` (optional)::

    segments:
      cainiao: {label: Cainiao, parent: all_others, basis: estimated, driver: growth_segments}

Each child then has its own input file ``<id>.yaml`` (top key ``<id>:``) holding the keys
:func:`pivotmodel.schema.child_parameters` spells out for its driver, and rows in
``history/children.csv`` (the columns of ``reported.csv``; ``segment`` is the child's id,
``metric`` ``revenue`` or ``adjusted_ebita``, ``basis`` ``estimate``, a source on every row):
revenue in each of the four base quarters (the model grows from it; EBITA rows are optional,
as EBITA follows the margin path), and only in quarters where the parent's line is reported.
In each such quarter the children's revenue may not exceed the parent's reported revenue (the
residual would be negative); EBITA has no such bound (a residual loss is possible).

Why data and not Python: a child adds no formula (it names a driver that exists), so adding
one is an analyst's edit - a declaration, a file of inputs and estimated history rows - like
every other assumption, reviewed as data and checked on load with located messages.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .errors import InputError, Problem
from .history import REPORTED_COLUMNS, History, _read_csv
from .periods import PeriodError, Quarter, parse_quarter
from .schema import CHILD_DRIVERS, CHILD_PARENT_DRIVERS, INPUT_FILES, OWN_AI_SEGMENTS, SEGMENTS, Child
from .yamlio import line_of, read_yaml

__all__ = ["read_children", "read_estimates", "ESTIMATES_CSV", "SEGMENTS_YAML"]

SEGMENTS_YAML = "segments.yaml"
ESTIMATES_CSV = "children.csv"
_ID = re.compile(r"[a-z][a-z0-9_]*")
_FIELDS = ("label", "parent", "basis", "driver", "own_ai")


def _child(cid: Any, spec: Any, label: str, line: int | None) -> tuple[Child | None, list[Problem]]:
    parents = [s.id for s in SEGMENTS if s.driver in CHILD_PARENT_DRIVERS]
    taken = (
        {s.id for s in SEGMENTS}
        | set(INPUT_FILES)
        | {"group", "segments", "sources", "simulation", "claims", "correlations", "consensus"}
    )
    key = f"segments.{cid}"
    if not isinstance(cid, str) or not _ID.fullmatch(cid) or cid in taken:
        return None, [
            Problem(label, key, f"a child id is lower_snake_case and not one of {', '.join(sorted(taken))}", line)
        ]
    if not isinstance(spec, dict) or set(spec) - set(_FIELDS) or not {"label", "parent", "basis"} <= set(spec):
        return None, [
            Problem(
                label,
                key,
                f"must be a mapping of label, parent, basis (estimated), driver and own_ai (optional), found {spec!r}",
                line,
            )
        ]
    problems = []
    if spec["parent"] not in parents:
        problems.append(
            Problem(
                label,
                f"{key}.parent",
                f"{spec['parent']!r} cannot hold children; parents: {', '.join(parents)}",
                line_of(spec, "parent") or line,
            )
        )
    if spec["basis"] != "estimated":
        problems.append(
            Problem(
                label,
                f"{key}.basis",
                f"{spec['basis']!r}: a child's history is 'estimated' "
                "(a reported segment is registered in pivotmodel/schema.py)",
                line_of(spec, "basis") or line,
            )
        )
    driver = spec.get("driver", "growth_segments")
    if driver not in CHILD_DRIVERS:
        problems.append(
            Problem(
                label,
                f"{key}.driver",
                f"{driver!r} is not a driver a child can use; use one of: {', '.join(CHILD_DRIVERS)}",
                line_of(spec, "driver") or line,
            )
        )
    own_ai = spec.get("own_ai", False)
    if own_ai not in (True, False) or (own_ai and spec["parent"] not in OWN_AI_SEGMENTS):
        problems.append(
            Problem(
                label,
                f"{key}.own_ai",
                f"{own_ai!r}: true or false, and true only under the segment "
                "charged with own-AI depreciation "
                f"({', '.join(OWN_AI_SEGMENTS)})",
                line_of(spec, "own_ai") or line,
            )
        )
    if problems:
        return None, problems
    return Child(cid, str(spec["label"]), spec["parent"], driver, own_ai), []


def read_children(directory: Path, label: str) -> tuple[tuple[Child, ...], list[Problem]]:
    """The children declared in ``directory/segments.yaml`` (none without the file)."""
    path = directory / SEGMENTS_YAML
    if not path.exists():
        return (), []
    try:
        data = read_yaml(
            path, label, "it must hold 'segments:', a mapping of child id -> {label, parent, basis, driver}"
        )
    except InputError as exc:
        return (), list(exc.problems)
    if not isinstance(data, dict) or list(data) != ["segments"] or not isinstance(data["segments"], dict):
        return (), [
            Problem(
                label,
                "segments",
                "must hold exactly one top-level key 'segments', a mapping of child id -> "
                "{label, parent, basis, driver}",
            )
        ]
    children, problems = [], []
    for cid, spec in data["segments"].items():
        child, errs = _child(cid, spec, label, line_of(data["segments"], cid))
        problems += errs
        if child is not None:
            children.append(child)
    bearers = [c.id for c in children if c.own_ai]
    if len(bearers) > 1:
        problems.append(
            Problem(
                label,
                f"segments.{bearers[1]}.own_ai",
                f"only one child bears the own-AI depreciation; {', '.join(bearers)} all say own_ai: true",
                line_of(data["segments"], bearers[1]),
            )
        )
    return tuple(children), problems


def _rows(
    path: Path, label: str, children: tuple[Child, ...]
) -> tuple[dict[tuple[str, Quarter], tuple[float, int]], list[Problem]]:
    """(series, quarter) -> (value, line) from children.csv, with the problems of its rows."""
    ids = {c.id for c in children}
    lines = {c.id: c.lines for c in children}
    out: dict[tuple[str, Quarter], tuple[float, int]] = {}
    problems = []
    for line, rec in _read_csv(path, REPORTED_COLUMNS, label):
        where = f"{rec['period']},{rec['segment']},{rec['metric']}"
        try:
            q = parse_quarter(rec["period"].strip())
            value = float(rec["value"])
        except (PeriodError, ValueError):
            problems.append(Problem(label, where, "needs a quarter such as FY2026Q1 and a number (RMB million)", line))
            continue
        bad = [
            msg
            for ok, msg in (
                (
                    rec["segment"].strip() in ids,
                    f"segment must be a declared child: {', '.join(sorted(ids)) or '(none)'}",
                ),
                (
                    rec["metric"].strip() in lines.get(rec["segment"].strip(), ("revenue", "adjusted_ebita")),
                    f"metric must be one of {rec['segment'].strip()}'s lines: "
                    f"{' or '.join(lines.get(rec['segment'].strip(), ('revenue', 'adjusted_ebita')))}",
                ),
                (math.isfinite(value), "value must be a finite number"),
                (rec["unit"].strip() == "RMB_mn", "unit must be RMB_mn"),
                (rec["basis"].strip() == "estimate", "basis must be estimate"),
                (bool(rec["source"].strip()), "every row needs a source"),
            )
            if not ok
        ]
        key = (f"{rec['segment'].strip()}.{rec['metric'].strip()}", q)
        if key in out:
            bad.append(f"duplicate row (first on line {out[key][1]})")
        if bad:
            problems.append(Problem(label, where, "; ".join(bad), line))
            continue
        out[key] = (value, line)
    return out, problems


def _identity(
    rows: Mapping[tuple[str, Quarter], tuple[float, int]],
    children: tuple[Child, ...],
    history: History,
    base: tuple[Quarter, ...],
    label: str,
) -> list[Problem]:
    """Every child has revenue and EBITA estimates in each base quarter; estimates sit only in
    quarters where the parent is reported; children's revenue never exceeds the parent's."""
    problems = []
    for c in children:  # revenue: the model grows from it (EBITA, and a loss path, follow their inputs: optional)
        for q in base if "revenue" in c.lines else ():
            if (f"{c.id}.revenue", q) not in rows:
                problems.append(
                    Problem(
                        label,
                        f"{q.label},{c.id},revenue",
                        f"missing row: the model grows {c.id}.revenue "
                        f"from its estimates in the four base quarters {base[0].label}..{base[-1].label}; "
                        f"add the row '{q.label},{c.id},revenue,<value>,RMB_mn,estimate,<source>,<note>'",
                    )
                )
    parent_of = {c.id: c.parent for c in children}
    for (series, q), (_, line) in sorted(rows.items(), key=lambda kv: kv[1][1]):
        cid, metric = series.split(".", 1)
        if math.isnan(history.value(f"{parent_of[cid]}.{metric}", q)):
            problems.append(
                Problem(
                    label,
                    f"{q.label},{cid},{metric}",
                    f"{parent_of[cid]}.{metric} has no reported value in "
                    f"{q.label}: a child's estimates must sit inside its parent's reported quarters",
                    line,
                )
            )
    for parent in sorted({c.parent for c in children}):
        mine = [c.id for c in children if c.parent == parent]
        for q in sorted({q for (s, q) in rows if s.split(".")[0] in mine}):
            parts = [(rows[(f"{cid}.revenue", q)]) for cid in mine if (f"{cid}.revenue", q) in rows]
            total, reported = sum(v for v, _ in parts), history.value(f"{parent}.revenue", q)
            if not math.isnan(reported) and total > reported:
                problems.append(
                    Problem(
                        label,
                        f"{q.label},revenue",
                        f"the children of {parent} ({', '.join(mine)}) sum to "
                        f"{total:,.0f} in {q.label}, more than its reported revenue {reported:,.0f}: the "
                        "residual would be negative; lower the estimates",
                        max(line for _, line in parts),
                    )
                )
    return problems


def read_estimates(
    directory: Path,
    children: tuple[Child, ...],
    history: History,
    base: tuple[Quarter, ...],
    label_of: Callable[[Path], str],
    full: History | None = None,
) -> tuple[dict[str, dict[Quarter, float]], list[Problem]]:
    """The children's estimated history (series -> quarter -> RMB million) from
    ``history/children.csv``, and its problems (see the module's rules). ``full``: the whole
    history when ``history`` is cut at a past quarter (see :func:`_as_of_fill`)."""
    path = directory / "history" / ESTIMATES_CSV
    label = label_of(path)
    if not children:
        return {}, (
            [Problem(label, "", f"holds estimates but {SEGMENTS_YAML} declares no child segment")]
            if path.exists()
            else []
        )
    if not path.exists():
        return {}, [
            Problem(
                label,
                "",
                f"file is missing: the children declared in {SEGMENTS_YAML} "
                f"({', '.join(c.id for c in children)}) need their estimated history here",
            )
        ]
    try:
        rows, problems = _rows(path, label, children)
    except InputError as exc:
        return {}, list(exc.problems)
    later = {k: x for k, x in rows.items() if k[1] > history.last_quarter}
    rows = {k: x for k, x in rows.items() if k[1] <= history.last_quarter}  # as of a past quarter: later ones hidden
    if full is not None:
        rows.update(_as_of_fill(rows, later, children, history, full, base))
    problems += _identity(rows, children, history, base, label)
    out: dict[str, dict[Quarter, float]] = {}
    for (series, q), (value, _) in rows.items():
        out.setdefault(series, {})[q] = value
    return out, problems


def _as_of_fill(
    rows: Mapping[tuple[str, Quarter], tuple[float, int]],
    later: Mapping[tuple[str, Quarter], tuple[float, int]],
    children: tuple[Child, ...],
    history: History,
    full: History,
    base: tuple[Quarter, ...],
) -> dict:
    """As of a quarter before a child's estimated history begins (a backtest, a timeline): each
    base quarter the child lacks takes its share of the parent at the first quarter it is
    estimated in (child / parent there) x the parent's value in that base quarter, so the run
    can start; the shares are read from after the as-of quarter (a look-ahead, like the seeds'
    --as-of fill in :func:`pivotmodel.asof.fill_seeds`). Nothing is filled in a latest-history run."""
    out: dict[tuple[str, Quarter], tuple[float, int]] = {}
    if not later:
        return out
    for c in children:
        for metric in ("revenue", "adjusted_ebita"):
            series = f"{c.id}.{metric}"
            first = min((q for (s, q) in later if s == series), default=None)
            if first is None:
                continue
            parent_first = full.value(f"{c.parent}.{metric}", first)
            if not parent_first or not math.isfinite(parent_first):
                continue
            share = later[(series, first)][0] / parent_first
            for q in base:
                parent = history.value(f"{c.parent}.{metric}", q)
                if (series, q) not in rows and math.isfinite(parent):
                    out[(series, q)] = (share * parent, later[(series, first)][1])
    return out

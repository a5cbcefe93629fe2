"""Declared perimeter changes (``history/perimeter.csv``): businesses that left the group.

Alibaba sold Sun Art (hypermarkets) and Intime (department stores), both in All others; the
quarters after the sales exclude them, the quarters before include them. A model that grows a
segment from the same quarter a year earlier over-forecasts by their revenue. An analyst who
knows of the sale restates the base like-for-like first; this module does that for a run as of
a past quarter whose base quarters still hold the disposed businesses.

A row gives, for one quarter, the disposed businesses' revenue (or adjusted EBITA) in one
segment: the amount that leaves that segment's base quarter, and the group's with it. It
applies only when the disposal was known then (``valid_from`` on or before the date the as-of
quarter's results were out, :func:`pivotmodel.asof.known_by`); before that the run keeps the
reported perimeter and says so. ``published`` is the date of the figures the row's value was
derived from: a run before it uses the row and names its size as look-ahead.

The ordinary run (latest history) reads and checks the file but never restates anything: its
four base quarters are the latest reported ones, already on the new perimeter.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import Problem
from .history import REPORTED_COLUMNS, SERIES_OF_METRIC, History, Row, _read_csv, check_fields
from .periods import PeriodError, Quarter, parse_quarter

__all__ = ["PERIMETER_CSV", "PERIMETER_COLUMNS", "Change", "load_perimeter", "restate_base"]

PERIMETER_CSV = "perimeter.csv"
PERIMETER_COLUMNS = (*REPORTED_COLUMNS, "spread", "valid_from", "published")
METRICS = ("revenue", "adjusted_ebita")


@dataclass(frozen=True)
class Change:
    """One quarter of a disposed business in one segment: ``value`` leaves ``series`` and
    ``group`` (the group's series of the same metric) in ``quarter``."""

    series: str
    group: str
    quarter: Quarter
    value: float
    spread: float
    valid_from: str
    published: str
    source: str
    note: str
    line: int


def _date(text: str) -> bool:
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _row_problem(rec: dict[str, str], label: str, line: int, relation) -> Problem | None:
    """The first problem of a perimeter row (one message per bad row), or None."""
    bad = lambda key, msg: Problem(label, key, msg, line)  # noqa: E731
    try:
        parse_quarter(rec["period"])
    except PeriodError:
        return bad("period", f"{rec['period']!r} is not a quarter like FY2025Q3 (one row per quarter of the base)")
    _, errs = check_fields(rec, label, line, relation)
    if errs:
        return errs[0]
    prefix, kind = relation[rec["segment"]]
    segments = sorted(s for s, (p, k) in relation.items() if k == "equals" and p.split(".")[0] != "group")
    if kind != "equals" or prefix.split(".")[0] == "group":
        return bad(
            "segment",
            f"{rec['segment']!r}: a disposal leaves one of the model's segments (the group follows it); "
            f"valid: {', '.join(segments)}",
        )
    if rec["metric"] not in METRICS or rec["unit"] != "RMB_mn":
        return bad("metric", f"{rec['metric']!r} in {rec['unit']!r}: valid are revenue or adjusted_ebita, in RMB_mn")
    if rec["metric"] == "revenue" and float(rec["value"]) <= 0:
        return bad(
            "value",
            f"{rec['value']!r}: the revenue of the disposed businesses in the quarter, > 0 "
            "(an acquisition is not modelled)",
        )
    try:
        spread = float(rec["spread"])
        if not (math.isfinite(spread) and spread >= 0):
            raise ValueError
    except ValueError:
        return bad("spread", f"{rec['spread']!r} is not a number >= 0 (the +- half-width, RMB million)")
    for col, what in (("valid_from", "the disposal was announced"), ("published", "the figures it rests on came out")):
        if not _date(rec[col]):
            return bad(col, f"{rec[col]!r} is not a date like 2025-01-01 (when {what})")
    return None


def load_perimeter(
    path: Path,
    rel: Callable[[Path], str],
    relation: Mapping[str, tuple[str, str]],
    value_of: Callable[[str, Quarter], float],
) -> tuple[tuple[Change, ...], list[Problem]]:
    """The rows of ``perimeter.csv`` (none when the file is absent) and one problem per bad row:
    file, line, the column at fault and what is valid. ``value_of(series, quarter)`` is the
    history's value there (reported or estimated), which a disposed revenue must stay below."""
    if not path.exists():
        return (), []
    label = rel(path)
    out: list[Change] = []
    problems: list[Problem] = []
    seen: dict[tuple[str, str, str], int] = {}
    for line, raw in _read_csv(path, PERIMETER_COLUMNS, label):
        rec = {k: (v or "").strip() for k, v in raw.items()}
        key = (rec["period"], rec["segment"], rec["metric"])
        problem = _row_problem(rec, label, line, relation)
        if problem is None and key in seen:
            problem = Problem(label, "period,segment,metric", f"duplicate row {key} (first on line {seen[key]})", line)
        if problem is None:
            prefix = relation[rec["segment"]][0]
            series, q = SERIES_OF_METRIC[(prefix, rec["metric"])], parse_quarter(rec["period"])
            value, there = float(rec["value"]), value_of(series, q)
            if rec["metric"] == "revenue" and not value < there:  # NaN (no figure there) fails too
                problem = Problem(
                    label,
                    "value",
                    f"{value:,.0f} is not below {series} in {q.label} "
                    + (f"({there:,.0f})" if math.isfinite(there) else "(no reported or estimated figure there)"),
                    line,
                )
        if problem is not None:
            problems.append(problem)
            continue
        seen[key] = line
        group = SERIES_OF_METRIC[("group", rec["metric"])]
        out.append(
            Change(
                series,
                group,
                q,
                value,
                float(rec["spread"]),
                rec["valid_from"],
                rec["published"],
                rec["source"],
                rec["note"],
                line,
            )
        )
    return tuple(out), problems


def _restated(row: Row, change: Change) -> Row:
    basis = row.basis if row.basis == "estimate" else "derived"
    note = f"like-for-like: {row.value:,.0f} less {change.value:,.0f} disposed (perimeter.csv line {change.line})"
    return replace(row, value=row.value - change.value, basis=basis, note=note)


def restate_base(history: History, as_of: Quarter) -> tuple[History, list[Problem]]:
    """``history`` (cut at ``as_of``) with each declared disposal in a base quarter taken out of
    its segment and the group, when the disposal was known by the time ``as_of``'s results were;
    and a warning per row: applied (with its look-ahead, if the size was published later), or
    kept out (not yet announced; or the segment's base is a per-segment placeholder)."""
    from .asof import known_by

    cutoff = known_by(as_of)
    quarterly = dict(history.quarterly)
    applied, withheld, warnings = [], [], []
    label = "history/" + PERIMETER_CSV
    for c in history.perimeter:
        if not as_of + -3 <= c.quarter <= as_of:
            continue
        key = f"{c.series}.{c.quarter.label}"
        if c.valid_from > cutoff:
            withheld.append(c)
            message = (
                f"disposal announced {c.valid_from}, after {as_of.label}'s results were known ({cutoff}): "
                "the reported perimeter is kept (no look-ahead)"
            )
        elif c.series.split(".")[0] in history.placeholders:
            message = "not applied: the segment's base is a placeholder in this per-segment run"
        elif any(c.quarter not in quarterly.get(s, {}) for s in (c.series, c.group)):
            message = "not applied: no figure of the segment or the group in that quarter to restate"
        else:
            for series in (c.series, c.group):
                rows = dict(quarterly[series])
                rows[c.quarter] = _restated(rows[c.quarter], c)
                quarterly[series] = MappingProxyType(rows)
            applied.append(c)
            later = (
                f"; look-ahead in its size: derived from figures published {c.published}"
                if c.published > cutoff
                else ""
            )
            message = (
                f"like-for-like base: {c.value:,.0f} +- {c.spread:,.0f} of disposed businesses removed from "
                f"{c.series} and {c.group} (disposal announced {c.valid_from}){later}"
            )
        warnings.append(Problem(label, key, message, c.line, level="warn"))
    if not applied and not withheld:
        return history, warnings
    fresh: dict[str, Any] = {"_rows_cache": {}} if any(f.name == "_rows_cache" for f in fields(history)) else {}
    out = replace(
        history,
        **fresh,
        quarterly=MappingProxyType(quarterly),
        restated=tuple(applied),
        perimeter_kept=tuple(withheld),
    )
    return out, warnings

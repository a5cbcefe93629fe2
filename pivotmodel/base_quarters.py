"""The base-quarter check, run on every load: each line the model grows from has a reported row
in each of the four base quarters, else a located error (file, the line where the row would go,
and the row to add).

The model grows every segment's revenue from the same quarter a year earlier, so a missing
``FY2026Q4,All others,revenue`` row would leave nothing to grow from; without this check the
engine would fail deep inside with a traceback. The lines checked come from the registry
(:func:`pivotmodel.schema.base_lines`): the revenue of every segment whose history is reported,
and group revenue. Seeded sub-lines (estimates for gaps) are checked by the loader's seed rules.
"""

from __future__ import annotations

import math
from pathlib import Path

from .errors import InputError, Problem
from .history import REPORTED_COLUMNS, History, _read_csv
from .periods import Quarter
from .schema import base_lines

__all__ = ["base_quarters", "missing_base_rows"]

GROUP_REVENUE = "group.revenue"  # where history ends: its last quarter is the last reported one


def base_quarters(history: History) -> tuple[Quarter, ...]:
    """The four quarters the projection grows from: the last reported one and the three before."""
    last = history.last_quarter
    return tuple(last + k for k in (-3, -2, -1, 0))


def _csv_segment(history: History, prefix: str) -> str:
    """The reported.csv segment name whose rows stand for the model prefix (``equals``)."""
    names = [name for name, (p, relation) in history.segment_relation.items() if p == prefix and relation == "equals"]
    used = {r.segment for r in history.rows}
    return next((n for n in names if n in used), names[0] if names else prefix)


def _where(records: list[tuple[int, dict[str, str]]], key: tuple[str, str, str]) -> tuple[int, str]:
    """Where the row ``key`` (period, segment, metric) goes among its quarter's rows, sorted by
    segment and metric: before the row that sorts just after it (else after the one just before
    it; else at the end), as (line, description)."""
    rows = [(line, (r["period"].strip(), r["segment"].strip(), r["metric"].strip())) for line, r in records]
    same = [(line, k) for line, k in rows if k[0] == key[0]]
    later = [(line, k) for line, k in same if k > key]
    if later:
        line, k = min(later, key=lambda x: x[1])
        return line, f"before line {line} ({','.join(k)})"
    if same:
        line, k = max(same, key=lambda x: x[1])
        return line + 1, f"after line {line} ({','.join(k)})"
    last = max((line for line, _ in rows), default=1)
    return last + 1, "at the end of the file"


def missing_base_rows(history: History, path: Path, label: str) -> list[Problem]:
    """A located error for each base-quarter row the model grows from that ``reported.csv``
    (at ``path``, named ``label`` in messages) lacks; [] when every one is there."""
    quarters = base_quarters(history)
    after = history.last_quarter + 1  # segment rows beyond the last group revenue: that row is missing
    if any(not math.isnan(history.value(s, after)) for s in base_lines() if s != GROUP_REVENUE):
        missing = [(GROUP_REVENUE, after)]
        quarters = tuple(q + 1 for q in quarters)
    else:
        missing = [(s, q) for s in base_lines() for q in quarters if math.isnan(history.value(s, q))]
    if not missing:
        return []
    try:
        records = _read_csv(path, REPORTED_COLUMNS, label)
    except InputError:  # unreadable: the loader has reported it already
        records = []
    span = f"{quarters[0].label}..{quarters[-1].label}"
    problems = []
    for series, q in missing:
        prefix, metric = series.split(".", 1)
        key = (q.label, _csv_segment(history, prefix), metric)
        line, where = _where(records, key)
        problems.append(
            Problem(
                label,
                ",".join(key),
                f"missing row: the model grows {series} from its reported values in the four base quarters {span}, "
                f"and {q.label} has none; add the row '{','.join(key)},<value>,RMB_mn,<basis>,<source>,<note>' "
                f"{where}",
                line,
            )
        )
    return problems

"""Running the model as of a past quarter: history after it hidden, look-ahead listed.

``--as-of FY2025Q2`` (every command) loads the assumptions as an analyst would have had them
when that quarter had been reported:

* rows of ``history/reported.csv`` (and ``earnings.csv``) for later quarters, and fiscal-year
  rows for years that end after it, are dropped before anything reads them, so the base
  quarters and every anchored start (:mod:`pivotmodel.anchors`) come from history up to it;
* inputs set by hand (not by an anchor rule) cannot be re-derived from the cut history: they
  are listed as *possible look-ahead*, first those whose source is dated after the quarter's
  results could have been known (the end of the following quarter, :func:`known_by`).

The default (no ``--as-of``) is the last reported quarter, and a run as of it reads exactly
the same history as an ordinary run.
"""

from __future__ import annotations

import contextvars
import math
from collections.abc import Iterator
from dataclasses import fields, replace
from types import MappingProxyType
from typing import Any

from .errors import InputError
from .history import History
from .periods import Quarter, parse_quarter
from .schema import SEGMENT_IDS

__all__ = [
    "AS_OF",
    "PER_SEGMENT",
    "fill_placeholders",
    "cut_history",
    "fill_estimates",
    "pick_version",
    "known_by",
    "lookahead",
    "format_lookahead",
    "fill_seeds",
    "check_base",
]

# Set by cli.main from ``--as-of``; assumptions.load reads it when not given one explicitly.
AS_OF: contextvars.ContextVar[Quarter | None] = contextvars.ContextVar("pivotmodel_as_of", default=None)


def _period_end(label: str) -> Quarter:
    """The last quarter a history period covers (a fiscal year ends with its Q4)."""
    if label.startswith("FY") and len(label) == 6 and label[2:].isdigit():
        return Quarter(int(label[2:]), 4)
    return parse_quarter(label)


def cut_history(history: History, as_of: Quarter, label: str = "history/reported.csv") -> History:
    """``history`` without any row after ``as_of``; the same object when nothing is after it."""
    first = min(history.quarterly["group.revenue"])
    if as_of < first + 4:
        raise InputError.single(
            label,
            "--as-of",
            f"{as_of.label} leaves fewer than four reported quarters "
            f"of group revenue (the first is {first.label}); use {(first + 4).label} or later",
        )
    if as_of > history.last_quarter:
        raise InputError.single(
            label, "--as-of", f"{as_of.label} is after the last reported quarter {history.last_quarter.label}"
        )
    keep = lambda row: _period_end(row.period) <= as_of  # noqa: E731
    if all(keep(r) for r in history.rows):
        return history
    quarterly = {s: MappingProxyType({q: r for q, r in m.items() if q <= as_of}) for s, m in history.quarterly.items()}
    annual = {
        s: MappingProxyType({y: r for y, r in m.items() if Quarter(y, 4) <= as_of}) for s, m in history.annual.items()
    }
    fresh: dict[str, Any] = (
        {"_rows_cache": {}} if any(f.name == "_rows_cache" for f in fields(history)) else {}
    )  # never share a cache
    return replace(
        history,
        **fresh,
        rows=tuple(r for r in history.rows if keep(r)),
        quarterly=MappingProxyType({s: m for s, m in quarterly.items() if m}),
        annual=MappingProxyType({s: m for s, m in annual.items() if m}),
        warnings=tuple(w for w in history.warnings if _warning_kept(w, as_of)),
    )


# Set by the backtest for a per-segment run: base quarters a segment lacks take placeholders.
PER_SEGMENT: contextvars.ContextVar[bool] = contextvars.ContextVar("pivotmodel_per_segment", default=False)


def fill_placeholders(full: History, history: History, as_of: Quarter) -> History:
    """For a per-segment backtest run as of a quarter before the four-segment history: each
    segment whose revenue is missing in a base quarter gets, for revenue and adjusted EBITA in
    every base quarter it lacks, a quarter of its fiscal year's restated total (from the full
    history: later information). Such a segment is named in ``placeholders`` and not scored;
    the segments whose base quarters are all reported (cloud, AIDC from FY2024) are."""
    base = [as_of + k for k in (-3, -2, -1, 0)]
    quarterly = dict(history.quarterly)
    filled = []
    for seg in MODEL_SEGMENTS:
        if all(not math.isnan(history.value(f"{seg}.revenue", q)) for q in base):
            continue
        for metric in ("revenue", "adjusted_ebita"):
            series = f"{seg}.{metric}"
            rows = dict(quarterly.get(series, {}))
            for q in base:
                year = full.annual.get(series, {}).get(q.fiscal_year)
                if q not in rows and year is not None:
                    rows[q] = replace(
                        year,
                        period=q.label,
                        value=year.value / 4,
                        basis="estimate",
                        note=f"placeholder for a per-segment backtest: FY{q.fiscal_year} / 4",
                    )
            quarterly[series] = MappingProxyType(rows)
        filled.append(seg)
    if not filled:
        return history
    capex = dict(quarterly.get("group.capex", {}))
    for q in (as_of + k for k in range(-7, 1)):  # the capex plan reads the year before the base too
        if math.isnan(history.capex(q)) and not math.isnan(full.capex(q)):
            row = (
                full.quarterly.get("group.capex_stated", {}).get(q)
                or full.annual["group.capex_cashflow"][q.fiscal_year]
            )
            capex[q] = replace(
                row,
                period=q.label,
                value=full.capex(q),
                basis="estimate",
                note="placeholder for a per-segment backtest: capex as the full history spreads it",
            )
    quarterly["group.capex"] = MappingProxyType(capex)
    fresh: dict[str, Any] = {"_rows_cache": {}} if any(f.name == "_rows_cache" for f in fields(history)) else {}
    return replace(history, **fresh, quarterly=MappingProxyType(quarterly), placeholders=tuple(filled))


def _date_text(value: Any) -> str | None:
    """An ISO date (YYYY-MM-DD) as text, from YAML's date or a string; None if it is not one."""
    import datetime

    text = value.isoformat() if isinstance(value, datetime.date) else str(value)
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return None
    return text


def pick_version(key: str, spec: Any, as_of: Quarter | None, label: str, line: int | None) -> tuple[Any, list[Any]]:
    """The version of a hand-set input an as-of run may use. A spec may carry ``valid_from``
    (the date its figures could first be written) and ``versions:``, a list of earlier specs
    each with its own ``valid_from`` (unit inherited from the current one). As of a quarter the
    run takes the latest version valid by :func:`known_by`; when none is, it takes the current
    one and says so (look-ahead). Without ``--as-of`` the current version is used. Returns the
    spec without these keys, and problems (errors for a malformed version, a warning per choice)."""
    from .errors import Problem

    if not isinstance(spec, dict) or not ({"versions", "valid_from"} & set(spec)):
        return spec, []
    current = {k: v for k, v in spec.items() if k not in ("versions", "valid_from")}
    problems = []
    dated = []
    if "valid_from" in spec:
        if _date_text(spec["valid_from"]) is None:
            problems.append(
                Problem(label, f"{key}.valid_from", f"{spec['valid_from']!r} is not a date like 2025-08-29", line)
            )
        dated.append((_date_text(spec["valid_from"]) or "", current))
    versions = spec.get("versions", [])
    if not isinstance(versions, list) or not all(isinstance(v, dict) for v in versions):
        problems.append(
            Problem(label, f"{key}.versions", "must be a list of earlier input specs, each with valid_from", line)
        )
        versions = []
    for i, v in enumerate(versions):
        when = _date_text(v.get("valid_from", ""))
        if when is None:
            problems.append(
                Problem(
                    label,
                    f"{key}.versions[{i}].valid_from",
                    f"{v.get('valid_from')!r} is not a date "
                    "like 2025-08-29 (every earlier version needs the date from which it held)",
                    line,
                )
            )
            continue
        dated.append((when, {"unit": current.get("unit"), **{k: x for k, x in v.items() if k != "valid_from"}}))
    if problems or as_of is None:
        return current, problems
    cutoff = known_by(as_of)
    valid = [(when, v) for when, v in dated if when and when <= cutoff]
    if not valid:
        first = min((w for w, _ in dated if w), default="?")
        return current, [
            Problem(
                label,
                key,
                f"as of {as_of.label} (results known by {cutoff}) no version was valid "
                f"yet (the first from {first}): the current one is used (look-ahead)",
                line,
                level="warn",
            )
        ]
    when, chosen = max(valid, key=lambda wv: wv[0])
    note = (
        []
        if chosen is current
        else [Problem(label, key, f"as of {as_of.label}: the version valid from {when} is used", line, level="warn")]
    )
    return chosen, note


def fill_estimates(history: History, as_of: Quarter) -> tuple[History, list[Any]]:
    """``history`` (already cut at ``as_of``) with each unreported base quarter (the four to ``as_of``) taken from
    ``history/estimates.csv`` (basis ``estimate``), e.g. the four-segment FY2025 quarters that Alibaba
    printed only as annual totals; and a warning per filled row, naming it look-ahead when its
    ``valid_from`` is after the as-of quarter's results were known (:func:`known_by`)."""
    from .errors import Problem

    cutoff = known_by(as_of)
    add: dict[str, dict[Quarter, Any]] = {}
    warnings = []
    for series, rows in sorted(history.estimates.items()):
        for q, row in sorted(rows.items()):
            if not as_of + -3 <= q <= as_of or q in history.quarterly.get(series, {}):
                continue  # base quarters only: the rule an ordinary run follows too (its base is reported)
            add.setdefault(series, {})[q] = row
            later = (
                f"; look-ahead: written from figures published {row.valid_from}, after {cutoff}"
                if row.valid_from > cutoff
                else ""
            )
            warnings.append(
                Problem(
                    "history/estimates.csv",
                    f"{series}.{q.label}",
                    f"not reported: on estimates ({row.value:,.0f} +- {row.spread:,.0f}){later}",
                    row.line,
                    level="warn",
                )
            )
    if not add:
        return history, []
    quarterly = dict(history.quarterly)
    for series, rows in add.items():
        quarterly[series] = MappingProxyType({**quarterly.get(series, {}), **rows})
    filled = tuple((s, r) for s, rows in add.items() for r in rows.values())
    fresh: dict[str, Any] = {"_rows_cache": {}} if any(f.name == "_rows_cache" for f in fields(history)) else {}
    out = replace(history, **fresh, quarterly=MappingProxyType(quarterly), on_estimates=history.on_estimates + filled)
    return out, warnings


def _warning_kept(problem: Any, as_of: Quarter) -> bool:
    """History warnings name their period in the key or message; drop those after ``as_of``."""
    import re

    found = re.finditer(r"FY\d{4}(?:Q[1-4])?", f"{problem.key} {problem.message}")
    return all(_period_end(m.group(0)) <= as_of for m in found)


def known_by(as_of: Quarter) -> str:
    """The date (ISO) by which ``as_of``'s results were out: the end of the following quarter
    (Alibaba reports six to ten weeks after a quarter ends)."""
    return (as_of + 1).quarter_end


def lookahead(a: Any) -> list[tuple[str, str, str]]:
    """(input key, source id, why) for each input set by hand: it may hold look-ahead when the
    run is as of a past quarter. Those with a source dated after :func:`known_by` come first."""
    as_of = a.history.last_quarter
    cutoff = known_by(as_of)
    later, hand = [], []
    for key, inp in sorted(a.inputs.items()):
        if getattr(inp, "anchor", None) is not None:
            continue
        src = a.sources.get(inp.source) if hasattr(a.sources, "get") else None
        date = getattr(src, "date", "") or ""
        if date and date > cutoff:  # ISO dates compare as text; "2026-05" < "2026-05-20"
            later.append((key, inp.source, f"source dated {date}, after {cutoff}"))
        else:
            hand.append((key, inp.source, "set by hand"))
    return later + hand


def format_lookahead(a: Any, limit: int = 12) -> Iterator[str]:
    """Lines for the terminal: the count, then the inputs with later-dated sources."""
    items = lookahead(a)
    later = [i for i in items if i[2] != "set by hand"]
    yield (
        f"as of {a.history.last_quarter.label} (history after it hidden; results known by "
        f"{known_by(a.history.last_quarter)}): "
        f"{len(items)} inputs set by hand are possible look-ahead, {len(later)} with a source dated after it"
    )
    for key, src, why in later[:limit]:
        yield f"  {key} ({src}: {why})"
    if len(later) > limit:
        yield f"  ... and {len(later) - limit} more"


def fill_seeds(full: History, cut: History, seeds: dict, make: Any) -> list[Any]:
    """Seed estimates an as-of run needs and the folder lacks (a base quarter of an earlier
    as-of, such as AI revenue before Alibaba reported it in RMB): the series' share of its
    segment's revenue at the nearest quarter where it is known (reported in the full history,
    or a seed), times that quarter's reported segment revenue. The share comes from a later
    quarter, so each fill is reported as look-ahead. ``make(series, quarter, value, source)``
    builds the Input; returns warnings."""
    import math

    from .errors import Problem
    from .schema import OPTIONAL_SEEDS, SEEDABLE

    warnings = []
    last = cut.last_quarter
    for series, segment in SEEDABLE.items():
        if series in OPTIONAL_SEEDS:
            continue
        known = {q: r.value for q, r in full.quarterly.get(series, {}).items()}
        known.update({q: inp.base_value for (s, q), inp in seeds.items() if s == series})
        sources = [inp.source for (s, _), inp in sorted(seeds.items(), key=lambda kv: kv[0][1].index) if s == series]
        for q in (last + k for k in (-3, -2, -1, 0)):
            if not math.isnan(cut.value(series, q)) or (series, q) in seeds or not sources:
                continue
            for parent in (f"{segment}.revenue", "group.revenue"):  # the segment's, else the group's
                usable = [k for k in known if not math.isnan(full.value(parent, k))]
                if usable and not math.isnan(cut.value(parent, q)):
                    break
            else:
                continue
            near = min(usable, key=lambda k: (abs(k.index - q.index), k.index))
            value = known[near] / full.value(parent, near) * cut.value(parent, q)
            made = make(series, q, value, sources[0])
            if made is None:  # the segment file's seed spec cannot be reused: leave the gap to check_base/validate
                continue
            seeds[(series, q)] = made
            warnings.append(
                Problem(
                    "--as-of",
                    f"{series}.{q.label}",
                    f"not reported and no seed estimate: {value:,.0f} "
                    f"(its share of {parent} in {near.label}, a later quarter: look-ahead)",
                    level="warn",
                )
            )
    return warnings


MODEL_SEGMENTS = SEGMENT_IDS


def check_base(history: History, label: str, hint: str = "is too early") -> list[Any]:
    """Errors for an as-of quarter whose four base quarters lack a segment's revenue (the model
    grows every path from them); e.g. before the June-2025 four-segment structure."""
    import math

    from .errors import Problem

    last = history.last_quarter
    base = [last + k for k in (-3, -2, -1, 0)]
    missing = [
        f"{seg}.revenue {q.label}"
        for seg in MODEL_SEGMENTS
        for q in base
        if math.isnan(history.value(f"{seg}.revenue", q))
    ]
    if not missing:
        return []
    return [
        Problem(
            label,
            "base quarters",
            f"{last.label} {hint}: its four base quarters lack {', '.join(missing[:4])}"
            f"{' ...' if len(missing) > 4 else ''} on the model's segment basis"
            + ("; use a later quarter" if hint == "is too early" else ""),
        )
    ]

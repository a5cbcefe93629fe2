"""Alibaba's reported figures (``assumptions/history/``) and their mapping to model series.

``reported.csv`` holds one row per (period, segment, metric) as reported, in RMB million,
with a ``basis`` (reported | derived | secondary) and a source on every row.
``segment_map.csv`` maps each reported segment to a model segment and says whether its rows
can stand for that segment (``equals``) or not (``part_of``, ``not_comparable``): the June-2025
change from seven to four segments is mapped there, never mixed silently.

The last quarter with reported group revenue is the last actual; the model projects from
the quarter after it. Adding a quarter of actuals is appending its rows to ``reported.csv``.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np

from .earnings_series import EARNINGS_CSV, EARNINGS_METRICS
from .errors import InputError, Problem
from .history_checks import check_rows
from .periods import PeriodError, Quarter, parse_quarter
from .schema import GROUP, SEGMENTS

__all__ = ["History", "Row", "load_history", "SERIES_OF_METRIC", "REPORTED_COLUMNS"]

REPORTED_COLUMNS = ("period", "segment", "metric", "value", "unit", "basis", "source", "note")
MAP_COLUMNS = ("segment", "structure", "model_series_prefix", "relation", "note")
BASES = ("reported", "derived", "secondary")
HISTORY_UNITS = ("RMB_mn", "pct", "RMB_per_USD", "count", "count_mn", "RMB_per_ADS")
RELATIONS = ("equals", "part_of", "not_comparable")
STRUCTURES = ("four_segment", "seven_segment", "pre_fy2024", "consolidated")

# (model segment prefix, reported metric) -> model series. Only these rows feed the model.
SERIES_OF_METRIC: dict[tuple[str, str], str] = {
    **{(seg.history_prefix, "revenue"): f"{seg.id}.revenue" for seg in (*SEGMENTS, GROUP)},
    **{(seg.history_prefix, "adjusted_ebita"): f"{seg.id}.adjusted_ebita" for seg in (*SEGMENTS, GROUP)},
    ("china_ecommerce", "customer_management_revenue"): "china_ecommerce.cmr",
    ("china_ecommerce", "quick_commerce_revenue"): "china_ecommerce.quick_commerce_revenue",
    ("cloud", "ai_related_product_revenue"): "cloud.ai_revenue",
    ("group", "capex_purchase_of_ppe_fcf_table"): "group.capex",
    ("group", "capex_land_use_rights_and_ppe_cashflow"): "group.capex_cashflow",
    ("group", "capex_total_stated"): "group.capex_stated",
    ("group", "free_cash_flow"): "group.fcf",
    ("group", "depreciation_and_amortization"): "group.depreciation",
    ("group", "usd_rmb_rate_implied"): "group.fx_usd_rmb",
    ("group.unallocated", "adjusted_ebita"): "group.unallocated",
    ("group.elimination", "adjusted_ebita"): "group.ebita_elimination",
    ("group.elimination", "revenue"): "group.elimination",
    # below adjusted EBITA, per share and net cash (rows in reported.csv or earnings.csv)
    **EARNINGS_METRICS,
}


@dataclass(frozen=True)
class Row:
    period: str
    segment: str
    metric: str
    value: float
    unit: str
    basis: str
    source: str
    note: str
    line: int


@dataclass(frozen=True)
class History:
    """Reported rows, indexed by model series; immutable once loaded."""

    rows: tuple[Row, ...]
    quarterly: Mapping[str, Mapping[Quarter, Row]]
    annual: Mapping[str, Mapping[int, Row]]
    segment_relation: Mapping[str, tuple[str, str]]  # segment -> (prefix, relation)
    warnings: tuple[Problem, ...] = ()  # implausible but possible figures (history_checks)
    _rows_cache: dict = field(default_factory=dict, compare=False, repr=False)

    def row(self, series: str, quarters: tuple[Quarter, ...]) -> np.ndarray:
        """Reported values of ``series`` over ``quarters`` (NaN where not reported), built once
        per history and read-only (the engine copies what it writes)."""
        key = (series, quarters)
        hit = self._rows_cache.get(key)
        if hit is None:
            hit = np.array([self.value(series, q) for q in quarters], dtype=float)
            hit.setflags(write=False)
            self._rows_cache[key] = hit
        return hit

    @property
    def last_quarter(self) -> Quarter:
        """Last quarter with reported group revenue: the model projects from the next one."""
        return max(self.quarterly["group.revenue"])

    def value(self, series: str, quarter: Quarter) -> float:
        row = self.quarterly.get(series, {}).get(quarter)
        return math.nan if row is None else row.value

    def annual_value(self, series: str, fiscal_year: int) -> float:
        row = self.annual.get(series, {}).get(fiscal_year)
        return math.nan if row is None else row.value

    def capex(self, q: Quarter) -> float:
        """Quarterly capex, RMB million: reported ("purchase of property and equipment", FCF
        table), else a total stated for the quarter (e.g. Dec-2024 RMB 31.8bn), else an even share
        of what the fiscal year's cash-flow capex (land-use rights and PP&E, 20-F) leaves after
        the known quarters; NaN when none of these exists (the loader refuses a run that needs it)."""
        v = self._known_capex(q)
        if not math.isnan(v):
            return v
        annual = abs(self.annual_value("group.capex_cashflow", q.fiscal_year))
        known = [self._known_capex(Quarter(q.fiscal_year, k)) for k in range(1, 5)]
        missing = sum(math.isnan(x) for x in known)
        return (annual - sum(x for x in known if not math.isnan(x))) / missing if not math.isnan(annual) else math.nan

    def capex_basis(self, q: Quarter) -> str:
        """How a quarter's capex is known: ``reported``, ``stated`` or ``spread`` (see :meth:`capex`)."""
        if not math.isnan(self.value("group.capex", q)):
            return "reported"
        return "stated" if not math.isnan(self.value("group.capex_stated", q)) else "spread"

    def _known_capex(self, q: Quarter) -> float:
        v = self.value("group.capex", q)
        return self.value("group.capex_stated", q) if math.isnan(v) else v

    def series_names(self) -> list[str]:
        return sorted(set(self.quarterly) | set(self.annual))


def _read_csv(path: Path, columns: tuple[str, ...], label: str) -> list[tuple[int, dict[str, str]]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:  # -sig: Excel's "CSV UTF-8" byte-order mark
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            missing = [c for c in columns if c not in header]
            if missing:
                raise InputError.single(
                    label,
                    ",".join(missing),
                    f"missing column(s) {', '.join(missing)}; the header must be: {','.join(columns)}",
                    1,
                )
            rows = []
            for i, rec in enumerate(reader, start=2):
                if None in rec or any(v is None for v in rec.values()):
                    raise InputError.single(
                        label, "", f"row has {len(header)} columns expected, found a different count", i
                    )
                rows.append((i, rec))
            return rows
    except OSError as exc:
        raise InputError.single(label, "", f"cannot be read: {exc.strerror or exc}") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise InputError.single(label, "", f"is not a readable CSV file: {exc}") from None


def _period_key(label: str) -> tuple[str, int | Quarter]:
    if label.startswith("FY") and len(label) == 6 and label[2:].isdigit():
        return "annual", int(label[2:])
    return "quarter", parse_quarter(label)


def check_fields(rec: Mapping[str, str], label: str, line: int, relation: Mapping[str, tuple[str, str]]) -> tuple[float | None, list[Problem]]:
    """A row's value (None if not a finite number) and the problems of its value, unit, basis,
    source and segment."""
    problems: list[Problem] = []
    try:
        value: float | None = float(rec["value"])
        if not math.isfinite(value):  # type: ignore[arg-type]
            raise ValueError
    except ValueError:
        return None, [Problem(label, "value", f"{rec['value']!r} is not a finite number (RMB million, no thousands separators)", line)]
    if rec["unit"] not in HISTORY_UNITS:
        problems.append(Problem(label, "unit", f"{rec['unit']!r} is not one of {', '.join(HISTORY_UNITS)}", line))
    if rec["basis"] not in BASES:
        problems.append(Problem(label, "basis", f"{rec['basis']!r} is not one of {', '.join(BASES)}", line))
    if not rec["source"].strip():
        problems.append(Problem(label, "source", "every row needs a source", line))
    if rec["segment"].strip() not in relation:
        problems.append(Problem(label, "segment", f"{rec['segment'].strip()!r} is not in segment_map.csv; add it there with its relation", line))
    return value, problems


def load_history(directory: Path, root: Path | None = None) -> History:
    """Read and validate ``reported.csv`` and ``segment_map.csv`` in ``directory``."""
    root = root or directory.parent
    rel = lambda p: str(p.relative_to(root)) if p.is_relative_to(root) else str(p)  # noqa: E731
    map_path, rep_path = directory / "segment_map.csv", directory / "reported.csv"
    problems: list[Problem] = []

    relation: dict[str, tuple[str, str]] = {}
    for line, rec in _read_csv(map_path, MAP_COLUMNS, rel(map_path)):
        if rec["relation"] not in RELATIONS:
            problems.append(Problem(rel(map_path), "relation", f"{rec['relation']!r} is not one of {', '.join(RELATIONS)}", line))
        if rec["structure"] not in STRUCTURES:
            problems.append(Problem(rel(map_path), "structure", f"{rec['structure']!r} is not one of {', '.join(STRUCTURES)}", line))
        if rec["segment"] in relation:
            problems.append(Problem(rel(map_path), "segment", f"duplicate segment {rec['segment']!r}", line))
        relation[rec["segment"]] = (rec["model_series_prefix"].strip(), rec["relation"])

    rows: list[Row] = []
    row_file: list[str] = []  # the file each row came from
    seen: dict[tuple[str, str, str], tuple[str, int]] = {}
    # earnings.csv (optional): below-EBITA lines, share counts and net cash, same columns and
    # rules as reported.csv; a key may not appear in both files.
    extra = directory / EARNINGS_CSV
    files = [rep_path] + ([extra] if extra.exists() else [])
    records = [(rel(f), line, rec) for f in files for line, rec in _read_csv(f, REPORTED_COLUMNS, rel(f))]
    for label, line, rec in records:
        key = (rec["period"].strip(), rec["segment"].strip(), rec["metric"].strip())
        try:
            _period_key(key[0])
        except PeriodError:
            problems.append(Problem(label, "period", f"{key[0]!r} is not a period like FY2026Q2 or FY2026", line))
            continue
        value, errs = check_fields(rec, label, line, relation)
        problems += errs
        if value is None:
            continue
        if key in seen:
            where = "" if seen[key][0] == label else f" of {seen[key][0]}"
            problems.append(Problem(label, "period,segment,metric", f"duplicate row {key} (first on line {seen[key][1]}{where})", line))
            continue
        seen[key] = (label, line)
        rows.append(Row(*key, value, rec["unit"], rec["basis"], rec["source"], rec["note"], line))
        row_file.append(label)
    for f in files:  # sign, size and consistency checks, each file's rows under its own name
        problems += check_rows([r for r, lab in zip(rows, row_file) if lab == rel(f)], relation, rel(f))
    if any(p.level == "error" for p in problems):
        raise InputError(problems)

    quarterly: dict[str, dict[Quarter, Row]] = {}
    annual: dict[str, dict[int, Row]] = {}
    for row in rows:
        prefix, rel_kind = relation[row.segment]
        series = SERIES_OF_METRIC.get((prefix, row.metric))
        if rel_kind != "equals" or series is None:
            continue
        kind, when = _period_key(row.period)
        target = annual if kind == "annual" else quarterly
        target.setdefault(series, {})[when] = row  # type: ignore[index]
    if "group.revenue" not in quarterly:
        raise InputError.single(rel(rep_path), "Consolidated,revenue", "no quarter of reported group revenue: the model cannot tell where history ends")
    return History(
        rows=tuple(rows),
        quarterly=MappingProxyType({k: MappingProxyType(v) for k, v in quarterly.items()}),
        annual=MappingProxyType({k: MappingProxyType(v) for k, v in annual.items()}),
        segment_relation=MappingProxyType(relation),
        warnings=tuple(problems),
    )

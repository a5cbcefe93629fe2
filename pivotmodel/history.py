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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np

from .earnings_series import EARNINGS_CSV, EARNINGS_METRICS
from .errors import InputError, Problem
from .history_checks import check_jump, check_rows, check_text
from .periods import PeriodError, Quarter, parse_quarter
from .schema import GROUP, SEEDABLE, SEGMENTS

__all__ = [
    "History",
    "Row",
    "load_history",
    "with_estimates",
    "seed_estimate_rows",
    "SERIES_OF_METRIC",
    "REPORTED_COLUMNS",
    "ESTIMATE_COLUMNS",
    "GAP_ESTIMATED_SERIES",
]

REPORTED_COLUMNS = ("period", "segment", "metric", "value", "unit", "basis", "source", "note")
# history/estimates.csv (optional): unreported past figures, estimated by a written rule from reported
# ones; they stand only where a run needs a quarter that is not reported (an as-of run's base quarters)
ESTIMATES_CSV = "estimates.csv"
ESTIMATE_COLUMNS = (*REPORTED_COLUMNS, "spread", "valid_from")
MAP_COLUMNS = ("segment", "structure", "model_series_prefix", "relation", "note")
BASES = ("reported", "derived", "secondary")
# reported lines with a quarter whose release figure is not in the stored pages (FY2026Q3 non-GAAP net
# income): an estimates.csv row stands for it, marked "(e)" in tables, until the figure is reported
GAP_ESTIMATED_SERIES = frozenset({"group.non_gaap_net_income"})
# series whose unreported past quarters take the estimate (History.value_or_estimate): the seedable
# sub-lines, those the model derives from them in its base quarters, and the gaps above
ESTIMATED_SERIES = frozenset(
    {
        *SEEDABLE,
        *GAP_ESTIMATED_SERIES,
        "china_ecommerce.quick_commerce_orders",
        "china_ecommerce.other_revenue",
        "cloud.external_revenue",
        "cloud.internal_revenue",
        "cloud.other_external_revenue",
    }
)
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
    # sub-lines Alibaba does not report in RMB: rows of estimates.csv (pivotmodel update carries them on)
    ("china_ecommerce", "quick_commerce_adjusted_ebita"): "china_ecommerce.quick_commerce_ebita",
    ("china_ecommerce", "quick_commerce_orders"): "china_ecommerce.quick_commerce_orders",
    ("china_ecommerce", "other_revenue"): "china_ecommerce.other_revenue",
    ("cloud", "external_customer_revenue"): "cloud.external_revenue",
    ("cloud", "internal_customer_revenue"): "cloud.internal_revenue",
    ("cloud", "other_external_revenue"): "cloud.other_external_revenue",
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
    spread: float = math.nan  # estimates: the +- half-width, in the row's unit
    valid_from: str = ""  # estimates: the date (ISO) from which the estimate could have been written


@dataclass(frozen=True)
class History:
    """Reported rows, indexed by model series; immutable once loaded."""

    rows: tuple[Row, ...]
    quarterly: Mapping[str, Mapping[Quarter, Row]]
    annual: Mapping[str, Mapping[int, Row]]
    segment_relation: Mapping[str, tuple[str, str]]  # segment -> (prefix, relation)
    warnings: tuple[Problem, ...] = ()  # implausible but possible figures (history_checks)
    estimates: Mapping[str, Mapping[Quarter, Row]] = field(default_factory=lambda: MappingProxyType({}))
    on_estimates: tuple[tuple[str, Row], ...] = ()  # (series, row) an as-of run took from estimates.csv
    placeholders: tuple[str, ...] = ()  # segments a per-segment backtest run filled with placeholders (not scored)
    perimeter: tuple = ()  # declared disposals (history/perimeter.csv): pivotmodel.perimeter.Change rows
    restated: tuple = ()  # the disposals an as-of run took out of its base quarters (like-for-like)
    perimeter_kept: tuple = ()  # the disposals in its base it left in: not yet announced as of its quarter
    _rows_cache: dict = field(default_factory=dict, compare=False, repr=False)

    def row(self, series: str, quarters: tuple[Quarter, ...]) -> np.ndarray:
        """Reported values of ``series`` over ``quarters`` (NaN where not reported), built once
        per history and read-only (the engine copies what it writes)."""
        key = (series, quarters)
        hit = self._rows_cache.get(key)
        if hit is None:
            hit = np.array([self.value_or_estimate(series, q) for q in quarters], dtype=float)
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

    def value_or_estimate(self, series: str, quarter: Quarter) -> float:
        """The reported value; for a sub-line Alibaba does not report in RMB (quick-commerce
        EBITA, CMR, AI revenue, external cloud revenue: ``ESTIMATED_SERIES``) the estimate where
        it is not reported, so a past quarter's estimate stays in the model's history when the
        base window moves on."""
        v = self.value(series, quarter)
        if math.isnan(v) and series in ESTIMATED_SERIES:
            row = self.estimates.get(series, {}).get(quarter)
            return math.nan if row is None else row.value
        return v

    def estimated_cells(self) -> dict[tuple[str, Quarter], Row]:
        """(series, quarter) -> the ``estimates.csv`` row the model's history takes there: every
        estimate of an ``ESTIMATED_SERIES`` quarter that is not reported (:meth:`value_or_estimate`)."""
        return {
            (series, q): row
            for series, rows in self.estimates.items()
            if series in ESTIMATED_SERIES
            for q, row in rows.items()
            if math.isnan(self.value(series, q))
        }

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


def check_fields(
    rec: Mapping[str, str], label: str, line: int, relation: Mapping[str, tuple[str, str]]
) -> tuple[float | None, list[Problem]]:
    """A row's value (None if not a finite number) and the problems of its value, unit, basis,
    source and segment."""
    problems: list[Problem] = check_text(
        rec, label, line
    )  # metric, its unit, plain ASCII number, no control characters
    try:
        value: float | None = float(rec["value"])
        if not math.isfinite(value):  # type: ignore[arg-type]
            raise ValueError
    except ValueError:
        return None, [
            Problem(
                label, "value", f"{rec['value']!r} is not a finite number (RMB million, no thousands separators)", line
            )
        ]
    if any(p.key == "value" for p in problems):
        return None, problems
    told = {p.key for p in problems}  # a cell already found wrong is not judged again
    if rec["unit"] not in HISTORY_UNITS and "unit" not in told:
        problems.append(Problem(label, "unit", f"{rec['unit']!r} is not one of {', '.join(HISTORY_UNITS)}", line))
    if rec["basis"] not in BASES and "basis" not in told:
        problems.append(Problem(label, "basis", f"{rec['basis']!r} is not one of {', '.join(BASES)}", line))
    if not rec["source"].strip():
        problems.append(Problem(label, "source", "every row needs a source", line))
    if rec["segment"].strip() not in relation and "segment" not in told:
        problems.append(
            Problem(
                label,
                "segment",
                f"{rec['segment'].strip()!r} is not in segment_map.csv; add it there with its relation",
                line,
            )
        )
    return value, problems


def _read_segment_map(
    map_path: Path, rel: Callable[[Path], str], problems: list[Problem]
) -> dict[str, tuple[str, str]]:
    """Read segment_map.csv: segment -> (model series prefix, relation), reporting bad rows."""
    relation: dict[str, tuple[str, str]] = {}
    for line, rec in _read_csv(map_path, MAP_COLUMNS, rel(map_path)):
        if rec["relation"] not in RELATIONS:
            problems.append(
                Problem(rel(map_path), "relation", f"{rec['relation']!r} is not one of {', '.join(RELATIONS)}", line)
            )
        if rec["structure"] not in STRUCTURES:
            problems.append(
                Problem(rel(map_path), "structure", f"{rec['structure']!r} is not one of {', '.join(STRUCTURES)}", line)
            )
        if rec["segment"] in relation:
            problems.append(Problem(rel(map_path), "segment", f"duplicate segment {rec['segment']!r}", line))
        relation[rec["segment"]] = (rec["model_series_prefix"].strip(), rec["relation"])
    return relation


def load_history(directory: Path, root: Path | None = None) -> History:
    """Read and validate ``reported.csv`` and ``segment_map.csv`` in ``directory``."""
    root = root or directory.parent
    rel = lambda p: str(p.relative_to(root)) if p.is_relative_to(root) else str(p)  # noqa: E731
    map_path, rep_path = directory / "segment_map.csv", directory / "reported.csv"
    problems: list[Problem] = []

    relation = _read_segment_map(map_path, rel, problems)

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
            problems.append(
                Problem(
                    label, "period,segment,metric", f"duplicate row {key} (first on line {seen[key][1]}{where})", line
                )
            )
            continue
        seen[key] = (label, line)
        rows.append(Row(*key, value, rec["unit"], rec["basis"], rec["source"], rec["note"], line))
        row_file.append(label)
    # a quarter typed far past the others: the one headline problem, alone
    jump = check_jump([r for r, lab in zip(rows, row_file) if lab == rel(rep_path)], rel(rep_path))
    if jump:
        raise InputError(jump + problems)
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
    estimates, errs = _load_estimates(directory / ESTIMATES_CSV, rel, relation, seen)
    problems += errs
    perimeter, errs = _load_perimeter(directory, rel, relation, quarterly, estimates)
    problems += errs
    if any(p.level == "error" for p in problems):
        raise InputError(problems)
    if "group.revenue" not in quarterly:
        raise InputError.single(
            rel(rep_path),
            "Consolidated,revenue",
            "no quarter of reported group revenue: the model cannot tell where history ends",
        )
    return History(
        rows=tuple(rows),
        quarterly=MappingProxyType({k: MappingProxyType(v) for k, v in quarterly.items()}),
        annual=MappingProxyType({k: MappingProxyType(v) for k, v in annual.items()}),
        segment_relation=MappingProxyType(relation),
        warnings=tuple(problems),
        estimates=MappingProxyType({k: MappingProxyType(v) for k, v in estimates.items()}),
        perimeter=perimeter,
    )


def _load_perimeter(directory: Path, rel, relation, quarterly, estimates) -> tuple[tuple, list[Problem]]:
    """``perimeter.csv`` (:mod:`pivotmodel.perimeter`): each disposed revenue checked against the
    segment's reported (else estimated) figure in its quarter."""
    from .perimeter import PERIMETER_CSV, load_perimeter

    def value_of(series: str, q: Quarter) -> float:
        row = quarterly.get(series, {}).get(q) or estimates.get(series, {}).get(q)
        return math.nan if row is None else row.value

    return load_perimeter(directory / PERIMETER_CSV, rel, relation, value_of)


def _spread_and_date(rec: dict[str, str], label: str, line: int, errs: list[Problem]) -> float:
    """Check an estimate row's spread and valid_from, appending problems; return the spread."""
    import datetime

    spread = math.nan
    try:
        spread = float(rec["spread"])
        if not math.isfinite(spread) or spread < 0:
            raise ValueError
    except ValueError:
        errs.append(
            Problem(
                label,
                "spread",
                f"{rec['spread']!r} is not a number >= 0 (the +- half-width, in the row's unit)",
                line,
            )
        )
    try:
        datetime.date.fromisoformat(rec["valid_from"])
    except ValueError:
        errs.append(
            Problem(
                label,
                "valid_from",
                f"{rec['valid_from']!r} is not a date like 2026-05-20 (when the "
                "estimate could first have been written)",
                line,
            )
        )
    return spread


def _load_estimates(
    path: Path, rel, relation: Mapping[str, tuple[str, str]], reported: Mapping[tuple[str, str, str], tuple[str, int]]
) -> tuple[dict, list[Problem]]:
    """``estimates.csv`` by model series and quarter: every row needs basis ``estimate``, a source,
    a spread >= 0 and a ``valid_from`` date, and may not repeat a reported key (the reported row wins:
    the estimate must be removed when the figure is reported)."""
    if not path.exists():
        return {}, []
    label = rel(path)
    out: dict[str, dict[Quarter, Row]] = {}
    problems: list[Problem] = []
    seen: set[tuple[str, str, str]] = set()
    for line, rec in _read_csv(path, ESTIMATE_COLUMNS, label):
        rec = {k: (v or "").strip() for k, v in rec.items()}
        key = (rec["period"], rec["segment"], rec["metric"])
        value, errs = check_fields(
            {**rec, "basis": "reported" if rec["basis"] == "estimate" else rec["basis"]}, label, line, relation
        )
        if rec["basis"] != "estimate":
            errs.append(
                Problem(
                    label,
                    "basis",
                    f"{rec['basis']!r}: every row of {ESTIMATES_CSV} has basis estimate "
                    "(reported, derived and secondary rows go in reported.csv)",
                    line,
                )
            )
        try:
            kind, when = _period_key(key[0])
            if kind != "quarter":
                raise PeriodError("annual")
        except PeriodError:
            errs.append(Problem(label, "period", f"{key[0]!r} is not a quarter like FY2025Q3", line))
        spread = _spread_and_date(rec, label, line, errs)
        if key in reported:
            errs.append(
                Problem(
                    label,
                    "period,segment,metric",
                    f"{key} is reported ({reported[key][0]} line {reported[key][1]}): remove the estimate",
                    line,
                )
            )
        if key in seen:
            errs.append(Problem(label, "period,segment,metric", f"duplicate row {key}", line))
        seen.add(key)
        problems += errs
        if errs or value is None:
            continue
        prefix, kind_rel = relation[key[1]]
        series = SERIES_OF_METRIC.get((prefix, key[2]))
        if kind_rel != "equals" or series is None:
            problems.append(
                Problem(
                    label,
                    "segment,metric",
                    f"{key[1]} {key[2]} is not a model series "
                    "(segment_map.csv relation equals, and a metric the model reads)",
                    line,
                )
            )
            continue
        row = Row(*key, value, rec["unit"], "estimate", rec["source"], rec["note"], line, spread, rec["valid_from"])
        out.setdefault(series, {})[when] = row  # type: ignore[index]
    return out, problems


def with_estimates(history: History, rows: dict[str, dict[Quarter, Row]]) -> History:
    """``history`` with more estimate rows (series -> quarter -> Row); an estimate already in
    ``estimates.csv`` or a reported quarter wins over one given here."""
    from dataclasses import replace

    merged = {s: dict(m) for s, m in history.estimates.items()}
    for series, by_q in rows.items():
        for q, row in by_q.items():
            if q not in merged.get(series, {}) and math.isnan(history.value(series, q)):
                merged.setdefault(series, {})[q] = row
    frozen = MappingProxyType({k: MappingProxyType(v) for k, v in merged.items()})
    return replace(history, _rows_cache={}, estimates=frozen)


def seed_estimate_rows(history: History, seeds: Mapping[tuple[str, Quarter], object]) -> dict[str, dict[Quarter, Row]]:
    """Seed estimates (``<segment>.seed.<series>.<quarter>`` in the segment files) of quarters
    before the four base quarters, as estimate rows (their median; spread half the P5-P95
    width): a past quarter's estimate keeps standing for it after the window moved on."""
    first_base = history.last_quarter + -3
    out: dict[str, dict[Quarter, Row]] = {}
    for (series, q), inp in seeds.items():
        if q >= first_base or not math.isnan(history.value(series, q)):
            continue
        dist = inp.dist  # type: ignore[attr-defined]
        spread = 0.0 if dist.is_fixed else (dist.quantile(0.95) - dist.quantile(0.05)) / 2
        value, source, note, line = inp.base_value, inp.source, inp.note, inp.line or 0  # type: ignore[attr-defined]
        out.setdefault(series, {})[q] = Row(
            q.label, series, "seed estimate", value, "RMB_mn", "estimate", source, note, line, spread, ""
        )
    return out

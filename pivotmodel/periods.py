"""Fiscal quarters, fiscal and calendar years, and aggregation of quarterly series.

Alibaba's fiscal year runs April to March: ``FY2026`` is April 2025 - March 2026 and
``FY2026Q1`` is the quarter ended 30 June 2025. Calendar year ``CY2026`` is made of
``FY2026Q4`` (Jan-Mar 2026) and ``FY2027Q1``-``FY2027Q3``.

Quarterly series are numpy arrays whose last axis is the quarter axis of a
:class:`Timeline`. A year's total is the sum of its quarters; a year's share or margin is
the ratio of the year's sums (:func:`ratio_of_sums`), never an average of quarterly ratios.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Quarter",
    "Period",
    "Timeline",
    "parse_quarter",
    "parse_period",
    "ratio_of_sums",
    "PeriodError",
]

_QUARTER_RE = re.compile(r"^FY(\d{4})Q([1-4])$")
_FY_RE = re.compile(r"^FY(\d{4})$")
_CY_RE = re.compile(r"^CY(\d{4})$")


class PeriodError(ValueError):
    """A period label that cannot be read, or lies outside a timeline."""


@dataclass(frozen=True, order=True)
class Quarter:
    """A fiscal quarter; ``index`` counts quarters from FY0000Q1 so differences are lags."""

    fiscal_year: int
    q: int

    @property
    def index(self) -> int:
        return self.fiscal_year * 4 + (self.q - 1)

    @classmethod
    def from_index(cls, index: int) -> Quarter:
        return cls(index // 4, index % 4 + 1)

    @property
    def label(self) -> str:
        return f"FY{self.fiscal_year}Q{self.q}"

    @property
    def calendar_year(self) -> int:
        """Calendar year the quarter ends in (Q4 ends in March of the fiscal year)."""
        return self.fiscal_year if self.q == 4 else self.fiscal_year - 1

    @property
    def quarter_end(self) -> str:
        month_day = {1: "06-30", 2: "09-30", 3: "12-31", 4: "03-31"}[self.q]
        return f"{self.calendar_year}-{month_day}"

    def __add__(self, n: int) -> Quarter:
        return Quarter.from_index(self.index + n)

    def __str__(self) -> str:
        return self.label


def parse_quarter(label: str) -> Quarter:
    """``"FY2026Q2"`` -> Quarter(2026, 2)."""
    m = _QUARTER_RE.match(str(label).strip())
    if not m:
        raise PeriodError(f"{label!r} is not a fiscal quarter like FY2026Q2")
    return Quarter(int(m.group(1)), int(m.group(2)))


@dataclass(frozen=True)
class Period:
    """A span of fiscal quarters: a quarter, a fiscal year, a calendar year or a range."""

    label: str
    first: Quarter
    last: Quarter
    kind: str  # "quarter" | "fy" | "cy" | "range"

    def quarters(self) -> list[Quarter]:
        return [Quarter.from_index(i) for i in range(self.first.index, self.last.index + 1)]

    def shifted_years(self, years: int) -> Period:
        """The same span ``years`` fiscal years later (negative: earlier)."""
        return parse_period(_shift_label(self, years))


def _shift_label(p: Period, years: int) -> str:
    if p.kind == "quarter":
        return (p.first + 4 * years).label
    if p.kind == "fy":
        return f"FY{p.first.fiscal_year + years}"
    if p.kind == "cy":
        return f"CY{p.first.calendar_year + years}"
    return f"{(p.first + 4 * years).label}:{(p.last + 4 * years).label}"


def parse_period(label: str) -> Period:
    """Read ``FY2026Q2``, ``FY2026``, ``CY2026`` or ``FY2026Q1:FY2028Q4``."""
    text = str(label).strip()
    if ":" in text:
        a, b = (parse_quarter(part) for part in text.split(":", 1))
        if b < a:
            raise PeriodError(f"range {text!r} ends before it starts")
        return Period(text, a, b, "range")
    if _QUARTER_RE.match(text):
        q = parse_quarter(text)
        return Period(text, q, q, "quarter")
    m = _FY_RE.match(text)
    if m:
        fy = int(m.group(1))
        return Period(text, Quarter(fy, 1), Quarter(fy, 4), "fy")
    m = _CY_RE.match(text)
    if m:
        cy = int(m.group(1))
        # Jan-Mar of CY is Q4 of FY=cy; Apr-Dec are Q1-Q3 of FY=cy+1.
        return Period(text, Quarter(cy, 4), Quarter(cy + 1, 3), "cy")
    raise PeriodError(
        f"{label!r} is not a period: use a quarter (FY2026Q2), a fiscal year (FY2026), "
        "a calendar year (CY2026) or a range (FY2026Q1:FY2028Q4)"
    )


@dataclass(frozen=True)
class Timeline:
    """Consecutive fiscal quarters ``first`` .. ``last``; the quarter axis of every series."""

    first: Quarter
    last: Quarter

    @classmethod
    def between(cls, first: str | Quarter, last: str | Quarter) -> Timeline:
        a = first if isinstance(first, Quarter) else parse_quarter(first)
        b = last if isinstance(last, Quarter) else parse_quarter(last)
        if b < a:
            raise PeriodError(f"timeline ends ({b}) before it starts ({a})")
        return cls(a, b)

    def __len__(self) -> int:
        return self.last.index - self.first.index + 1

    @property
    def quarters(self) -> list[Quarter]:
        return [self.first + i for i in range(len(self))]

    @property
    def labels(self) -> list[str]:
        return [q.label for q in self.quarters]

    def position(self, q: Quarter) -> int:
        if not (self.first <= q <= self.last):
            raise PeriodError(f"{q} is outside the timeline {self.first}..{self.last}")
        return q.index - self.first.index

    def covers(self, period: Period) -> bool:
        return self.first <= period.first and period.last <= self.last

    def columns(self, period: Period) -> slice:
        """Slice of the quarter axis for a period; every period is contiguous."""
        if not self.covers(period):
            raise PeriodError(f"{period.label} is outside the model's timeline {self.first}..{self.last}")
        return slice(self.position(period.first), self.position(period.last) + 1)

    def fiscal_years(self, complete: bool = True) -> list[int]:
        years = sorted({q.fiscal_year for q in self.quarters})
        if complete:
            years = [y for y in years if self.covers(parse_period(f"FY{y}"))]
        return years

    def calendar_years(self, complete: bool = True) -> list[int]:
        years = sorted({q.calendar_year for q in self.quarters})
        if complete:
            years = [y for y in years if self.covers(parse_period(f"CY{y}"))]
        return years

    def year_periods(self, basis: str = "fy") -> list[Period]:
        if basis == "fy":
            return [parse_period(f"FY{y}") for y in self.fiscal_years()]
        if basis == "cy":
            return [parse_period(f"CY{y}") for y in self.calendar_years()]
        raise PeriodError(f"year basis must be 'fy' or 'cy', not {basis!r}")

    def total(self, series: np.ndarray, period: Period) -> np.ndarray:
        """Sum of a series over a period along the last (quarter) axis.

        NaN in any quarter of the period (a gap in reported history) makes the total NaN:
        a partial year is never passed off as a full one.
        """
        arr = np.asarray(series, dtype=float)
        cols = self.columns(period)
        # Column by column, in quarter order: a few times faster than a strided reduce on
        # short spans, and each draw's sum is the same whatever the number of draws.
        out = arr[..., cols.start].copy()
        for j in range(cols.start + 1, cols.stop):
            out += arr[..., j]
        return out

    def totals(self, series: np.ndarray, periods: Iterable[Period]) -> np.ndarray:
        """Totals for several periods, stacked on a new last axis."""
        return np.stack([self.total(series, p) for p in periods], axis=-1)


def ratio_of_sums(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``sum(numerator) / sum(denominator)`` already summed; NaN where the denominator is 0."""
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=(den != 0) & ~np.isnan(den))
    return out

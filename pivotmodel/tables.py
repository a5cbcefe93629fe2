"""Period tables of a projection: segments by fiscal or calendar year, as DataFrames.

Money is shown in RMB bn (or US$ bn, each quarter translated at its own rate); shares
and margins are ratios of the year's sums. A column is marked ``A`` when every quarter
of the year is reported, ``P`` when any quarter is projected. Basis ``quarter`` shows the
last four reported quarters, then the projected ones (the boundary at a glance).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .earnings_table import earnings_rows
from .model import Projection
from .periods import Period, parse_period
from .schema import SEGMENT_IDS, SEGMENT_LABELS, Child

__all__ = ["segment_table", "SEGMENT_NAMES", "year_columns", "child_lines"]

SEGMENT_NAMES = SEGMENT_LABELS  # segment id (and "group") -> label, from the registry


def year_columns(p: Projection, basis: str = "fy") -> list[tuple[str, Period]]:
    """(column label, period) for every complete year: ``FY2026 (A)`` reported, ``FY2028 (P)``
    projected, ``CY2026 (1A+3P)`` a year that is part reported, part projected; with basis
    ``quarter``, the last four reported quarters and then every projected one."""
    if basis == "quarter":
        first = p.timeline.position(p.first_projected)
        return [
            (f"{q.label} ({'P' if q >= p.first_projected else 'A'})", parse_period(q.label))
            for q in p.timeline.quarters[max(first - 4, 0) :]
        ]
    return [
        (f"{period.label} ({actual_tag(period, p.first_projected)})", period)
        for period in p.timeline.year_periods(basis)
    ]


def actual_tag(period: Period, first_projected) -> str:
    """``A`` (all quarters reported), ``P`` (all projected) or ``1A+3P``."""
    first, last, fp = period.first.index, period.last.index, first_projected.index
    projected = max(0, last - max(first, fp) + 1)
    reported = last - first + 1 - projected
    return "P" if not reported else "A" if not projected else f"{reported}A+{projected}P"


def child_lines(children: tuple[Child, ...], parent: str) -> list[tuple[str, str]]:
    """(row label, series) for the children of ``parent`` and its residual: revenue and
    adjusted EBITA each (a loss-path child: EBITA only; its revenue stays in the residual)."""
    mine = [c for c in children if c.parent == parent]
    if not mine:
        return []
    rows = [
        (f"  {c.label}: {'revenue' if line == 'revenue' else 'adj. EBITA'}", f"{c.id}.{line}")
        for c in mine
        for line in c.lines
    ]
    return rows + [
        ("  Residual: revenue", f"{parent}.residual_revenue"),
        ("  Residual: adj. EBITA", f"{parent}.residual_ebita"),
    ]


def _money(p: Projection, name: str, period: Period, currency: str) -> float:
    if currency == "usd":
        return float(np.median(p.total_usd(name, period))) / 1000.0
    return float(np.median(p.total(name, period))) / 1000.0


def segment_table(
    p: Projection, basis: str = "fy", currency: str = "rmb", children: tuple[Child, ...] = ()
) -> pd.DataFrame:
    """Revenue, share of group revenue, adjusted EBITA and margin by segment, and under a segment
    with declared ``children`` each child's revenue and adjusted EBITA and the residual's; group
    capex, depreciation and FCF. With several draws each cell is the median across draws."""
    unit = "US$ bn" if currency == "usd" else "RMB bn"
    cols = year_columns(p, basis)
    rows: dict[tuple[str, str], list[float]] = {}

    def add(segment: str, item: str, fn) -> None:
        rows[(SEGMENT_NAMES[segment], item)] = [fn(period) for _, period in cols]

    med = lambda x: float(np.median(x))  # noqa: E731
    for seg in (*SEGMENT_IDS, "group"):
        add(seg, f"Revenue ({unit})", lambda per, s=seg: _money(p, f"{s}.revenue", per, currency))
        if seg != "group":
            add(
                seg,
                "Share of group revenue (ratio)",
                lambda per, s=seg: med(p.share(f"{s}.revenue", "group.revenue", per)),
            )
        add(seg, f"Adjusted EBITA ({unit})", lambda per, s=seg: _money(p, f"{s}.adjusted_ebita", per, currency))
        add(
            seg,
            "Adjusted EBITA margin (ratio)",
            lambda per, s=seg: med(p.share(f"{s}.adjusted_ebita", f"{s}.revenue", per)),
        )
        for label, name in child_lines(children, seg):
            add(seg, f"{label} ({unit})", lambda per, n=name: _money(p, n, per, currency))
    add("group", f"Inter-segment elimination ({unit})", lambda per: _money(p, "group.elimination", per, currency))
    add("group", f"Capex ({unit})", lambda per: _money(p, "group.capex", per, currency))
    add("group", f"Depreciation ({unit})", lambda per: _money(p, "group.depreciation", per, currency))
    add("group", f"Free cash flow, reported / projected ({unit})", lambda per: _money(p, "group.fcf", per, currency))
    add(
        "group",
        f"FCF proxy: EBITDA - capex - cash tax ({unit})",
        lambda per: _money(p, "group.fcf_proxy", per, currency),
    )
    for item, fn in earnings_rows(p, currency):  # below adjusted EBITA (pivotmodel.earnings_table)
        add("group", item, fn)
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=[c for c, _ in cols])
    frame.index = pd.MultiIndex.from_tuples(frame.index, names=["segment", "item"])
    return frame

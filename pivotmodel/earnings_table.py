"""Rows of the project table below adjusted EBITA: net income, non-GAAP net income, earnings
per ADS and year-end net cash (each cell the median across draws); and the bridge from the last
reported year to a projected one (:func:`bridge_table`).

Net income attributable is the sum of the year's quarters, on the ordinary-shareholder basis of
the EPS numerator (the 20-F's annual row is on the same basis); the 20-F's line before the
accretion of mezzanine equity ("attributable to Alibaba Group Holding Limited") is shown beneath
it, labelled.

Earnings per ADS in a reported period are the figures as reported (:func:`reported_value`): a
fiscal year's annual row, a quarter's row, never a sum of quarters or a model figure; a reported
period without the row is n/a. :func:`marked_cells` names the reported cells that are not as Alibaba
printed them, which the table marks: "(d)" a derived row (arithmetic on reported figures, e.g. a
per-share figure x 8), "(e)" a sum over quarters one of which is an estimate (``history/estimates.csv``:
a release figure not in the stored pages, e.g. FY2026Q3 non-GAAP net income).

Money in RMB bn (or US$ bn, each quarter at its own rate); projected EPS per ADS is the sum of
the quarters' EPS (RMB, or US$ at each quarter's rate); net cash is the level at the year's last
quarter, translated at that quarter's rate.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from .earnings_series import QUARTER_SUMS
from .history import History, Row
from .model import Projection
from .periods import Period, parse_period

__all__ = [
    "earnings_rows",
    "bridge_table",
    "bridge_marks",
    "BRIDGE_LINES",
    "reported_value",
    "marked_cells",
    "estimated_quarters",
    "reported_rows",
    "summed_rows",
]


def reported_value(p: Projection, name: str, per: Period, usd: bool = False) -> float:
    """``name`` in a reported period as Alibaba printed it: a fiscal year's annual row (US$: at the
    year's average rate), a quarter's row (US$: at the quarter's rate); NaN for any other period
    (a calendar year) or a period without the row."""
    if per.kind == "quarter":
        col = p.timeline.position(per.first)
        value = float(p[name][0, col]) if name in p.series else float("nan")
        return value / float(p["group.fx_usd_rmb"][0, col]) if usd else value
    annual = p.annual.get((name, per.first.fiscal_year)) if per.kind == "fy" else None
    if annual is None or per.last >= p.first_projected:
        return float("nan")
    return annual / float(np.median(p.total("group.fx_usd_rmb", per))) if usd else annual


def reported_rows(currency: str = "rmb") -> dict[str, str]:
    """Row label -> series, for the rows whose reported cells are history rows as printed (EPS per
    ADS, and the reported-only lines); money rows in RMB bn (US$ bn)."""
    usd = currency == "usd"
    unit, per_ads = ("US$ bn", "US$ per ADS") if usd else ("RMB bn", "RMB per ADS")
    return {
        f"  20-F line, before mezzanine accretion ({unit})": "group.net_income_attributable_company",
        f"Non-GAAP diluted EPS ({per_ads})": "group.eps_non_gaap_ads",
        f"Diluted EPS, GAAP ({per_ads})": "group.eps_gaap_ads",
        f"Basic EPS, GAAP, reported only ({per_ads})": "group.eps_basic_ads",
    }


def earnings_rows(p: Projection, currency: str = "rmb") -> list[tuple[str, Callable[[Period], float]]]:
    usd = currency == "usd"
    unit = "US$ bn" if usd else "RMB bn"
    med = lambda x: float(np.median(x))  # noqa: E731

    def money(name: str) -> Callable[[Period], float]:
        return lambda per: med(p.total_usd(name, per) if usd else p.total(name, per)) / 1000.0

    def year_end(per: Period) -> float:
        col = p.timeline.position(per.last)
        level = p["group.net_cash"][:, col]
        return med(level / p["group.fx_usd_rmb"][:, col] if usd else level) / 1000.0

    def shown(name: str, scale: float) -> Callable[[Period], float]:
        """The reported figure in a reported period; the model's median in a projected one
        (a reported-only line: n/a)."""

        def cell(per: Period) -> float:
            if per.last < p.first_projected:
                return reported_value(p, name, per, usd) / scale
            if name not in p.series:
                return float("nan")
            return med(p.total_usd(name, per) if usd else p.total(name, per)) / scale

        return cell

    rows, summed = reported_rows(currency), list(summed_rows(currency).items())
    return [
        *[(label, money(name)) for label, name in summed[:2]],
        *[(label, shown(name, 1000.0)) for label, name in rows.items() if name.startswith("group.net_income")],
        *[(label, money(name)) for label, name in summed[2:]],
        *[(label, shown(name, 1.0)) for label, name in rows.items() if "eps" in name],
        (f"Net cash at year end ({unit})", year_end),
    ]


def summed_rows(currency: str = "rmb") -> dict[str, str]:
    """Row label -> series, for the money rows whose cells are sums of quarters (a reported year's
    annual row where it has one and the series is not in ``QUARTER_SUMS``)."""
    unit = "US$ bn" if currency == "usd" else "RMB bn"
    return {
        f"Net income, GAAP ({unit})": "group.net_income",
        f"Net income attributable, GAAP ({unit})": "group.net_income_attributable",
        f"Non-GAAP net income ({unit})": "group.non_gaap_net_income",
    }


def marked_cells(
    history: History, columns: list[tuple[str, Period]], currency: str = "rmb"
) -> list[tuple[str, str, str, str]]:
    """(row label, column label, mark, note) for every reported cell not as Alibaba printed it:
    ``d`` a row of :func:`reported_rows` showing a ``derived`` history row (the row's note); ``e`` a
    row of :func:`summed_rows` whose sum takes an estimate for a quarter (the quarter, its value,
    range and line in ``history/estimates.csv``)."""
    out = []
    for label, name in reported_rows(currency).items():
        for col, per in columns:
            if per.kind == "fy":
                row = history.annual.get(name, {}).get(per.first.fiscal_year)
            elif per.kind == "quarter":
                row = history.quarterly.get(name, {}).get(per.first)
            else:
                row = None
            if row is not None and row.basis == "derived" and per.last <= history.last_quarter:
                out.append((label, col, "d", row.note))
    for label, name in summed_rows(currency).items():
        for col, per in columns:
            rows = estimated_quarters(history, name, per)
            if rows:
                out.append((label, col, "e", "; ".join(_estimate_note(r) for r in rows)))
    return out


def estimated_quarters(history: History, name: str, per: Period) -> list[Row]:
    """The ``estimates.csv`` rows a reported period's total of ``name`` takes (none where the period
    runs past the history, or is a fiscal year shown by its reported annual row)."""
    if per.last > history.last_quarter:
        return []
    if per.kind == "fy" and name not in QUARTER_SUMS and per.first.fiscal_year in history.annual.get(name, {}):
        return []
    cells = history.estimated_cells()
    return [cells[(name, q)] for q in per.quarters() if (name, q) in cells]


def _estimate_note(row: Row) -> str:
    """``FY2026Q3 is an estimate, not the release figure: 16.2 +- 10.5 RMB bn (5.7 to 26.7;
    history/estimates.csv line 16)``."""
    v, s = row.value / 1000.0, row.spread / 1000.0
    return (
        f"{row.period} is an estimate, not the release figure: {v:,.1f} +- {s:,.1f} RMB bn ({v - s:,.1f} to "
        f"{v + s:,.1f}; history/estimates.csv line {row.line})"
    )


# The bridge from a reported year to a projected one, line by line (series, label); a derived
# row is a function of the rows above it and says so in its label.
BRIDGE_LINES: tuple[tuple[str, str], ...] = (
    ("china_ecommerce.adjusted_ebita", "China E-commerce adjusted EBITA"),
    ("cloud.adjusted_ebita", "Cloud adjusted EBITA"),
    ("international.adjusted_ebita", "AIDC adjusted EBITA"),
    ("all_others.adjusted_ebita", "All others adjusted EBITA"),
    ("=unallocated", "Unallocated and eliminations (derived: group - segments)"),
    ("group.adjusted_ebita", "Group adjusted EBITA"),
    ("group.sbc", "Share-based compensation"),
    ("group.amortisation", "Amortisation and impairment of intangibles"),
    ("group.goodwill_impairment", "Impairment of goodwill"),
    ("group.income_from_operations", "Income from operations"),
    ("group.interest_investment_income", "Interest and investment income"),
    ("group.investment_gains", "  of which investment gains (projected; not reported apart)"),
    ("group.interest_expense", "Interest expense"),
    ("group.other_income", "Other income, net"),
    ("=below_operations", "Interest expense + other income (derived: before tax - operations - interest/investment)"),
    ("group.income_before_tax", "Income before tax"),
    ("group.income_tax", "Income tax"),
    ("group.equity_method", "Share of results of equity method investees"),
    ("group.net_income", "Net income"),
    ("group.nci", "NCI and mezzanine equity"),
    ("group.net_income_attributable", "Net income attributable to ordinary shareholders"),
    ("group.non_gaap_adjustments", "Non-GAAP adjustments"),
    ("group.non_gaap_net_income", "Non-GAAP net income"),
    ("=non_gaap_attributable", "Non-GAAP net income attributable (derived: + NCI line)"),
    ("group.diluted_shares", "Diluted shares at year end (m)"),
    ("group.eps_gaap_ads", "Diluted EPS, GAAP (RMB per ADS)"),
    ("group.eps_non_gaap_ads", "Diluted EPS, non-GAAP (RMB per ADS)"),
)


def bridge_table(p: Projection, start: str, end: str) -> pd.DataFrame:
    """``start`` (a reported year) to ``end`` (a projected one), line by line: money in RMB bn,
    shares in millions, EPS in RMB per ADS; the median across draws (one draw: the base case).
    A line not reported for ``start`` is NaN (shown n/a), never filled by the model; ``start``'s
    EPS is the annual figure as reported (:func:`reported_value`); its non-GAAP adjustments, where a
    quarter's line is missing, non-GAAP net income less net income (:func:`bridge_marks` says so)."""
    med = lambda x: float(np.median(x))  # noqa: E731
    cols: dict[str, dict[str, float]] = {}
    for period in (start, end):
        values: dict[str, float] = {}
        for name, _ in BRIDGE_LINES:
            if name.startswith("="):
                continue
            scale = 1.0 if name in ("group.diluted_shares", "group.eps_gaap_ads", "group.eps_non_gaap_ads") else 1000.0
            if name.startswith("group.eps_") and not p.is_projected(period):  # as reported, never a sum
                values[name] = reported_value(p, name, parse_period(period))
            else:
                values[name] = med(p.total(name, period)) / scale
        segments = sum(values[n] for n, _ in BRIDGE_LINES[:4])
        values["=unallocated"] = values["group.adjusted_ebita"] - segments
        values["=below_operations"] = (
            values["group.income_before_tax"]
            - values["group.income_from_operations"]
            - values["group.interest_investment_income"]
        )
        if np.isnan(values["group.non_gaap_adjustments"]) and not p.is_projected(period):
            # a quarter's adjustments line missing: the year's by definition (non-GAAP - GAAP net income)
            values["group.non_gaap_adjustments"] = values["group.non_gaap_net_income"] - values["group.net_income"]
        values["=non_gaap_attributable"] = values["group.non_gaap_net_income"] + values["group.nci"]
        cols[period] = values
    order = [name for name, _ in BRIDGE_LINES]
    table = pd.DataFrame({f"{start} (A)": cols[start], f"{end} (P)": cols[end]}).loc[order]
    table["change"] = table.iloc[:, 1] - table.iloc[:, 0]
    table.index = [label for _, label in BRIDGE_LINES]
    return table


# bridge lines computed from others (directly or by definition): a mark on one carries to these
_BRIDGE_FROM = {
    "group.non_gaap_adjustments": ("group.non_gaap_net_income",),
    "=non_gaap_attributable": ("group.non_gaap_net_income",),
}


def bridge_marks(history: History, start: str) -> dict[str, str]:
    """Bridge label -> note, for the lines whose ``start`` (a reported year) figure takes an estimate
    for a quarter (:func:`estimated_quarters`), directly or through a line it is computed from."""
    per = parse_period(start)
    notes = {}
    for name, _ in BRIDGE_LINES:
        if name.startswith("="):
            continue
        rows = estimated_quarters(history, name, per)
        if rows:
            notes[name] = "; ".join(_estimate_note(r) for r in rows)
    gap = any(np.isnan(history.value("group.non_gaap_adjustments", q)) for q in per.quarters())
    for name, parents in _BRIDGE_FROM.items():
        got = [notes[x] for x in parents if x in notes]
        if got and name not in notes and (gap or name != "group.non_gaap_adjustments"):
            how = " (non-GAAP net income - net income)" if name == "group.non_gaap_adjustments" else ""
            notes[name] = f"computed{how} from a line with an estimate: " + "; ".join(got)
    return {label: notes[name] for name, label in BRIDGE_LINES if name in notes}

"""Rows of the project table below adjusted EBITA: net income, non-GAAP net income, non-GAAP
diluted EPS per ADS and year-end net cash (each cell the median across draws); and the bridge
from the last reported year to a projected one (:func:`bridge_table`).

Net income attributable is the sum of the year's quarters, on the ordinary-shareholder basis of
the EPS numerator; the 20-F's annual line (FY2024-FY2025 before mezzanine-equity accretion) is
shown beneath it, labelled.

Money in RMB bn (or US$ bn, each quarter at its own rate); EPS per ADS is the sum of the
quarters' EPS (RMB, or US$ at each quarter's rate); net cash is the level at the year's last
quarter, translated at that quarter's rate.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from .model import Projection
from .periods import Period

__all__ = ["earnings_rows", "bridge_table", "BRIDGE_LINES"]


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

    def annual_line(per: Period) -> float:
        x = p.annual.get(("group.net_income_attributable", per.first.fiscal_year))
        if per.kind != "fy" or per.last >= p.first_projected or x is None:
            return float("nan")
        return x / 1000.0 / (float(np.mean(p.total("group.fx_usd_rmb", per))) if usd else 1.0)

    eps_name = "group.eps_non_gaap_ads_usd" if usd else "group.eps_non_gaap_ads"
    return [
        (f"Net income, GAAP ({unit})", money("group.net_income")),
        (f"Net income attributable, GAAP ({unit})", money("group.net_income_attributable")),
        (f"  annual report line, before mezzanine accretion ({unit})", annual_line),
        (f"Non-GAAP net income ({unit})", money("group.non_gaap_net_income")),
        (f"Non-GAAP diluted EPS ({'US$' if usd else 'RMB'} per ADS)", lambda per: med(p.total(eps_name, per))),
        (
            f"Diluted EPS, GAAP ({'US$' if usd else 'RMB'} per ADS)",
            lambda per: med(p.total_usd("group.eps_gaap_ads", per) if usd else p.total("group.eps_gaap_ads", per)),
        ),
        (f"Net cash at year end ({unit})", year_end),
    ]


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
    A line not reported for ``start`` is NaN (shown n/a), never filled by the model."""
    med = lambda x: float(np.median(x))  # noqa: E731
    cols: dict[str, dict[str, float]] = {}
    for period in (start, end):
        values: dict[str, float] = {}
        for name, _ in BRIDGE_LINES:
            if name.startswith("="):
                continue
            scale = 1.0 if name in ("group.diluted_shares", "group.eps_gaap_ads", "group.eps_non_gaap_ads") else 1000.0
            values[name] = med(p.total(name, period)) / scale
        segments = sum(values[n] for n, _ in BRIDGE_LINES[:4])
        values["=unallocated"] = values["group.adjusted_ebita"] - segments
        values["=below_operations"] = (
            values["group.income_before_tax"]
            - values["group.income_from_operations"]
            - values["group.interest_investment_income"]
        )
        values["=non_gaap_attributable"] = values["group.non_gaap_net_income"] + values["group.nci"]
        cols[period] = values
    order = [name for name, _ in BRIDGE_LINES]
    table = pd.DataFrame({f"{start} (A)": cols[start], f"{end} (P)": cols[end]}).loc[order]
    table["change"] = table.iloc[:, 1] - table.iloc[:, 0]
    table.index = [label for _, label in BRIDGE_LINES]
    return table

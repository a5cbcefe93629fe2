"""Plausibility checks on ``history/reported.csv``, the file analysts edit every quarter.

A figure typed in RMB instead of RMB million, with a digit too many or with the wrong sign
reads as a number like any other and silently changes every claim that reads it. So, per row:

* errors (the run stops): a value beyond what any Alibaba figure can be (:data:`LIMITS`, by
  unit), and a sign that the metric cannot have (:data:`NON_NEGATIVE`: revenue, capex,
  depreciation, ...; inter-segment elimination of revenue is never positive; shares in
  percent lie in [0, 100]; an exchange rate is positive);
* warnings (printed, the run goes on): a non-negative figure more than :data:`BAND` times
  away from each of its neighbouring quarters and the same quarter a year earlier (all that
  exist); a profit or cash-flow figure larger in size than the segment's revenue in the same
  period; four quarters whose sum differs from the fiscal year's own row by more than
  :data:`ANNUAL_TOLERANCE`.

Costs are not sign-checked: the file keeps each source's own sign convention for them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Protocol

from .errors import Problem

__all__ = ["check_rows", "NON_NEGATIVE", "BAND", "ANNUAL_TOLERANCE", "LIMITS"]

# Metrics that are never negative (an amount received, spent or held, or a count).
NON_NEGATIVE = frozenset({
    "revenue", "revenue_prior_year", "customer_management_revenue", "quick_commerce_revenue",
    "ai_related_product_revenue", "china_wholesale_revenue", "ecommerce_subsegment_revenue",
    "capex_purchase_of_ppe_fcf_table", "capex_total_stated", "capex_ai_cloud_stated",
    "capex_trailing_4q_ai_cloud_stated", "depreciation_and_amortization",
    "cash_and_other_liquid_investments", "sales_and_marketing_expense",
})
PERCENT_SHARES = frozenset({"share_of_consolidated_revenue_pct", "ai_revenue_share_of_external_cloud_pct"})
# Profits and cash flows: their size beyond the segment's revenue is implausible.
WITHIN_REVENUE = frozenset({
    "adjusted_ebita", "income_from_operations", "income_before_tax", "net_income",
    "net_income_attributable", "non_gaap_net_income", "free_cash_flow", "operating_cash_flow",
})
# Figures that are not a flow over the period, or not one quarter's: four of them need not
# add up to the year.
NOT_ADDITIVE = frozenset({
    "cash_and_other_liquid_investments", "capex_trailing_4q_ai_cloud_stated", "revenue_prior_year",
    "adjusted_ebita_check_sum_of_quarters",
})
# Largest absolute value by unit. Alibaba's annual revenue is about RMB 1,000,000 million, so
# 1e8 RMB million (a hundred times that) can only be a unit slip or a typo.
LIMITS = {"RMB_mn": 1e8, "pct": 1e5, "count": 1e6, "RMB_per_USD": 100.0}
BAND = 3.0  # a quarter more than 3x away from every neighbour is flagged
ANNUAL_TOLERANCE = 0.01  # four quarters vs the year's row
_QUARTER = re.compile(r"^FY(\d{4})Q([1-4])$")
_YEAR = re.compile(r"^FY(\d{4})$")


class _Row(Protocol):
    @property
    def period(self) -> str: ...
    @property
    def segment(self) -> str: ...
    @property
    def metric(self) -> str: ...
    @property
    def value(self) -> float: ...
    @property
    def unit(self) -> str: ...
    @property
    def line(self) -> int: ...


def _quarter_index(period: str) -> int | None:
    m = _QUARTER.match(period)
    return int(m[1]) * 4 + int(m[2]) - 1 if m else None


def _label(index: int) -> str:
    return f"FY{index // 4}Q{index % 4 + 1}"


def _sign_and_size(row: _Row, relation: Mapping[str, tuple[str, str]], label: str) -> list[Problem]:
    limit = LIMITS.get(row.unit)
    if limit is not None and abs(row.value) > limit:
        hint = " - is it in RMB rather than RMB million?" if row.unit == "RMB_mn" else ""
        return [Problem(label, "value", f"{row.value:g} {row.unit} for {row.period} {row.segment} {row.metric} is beyond "
                        f"any plausible figure (limit {limit:g} in absolute value){hint}", row.line)]
    eliminated = relation.get(row.segment, ("", ""))[0] == "group.elimination"
    if row.metric == "revenue" and eliminated:
        if row.value > 0:
            return [Problem(label, "value", f"{row.value:g}: inter-segment elimination of revenue is never positive "
                            "(it is subtracted from the segments' sum)", row.line)]
    elif (row.metric in NON_NEGATIVE or row.unit == "count") and row.value < 0:
        return [Problem(label, "value", f"{row.value:g}: {row.metric} is never negative ({row.period} {row.segment})", row.line)]
    if row.metric in PERCENT_SHARES and not 0 <= row.value <= 100:
        return [Problem(label, "value", f"{row.value:g}: {row.metric} is a share in percent, within [0, 100]", row.line)]
    if row.unit == "RMB_per_USD" and row.value <= 0:
        return [Problem(label, "value", f"{row.value:g}: an exchange rate (RMB per US$) is positive", row.line)]
    return []


def _against_neighbours(rows: list[_Row], label: str) -> list[Problem]:
    """Rows of one (segment, metric, unit), non-negative: each quarter against the quarter
    before, the quarter after and the same quarter a year earlier."""
    by_index = {i: r for r in rows if (i := _quarter_index(r.period)) is not None}
    out = []
    for i, row in sorted(by_index.items()):
        refs = [(j, by_index[j].value) for j in (i - 1, i + 1, i - 4) if j in by_index and by_index[j].value > 0]
        if row.value <= 0 or not refs:
            continue
        if all(not 1 / BAND <= row.value / v <= BAND for _, v in refs):
            shown = ", ".join(f"{_label(j)} {v:,.0f}" for j, v in refs)
            out.append(Problem(label, "value", f"{row.period} {row.segment} {row.metric} = {row.value:,.0f} is more than "
                               f"{BAND:g}x away from {shown}: a typo or a unit slip?", row.line, level="warn"))
    return out


def _within_revenue(rows: Iterable[_Row], label: str) -> list[Problem]:
    revenue = {(r.period, r.segment): r.value for r in rows if r.metric == "revenue" and r.unit == "RMB_mn"}
    out = []
    for r in rows:
        base = revenue.get((r.period, r.segment))
        if r.metric in WITHIN_REVENUE and r.unit == "RMB_mn" and base and abs(r.value) > abs(base):
            out.append(Problem(label, "value", f"{r.period} {r.segment} {r.metric} = {r.value:,.0f} is larger in size than "
                               f"the segment's revenue ({base:,.0f}): a typo or a unit slip?", r.line, level="warn"))
    return out


def _quarters_vs_year(rows: list[_Row], label: str) -> list[Problem]:
    """Rows of one (segment, metric, unit): the four quarters of a fiscal year against its row."""
    quarters = {r.period: r.value for r in rows if _QUARTER.match(r.period)}
    out = []
    for r in rows:
        m = _YEAR.match(r.period)
        if not m:
            continue
        parts = [quarters.get(f"{r.period}Q{k}") for k in range(1, 5)]
        if any(v is None for v in parts):
            continue
        total = sum(parts)  # type: ignore[arg-type]
        if abs(total - r.value) > max(ANNUAL_TOLERANCE * abs(r.value), 1.0):
            gap = f"{(total - r.value) / abs(r.value):+.1%}; " if r.value else ""
            out.append(Problem(
                label, "value",
                f"{r.period} {r.segment} {r.metric}: the four quarters add up to {total:,.0f}, the year's row says "
                f"{r.value:,.0f} ({gap}more than {ANNUAL_TOLERANCE:.0%} apart)",
                r.line, level="warn",
            ))
    return out


def check_rows(rows: Iterable[_Row], relation: Mapping[str, tuple[str, str]], label: str) -> list[Problem]:
    """Every sign, size and consistency problem of the rows of ``reported.csv`` (``label``):
    errors and warnings (``level="warn"``)."""
    rows = list(rows)
    problems = [p for r in rows for p in _sign_and_size(r, relation, label)]
    groups: dict[tuple[str, str, str], list[_Row]] = {}
    for r in rows:
        groups.setdefault((r.segment, r.metric, r.unit), []).append(r)
    for (_, metric, unit), group in groups.items():
        if metric in NON_NEGATIVE or unit == "RMB_per_USD":
            problems += _against_neighbours(group, label)
        if unit == "RMB_mn" and metric not in NOT_ADDITIVE:
            problems += _quarters_vs_year(group, label)
    problems += _within_revenue(rows, label)
    return sorted(problems, key=lambda p: (p.level != "error", p.line or 0))

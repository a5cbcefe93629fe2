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

Before any of these, each row's text (:func:`check_text`): the metric is a known one
(:data:`METRIC_UNITS`, with a did-you-mean) in the unit it is reported in; the value is a plain
ASCII number (no full-width digits, underscores or thousands separators); no cell holds a
control character (a NUL byte, an escape). And across rows: a segment's quarterly revenue
above the group's in the same quarter, or more than :data:`BAND_ERROR` times away from every
neighbouring quarter, and a segment's adjusted EBITA larger in size than its revenue are
errors; revenue or capex of 0 is a warning (a gap typed as 0? a gap stays a gap: leave it out).

Costs are not sign-checked: the file keeps each source's own sign convention for them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Protocol

from .errors import Problem

__all__ = [
    "check_rows",
    "check_text",
    "NON_NEGATIVE",
    "BAND",
    "BAND_ERROR",
    "ANNUAL_TOLERANCE",
    "LIMITS",
    "METRIC_UNITS",
    "number",
    "check_jump",
]

# Metrics that are never negative (an amount received, spent or held, or a count).
NON_NEGATIVE = frozenset(
    {
        "revenue",
        "revenue_prior_year",
        "customer_management_revenue",
        "quick_commerce_revenue",
        "ai_related_product_revenue",
        "china_wholesale_revenue",
        "ecommerce_subsegment_revenue",
        "capex_purchase_of_ppe_fcf_table",
        "capex_total_stated",
        "capex_ai_cloud_stated",
        "capex_trailing_4q_ai_cloud_stated",
        "depreciation_and_amortization",
        "cash_and_other_liquid_investments",
        "sales_and_marketing_expense",
    }
)
PERCENT_SHARES = frozenset({"share_of_consolidated_revenue_pct", "ai_revenue_share_of_external_cloud_pct"})
# Profits and cash flows: their size beyond the segment's revenue is implausible.
WITHIN_REVENUE = frozenset(
    {
        "adjusted_ebita",
        "income_from_operations",
        "income_before_tax",
        "net_income",
        "net_income_attributable",
        "net_income_attributable_company",
        "non_gaap_net_income",
        "free_cash_flow",
        "operating_cash_flow",
    }
)
# Figures that are not a flow over the period, or not one quarter's: four of them need not
# add up to the year.
NOT_ADDITIVE = frozenset(
    {
        "cash_and_other_liquid_investments",
        "capex_trailing_4q_ai_cloud_stated",
        "revenue_prior_year",
        "adjusted_ebita_check_sum_of_quarters",
    }
)
# Largest absolute value by unit. Alibaba's annual revenue is about RMB 1,000,000 million, so
# 1e8 RMB million (a hundred times that) can only be a unit slip or a typo.
LIMITS = {"RMB_mn": 1e8, "pct": 1e5, "count": 1e6, "RMB_per_USD": 100.0}
BAND = 3.0  # a quarter more than 3x away from every neighbour is flagged
BAND_ERROR = 10.0  # revenue more than 10x away from every neighbour: an error (a unit slip, not a business)
ANNUAL_TOLERANCE = 0.01  # four quarters vs the year's row
_QUARTER = re.compile(r"^FY(\d{4})Q([1-4])$")
_YEAR = re.compile(r"^FY(\d{4})$")


# The metrics reported.csv and earnings.csv may hold, each in the one unit it is reported in.
# A new metric is added here with its unit (and, if the model reads it, to history.SERIES_OF_METRIC).
_RMB_MN = (
    "revenue",
    "adjusted_ebita",
    "adjusted_ebita_check_sum_of_quarters",
    "ai_related_product_revenue",
    "amortization_impairment_intangibles",
    "capex_ai_cloud_stated",
    "capex_land_use_rights_and_ppe_cashflow",
    "capex_purchase_of_ppe_fcf_table",
    "capex_total_stated",
    "capex_trailing_4q_ai_cloud_stated",
    "cash_and_other_liquid_investments",
    "china_wholesale_revenue",
    "cost_of_revenue",
    "customer_management_revenue",
    "depreciation_and_amortization",
    "ecommerce_subsegment_revenue",
    "free_cash_flow",
    "impairment_of_goodwill",
    "impairment_of_goodwill_and_others",
    "impairment_of_goodwill_expense",
    "income_before_tax",
    "income_from_operations",
    "income_tax_expense",
    "interest_and_investment_income",
    "interest_expense",
    "nci_and_mezzanine",
    "net_cash",
    "net_income",
    "net_income_attributable",
    "net_income_attributable_company",
    "non_gaap_adjustments",
    "non_gaap_net_income",
    "operating_cash_flow",
    "other_income_net",
    "product_development_expense",
    "quick_commerce_revenue",
    "revenue_prior_year",
    "sales_and_marketing_expense",
    "share_based_compensation",
    "share_of_results_equity_method",
    "share_repurchase_rmb",
    "general_and_administrative_expense",
)
_PCT = (
    "adjusted_ebita_yoy_pct",
    "ai_revenue_share_of_external_cloud_pct",
    "cmr_lfl_yoy_pct",
    "cmr_yoy_pct",
    "external_customer_revenue_yoy_pct",
    "net_income_yoy_pct",
    "quick_commerce_yoy_pct",
    "revenue_lfl_yoy_pct",
    "revenue_yoy_pct",
    "share_of_consolidated_revenue_pct",
)
METRIC_UNITS: dict[str, str] = {
    **dict.fromkeys(_RMB_MN, "RMB_mn"),
    **dict.fromkeys(_PCT, "pct"),
    "usd_rmb_rate_implied": "RMB_per_USD",
    "usd_rmb_rate_stated": "RMB_per_USD",
    "ai_revenue_triple_digit_consecutive_quarters": "count",
    "ordinary_shares_outstanding": "count_mn",
    "diluted_shares": "count_mn",
    # unreported sub-lines, as history/estimates.csv holds them (issue 21: estimates carry on)
    **dict.fromkeys(
        (
            "other_revenue",
            "external_customer_revenue",
            "internal_customer_revenue",
            "other_external_revenue",
            "quick_commerce_adjusted_ebita",
        ),
        "RMB_mn",
    ),
    "quick_commerce_orders": "count_mn",
    # reported EPS (issue 20: the dilution calibration)
    **dict.fromkeys(
        ("diluted_eps_ads", "non_gaap_diluted_eps_ads", "basic_eps_ads", "non_gaap_basic_eps_ads"), "RMB_per_ADS"
    ),
}
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab and line breaks only where text may hold them
_TEXT_COLUMNS = ("source", "note")


def number(x: float) -> str:
    """A figure as messages print it: thousands separated while it is a plausible size, else %g."""
    return f"{x:,.0f}" if abs(x) < 1e12 else f"{x:g}"


def check_text(rec: Mapping[str, str], label: str, line: int) -> list[Problem]:
    """A row's cells as typed: control characters, a value that is not a plain ASCII number, a
    metric that is not known (did you mean?) or not in its unit."""
    out = []
    for col, text in rec.items():
        bad = _CONTROL.search(text or "") or (col not in _TEXT_COLUMNS and re.search(r"[\t\r\n]", text or ""))
        if bad:
            out.append(Problem(label, col, f"holds a control character ({bad.group()!r}); retype the cell", line))
    value = (rec.get("value") or "").strip()
    if not any(p.key == "value" for p in out) and not _NUMBER.fullmatch(value):
        out.append(
            Problem(
                label,
                "value",
                f"{value!r} is not a plain number: ASCII digits, one '.', an optional sign "
                "and exponent (no thousands separators, underscores, spaces or full-width digits)",
                line,
            )
        )
    metric, unit = (rec.get("metric") or "").strip(), (rec.get("unit") or "").strip()
    if any(p.key in ("metric", "unit") for p in out):
        pass
    elif metric not in METRIC_UNITS:
        near = difflib.get_close_matches(metric, METRIC_UNITS, n=1, cutoff=0.6)
        hint = f"did you mean {near[0]!r}? " if near else ""
        out.append(
            Problem(
                label,
                "metric",
                f"{metric!r} is not a known metric; {hint}a new metric is added to "
                "METRIC_UNITS in pivotmodel/history_checks.py with its unit",
                line,
            )
        )
    elif unit != METRIC_UNITS[metric]:
        out.append(Problem(label, "unit", f"{metric} is reported in {METRIC_UNITS[metric]}, not {unit!r}", line))
    return out


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
        return [
            Problem(
                label,
                "value",
                f"{row.value:g} {row.unit} for {row.period} {row.segment} {row.metric} is beyond "
                f"any plausible figure (limit {limit:g} in absolute value){hint}",
                row.line,
            )
        ]
    eliminated = relation.get(row.segment, ("", ""))[0] == "group.elimination"
    if row.metric == "revenue" and eliminated:
        if row.value > 0:
            return [
                Problem(
                    label,
                    "value",
                    f"{row.value:g}: inter-segment elimination of revenue is never positive "
                    "(it is subtracted from the segments' sum)",
                    row.line,
                )
            ]
    elif (row.metric in NON_NEGATIVE or row.unit == "count") and row.value < 0:
        return [
            Problem(
                label, "value", f"{row.value:g}: {row.metric} is never negative ({row.period} {row.segment})", row.line
            )
        ]
    if row.metric in PERCENT_SHARES and not 0 <= row.value <= 100:
        return [
            Problem(label, "value", f"{row.value:g}: {row.metric} is a share in percent, within [0, 100]", row.line)
        ]
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
            shown = ", ".join(f"{_label(j)} {number(v)}" for j, v in refs)
            severe = row.metric == "revenue" and all(not 1 / BAND_ERROR <= row.value / v <= BAND_ERROR for _, v in refs)
            band = BAND_ERROR if severe else BAND
            out.append(
                Problem(
                    label,
                    "value",
                    f"{row.period} {row.segment} {row.metric} = {number(row.value)} is more than "
                    f"{band:g}x away from {shown}: a typo or a unit slip?",
                    row.line,
                    level="error" if severe else "warn",
                )
            )
    return out


def _within_revenue(rows: Iterable[_Row], label: str) -> list[Problem]:
    """Profits larger in size than the segment's revenue (adjusted EBITA: an error, it sets the
    margin the model starts from); revenue or capex of 0 (a gap typed as 0?)."""
    revenue = {(r.period, r.segment): r.value for r in rows if r.metric == "revenue" and r.unit == "RMB_mn"}
    out = []
    for r in rows:
        base = revenue.get((r.period, r.segment))
        if r.metric in WITHIN_REVENUE and r.unit == "RMB_mn" and base and abs(r.value) > abs(base):
            level = "error" if r.metric == "adjusted_ebita" else "warn"
            out.append(
                Problem(
                    label,
                    "value",
                    f"{r.period} {r.segment} {r.metric} = {number(r.value)} is larger in size "
                    f"than the segment's revenue ({number(base)}): a typo or a unit slip?",
                    r.line,
                    level=level,
                )
            )
        if r.value == 0 and (r.metric == "revenue" or r.metric.startswith("capex_")):
            out.append(
                Problem(
                    label,
                    "value",
                    f"{r.period} {r.segment} {r.metric} is 0: if the figure is not known, "
                    "leave the row out (a gap stays a gap)",
                    r.line,
                    level="warn",
                )
            )
    return out


def _segments_within_group(rows: Iterable[_Row], relation: Mapping[str, tuple[str, str]], label: str) -> list[Problem]:
    """A segment's quarterly revenue above the group's revenue of the same quarter: an error."""
    rows = [r for r in rows if r.metric == "revenue" and r.unit == "RMB_mn" and _QUARTER.match(r.period)]
    group = {r.period: r.value for r in rows if relation.get(r.segment) == ("group", "equals")}
    out = []
    for r in rows:
        total = group.get(r.period)
        if relation.get(r.segment, ("group",))[0] in ("group", "group.elimination") or total is None:
            continue
        if r.value > total:
            out.append(
                Problem(
                    label,
                    "value",
                    f"{r.period} {r.segment} revenue = {number(r.value)} is above the group's "
                    f"revenue of the quarter ({number(total)}): a unit slip (RMB thousand?) or a typo",
                    r.line,
                )
            )
    return out


def _quarters_vs_year(rows: list[_Row], label: str) -> list[Problem]:
    """Rows of one (segment, metric, unit): the four quarters of a fiscal year against its row.
    Share counts (``count_mn``: quarter-end levels, weighted averages) do not add up and are skipped."""
    quarters = {r.period: r.value for r in rows if _QUARTER.match(r.period)}
    out = []
    for r in rows:
        m = _YEAR.match(r.period)
        if not m or r.unit == "count_mn":
            continue
        parts = [quarters.get(f"{r.period}Q{k}") for k in range(1, 5)]
        if any(v is None for v in parts):
            continue
        total = sum(parts)  # type: ignore[arg-type]
        if abs(total - r.value) > max(ANNUAL_TOLERANCE * abs(r.value), 1.0):
            gap = f"{(total - r.value) / abs(r.value):+.1%}; " if r.value else ""
            out.append(
                Problem(
                    label,
                    "value",
                    f"{r.period} {r.segment} {r.metric}: the four quarters add up to {total:,.0f}, the year's row says "
                    f"{r.value:,.0f} ({gap}more than {ANNUAL_TOLERANCE:.0%} apart)",
                    r.line,
                    level="warn",
                )
            )
    return out


def check_jump(rows: Iterable[_Row], label: str) -> list[Problem]:
    """The one headline problem when a quarter lies more than a year after the quarter before it
    in the file (FY2099Q1 typed for FY2027Q1): every later check would only echo it."""
    first: dict[int, _Row] = {}
    for r in rows:
        i = _quarter_index(r.period)
        if i is not None and (i not in first or r.line < first[i].line):
            first[i] = r
    ordered = sorted(first)
    for before, after in zip(ordered, ordered[1:]):
        if after - before > 4:
            r = first[after]
            return [
                Problem(
                    label,
                    "period",
                    f"{r.period} ({r.segment} {r.metric}) is {after - before} quarters after "
                    f"{_label(before)}, the quarter before it in the file: a typo for {_label(before + 1)}? "
                    "(quarters are added in order; fix this first, the other checks follow from it)",
                    r.line,
                )
            ]
    return []


def check_rows(rows: Iterable[_Row], relation: Mapping[str, tuple[str, str]], label: str) -> list[Problem]:
    """Every sign, size and consistency problem of the rows of ``reported.csv`` (``label``):
    errors and warnings (``level="warn"``)."""
    rows = list(rows)
    problems = [p for r in rows for p in _sign_and_size(r, relation, label)]
    wrong = {p.line for p in problems}
    rows = [r for r in rows if r.line not in wrong]  # a row with a wrong sign or size is not compared again
    groups: dict[tuple[str, str, str], list[_Row]] = {}
    for r in rows:
        groups.setdefault((r.segment, r.metric, r.unit), []).append(r)
    for (_, metric, unit), group in groups.items():
        if metric in NON_NEGATIVE or unit == "RMB_per_USD":
            problems += _against_neighbours(group, label)
        if unit == "RMB_mn" and metric not in NOT_ADDITIVE:
            problems += _quarters_vs_year(group, label)
    problems += _within_revenue(rows, label)
    problems += _segments_within_group(rows, relation, label)
    return sorted(problems, key=lambda p: (p.level != "error", p.line or 0))

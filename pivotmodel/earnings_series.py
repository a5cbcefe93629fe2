"""Names shared by the below-EBITA engine, the history loader and the projection (no imports,
so that history, model and tables can all read them without a cycle).

Units inside the engine: RMB million a quarter for money; ``count_mn`` for share counts
(millions of ordinary shares; 8 ordinary shares = 1 ADS); ``RMB_per_ADS`` / ``USD_per_ADS``
for earnings per ADS. Signs: expenses, losses and cash paid out in the P&L are negative
(SBC, amortisation, impairment, interest expense, income tax); ``group.buyback`` and
``group.dividends`` are positive amounts of cash returned; ``group.nci`` is the amount
added to net income to reach net income attributable to ordinary shareholders (positive
when non-controlling interests bear losses).
"""

from __future__ import annotations

__all__ = ["EARNINGS_SERIES", "EARNINGS_METRICS", "EARNINGS_NOT_SUMMED", "EARNINGS_CSV", "SHARES_PER_ADS"]

EARNINGS_CSV = "earnings.csv"  # assumptions/history/earnings.csv, same columns as reported.csv
SHARES_PER_ADS = 8.0

# name -> (unit, description); appended to the projection's SERIES table.
EARNINGS_SERIES: dict[str, tuple[str, str]] = {
    "group.sbc": ("RMB_mn", "share-based compensation (< 0)"),
    "group.amortisation": ("RMB_mn", "amortisation and impairment of intangible assets (< 0)"),
    "group.goodwill_impairment": ("RMB_mn", "impairment of goodwill (< 0; an event input)"),
    "group.income_from_operations": ("RMB_mn", "income from operations = adjusted EBITA + SBC + amortisation + goodwill impairment"),
    "group.interest_investment_income": ("RMB_mn", "interest and investment income, net (yield on cash + mark-to-market gains)"),
    "group.investment_gains": ("RMB_mn", "mark-to-market and disposal gains inside interest and investment income (excluded from non-GAAP)"),
    "group.interest_expense": ("RMB_mn", "interest expense (< 0)"),
    "group.other_income": ("RMB_mn", "other income (expense), net"),
    "group.income_before_tax": ("RMB_mn", "income before income tax and share of results of equity method investees"),
    "group.income_tax": ("RMB_mn", "income tax expenses (< 0)"),
    "group.equity_method": ("RMB_mn", "share of results of equity method investees (Ant Group and others)"),
    "group.net_income": ("RMB_mn", "net income (GAAP)"),
    "group.nci": ("RMB_mn", "net loss (+) / income (-) attributable to non-controlling interests and mezzanine equity"),
    "group.net_income_attributable": ("RMB_mn", "net income attributable to ordinary shareholders (GAAP)"),
    "group.non_gaap_adjustments": ("RMB_mn", "non-GAAP adjustments: SBC, amortisation, impairments, investment gains/losses, tax effects"),
    "group.non_gaap_net_income": ("RMB_mn", "non-GAAP net income = net income + non-GAAP adjustments"),
    "group.buyback": ("RMB_mn", "share repurchases (cash paid, > 0)"),
    "group.dividends": ("RMB_mn", "dividends paid (> 0)"),
    "group.net_cash": ("RMB_mn", "net cash at quarter end: cash and liquid investments - debt (a level, not a flow)"),
    "group.shares_outstanding": ("count_mn", "ordinary shares outstanding at quarter end, millions (a level)"),
    "group.diluted_shares": ("count_mn", "diluted ordinary shares for EPS, millions (a level)"),
    "group.eps_non_gaap_ads": ("RMB_per_ADS", "non-GAAP diluted earnings per ADS, RMB (sum of quarters = year)"),
    "group.eps_non_gaap_ads_usd": ("USD_per_ADS", "non-GAAP diluted earnings per ADS, US$"),
    "group.eps_gaap_ads": ("RMB_per_ADS", "GAAP diluted earnings per ADS, RMB"),
}

# Levels (end of quarter), not flows: a year's "sum" is meaningless; read the year-end
# quarter instead, e.g. sum(group.net_cash, FY2027Q4).
EARNINGS_NOT_SUMMED = {"group.net_cash", "group.shares_outstanding", "group.diluted_shares"}

# (model prefix, reported metric) -> series, for rows of reported.csv and earnings.csv.
EARNINGS_METRICS: dict[tuple[str, str], str] = {
    ("group", "share_based_compensation"): "group.sbc",
    ("group", "amortization_impairment_intangibles"): "group.amortisation",
    ("group", "impairment_of_goodwill_expense"): "group.goodwill_impairment",
    ("group", "income_from_operations"): "group.income_from_operations",
    ("group", "interest_and_investment_income"): "group.interest_investment_income",
    ("group", "interest_expense"): "group.interest_expense",
    ("group", "other_income_net"): "group.other_income",
    ("group", "income_before_tax"): "group.income_before_tax",
    ("group", "income_tax_expense"): "group.income_tax",
    ("group", "share_of_results_equity_method"): "group.equity_method",
    ("group", "net_income"): "group.net_income",
    ("group", "nci_and_mezzanine"): "group.nci",
    ("group", "net_income_attributable"): "group.net_income_attributable",
    ("group", "non_gaap_adjustments"): "group.non_gaap_adjustments",
    ("group", "non_gaap_net_income"): "group.non_gaap_net_income",
    ("group", "share_repurchase_rmb"): "group.buyback",
    ("group", "net_cash"): "group.net_cash",
    ("group", "ordinary_shares_outstanding"): "group.shares_outstanding",
}

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

__all__ = [
    "EARNINGS_METRICS",
    "EARNINGS_NOT_SUMMED",
    "EARNINGS_CSV",
    "SHARES_PER_ADS",
    "QUARTER_SUMS",
    "REPORTED_ONLY",
]

EARNINGS_CSV = "earnings.csv"  # assumptions/history/earnings.csv, same columns as reported.csv
SHARES_PER_ADS = 8.0

# Levels (end of quarter), not flows: a year's "sum" is meaningless; read the year-end
# quarter instead, e.g. sum(group.net_cash, FY2027Q4).
EARNINGS_NOT_SUMMED = {"group.net_cash", "group.shares_outstanding", "group.diluted_shares"}

# A year's figure is the sum of its quarters whenever all four are known: net income
# attributable to ordinary shareholders (the EPS numerator, after accretion of mezzanine
# equity) in the quarterly releases and in the 20-F's annual row alike (FY2025 129,470 both
# ways). The 20-F's line before accretion ("attributable to Alibaba Group Holding Limited",
# FY2025 130,109) is its own metric, in REPORTED_ONLY.
QUARTER_SUMS = {"group.net_income_attributable"}

# Reported lines the model never projects: history rows only, shown in reported years and
# n/a in projected ones (their annual rows reach the projection through Projection.annual).
REPORTED_ONLY: dict[str, str] = {
    "group.net_income_attributable_company": (
        "net income attributable to Alibaba Group Holding Limited: the 20-F line before accretion of mezzanine equity"
    ),
    "group.eps_basic_ads": "basic earnings per ADS attributable to ordinary shareholders, RMB",
}

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
    ("group", "net_income_attributable_company"): "group.net_income_attributable_company",  # REPORTED_ONLY
    ("group", "non_gaap_adjustments"): "group.non_gaap_adjustments",
    ("group", "non_gaap_net_income"): "group.non_gaap_net_income",
    ("group", "share_repurchase_rmb"): "group.buyback",
    ("group", "net_cash"): "group.net_cash",
    ("group", "ordinary_shares_outstanding"): "group.shares_outstanding",
    ("group", "diluted_shares"): "group.diluted_shares",  # diluted weighted average, the EPS denominator
    ("group", "diluted_eps_ads"): "group.eps_gaap_ads",  # RMB_per_ADS, as the release prints it
    ("group", "non_gaap_diluted_eps_ads"): "group.eps_non_gaap_ads",
    ("group", "basic_eps_ads"): "group.eps_basic_ads",  # REPORTED_ONLY
}

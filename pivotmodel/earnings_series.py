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

__all__ = ["EARNINGS_METRICS", "EARNINGS_NOT_SUMMED", "EARNINGS_CSV", "SHARES_PER_ADS", "QUARTER_SUMS"]

EARNINGS_CSV = "earnings.csv"  # assumptions/history/earnings.csv, same columns as reported.csv
SHARES_PER_ADS = 8.0

# Levels (end of quarter), not flows: a year's "sum" is meaningless; read the year-end
# quarter instead, e.g. sum(group.net_cash, FY2027Q4).
EARNINGS_NOT_SUMMED = {"group.net_cash", "group.shares_outstanding", "group.diluted_shares"}

# A year's figure is the sum of its quarters whenever all four are known, not the annual
# report's line: net income attributable to ordinary shareholders, the EPS numerator, is
# after mezzanine-equity accretion in the quarterly releases, while the 20-F's annual line
# for FY2024-FY2025 is before it (FY2025 130,109 vs quarters 129,470; FY2024 80,009 vs
# 79,741). The annual line stays in history and is shown apart, labelled.
QUARTER_SUMS = {"group.net_income_attributable"}

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
    ("group", "diluted_shares"): "group.diluted_shares",  # diluted weighted average, the EPS denominator
    ("group", "diluted_eps_ads"): "group.eps_gaap_ads",  # RMB_per_ADS, as the release prints it
    ("group", "non_gaap_diluted_eps_ads"): "group.eps_non_gaap_ads",
}

"""The one table of model inputs: every key the assumption files must hold, its unit and range.

The loader checks the files against this table (unknown keys are typos, missing keys are
errors), converts units within a dimension (``RMB_bn`` to ``RMB_mn``), and checks that the
whole support of each distribution lies in the valid range (a share outside [0, 1] is an
error). The model reads exactly these keys; a test checks that it reads every one.

Units (closed list) and their dimension; the model works in the first unit of each dimension:

* money: ``RMB_mn`` (x1), ``RMB_bn`` (x1000)
* per-unit money: ``RMB`` (renminbi per order)
* fx: ``RMB_per_USD``
* ``ratio`` (decimals: 0.34, not 34), ``quarters``, ``count_mn`` (millions), ``period``
  (a quarter label such as FY2026Q1, only as a fixed value)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Param", "PARAMETERS", "UNITS", "SEEDABLE", "OPTIONAL_SEEDS", "SETTINGS"]

# unit -> (dimension, factor to the model's unit of that dimension)
UNITS: dict[str, tuple[str, float]] = {
    "RMB_mn": ("money", 1.0),
    "RMB_bn": ("money", 1000.0),
    "RMB": ("unit_money", 1.0),
    "RMB_per_USD": ("fx", 1.0),
    "ratio": ("ratio", 1.0),
    "quarters": ("quarters", 1.0),
    "count_mn": ("count", 1.0),
    "period": ("period", 1.0),
    # US$ amounts (buyback programme, price and dividend per ADS), never converted to RMB here
    "USD_mn": ("usd_money", 1.0),
    "USD_bn": ("usd_money", 1000.0),
    "USD": ("usd_unit", 1.0),
}

INF = float("inf")


@dataclass(frozen=True)
class Param:
    """One model input: its dimension, the valid range of its values, and what it means."""

    dimension: str
    low: float = -INF
    high: float = INF
    doc: str = ""


def _path(prefix: str, what: str, low: float = -0.9, high: float = 10.0) -> dict[str, Param]:
    """A growth or margin path: start rate, long-run rate and the half-life between them."""
    return {
        f"{prefix}.start": Param("ratio", low, high, f"{what}: rate in the first projected quarter"),
        f"{prefix}.long_run": Param("ratio", low, high, f"{what}: rate the path converges to"),
        f"{prefix}.half_life": Param(
            "quarters", 0.25, 80, f"{what}: quarters for the gap to the long-run rate to halve"
        ),
    }


PARAMETERS: dict[str, Param] = {
    # --- China e-commerce -------------------------------------------------------------
    **_path("china_ecommerce.gmv.growth", "YoY growth of GMV behind CMR"),
    **_path("china_ecommerce.take_rate.growth", "YoY change of the CMR take rate", -0.5, 1.0),
    "china_ecommerce.regulatory_shock": Param(
        "ratio", -0.5, 0.5, "a discrete event: change to take-rate growth in the first projected year"
    ),
    "china_ecommerce.take_rate.base": Param(
        "ratio", 0.0001, 1.0, "CMR / GMV in the base year (GMV is not reported)"
    ),
    **_path("china_ecommerce.quick_commerce.orders.growth", "YoY growth of quick-commerce orders"),
    "china_ecommerce.quick_commerce.order_value.base": Param(
        "unit_money", 1.0, 1000.0, "average order value in the base year"
    ),
    "china_ecommerce.quick_commerce.order_value.growth": Param(
        "ratio", -0.5, 1.0, "YoY growth of average order value"
    ),
    **_path(
        "china_ecommerce.quick_commerce.monetisation",
        "quick-commerce revenue / order value (level path)",
        0.0,
        1.0,
    ),
    "china_ecommerce.quick_commerce.loss_per_order.start": Param(
        "unit_money", -100.0, 0.0, "adjusted-EBITA per order in the first projected quarter"
    ),
    "china_ecommerce.quick_commerce.quarters_to_breakeven": Param(
        "quarters", 1.0, 80.0, "quarters from the first projected one until the loss per order is 0"
    ),
    "china_ecommerce.quick_commerce.long_run_margin": Param(
        "ratio", -1.0, 1.0, "adjusted-EBITA margin on quick-commerce revenue after breakeven (cap)"
    ),
    **_path("china_ecommerce.other_revenue.growth", "YoY growth of other China e-commerce revenue"),
    **_path(
        "china_ecommerce.core_margin",
        "adjusted-EBITA margin on CMR + other revenue (ex quick commerce)",
        -1.0,
        1.0,
    ),
    # --- Cloud ------------------------------------------------------------------------
    **_path("cloud.ai_revenue.growth", "YoY growth of AI-related product revenue (demand)"),
    **_path("cloud.other_external_revenue.growth", "YoY growth of other external cloud revenue"),
    **_path("cloud.internal_revenue.growth", "YoY growth of inter-segment cloud revenue"),
    "cloud.internal_share": Param(
        "ratio", 0.0, 0.6, "inter-segment share of cloud segment revenue in the base quarters (never reported)"
    ),
    **_path(
        "cloud.margin_before_new_depreciation",
        "cloud adjusted-EBITA margin before depreciation of capex since capex.new_assets_from",
        -1.0,
        1.0,
    ),
    "cloud.supply.deployment_lag": Param(
        "quarters", 0.0, 12.0, "quarters from capex to computing capacity in service"
    ),
    "cloud.supply.revenue_yield": Param(
        "ratio", 0.0, 2.0, "cloud revenue a quarter per RMB of new capacity put in service after the last reported quarter"
    ),
    "cloud.supply.capacity_share_of_capex": Param(
        "ratio", 0.0, 1.0, "share of new capex used by Cloud (capacity and depreciation charged to Cloud)"
    ),
    "cloud.supply.exit_utilisation": Param(
        "ratio", 0.5, 1.0, "revenue served / capacity in the last reported quarter (capacity at the boundary)"
    ),
    # --- AIDC and All others ----------------------------------------------------------
    **_path("international.revenue.growth", "YoY revenue growth of AIDC"),
    **_path("international.margin", "adjusted-EBITA margin of AIDC", -1.0, 1.0),
    **_path("all_others.revenue.growth", "YoY revenue growth of All others"),
    **_path("all_others.margin", "adjusted-EBITA margin of All others", -1.0, 1.0),
    # --- Capex ------------------------------------------------------------------------
    "capex.plan.total": Param("money", 0.0, 5e6, "capex over the plan window, reported part included"),
    "capex.plan.first_quarter": Param("period", doc="first quarter of the plan window"),
    "capex.plan.last_quarter": Param("period", doc="last quarter of the plan window"),
    "capex.plan.phasing_tilt": Param(
        "ratio", -0.5, 1.0, "quarter-on-quarter tilt of the remaining plan (0 = even phasing)"
    ),
    "capex.after_plan.intensity": Param(
        "ratio", 0.0, 3.0, "capex after the plan window per RMB of cloud revenue demanded in the quarter"
    ),
    "capex.new_assets_from": Param(
        "period", doc="first quarter whose capex the model depreciates; earlier assets are legacy"
    ),
    "capex.useful_life": Param("quarters", 4.0, 160.0, "straight-line depreciation life of servers and network equipment"),
    "capex.building_life": Param("quarters", 4.0, 200.0, "straight-line depreciation life of buildings and data-centre shells"),
    "capex.server_share": Param("ratio", 0.0, 1.0, "share of new capex that is servers and network (the rest: buildings)"),
    "capex.own_ai_share": Param(
        "ratio", 0.0, 1.0, "share of new capex used by the group's own AI work (Qwen training, consumer AI apps), charged to All others"
    ),
    "capex.legacy_runoff": Param(
        "quarters", 1.0, 160.0, "quarters over which depreciation of pre-history assets runs off"
    ),
    # --- Group ------------------------------------------------------------------------
    "group.fx.usd_rmb": Param("fx", 4.0, 12.0, "RMB per US$ for translating projections"),
    "group.tax.cash_tax_rate": Param("ratio", 0.0, 1.0, "cash tax as a share of positive adjusted EBITA"),
    "group.unallocated": Param("money", -1e5, 1e5, "unallocated adjusted-EBITA costs a quarter"),
    "group.ebita_elimination": Param("money", -1e5, 1e5, "inter-segment EBITA elimination a quarter"),
    "group.other_cash_items": Param(
        "money", -1e5, 1e5, "cash items a quarter outside the proxy (working capital, interest, other), reconciling it to reported FCF"
    ),
    "group.elimination.other_share": Param(
        "ratio", 0.0, 0.5, "inter-segment revenue other than cloud, as a share of non-cloud revenue"
    ),
    # --- Below adjusted EBITA, per share, capital return (assumptions/earnings.yaml) ---------
    "earnings.sbc_share_of_revenue": Param("ratio", 0.0, 0.2, "share-based compensation as a share of group revenue"),
    "earnings.amortisation": Param("money", -1e5, 0.0, "amortisation and impairment of intangible assets a quarter (< 0)"),
    "earnings.goodwill_impairment.event": Param("ratio", 0.0, 1.0, "1 if a goodwill impairment is booked (a bernoulli event)"),
    "earnings.goodwill_impairment.size": Param("money", -1e6, 0.0, "size of the goodwill impairment when it happens (< 0)"),
    "earnings.goodwill_impairment.quarter": Param("period", doc="quarter in which the impairment event is booked"),
    "earnings.cash_yield": Param("ratio", 0.0, 0.2, "annual interest yield on cash and liquid investments"),
    "earnings.investment_gains": Param("money", -1e6, 1e6, "mark-to-market and disposal gains on investments a quarter"),
    "earnings.cash.base": Param("money", 0.0, 1e7, "cash, short-term and other liquid investments at the last reported quarter"),
    "earnings.debt": Param("money", 0.0, 1e7, "borrowings, notes and bonds (held constant)"),
    "earnings.debt_cost": Param("ratio", 0.0, 0.2, "annual interest rate on debt"),
    "earnings.other_income": Param("money", -1e5, 1e5, "other income (expense), net a quarter"),
    "earnings.tax_rate": Param("ratio", 0.0, 1.0, "income tax / positive income before tax excluding investment gains"),
    "earnings.equity_method": Param("money", -1e5, 1e5, "share of results of equity method investees a quarter"),
    "earnings.nci": Param("money", -1e5, 1e5, "net loss attributable to non-controlling interests a quarter (added)"),
    "earnings.shares.base": Param("count", 1000.0, 50000.0, "ordinary shares outstanding at the last reported quarter, millions"),
    "earnings.shares.esop_dilution": Param("ratio", 0.0, 0.2, "shares issued under the ESOP a year, share of shares outstanding"),
    "earnings.shares.dilution_premium": Param("ratio", 0.0, 0.2, "diluted / outstanding shares - 1 (options, RSUs, convertibles)"),
    "earnings.buyback.remaining": Param("usd_money", 0.0, 1e6, "buyback authorisation left at the last reported quarter"),
    "earnings.buyback.pace": Param("usd_money", 0.0, 1e5, "buybacks a quarter while the authorisation lasts"),
    "earnings.buyback.program_end": Param("period", doc="last quarter of the current buyback authorisation"),
    "earnings.buyback.after_program": Param("usd_money", 0.0, 1e5, "buybacks a quarter after the programme ends (a renewal)"),
    "earnings.buyback.price": Param("usd_unit", 1.0, 5000.0, "price per ADS paid for buybacks in the first projected quarter"),
    "earnings.buyback.price_growth": Param("ratio", -0.9, 5.0, "annual change of the buyback price per ADS"),
    "earnings.dividend.per_ads": Param("usd_unit", 0.0, 100.0, "annual dividend per ADS, paid in the second fiscal quarter"),
}

# Base-year series the model grows from; a gap in reported history is filled by an estimate
# under ``<segment>.seed.<series>.<quarter>`` in that segment's file.
SEEDABLE: dict[str, str] = {
    "china_ecommerce.cmr": "china_ecommerce",
    "china_ecommerce.quick_commerce_revenue": "china_ecommerce",
    "china_ecommerce.quick_commerce_ebita": "china_ecommerce",  # past quarters' losses: broker estimates
    "cloud.ai_revenue": "cloud",
}
# Seedable series the model does not grow from: an estimate is optional (it lets claims about
# those past quarters be tested "on estimates"); without one the quarter stays n/a.
OPTIONAL_SEEDS = {"china_ecommerce.quick_commerce_ebita"}

# Simulation settings (assumptions/simulation.yaml): name -> (type, description)
SETTINGS: dict[str, tuple[type, str]] = {
    "seed": (int, "random seed for every draw"),
    "draws": (int, "number of Monte Carlo draws"),
    "method": (str, "mc | lhs | sobol"),
    "horizon": (str, "last projected quarter, e.g. FY2031Q4"),
    "chunk_size": (int, "draws evaluated at once"),
    "tolerance": (float, "stop when every claim's 95% interval is narrower than this"),
    "max_draws": (int, "draw cap for the stop rule"),
    "boundary_yoy": (float, "validate warns when first-projected YoY growth steps more than this from the last reported"),
    "boundary_qoq": (float, "validate warns when first-projected QoQ growth steps more than this from the expected"),
    "boundary_margin": (float, "validate warns when the first-projected margin steps more than this from the expected"),
}

"""The registry: every input key (written out in full), output series, segment and seed key.

Sections: units; ``PARAMETERS`` (every key the assumption files must hold, its dimension,
valid range and meaning); seed estimates (``SEEDABLE`` and the one key spelling);
simulation ``SETTINGS``; ``SEGMENTS`` (id, label, colour, file, history prefix, driver, its
lines - reported, seeded or derived - its parent and whether it bears own-AI depreciation; the
seedable series, the base-quarter check and the base-quarter estimates derive from them);
child segments declared as data (:class:`Child`, ``segments.yaml``) and the keys and series
generated from a declaration;
``SERIES`` (every series the engine returns). Every per-segment list in pivotmodel reads
``SEGMENTS``; ``tests/test_registry.py`` checks the registry against the files and the engine.
See docs/contributing.md for what to touch when adding to it.

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
from typing import Any

__all__ = [
    "Param",
    "PARAMETERS",
    "UNITS",
    "SEEDABLE",
    "OPTIONAL_SEEDS",
    "SETTINGS",
    "seed_key",
    "seed_file_key",
    "parse_seed_file_key",
    "Segment",
    "SEGMENTS",
    "GROUP",
    "SEGMENT_IDS",
    "SEGMENT_LABELS",
    "SEGMENT_COLOURS",
    "INPUT_FILES",
    "segment",
    "SERIES",
    "base_lines",
    "base_estimated_lines",
    "Child",
    "CHILD_DRIVERS",
    "CHILD_PARENT_DRIVERS",
    "child_parameters",
    "child_series",
    "Line",
    "LINE_KINDS",
    "DERIVED_FROM_SEEDS",
    "OWN_AI_SEGMENTS",
    "BOUNDARY_SUBJECTS",
    "BOUNDARY_METRICS",
]

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


def _path(keys: tuple[str, str, str], what: str, low: float = -0.9, high: float = 10.0) -> dict[str, Param]:
    """A growth or margin path, its three keys written out in full (``<path>.start``,
    ``<path>.long_run``, ``<path>.half_life``): start rate, long-run rate and the half-life
    between them."""
    start, long_run, half_life = keys
    return {
        start: Param("ratio", low, high, f"{what}: rate in the first projected quarter"),
        long_run: Param("ratio", low, high, f"{what}: rate the path converges to"),
        half_life: Param("quarters", 0.25, 80, f"{what}: quarters for the gap to the long-run rate to halve"),
    }


PARAMETERS: dict[str, Param] = {
    # --- China e-commerce -------------------------------------------------------------
    **_path(
        (
            "china_ecommerce.gmv.growth.start",
            "china_ecommerce.gmv.growth.long_run",
            "china_ecommerce.gmv.growth.half_life",
        ),
        "YoY growth of GMV behind CMR",
    ),
    **_path(
        (
            "china_ecommerce.take_rate.growth.start",
            "china_ecommerce.take_rate.growth.long_run",
            "china_ecommerce.take_rate.growth.half_life",
        ),
        "YoY change of the CMR take rate",
        -0.5,
        1.0,
    ),
    "china_ecommerce.regulatory_shock": Param(
        "ratio", -0.5, 0.5, "a discrete event: change to take-rate growth in the first projected year"
    ),
    "china_ecommerce.take_rate.base": Param("ratio", 0.0001, 1.0, "CMR / GMV in the base year (GMV is not reported)"),
    **_path(
        (
            "china_ecommerce.quick_commerce.orders.growth.start",
            "china_ecommerce.quick_commerce.orders.growth.long_run",
            "china_ecommerce.quick_commerce.orders.growth.half_life",
        ),
        "YoY growth of quick-commerce orders",
    ),
    "china_ecommerce.quick_commerce.order_value.base": Param(
        "unit_money", 1.0, 1000.0, "average order value in the base year"
    ),
    "china_ecommerce.quick_commerce.order_value.growth": Param("ratio", -0.5, 1.0, "YoY growth of average order value"),
    **_path(
        (
            "china_ecommerce.quick_commerce.monetisation.start",
            "china_ecommerce.quick_commerce.monetisation.long_run",
            "china_ecommerce.quick_commerce.monetisation.half_life",
        ),
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
    **_path(
        (
            "china_ecommerce.other_revenue.growth.start",
            "china_ecommerce.other_revenue.growth.long_run",
            "china_ecommerce.other_revenue.growth.half_life",
        ),
        "YoY growth of other China e-commerce revenue",
    ),
    **_path(
        (
            "china_ecommerce.core_margin.start",
            "china_ecommerce.core_margin.long_run",
            "china_ecommerce.core_margin.half_life",
        ),
        "adjusted-EBITA margin on CMR + other revenue (ex quick commerce)",
        -1.0,
        1.0,
    ),
    # --- Cloud ------------------------------------------------------------------------
    **_path(
        ("cloud.ai_revenue.growth.start", "cloud.ai_revenue.growth.long_run", "cloud.ai_revenue.growth.half_life"),
        "growth of AI-related product revenue demanded (annual rate, applied quarter on quarter from the exit)",
    ),
    **_path(
        (
            "cloud.other_external_revenue.growth.start",
            "cloud.other_external_revenue.growth.long_run",
            "cloud.other_external_revenue.growth.half_life",
        ),
        "growth of other external cloud revenue demanded (annual rate, applied quarter on quarter from the exit)",
    ),
    **_path(
        (
            "cloud.internal_revenue.growth.start",
            "cloud.internal_revenue.growth.long_run",
            "cloud.internal_revenue.growth.half_life",
        ),
        "growth of inter-segment cloud revenue demanded (annual rate, applied quarter on quarter from the exit)",
    ),
    "cloud.internal_share": Param(
        "ratio", 0.0, 0.6, "inter-segment share of cloud segment revenue in the base quarters (never reported)"
    ),
    **_path(
        (
            "cloud.margin_before_new_depreciation.start",
            "cloud.margin_before_new_depreciation.long_run",
            "cloud.margin_before_new_depreciation.half_life",
        ),
        "cloud adjusted-EBITA margin before depreciation of capex since capex.new_assets_from",
        -1.0,
        1.0,
    ),
    "cloud.supply.deployment_lag": Param("quarters", 0.0, 12.0, "quarters from capex to computing capacity in service"),
    "cloud.supply.revenue_yield": Param(
        "ratio",
        0.0,
        2.0,
        "cloud revenue a quarter per RMB of new capacity put in service after the last reported quarter",
    ),
    "cloud.supply.capacity_share_of_capex": Param(
        "ratio", 0.0, 1.0, "share of new capex used by Cloud (capacity and depreciation charged to Cloud)"
    ),
    "cloud.supply.leak_rate": Param(
        "ratio", 0.0, 1.0, "share of unserved cloud demand lost each quarter (customers buy elsewhere); the rest waits"
    ),
    "cloud.supply.yield_deflation": Param(
        "ratio",
        0.0,
        0.5,
        "yearly fall in revenue capacity per RMB of capex for later vintages (compute price deflation)",
    ),
    "cloud.supply.exit_utilisation": Param(
        "ratio", 0.5, 1.0, "revenue served / capacity in the last reported quarter (capacity at the boundary)"
    ),
    # --- AIDC and All others ----------------------------------------------------------
    **_path(
        (
            "international.revenue.growth.start",
            "international.revenue.growth.long_run",
            "international.revenue.growth.half_life",
        ),
        "YoY revenue growth of AIDC",
    ),
    **_path(
        ("international.margin.start", "international.margin.long_run", "international.margin.half_life"),
        "adjusted-EBITA margin of AIDC",
        -1.0,
        1.0,
    ),
    **_path(
        (
            "all_others.revenue.growth.start",
            "all_others.revenue.growth.long_run",
            "all_others.revenue.growth.half_life",
        ),
        "YoY revenue growth of All others",
    ),
    **_path(
        ("all_others.margin.start", "all_others.margin.long_run", "all_others.margin.half_life"),
        "adjusted-EBITA margin of All others",
        -1.0,
        1.0,
    ),
    # --- Capex ------------------------------------------------------------------------
    "capex.plan.total": Param("money", 0.0, 5e6, "capex over the plan window, reported part included"),
    "capex.plan.first_quarter": Param("period", doc="first quarter of the plan window"),
    "capex.plan.last_quarter": Param("period", doc="last quarter of the plan window"),
    "capex.plan.phasing_tilt": Param(
        "ratio", -0.5, 1.0, "quarter-on-quarter tilt of the remaining plan (0 = even phasing)"
    ),
    "capex.after_plan.target_utilisation": Param(
        "ratio", 0.3, 1.0, "after the plan, capex buys the capacity that serves expected demand at this utilisation"
    ),
    "capex.after_plan.backlog_clear_quarters": Param(
        "quarters", 1.0, 40.0, "after the plan, capex also buys capacity to serve the backlog over this many quarters"
    ),
    "capex.after_plan.max_capex_to_revenue": Param(
        "ratio", 0.0, 1.0, "funding rule after the plan: capex a quarter at most this share of group revenue"
    ),
    "capex.new_assets_from": Param(
        "period", doc="first quarter whose capex the model depreciates; earlier assets are legacy"
    ),
    "capex.useful_life": Param(
        "quarters", 4.0, 160.0, "straight-line depreciation life of servers and network equipment"
    ),
    "capex.building_life": Param(
        "quarters", 4.0, 200.0, "straight-line depreciation life of buildings and data-centre shells"
    ),
    "capex.server_share": Param(
        "ratio", 0.0, 1.0, "share of new capex that is servers and network (the rest: buildings)"
    ),
    "capex.own_ai_share": Param(
        "ratio",
        0.0,
        1.0,
        "share of new capex used by the group's own AI work (Qwen training, consumer AI apps), charged to All others",
    ),
    "capex.rest_share.china_ecommerce": Param(
        "ratio", 0.0, 1.0, "of new assets not used by Cloud or own AI work, the share charged to China E-commerce"
    ),
    "capex.rest_share.international": Param(
        "ratio",
        0.0,
        1.0,
        "of new assets not used by Cloud or own AI work, the share charged to AIDC (the rest: All others)",
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
        "money",
        -1e5,
        1e5,
        "cash items a quarter outside the proxy (working capital, interest, other), reconciling it to reported FCF",
    ),
    "group.elimination.other_share": Param(
        "ratio", 0.0, 0.5, "inter-segment revenue other than cloud, as a share of non-cloud revenue"
    ),
    # --- Below adjusted EBITA, per share, capital return (assumptions/earnings.yaml) ---------
    "earnings.sbc_share_of_revenue": Param("ratio", 0.0, 0.2, "share-based compensation as a share of group revenue"),
    "earnings.amortisation": Param(
        "money", -1e5, 0.0, "amortisation and impairment of intangible assets a quarter (< 0)"
    ),
    "earnings.goodwill_impairment.event": Param(
        "ratio", 0.0, 1.0, "1 if a goodwill impairment is booked (a bernoulli event)"
    ),
    "earnings.goodwill_impairment.size": Param(
        "money", -1e6, 0.0, "size of the goodwill impairment when it happens (< 0)"
    ),
    "earnings.goodwill_impairment.quarter": Param("period", doc="quarter in which the impairment event is booked"),
    "earnings.cash_yield": Param("ratio", 0.0, 0.2, "annual interest yield on cash and liquid investments"),
    "earnings.investment_gains.centre": Param(
        "money", -1e6, 1e6, "median of a quarter's investment gains (mark-to-market, disposals)"
    ),
    "earnings.investment_gains.spread": Param(
        "money", 0.0, 1e6, "standard deviation of a quarter's investment gains (normal)"
    ),
    "earnings.investment_gains.draw": Param(
        "ratio", 0.0, 1.0, "uniform seeding each quarter's own draw of the gains (independent)"
    ),
    "earnings.cash.base": Param(
        "money", 0.0, 1e7, "cash, short-term and other liquid investments at the last reported quarter"
    ),
    "earnings.debt": Param("money", 0.0, 1e7, "borrowings, notes and bonds (held constant)"),
    "earnings.debt_cost": Param("ratio", 0.0, 0.2, "annual interest rate on debt"),
    "earnings.other_income": Param("money", -1e5, 1e5, "other income (expense), net a quarter"),
    "earnings.tax_rate": Param(
        "ratio", 0.0, 1.0, "income tax / positive adjusted EBITA of China e-commerce and Cloud (by entity group)"
    ),
    "earnings.equity_method": Param("money", -1e5, 1e5, "share of results of equity method investees a quarter"),
    "earnings.ant.stake": Param("ratio", 0.0, 1.0, "Alibaba's stake in Ant Group (equity method, lagged a quarter)"),
    "earnings.ant.net_profit": Param("money", -1e5, 1e5, "Ant Group's own net profit a quarter"),
    "earnings.nci": Param("money", -1e5, 1e5, "net loss attributable to non-controlling interests a quarter (added)"),
    "earnings.shares.base": Param(
        "count", 1000.0, 50000.0, "ordinary shares outstanding at the last reported quarter, millions"
    ),
    "earnings.shares.esop_dilution": Param(
        "ratio", 0.0, 0.2, "shares issued under the ESOP a year, share of shares outstanding"
    ),
    "earnings.shares.dilution_premium": Param(
        "ratio", 0.0, 0.2, "diluted / outstanding shares - 1 (options, RSUs, convertibles)"
    ),
    "earnings.buyback.remaining": Param(
        "usd_money", 0.0, 1e6, "buyback authorisation left at the last reported quarter"
    ),
    "earnings.buyback.pace": Param("usd_money", 0.0, 1e5, "buybacks a quarter while the authorisation lasts"),
    "earnings.buyback.program_end": Param("period", doc="last quarter of the current buyback authorisation"),
    "earnings.buyback.after_program": Param(
        "usd_money", 0.0, 1e5, "buybacks a quarter after the programme ends (a renewal)"
    ),
    "earnings.buyback.price": Param(
        "usd_unit", 1.0, 5000.0, "price per ADS paid for buybacks in the first projected quarter"
    ),
    "earnings.buyback.price_growth": Param("ratio", -0.9, 5.0, "annual change of the buyback price per ADS"),
    "earnings.dividend.per_ads": Param(
        "usd_unit", 0.0, 100.0, "annual dividend per ADS, paid in the second fiscal quarter"
    ),
}

# --------------------------------------------------------------------------------------
# Seed estimates: base-quarter values of sub-lines Alibaba does not report (a gap in
# history), one estimate per (series, quarter).
#
# ONE spelling inside pivotmodel: ``<series>.seed.<quarter>`` (``cloud.ai_revenue.seed.FY2026Q1``),
# the key of the Input, of its random stream, of correlations.yaml pairs and of every output
# (sensitivity tables, the inputs sheet). The segment files nest estimates under a ``seed:``
# block, so their path reads ``<segment>.seed.<name>.<quarter>`` (``cloud.seed.ai_revenue.FY2026Q1``);
# analysts' files keep that layout, and the two functions below are the only place the file
# path is mapped to the key and back.

# SEEDABLE and OPTIONAL_SEEDS are derived from the segments' declared lines (below).


def seed_key(series: str, quarter: Any) -> str:
    """The key of a seed estimate: ``cloud.ai_revenue.seed.FY2026Q1`` (``quarter``: a
    :class:`~pivotmodel.periods.Quarter` or its label)."""
    return f"{series}.seed.{getattr(quarter, 'label', quarter)}"


def seed_file_key(series: str, quarter: Any) -> str:
    """Where a seed estimate sits in its segment file: ``cloud.seed.ai_revenue.FY2026Q1``."""
    segment, name = series.split(".", 1)
    return f"{segment}.seed.{name}.{getattr(quarter, 'label', quarter)}"


def parse_seed_file_key(path: str) -> tuple[str, str] | None:
    """``cloud.seed.ai_revenue.FY2026Q1`` -> (``cloud.ai_revenue``, ``FY2026Q1``); None if the
    path is not under a ``seed:`` block; the series may be unknown (the caller says so)."""
    parts = path.split(".")
    if len(parts) < 2 or parts[1] != "seed":
        return None
    if len(parts) != 4:
        return ("", "")
    return f"{parts[0]}.{parts[2]}", parts[3]


# Simulation settings (assumptions/simulation.yaml): name -> (type, description)
SETTINGS: dict[str, tuple[type, str]] = {
    "seed": (int, "random seed for every draw"),
    "draws": (int, "number of Monte Carlo draws"),
    "method": (str, "mc | lhs | sobol"),
    "horizon": (str, "last projected quarter, e.g. FY2031Q4"),
    "chunk_size": (int, "draws evaluated at once"),
    "tolerance": (float, "stop when every claim's 95% interval is narrower than this"),
    "max_draws": (int, "draw cap for the stop rule"),
    "boundary_yoy": (
        float,
        "validate warns when first-projected YoY growth steps more than this from the last reported",
    ),
    "boundary_qoq": (float, "validate warns when first-projected QoQ growth steps more than this from the expected"),
    "boundary_margin": (float, "validate warns when the first-projected margin steps more than this from the expected"),
    # what decides each claim (pivotmodel.claim_status), each checked against STATUS_RANGES
    "status_rank_correlation": (float, "decided by an input: its metric's |rank correlation| with it is at least this"),
    "status_separation": (float, "decided by an input: a cut on it separates holding and failing draws (KS) this well"),
    "status_binding_share": (float, "decided by construction: cloud capacity binds in at least this share of draws"),
    "status_demand_shift": (float, "...unless its probability on demand moves less than this from the served one"),
    "boundary_one_offs": (
        list,
        "known one-offs the boundary report shows as explained: each {quarters, subject, metric, reason, source}",
    ),
    "views": (list, "input keys the report shows as views the outcome rests on (judgements, not reported figures)"),
}
# (lowest, highest, whether the lowest is allowed) of each status setting
STATUS_RANGES: dict[str, tuple[float, float, bool]] = {
    "status_rank_correlation": (0.5, 1.0, False),
    "status_separation": (0.5, 1.0, False),
    "status_binding_share": (0.5, 1.0, True),
    "status_demand_shift": (0.0, 0.5, True),
}


# --------------------------------------------------------------------------------------
# Segments: every per-segment list in pivotmodel (engine, tables, charts, history, as-of,
# boundary check) reads this tuple, in this order.


LINE_KINDS = ("reported", "seeded", "derived")


@dataclass(frozen=True)
class Line:
    """A line of a segment with history: ``reported`` (a row of history/reported.csv in every
    base quarter: the model grows from it), ``seeded`` (a sub-line Alibaba does not report in
    RMB: an estimate in the segment file's ``seed:`` block fills each base quarter without a
    row; ``optional``: the model does not grow from it, so the estimate may be left out) or
    ``derived`` from other lines and inputs (``reads``: the lines its base-quarter value is
    computed from, in :func:`pivotmodel.model.assembly.base_quarter_estimates`)."""

    name: str
    kind: str
    reads: tuple[str, ...] = ()
    optional: bool = False


def _lines(*extra: Line) -> tuple[Line, ...]:
    """Revenue and adjusted EBITA, reported, then the segment's sub-lines."""
    return (Line("revenue", "reported"), Line("adjusted_ebita", "reported"), *extra)


@dataclass(frozen=True)
class Segment:
    """A reportable segment the model projects.

    ``file``: the assumption file stem holding its inputs (``<file>.yaml``, top key ``<file>:``);
    ``history_prefix``: its ``model_series_prefix`` in history/segment_map.csv, under which
    reported rows become ``<prefix>.revenue`` and ``<prefix>.adjusted_ebita``;
    ``driver``: the module under ``pivotmodel/model/`` that projects it (``growth_segments``
    serves any segment with a revenue growth path and a margin path);
    ``growth_inputs`` / ``margin_inputs``: the inputs that set its first projected quarter's
    growth and margin (``validate``'s boundary check names them);
    ``lines``: its lines with history (:class:`Line`), from which the seedable series, the
    base-quarter check and the base-quarter estimates are derived;
    ``parent``: the node it adds up into (``group`` for the reportable segments);
    ``charges_own_ai``: whether it bears the depreciation of new assets used for the group's own
    AI work (``<id>.ai_depreciation``).
    """

    id: str
    label: str
    colour: str
    file: str
    history_prefix: str
    driver: str
    growth_inputs: tuple[str, ...] = ()
    margin_inputs: tuple[str, ...] = ()
    lines: tuple[Line, ...] = ()
    parent: str = "group"  # the node its revenue and EBITA add up into
    charges_own_ai: bool = False  # bears the depreciation of capex.own_ai_share (at most one segment)


SEGMENTS: tuple[Segment, ...] = (
    Segment(
        "china_ecommerce",
        "China E-commerce",
        "#E8710A",
        "china_ecommerce",
        "china_ecommerce",
        "china_ecommerce",
        (
            "china_ecommerce.gmv.growth.start",
            "china_ecommerce.take_rate.growth.start",
            "china_ecommerce.regulatory_shock",
            "china_ecommerce.quick_commerce.orders.growth.start",
            "china_ecommerce.quick_commerce.monetisation.start",
            "china_ecommerce.other_revenue.growth.start",
        ),
        ("china_ecommerce.core_margin.start", "china_ecommerce.quick_commerce.loss_per_order.start"),
        _lines(
            Line("cmr", "seeded"),
            Line("quick_commerce_revenue", "seeded"),
            Line("quick_commerce_ebita", "seeded", optional=True),  # past quarters' losses: broker estimates
            Line("other_revenue", "derived", ("revenue", "cmr", "quick_commerce_revenue")),
            Line("quick_commerce_orders", "derived", ("quick_commerce_revenue",)),
        ),
    ),
    Segment(
        "cloud",
        "Cloud Intelligence",
        "#1A73E8",
        "cloud",
        "cloud",
        "cloud",
        (
            "cloud.ai_revenue.growth.start",
            "cloud.other_external_revenue.growth.start",
            "cloud.internal_revenue.growth.start",
            "cloud.internal_share",
            "cloud.supply.exit_utilisation",
            "cloud.supply.revenue_yield",
        ),
        ("cloud.margin_before_new_depreciation.start", "cloud.supply.capacity_share_of_capex", "capex.useful_life"),
        _lines(
            Line("ai_revenue", "seeded"),
            Line("internal_revenue", "derived", ("revenue",)),
            Line("external_revenue", "derived", ("revenue",)),
            Line("other_external_revenue", "derived", ("revenue", "ai_revenue")),
        ),
    ),
    Segment(
        "international",
        "AIDC",
        "#12B5CB",
        "international",
        "international",
        "growth_segments",
        ("international.revenue.growth.start",),
        ("international.margin.start",),
        _lines(),
    ),
    Segment(
        "all_others",
        "All others",
        "#9AA0A6",
        "all_others",
        "all_others",
        "growth_segments",
        ("all_others.revenue.growth.start",),
        ("all_others.margin.start", "capex.own_ai_share", "capex.useful_life"),
        _lines(),
        charges_own_ai=True,
    ),
)
# The consolidated group: not a segment, but shown beside them (label, colour, history prefix).
GROUP = Segment("group", "Group", "#3C4043", "group", "group", "group")
SEGMENT_IDS: tuple[str, ...] = tuple(s.id for s in SEGMENTS)
SEGMENT_LABELS: dict[str, str] = {s.id: s.label for s in (*SEGMENTS, GROUP)}
SEGMENT_COLOURS: dict[str, str] = {s.id: s.colour for s in (*SEGMENTS, GROUP)}
# Every assumption file of inputs (a file per segment, then the group-wide ones), in load order.
# what the boundary report follows (pivotmodel.boundary.SUBJECTS, in order) and its metrics
BOUNDARY_SUBJECTS: tuple[str, ...] = (*(s.id for s in SEGMENTS), "capex", "cmr", "quick_commerce", "group")
BOUNDARY_METRICS: tuple[str, ...] = ("yoy", "qoq", "margin")
INPUT_FILES: tuple[str, ...] = (*(s.file for s in SEGMENTS), "capex", "group", "earnings")


# Derived from the segments' lines: seed series -> the segment file holding its estimates, and
# those the model does not grow from (an estimate is optional: it lets claims about those past
# quarters be tested "on estimates"; without one the quarter stays n/a).
SEEDABLE: dict[str, str] = {f"{s.id}.{ln.name}": s.file for s in SEGMENTS for ln in s.lines if ln.kind == "seeded"}
OPTIONAL_SEEDS: frozenset[str] = frozenset(f"{s.id}.{ln.name}" for s in SEGMENTS for ln in s.lines if ln.optional)
# derived line -> the seeded lines it reads (its base-quarter value is an estimate when they are)
DERIVED_FROM_SEEDS: dict[str, frozenset[str]] = {
    f"{s.id}.{ln.name}": frozenset(f"{s.id}.{r}" for r in ln.reads if f"{s.id}.{r}" in SEEDABLE)
    for s in SEGMENTS
    for ln in s.lines
    if ln.kind == "derived"
}
# the segment bearing the own-AI depreciation (capex.own_ai_share)
OWN_AI_SEGMENTS: tuple[str, ...] = tuple(s.id for s in SEGMENTS if s.charges_own_ai)


def base_lines() -> tuple[str, ...]:
    """The reported lines the model grows from: each must have a row in every base quarter
    (checked on every load, :mod:`pivotmodel.base_quarters`): every top-level segment's
    reported revenue, and group revenue (where history ends)."""
    return (
        *(
            f"{s.id}.{ln.name}"
            for s in SEGMENTS
            if s.parent == "group"
            for ln in s.lines
            if ln.kind == "reported" and ln.name == "revenue"
        ),
        "group.revenue",
    )


def base_estimated_lines() -> tuple[str, ...]:
    """Lines whose base-quarter gaps the model fills per draw: seeded and derived."""
    return tuple(f"{s.id}.{ln.name}" for s in SEGMENTS for ln in s.lines if ln.kind in ("seeded", "derived"))


# --------------------------------------------------------------------------------------
# Child segments: nodes under a registered segment whose history is *estimated* (sourced
# estimates or an allocation), declared as data in the assumptions folder's ``segments.yaml``
# (no Python): Cainiao, Amap, consumer AI ... under All others. A child is projected by the
# driver it names; its parent then becomes the sum of its children and a *residual* (the
# parent's reported history less the children's, shown as ``<parent>.residual_revenue`` and
# ``<parent>.residual_ebita``), which the parent's own inputs project. In every reported quarter
# the children plus the residual equal the parent by construction; the loader refuses
# estimates that would leave a negative residual revenue.

CHILD_DRIVERS = ("growth_segments", "loss_path")  # growth and margin paths; or a quarterly EBITA level (no revenue)
CHILD_PARENT_DRIVERS = ("growth_segments",)  # the parents' drivers that project a residual


@dataclass(frozen=True)
class Child:
    """A child segment declared in ``segments.yaml``: ``id`` (its key prefix, file stem and
    series prefix), ``label``, ``parent`` (a registered segment), ``driver``; ``own_ai``: it bears
    the parent's share of new-asset depreciation for the group's own AI work instead of the
    residual (the parent must be the segment charged with it; at most one child)."""

    id: str
    label: str
    parent: str
    driver: str = "growth_segments"
    own_ai: bool = False

    @property
    def lines(self) -> tuple[str, ...]:
        """Its lines: revenue and adjusted EBITA; a ``loss_path`` child (revenue a gap, left in
        the residual) has adjusted EBITA only."""
        return ("adjusted_ebita",) if self.driver == "loss_path" else ("revenue", "adjusted_ebita")


def child_parameters(child: Child) -> dict[str, Param]:
    """The keys a child's driver reads, written out in full from the declaration (growth_segments:
    a revenue growth path and a margin path, as for AIDC; loss_path: a quarterly adjusted-EBITA
    level in RMB million converging from its start to a long-run level)."""
    i = child.id
    if child.driver == "loss_path":
        return {
            f"{i}.loss.start": Param(
                "money",
                -1e6,
                1e6,
                f"adjusted EBITA of {child.label} in RMB million a quarter "
                "(loss < 0) at the exit of the base year, as estimated (after own-AI depreciation "
                "if it bears it; the engine adds that back)",
            ),
            f"{i}.loss.long_run": Param(
                "money",
                -1e6,
                1e6,
                f"quarterly adjusted EBITA of {child.label} the path converges to (before own-AI depreciation)",
            ),
            f"{i}.loss.half_life": Param(
                "quarters", 0.25, 80, f"quarters for {child.label}'s gap to its long-run level to halve"
            ),
        }
    return {
        **_path(
            (f"{i}.revenue.growth.start", f"{i}.revenue.growth.long_run", f"{i}.revenue.growth.half_life"),
            f"YoY revenue growth of {child.label}",
        ),
        **_path(
            (f"{i}.margin.start", f"{i}.margin.long_run", f"{i}.margin.half_life"),
            f"adjusted-EBITA margin of {child.label}",
            -1.0,
            1.0,
        ),
    }


def child_series(children: tuple[Child, ...]) -> dict[str, tuple[str, str]]:
    """The series the engine returns for declared children: each child's revenue and EBITA, and
    each parent's residual."""
    out: dict[str, tuple[str, str]] = {}
    for c in children:
        if "revenue" in c.lines:
            out[f"{c.id}.revenue"] = ("RMB_mn", f"{c.label} revenue (history: estimates)")
        out[f"{c.id}.adjusted_ebita"] = ("RMB_mn", f"{c.label} adjusted EBITA (history: estimates)")
        out[f"{c.parent}.residual_revenue"] = (
            "RMB_mn",
            f"{segment(c.parent).label} revenue outside its declared children",
        )
        out[f"{c.parent}.residual_ebita"] = (
            "RMB_mn",
            f"{segment(c.parent).label} adjusted EBITA outside its declared children",
        )
    return out


def segment(segment_id: str) -> Segment:
    """The registered segment ``segment_id`` (group included)."""
    for s in (*SEGMENTS, GROUP):
        if s.id == segment_id:
            return s
    raise KeyError(f"{segment_id!r} is not a segment; segments: {', '.join(SEGMENT_IDS)}")


# --------------------------------------------------------------------------------------
# Output series: every series the engine returns (a test checks both ways). Name ->
# (unit inside the engine, description). Money is RMB million a quarter, summed over periods.

SERIES: dict[str, tuple[str, str]] = {
    "china_ecommerce.revenue": ("RMB_mn", "Alibaba China E-commerce Group revenue"),
    "china_ecommerce.cmr": ("RMB_mn", "customer management revenue = GMV x take rate"),
    "china_ecommerce.gmv": ("RMB_mn", "GMV behind CMR (model estimate; not reported)"),
    "china_ecommerce.quick_commerce_revenue": ("RMB_mn", "quick commerce revenue"),
    "china_ecommerce.quick_commerce_ebita": ("RMB_mn", "quick commerce adjusted EBITA (loss < 0)"),
    "china_ecommerce.quick_commerce_orders": ("count_mn", "quick commerce orders, millions"),
    "china_ecommerce.other_revenue": ("RMB_mn", "other China e-commerce revenue"),
    "china_ecommerce.adjusted_ebita": ("RMB_mn", "China E-commerce adjusted EBITA"),
    "china_ecommerce.new_depreciation": ("RMB_mn", "depreciation of new assets charged to China E-commerce"),
    "cloud.revenue": ("RMB_mn", "Cloud Intelligence Group revenue (before elimination)"),
    "cloud.external_revenue": ("RMB_mn", "cloud revenue from external customers"),
    "cloud.ai_revenue": ("RMB_mn", "AI-related product revenue"),
    "cloud.other_external_revenue": ("RMB_mn", "external cloud revenue other than AI"),
    "cloud.internal_revenue": ("RMB_mn", "cloud revenue from other Alibaba segments"),
    "cloud.demand": ("RMB_mn", "cloud revenue demanded (before the supply limit) by the customers not lost"),
    "cloud.potential_demand": ("RMB_mn", "cloud revenue the demand paths ask for if no customer were ever lost"),
    "cloud.lost_demand": ("RMB_mn", "cloud demand lost in the quarter: unserved and gone to other clouds"),
    "cloud.capacity_revenue": ("RMB_mn", "most revenue the capacity in service can earn"),
    "cloud.backlog": ("RMB_mn", "demand not yet served at the quarter's end (a stock; years show the average)"),
    "cloud.utilisation": ("ratio", "served revenue / capacity revenue (years show the average)"),
    "cloud.capex_funding_bound": (
        "ratio",
        "1 where the funding rule (capex.after_plan.max_capex_to_revenue) cut the capex the policy wanted, else 0"
        " (0 inside the plan window; years show the share of quarters)",
    ),
    "cloud.depreciation": ("RMB_mn", "depreciation of new assets charged to cloud"),
    "cloud.adjusted_ebita": ("RMB_mn", "Cloud adjusted EBITA"),
    "international.revenue": ("RMB_mn", "AIDC revenue"),
    "international.adjusted_ebita": ("RMB_mn", "AIDC adjusted EBITA"),
    "international.new_depreciation": ("RMB_mn", "depreciation of new assets charged to AIDC"),
    "all_others.revenue": ("RMB_mn", "All others revenue"),
    "all_others.adjusted_ebita": ("RMB_mn", "All others adjusted EBITA"),
    "all_others.ai_depreciation": ("RMB_mn", "depreciation of new assets used for the group's own AI work"),
    "all_others.new_depreciation": (
        "RMB_mn",
        "depreciation of new assets charged to All others (own AI work and its part of the rest)",
    ),
    "group.segment_revenue": ("RMB_mn", "sum of segment revenue"),
    "group.elimination": ("RMB_mn", "inter-segment revenue elimination (< 0)"),
    "group.revenue": ("RMB_mn", "consolidated revenue"),
    "group.segment_ebita": ("RMB_mn", "sum of segment adjusted EBITA"),
    "group.unallocated": ("RMB_mn", "unallocated adjusted EBITA (< 0)"),
    "group.ebita_elimination": ("RMB_mn", "inter-segment EBITA elimination"),
    "group.adjusted_ebita": ("RMB_mn", "consolidated adjusted EBITA"),
    "group.depreciation": ("RMB_mn", "depreciation (history: reported D&A)"),
    "group.depreciation_new": ("RMB_mn", "depreciation of assets since capex.new_assets_from (all uses)"),
    "group.adjusted_ebitda": ("RMB_mn", "adjusted EBITA + depreciation"),
    "group.capex": ("RMB_mn", "capex: purchase of property and equipment"),
    "group.capex_to_revenue": ("ratio", "capex / group revenue (years show the average of the quarters)"),
    "group.cash_tax": ("RMB_mn", "cash tax (positive = paid)"),
    "group.fcf": ("RMB_mn", "free cash flow (history: reported; projection: proxy + other cash items)"),
    "group.fcf_proxy": (
        "RMB_mn",
        "adjusted EBITDA - capex - cash tax (history: from reported EBITA, D&A a quarter of the year's, capex)",
    ),
    "group.fx_usd_rmb": (
        "RMB_per_USD",
        "exchange rate, RMB per US$ (reported quarters without a rate: the FX assumption)",
    ),
    # below adjusted EBITA, per share, net cash (pivotmodel.model.earnings; signs in pivotmodel.earnings_series)
    "group.sbc": ("RMB_mn", "share-based compensation (< 0)"),
    "group.amortisation": ("RMB_mn", "amortisation and impairment of intangible assets (< 0)"),
    "group.goodwill_impairment": ("RMB_mn", "impairment of goodwill (< 0; an event input)"),
    "group.income_from_operations": (
        "RMB_mn",
        "income from operations = adjusted EBITA + SBC + amortisation + goodwill impairment",
    ),
    "group.interest_investment_income": (
        "RMB_mn",
        "interest and investment income, net (yield on cash + mark-to-market gains)",
    ),
    "group.investment_gains": (
        "RMB_mn",
        "mark-to-market and disposal gains inside interest and investment income (excluded from non-GAAP)",
    ),
    "group.interest_expense": ("RMB_mn", "interest expense (< 0)"),
    "group.other_income": ("RMB_mn", "other income (expense), net"),
    "group.income_before_tax": ("RMB_mn", "income before income tax and share of results of equity method investees"),
    "group.income_tax": ("RMB_mn", "income tax expenses (< 0)"),
    "group.equity_method": ("RMB_mn", "share of results of equity method investees (Ant Group and others)"),
    "group.equity_method_ant": ("RMB_mn", "Ant Group's part of the equity-method line: stake x Ant's net profit"),
    "group.equity_method_others": ("RMB_mn", "the equity-method line less Ant's part (other investees; a remainder)"),
    "group.net_income": ("RMB_mn", "net income (GAAP)"),
    "group.nci": ("RMB_mn", "net loss (+) / income (-) attributable to non-controlling interests and mezzanine equity"),
    "group.net_income_attributable": ("RMB_mn", "net income attributable to ordinary shareholders (GAAP)"),
    "group.non_gaap_adjustments": (
        "RMB_mn",
        "non-GAAP adjustments: SBC, amortisation, impairments, investment gains/losses, tax effects",
    ),
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

"""Hand-worked cases of the economics, one small table per driver function: the inputs are round
numbers, the expected figures are worked out in the comments, and each case would fail on the
formula mistakes a reviewer made by hand (cash tax on a loss, a shock that lasts more than a
year, a loss per order that passes its cap, depreciation over the wrong life, ...).

Each driver runs on plain arrays (:class:`Values`, :class:`BaseQuarters`), without the loader;
the capex and path blocks are checked on both engines where numba is installed.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from pivotmodel.model.capex import _in_service_numpy
from pivotmodel.model.china_ecommerce import project_china_ecommerce
from pivotmodel.model.engine_choice import load_kernels, running_with
from pivotmodel.model.group import SEGMENTS, project_group
from pivotmodel.model.growth_segments import project_growth_segment
from pivotmodel.model.inputs import BaseQuarters, Values
from pivotmodel.model.paths import compound_yoy, converging_path
from pivotmodel.periods import parse_quarter
from pivotmodel.schema import OWN_AI_SEGMENTS

BASE_Q = tuple(parse_quarter(f"FY2026Q{k}") for k in range(1, 5))


def _engines():
    try:
        kernels = load_kernels()
    except ImportError:
        return [None]
    return [None, kernels]


ENGINES = pytest.mark.parametrize("kernels", _engines(), ids=lambda k: "numpy" if k is None else "compiled")


def _flat(prefix: str, rate: float) -> dict[str, float]:
    """A path that stays at ``rate`` (start = long run)."""
    return {f"{prefix}.start": rate, f"{prefix}.long_run": rate, f"{prefix}.half_life": 4.0}


def _values(d: dict[str, float]) -> Values:
    return Values({k: np.array([float(x)]) for k, x in d.items()}, 1)


# --- paths --------------------------------------------------------------------------------


@ENGINES
@pytest.mark.parametrize(
    ("start", "long_run", "half_life", "expected"),
    [
        # 0.1 + 0.1 x 0.5 ** (t / 2): 0.2, 0.1 + 0.1 / sqrt(2), 0.15, 0.1 + 0.05 / sqrt(2), 0.125
        (0.2, 0.1, 2.0, [0.2, 0.1 + 0.1 / 2**0.5, 0.15, 0.1 + 0.05 / 2**0.5, 0.125]),
        (-0.4, 0.0, 1.0, [-0.4, -0.2, -0.1, -0.05, -0.025]),  # a loss margin halving towards 0 each quarter
        (0.3, 0.3, 8.0, [0.3] * 5),  # at the long run already: flat
    ],
)
def test_converging_path(kernels, start, long_run, half_life, expected):
    with running_with(kernels):
        got = converging_path(np.array([[start]]), np.array([[long_run]]), np.array([[half_life]]), 5)
    np.testing.assert_allclose(got[0], expected, rtol=1e-12)


@ENGINES
@pytest.mark.parametrize(
    ("growth", "expected"),
    [
        # each quarter grows on the same quarter a year earlier: seasonality carries over
        ([0.1] * 6, [110.0, 121.0, 132.0, 143.0, 121.0, 133.1]),
        # a one-year fall of 50% then flat: the lower level persists (it is not undone)
        ([-0.5] * 4 + [0.0] * 4, [50.0, 55.0, 60.0, 65.0, 50.0, 55.0, 60.0, 65.0]),
    ],
)
def test_compound_yoy(kernels, growth, expected):
    with running_with(kernels):
        got = compound_yoy(np.array([[100.0, 110.0, 120.0, 130.0]]), np.array([growth]))
    np.testing.assert_allclose(got[0], expected, rtol=1e-12)


# --- China e-commerce ---------------------------------------------------------------------


def _china(**over: float) -> dict[str, np.ndarray]:
    """Base quarters: segment revenue 1,000, CMR 100, quick commerce 200 (so other revenue 700);
    take rate 4% (GMV 2,500); order value RMB40 and monetisation 50% (RMB20 of revenue an order,
    so 10m orders); every growth path 0 and core margin 10% unless ``over`` says otherwise."""
    p, q = "china_ecommerce", "china_ecommerce.quick_commerce"
    d = {
        **_flat(f"{p}.gmv.growth", 0.0),
        **_flat(f"{p}.take_rate.growth", 0.0),
        f"{p}.regulatory_shock": 0.0,
        f"{p}.take_rate.base": 0.04,
        **_flat(f"{q}.orders.growth", 0.0),
        f"{q}.order_value.base": 40.0,
        f"{q}.order_value.growth": 0.0,
        **_flat(f"{q}.monetisation", 0.5),
        f"{q}.loss_per_order.start": -4.0,
        f"{q}.quarters_to_breakeven": 4.0,
        f"{q}.long_run_margin": 0.05,
        **_flat(f"{p}.other_revenue.growth", 0.0),
        **_flat(f"{p}.core_margin", 0.1),
    }
    d.update(over)
    base = BaseQuarters(
        BASE_Q,
        {
            f"{p}.revenue": np.full(4, 1000.0),
            f"{p}.cmr": np.full(4, 100.0),
            f"{p}.quick_commerce_revenue": np.full(4, 200.0),
        },
    )
    return {k: x[0] for k, x in project_china_ecommerce(_values(d), base, 8).items()}


def test_china_with_nothing_changing_repeats_the_base_year():
    out = _china()
    np.testing.assert_allclose(out["china_ecommerce.gmv"], 2500.0)  # CMR 100 / take rate 4%
    np.testing.assert_allclose(out["china_ecommerce.cmr"], 100.0)
    np.testing.assert_allclose(out["china_ecommerce.other_revenue"], 700.0)  # 1,000 - 100 - 200
    np.testing.assert_allclose(out["china_ecommerce.quick_commerce_orders"], 10.0)  # 200 / (40 x 0.5)
    np.testing.assert_allclose(out["china_ecommerce.revenue"], 1000.0)


def test_a_regulatory_shock_changes_take_rate_growth_for_one_year_and_the_level_persists():
    # take-rate growth -10% in the first projected year only: take rate 4% -> 3.6% in each of
    # its quarters and stays there (0 growth after): CMR = 2,500 x 3.6% = 90 in all 8 quarters
    out = _china(**{"china_ecommerce.regulatory_shock": -0.1})
    np.testing.assert_allclose(out["china_ecommerce.cmr"], [90.0] * 8)
    np.testing.assert_allclose(out["china_ecommerce.revenue"], [990.0] * 8)  # 90 + 200 + 700


@pytest.mark.parametrize(
    ("quarters_to_breakeven", "cap", "expected"),
    [
        # loss per order -4 x (1 - t/4): -4, -3, -2, -1, 0, then +1 a quarter, capped at 5% x RMB20 = 1;
        # x 10m orders = RMB mn
        (4.0, 0.05, [-40.0, -30.0, -20.0, -10.0, 0.0, 10.0, 10.0, 10.0]),
        # breakeven after 8 quarters: -4 x (1 - t/8) = -4, -3.5, ..., -0.5
        (8.0, 0.05, [-40.0, -35.0, -30.0, -25.0, -20.0, -15.0, -10.0, -5.0]),
        # a cap of -10% x 20 = -2 an order: the loss never improves past RMB2 an order
        (4.0, -0.1, [-40.0, -30.0, -20.0, -20.0, -20.0, -20.0, -20.0, -20.0]),
    ],
)
def test_quick_commerce_loss_per_order_moves_to_breakeven_then_to_its_cap(quarters_to_breakeven, cap, expected):
    out = _china(
        **{
            "china_ecommerce.quick_commerce.quarters_to_breakeven": quarters_to_breakeven,
            "china_ecommerce.quick_commerce.long_run_margin": cap,
        }
    )
    np.testing.assert_allclose(out["china_ecommerce.quick_commerce_ebita"], expected, atol=1e-9)
    # EBITA = core margin 10% x (CMR 100 + other 700) + quick-commerce EBITA
    np.testing.assert_allclose(out["china_ecommerce.adjusted_ebita"], 80.0 + np.array(expected), atol=1e-9)


def test_order_value_grows_once_a_year():
    # order value +10% a year: RMB20 of revenue an order in year 1 becomes 22 from year 2
    # (order value is stepped a year at a time: 40 x 1.1 ** (t // 4 + 1) x 0.5); the base-year
    # orders are sized at 200 / (40 x 0.5) = 10m, so year 1 revenue is 10 x 22 = 220
    out = _china(**{"china_ecommerce.quick_commerce.order_value.growth": 0.1})
    np.testing.assert_allclose(out["china_ecommerce.quick_commerce_revenue"], [220.0] * 4 + [242.0] * 4)


# --- AIDC and All others -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("segment", "growth", "margin", "own_ai", "revenue", "ebita"),
    [
        # revenue 100 a quarter +10% a year: 110 then 121; EBITA 20% of it
        ("international", 0.1, 0.2, 0.0, [110.0] * 4 + [121.0] * 4, [22.0] * 4 + [24.2] * 4),
        # a loss margin: -5% x 90 = -4.5
        ("international", -0.1, -0.05, 0.0, [90.0] * 4 + [81.0] * 4, [-4.5] * 4 + [-4.05] * 4),
        # the own-AI segment also bears its share of new-asset depreciation: own-AI share 0.3 is
        # capped at 1 - cloud 0.8 = 0.2, which leaves no "rest" (1 - 0.8 - 0.2 = 0) for the
        # capex.rest_share split: 0.2 x 10 a quarter = 2; EBITA = 10% x 100 - 2 = 8
        (OWN_AI_SEGMENTS[0], 0.0, 0.1, 0.3, [100.0] * 8, [8.0] * 8),
    ],
)
def test_growth_segment(segment, growth, margin, own_ai, revenue, ebita):
    d = {
        **_flat(f"{segment}.revenue.growth", growth),
        **_flat(f"{segment}.margin", margin),
        "capex.own_ai_share": own_ai,
        "cloud.supply.capacity_share_of_capex": 0.8,
        "capex.rest_share.china_ecommerce": 0.65,
        "capex.rest_share.international": 0.07,
    }
    base = BaseQuarters(BASE_Q, {f"{segment}.revenue": np.full(4, 100.0)})
    e = SimpleNamespace(anchors={})  # an explicit margin start: nothing to add back
    capex = SimpleNamespace(depreciation_new=np.full((1, 8), 10.0))
    out = project_growth_segment(e, _values(d), base, 8, segment, capex)
    np.testing.assert_allclose(out[f"{segment}.revenue"][0], revenue, rtol=1e-12)
    np.testing.assert_allclose(out[f"{segment}.adjusted_ebita"][0], ebita, rtol=1e-12)
    if segment in OWN_AI_SEGMENTS:
        np.testing.assert_allclose(out[f"{segment}.ai_depreciation"][0], 10.0 * min(own_ai, 0.2))


# --- group ----------------------------------------------------------------------------------


def test_group_cash_tax_is_on_profit_only_and_fcf_adds_up():
    # two quarters: segment EBITA +100 then -50 (spread over the segments); revenue 250 a segment
    # (1,000 in all), cloud internal 20 of cloud's 250
    n = len(SEGMENTS)
    seg = {}
    for s in SEGMENTS:
        seg[f"{s}.revenue"] = np.array([[250.0 * 4 / n, 250.0 * 4 / n]])
        seg[f"{s}.adjusted_ebita"] = np.array([[100.0 / n, -50.0 / n]])
    seg["cloud.internal_revenue"] = np.array([[20.0, 20.0]])
    v = _values(
        {
            "group.elimination.other_share": 0.01,
            "group.unallocated": -10.0,
            "group.ebita_elimination": -5.0,
            "group.tax.cash_tax_rate": 0.2,
            "group.other_cash_items": -8.0,
            "group.fx.usd_rmb": 7.0,
        }
    )
    capex = SimpleNamespace(
        depreciation=np.array([[30.0, 30.0]]), depreciation_new=np.array([[12.0, 12.0]]), capex=np.array([[50.0, 50.0]])
    )
    out = {k: np.asarray(x)[0] for k, x in project_group(v, seg, capex, 2).items()}
    cloud = seg["cloud.revenue"][0, 0]
    # elimination = -(internal 20 + 1% x non-cloud revenue (1,000 - cloud))
    np.testing.assert_allclose(out["group.elimination"], -(20.0 + 0.01 * (1000.0 - cloud)))
    np.testing.assert_allclose(out["group.revenue"], 1000.0 - (20.0 + 0.01 * (1000.0 - cloud)))
    # adjusted EBITA = segments + unallocated -10 + elimination -5: 85, then -65
    np.testing.assert_allclose(out["group.adjusted_ebita"], [85.0, -65.0])
    # cash tax 20% of positive EBITA only: 17, then 0 in the loss quarter (never a refund)
    np.testing.assert_allclose(out["group.cash_tax"], [17.0, 0.0])
    # EBITDA = EBITA + depreciation 30: 115, -35; FCF proxy = EBITDA - capex 50 - cash tax: 48, -85
    np.testing.assert_allclose(out["group.adjusted_ebitda"], [115.0, -35.0])
    np.testing.assert_allclose(out["group.fcf_proxy"], [48.0, -85.0])
    np.testing.assert_allclose(out["group.fcf"], [40.0, -93.0])  # + other cash items -8


# --- capex: server and building lives -----------------------------------------------------------


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize(
    ("lag", "expected"),
    [
        # RMB100 of capex in the first quarter, 60% servers over 2 quarters (30 a quarter) and 40%
        # buildings over 4 quarters (10 a quarter): 40, 40, 10, 10, then nothing; 100 in all
        (0.0, [40.0, 40.0, 10.0, 10.0, 0.0, 0.0]),
        # half a quarter's deployment lag: half in service in the first quarter (20), the servers'
        # last half quarter in the third (15 + 10), buildings' in the fifth (5)
        (0.5, [20.0, 40.0, 25.0, 10.0, 5.0, 0.0]),
    ],
)
def test_new_assets_are_depreciated_over_server_and_building_lives(compiled, lag, expected):
    from pivotmodel.model.capex import _in_service_compiled

    args = (
        np.array([100.0]),
        np.zeros((1, 5)),
        np.array([[lag]]),
        np.array([[2.0]]),
        np.array([[4.0]]),
        np.array([[0.6]]),
    )
    if compiled:
        kernels = _engines()[-1]
        if kernels is None:
            pytest.skip("numba is not installed")
        gross, dep = _in_service_compiled(kernels, *args)
    else:
        gross, dep = _in_service_numpy(*args)
    np.testing.assert_allclose(dep[0], expected, atol=1e-12)
    assert dep[0].sum() == pytest.approx(100.0)  # every RMB is depreciated once
    # gross in service: 100 while both classes are, then the 40 of buildings
    if lag == 0.0:
        np.testing.assert_allclose(gross[0], [100.0, 100.0, 40.0, 40.0, 0.0, 0.0], atol=1e-12)

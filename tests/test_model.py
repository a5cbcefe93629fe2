"""The engine: paths, hand-worked segment drivers, identities, and scenario/base-case rules.

Hand-worked cases start from the base values (every input at its median) and pin the inputs
a driver depends on, so the expected number follows from the reported base quarters:
FY2026Q1-Q4 cloud revenue 33,398 / 39,824 / 43,284 / 41,626, AIDC 34,741 / 34,799 /
39,201 / 35,429, CMR FY2026Q1 89,252, quick commerce FY2026Q1 14,784 (RMB million).
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from conftest import FIXTURES, col, copy_assumptions, sampled_values, values_with
from hypothesis import given, settings
from hypothesis import strategies as st

import pivotmodel.assumptions as assumptions_mod
from pivotmodel.errors import InputError
from pivotmodel.model import SEGMENTS, SERIES, base_values, project
from pivotmodel.model.inputs import seed_key
from pivotmodel.model.paths import compound_yoy, converging_path

CLOUD_STREAMS = ("ai_revenue", "other_external_revenue", "internal_revenue")


def flat(prefix: str, rate: float) -> dict[str, float]:
    """A path that starts and stays at ``rate`` (the half-life then does not matter)."""
    return {f"{prefix}.start": rate, f"{prefix}.long_run": rate}


def cloud_growth(rate: float) -> dict[str, float]:
    out: dict[str, float] = {}
    for s in CLOUD_STREAMS:
        out.update(flat(f"cloud.{s}.growth", rate))
    return out


def projected(p, name):
    return p[name][:, col(p, "FY2027Q1") :]


# --- paths ----------------------------------------------------------------------------------


def test_converging_path_halves_the_gap_every_half_life():
    path = converging_path(np.array([[0.30]]), np.array([[0.10]]), np.array([[2.0]]), 9)
    assert path[0, 0] == pytest.approx(0.30)
    assert path[0, 2] == pytest.approx(0.10 + 0.20 / 2)  # t = half-life: gap halved
    assert path[0, 4] == pytest.approx(0.10 + 0.20 / 4)
    assert path[0, 8] == pytest.approx(0.10 + 0.20 / 16)
    assert path[0, 1] == pytest.approx(0.10 + 0.20 * 2**-0.5)


def test_converging_path_per_draw():
    path = converging_path(np.array([[0.3], [0.1]]), np.array([[0.1], [0.1]]), np.array([[1.0], [5.0]]), 3)
    assert path.shape == (2, 3)
    np.testing.assert_allclose(path[0], [0.3, 0.2, 0.15])
    np.testing.assert_allclose(path[1], [0.1, 0.1, 0.1])


def test_compound_yoy_flat_base():
    out = compound_yoy(np.array([[100.0, 100.0, 100.0, 100.0]]), np.full((1, 8), 0.10))
    np.testing.assert_allclose(out, [[110, 110, 110, 110, 121, 121, 121, 121]], rtol=1e-14)


def test_compound_yoy_keeps_seasonality_and_uses_each_quarters_own_rate():
    base = np.array([[1.0, 2.0, 3.0, 4.0]])
    growth = np.array([[0.1, 0.2, 0.3, 0.4, 0.5, 0.0]])
    out = compound_yoy(base, growth)
    np.testing.assert_allclose(out, [[1.1, 2.4, 3.9, 5.6, 1.1 * 1.5, 2.4]], rtol=1e-14)


def test_compound_yoy_broadcasts_a_shared_base_over_draws():
    out = compound_yoy(np.array([[10.0, 20.0, 30.0, 40.0]]), np.array([[0.0] * 5, [1.0] * 5]))
    np.testing.assert_allclose(out, [[10, 20, 30, 40, 10], [20, 40, 60, 80, 40]])


@settings(max_examples=50)
@given(
    st.lists(st.floats(1, 1e5), min_size=4, max_size=4),
    st.lists(st.floats(-0.5, 2.0), min_size=1, max_size=13),
)
def test_compound_yoy_is_the_product_over_the_same_quarter(base, growth):
    out = compound_yoy(np.array([base]), np.array([growth]))
    for t in range(len(growth)):
        expected = base[t % 4] * np.prod([1 + growth[k] for k in range(t % 4, t + 1, 4)])
        assert out[0, t] == pytest.approx(expected, rel=1e-12)


# --- cloud --------------------------------------------------------------------------------------


@pytest.mark.parametrize("half_life", [1.0, 7.0])
def test_cloud_grows_quarter_on_quarter_from_the_exit_run_rate_when_supply_does_not_bind(bundled, half_life):
    changes = {**cloud_growth(0.10), "cloud.supply.revenue_yield": 1e6}
    changes.update({f"cloud.{s}.growth.half_life": half_life for s in CLOUD_STREAMS})
    p = project(bundled, values_with(bundled, changes))
    revenue = p["cloud.revenue"][0]
    # 10% a year from FY2026Q4's 41,626, a quarter at a time: 41,626 x 1.1 ^ (k / 4); the
    # base year's steps (+19% QoQ in FY2026Q2, -4% in Q4) are not repeated a year later
    for k, q in enumerate(("FY2027Q1", "FY2027Q2", "FY2027Q3", "FY2027Q4", "FY2028Q4"), start=1):
        assert revenue[col(p, q)] == pytest.approx(41_626 * 1.1 ** ((k if k < 5 else 8) / 4), rel=1e-12)
    assert revenue[col(p, "FY2027Q4")] == pytest.approx(45_788.6, rel=1e-12)  # 41,626 x 1.1
    np.testing.assert_allclose(projected(p, "cloud.revenue"), projected(p, "cloud.demand"), rtol=1e-15)
    np.testing.assert_array_equal(projected(p, "cloud.backlog"), 0.0)
    np.testing.assert_array_equal(projected(p, "cloud.lost_demand"), 0.0)


# --- China e-commerce ---------------------------------------------------------------------------


def _neutral_take_rate(a) -> dict[str, float]:
    """No take-rate change; no discrete shock where the model has one."""
    out = flat("china_ecommerce.take_rate.growth", 0.0)
    if "china_ecommerce.regulatory_shock" in a.inputs:
        out["china_ecommerce.regulatory_shock"] = 0.0
    return out


def test_cmr_is_gmv_times_take_rate(bundled):
    changes = {**flat("china_ecommerce.gmv.growth", 0.05), **_neutral_take_rate(bundled)}
    p = project(bundled, values_with(bundled, changes))
    q = col(p, "FY2027Q1")
    assert p["china_ecommerce.cmr"][0, q] == pytest.approx(1.05 * 89_252, rel=1e-12)
    assert p["china_ecommerce.gmv"][0, q] == pytest.approx(1.05 * 89_252 / 0.043, rel=1e-12)
    np.testing.assert_allclose(
        projected(p, "china_ecommerce.cmr"), 0.043 * projected(p, "china_ecommerce.gmv"), rtol=1e-13
    )
    changes.update(flat("china_ecommerce.take_rate.growth", 0.02))
    p2 = project(bundled, values_with(bundled, changes))
    assert p2["china_ecommerce.cmr"][0, q] == pytest.approx(89_252 * 1.05 * 1.02, rel=1e-12)
    assert p2["china_ecommerce.cmr"][0, col(p, "FY2028Q1")] == pytest.approx(89_252 * (1.05 * 1.02) ** 2, rel=1e-12)
    np.testing.assert_array_equal(p2["china_ecommerce.gmv"], p["china_ecommerce.gmv"])  # take rate moves CMR only


QC = "china_ecommerce.quick_commerce"


def quick_commerce_case(a, long_run_margin: float):
    changes = {
        f"{QC}.loss_per_order.start": -2.0,
        f"{QC}.quarters_to_breakeven": 8,
        f"{QC}.long_run_margin": long_run_margin,
        f"{QC}.order_value.base": 30,
        f"{QC}.order_value.growth": 0.0,
        **flat(f"{QC}.orders.growth", 0.2),
        **flat(f"{QC}.monetisation", 0.10),
    }
    return project(a, values_with(a, changes))


def test_quick_commerce_orders_revenue_and_loss_by_hand(bundled):
    p = quick_commerce_case(bundled, 0.0)
    q = col(p, "FY2027Q1")
    # base orders FY2026Q1 = 14,784 / (30 x 0.10) = 4,928 million; +20%
    assert p["china_ecommerce.quick_commerce_orders"][0, q] == pytest.approx(4_928 * 1.2, rel=1e-12)
    assert p["china_ecommerce.quick_commerce_revenue"][0, q] == pytest.approx(14_784 * 1.2, rel=1e-12)
    orders = projected(p, "china_ecommerce.quick_commerce_orders")[0]
    ebita = projected(p, "china_ecommerce.quick_commerce_ebita")[0]
    for t in range(8):  # loss per order: -2 x (1 - t/8), a loss every quarter before breakeven
        assert ebita[t] == pytest.approx(-2.0 * (1 - t / 8) * orders[t], rel=1e-12)
        assert ebita[t] < 0
    assert ebita[0] == pytest.approx(-2.0 * 4_928 * 1.2, rel=1e-12)
    # zero at quarters_to_breakeven (t = 8, FY2029Q1) and, with a 0% long-run margin, after it
    np.testing.assert_array_equal(ebita[8:], 0.0)


def test_quick_commerce_margin_after_breakeven_is_capped(bundled):
    p = quick_commerce_case(bundled, 0.05)
    orders = projected(p, "china_ecommerce.quick_commerce_orders")[0]
    ebita = projected(p, "china_ecommerce.quick_commerce_ebita")[0]
    assert ebita[8] == 0.0
    # t = 9: -2 x (1 - 9/8) = +0.25 an order, capped at 5% of revenue per order (30 x 0.10) = 0.15
    assert ebita[9] == pytest.approx(0.15 * orders[9], rel=1e-12)


def test_china_ecommerce_revenue_and_ebita_are_the_sum_of_their_parts(bundled):
    p = project(bundled)
    parts = sum(projected(p, f"china_ecommerce.{s}") for s in ("cmr", "quick_commerce_revenue", "other_revenue"))
    np.testing.assert_allclose(projected(p, "china_ecommerce.revenue"), parts, rtol=1e-13)


# --- AIDC and All others -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "segment, base",
    [("international", (34_741, 34_799, 39_201, 35_429)), ("all_others", (58_600, 62_969, 67_339, 65_459))],
)
def test_growth_segment_revenue_and_ebita_by_hand(bundled, segment, base):
    # no new-asset depreciation charged to either (no own AI work; the rest all to China
    # E-commerce): EBITA is then margin x revenue
    changes = {
        **flat(f"{segment}.revenue.growth", 0.08),
        **flat(f"{segment}.margin", 0.03),
        "capex.own_ai_share": 0.0,
        "capex.rest_share.china_ecommerce": 1.0,
        "capex.rest_share.international": 0.0,
    }
    p = project(bundled, values_with(bundled, changes))
    revenue = projected(p, f"{segment}.revenue")[0]
    np.testing.assert_allclose(revenue[:4], 1.08 * np.array(base), rtol=1e-13)
    np.testing.assert_allclose(revenue[4:8], 1.08**2 * np.array(base), rtol=1e-13)
    np.testing.assert_allclose(projected(p, f"{segment}.adjusted_ebita")[0], 0.03 * revenue, rtol=1e-13)


# --- group identities ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def projections(bundled):
    return {"base": project(bundled), "draws": project(bundled, sampled_values(bundled, 50, seed=20260522))}


@pytest.mark.parametrize("case", ["base", "draws"])
def test_identities(projections, case):
    p = projections[case]
    P = lambda name: projected(p, name)  # noqa: E731
    seg_revenue = sum(P(f"{s}.revenue") for s in SEGMENTS)
    np.testing.assert_allclose(P("group.segment_revenue"), seg_revenue, rtol=1e-13)
    np.testing.assert_allclose(P("group.revenue"), seg_revenue + P("group.elimination"), rtol=1e-13)
    assert np.all(P("group.elimination") < 0)
    seg_ebita = sum(P(f"{s}.adjusted_ebita") for s in SEGMENTS)
    np.testing.assert_allclose(P("group.segment_ebita"), seg_ebita, rtol=1e-12)
    np.testing.assert_allclose(
        P("group.adjusted_ebita"),
        seg_ebita + P("group.unallocated") + P("group.ebita_elimination"),
        rtol=1e-12,
        atol=1e-6,
    )
    np.testing.assert_allclose(
        P("group.adjusted_ebitda"), P("group.adjusted_ebita") + P("group.depreciation"), rtol=1e-12, atol=1e-6
    )
    np.testing.assert_allclose(
        P("group.fcf_proxy"), P("group.adjusted_ebitda") - P("group.capex") - P("group.cash_tax"), rtol=1e-12, atol=1e-6
    )
    # reported-definition FCF = proxy + other cash items (working capital, interest, ...)
    other = P("group.fcf") - P("group.fcf_proxy")  # group.other_cash_items: the same every quarter of a draw
    np.testing.assert_allclose(other, other[:, :1] * np.ones_like(other), rtol=1e-9, atol=1e-6)
    assert np.all((other >= -7000 - 1e-6) & (other <= 1000 + 1e-6))
    assert np.all(P("group.cash_tax") >= 0)
    assert np.all(P("group.cash_tax")[P("group.adjusted_ebita") <= 0] == 0)
    # cloud: served revenue within demand and capacity; streams add up
    # served from demand and backlog: demand = served + lost + change in backlog (the backlog
    # starts at zero); never above capacity
    served, demand, backlog, lost = P("cloud.revenue"), P("cloud.demand"), P("cloud.backlog"), P("cloud.lost_demand")
    np.testing.assert_allclose(np.cumsum(demand - served - lost, axis=1), backlog, rtol=1e-9, atol=1e-6)
    assert np.all(backlog >= -1e-6) and np.all(lost >= 0)
    np.testing.assert_allclose(P("group.capex_to_revenue"), P("group.capex") / P("group.revenue"), rtol=1e-14)
    assert np.all(P("cloud.revenue") <= P("cloud.capacity_revenue") * (1 + 1e-12))
    np.testing.assert_allclose(P("cloud.revenue"), sum(P(f"cloud.{s}") for s in CLOUD_STREAMS), rtol=1e-12)
    np.testing.assert_allclose(
        P("cloud.external_revenue"), P("cloud.ai_revenue") + P("cloud.other_external_revenue"), rtol=1e-12
    )
    # shares of segment revenue: each in [0, 1], the four sum to 1, in every projected year
    for year in ("FY2027", "FY2029", "FY2031", "CY2027"):
        shares = [p.share(f"{s}.revenue", "group.segment_revenue", year) for s in SEGMENTS]
        for share in shares:
            assert np.all((share >= 0) & (share <= 1))
        np.testing.assert_allclose(sum(shares), 1.0, rtol=1e-12)
    for name in SERIES:
        assert np.all(np.isfinite(P(name))), name


def test_reported_fy2026_quarters_satisfy_the_revenue_identity(projections):
    p = projections["base"]
    for q in ("FY2026Q1", "FY2026Q2", "FY2026Q3", "FY2026Q4"):
        c = col(p, q)
        segments = sum(p[f"{s}.revenue"][0, c] for s in SEGMENTS)
        assert segments + p["group.elimination"][0, c] == p["group.revenue"][0, c]


def test_draws_are_not_all_alike(projections):
    revenue = projections["draws"].total("cloud.revenue", "FY2031")
    assert revenue.shape == (50,) and np.std(revenue) > 0


# --- every key is read; scenarios; the deterministic run ---------------------------------------


def test_every_key_in_the_files_is_read_by_the_model(bundled):
    read: set[str] = set()
    project(bundled, values_read=read)
    expected = set(bundled.inputs) | {seed_key(series, q) for series, q in bundled.seeds}
    assert read - expected == set(), "the model reads keys that are not in the files"
    assert expected - read == set(), "keys in the files that the model never reads"


def test_an_empty_scenario_is_refused_rather_than_silently_equal_to_base(tmp_path):
    directory = copy_assumptions(tmp_path)
    shutil.copy(FIXTURES / "bad" / "scenario_empty_changes" / "scenarios" / "empty.yaml", directory / "scenarios")
    with pytest.raises(InputError) as exc:
        assumptions_mod.load(directory, "empty")
    assert [p.file for p in exc.value.problems] == ["assumptions/scenarios/empty.yaml"]


def test_bear_differs_from_base_only_where_bear_yaml_changes(bundled):
    bear = assumptions_mod.load(scenario="bear")
    changed = set(bear.scenario.changed_keys)
    assert changed  # bear.yaml changes something
    assert {k for k in bundled.inputs if bundled.inputs[k].dist != bear.inputs[k].dist} == changed
    v0, v1 = base_values(bundled), base_values(bear)
    assert set(v0) == set(v1)
    assert {k for k in v0 if v0[k][0] != v1[k][0]} == changed
    p0, p1 = project(bundled), project(bear)
    split = col(p0, "FY2027Q1")
    differs = set()
    for name in SERIES:
        np.testing.assert_array_equal(p1[name][:, :split], p0[name][:, :split])  # history is history
        if not np.array_equal(p1[name], p0[name]):
            differs.add(name)
    assert {"cloud.ai_revenue", "group.revenue", "group.capex"} <= differs
    assert p1.total("cloud.ai_revenue", "FY2028")[0] < p0.total("cloud.ai_revenue", "FY2028")[0]


def test_the_deterministic_run_uses_each_median(bundled):
    values = base_values(bundled)
    for key, inp in bundled.inputs.items():
        assert values[key].shape == (1,)
        assert values[key][0] == inp.dist.median(), key
    for (series, q), inp in bundled.seeds.items():
        assert values[seed_key(series, q)][0] == inp.dist.median()
    for a, b in zip(sorted(project(bundled).series.items()), sorted(project(bundled, values).series.items())):
        np.testing.assert_array_equal(a[1], b[1])


def test_medians_of_bundled_inputs_by_hand(bundled):
    v = base_values(bundled)
    assert v["cloud.supply.capacity_share_of_capex"][0] == pytest.approx(0.70, abs=1e-12)  # symmetric triangular
    assert v["group.fx.usd_rmb"][0] == pytest.approx((6.55 + 7.25) / 2, abs=1e-12)  # range: mid of p5, p95
    # triangular(-1800, -1290, -900): c = 510/900 > 1/2, median = low + sqrt(900 x 510 / 2)
    assert v["group.unallocated"][0] == pytest.approx(-1800 + (900 * 510 / 2) ** 0.5, rel=1e-12)
    assert v["capex.plan.first_quarter"][0] == 2026 * 4


def test_keep_limits_the_series_and_rejects_unknown_names(bundled):
    p = project(bundled, keep=["cloud.revenue"])
    assert set(p.series) == {"cloud.revenue"}
    with pytest.raises(KeyError, match="not kept"):
        p["group.revenue"]
    with pytest.raises(KeyError, match="unknown series"):
        project(bundled, keep=["cloud.revnue"])

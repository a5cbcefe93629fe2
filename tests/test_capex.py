"""Capex plan phasing, capex after the plan, and straight-line depreciation.

Reported capex (purchase of property and equipment, RMB million): FY2025Q4 23,993;
FY2026 38,629 + 31,428 + 25,376 + 26,588 = 122,021. FY2025Q1-Q3 are not reported by
quarter: they share what the FY2025 cash-flow capex (85,972) leaves after Q4, 61,979.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import col, copy_assumptions, sampled_values, values_with
from hypothesis import given, settings
from hypothesis import strategies as st

import pivotmodel.assumptions as assumptions_mod
from pivotmodel.errors import InputError
from pivotmodel.model import base_values, prepare, project
from pivotmodel.model.capex import capex_result as result_of
from pivotmodel.model.capex import depreciation, in_service_gross, plan_capex
from pivotmodel.model.inputs import Values
from pivotmodel.model.prepare import capex_history
from pivotmodel.periods import Quarter

FY2026 = (38_629, 31_428, 25_376, 26_588)


def capex_result(a, values):
    first = a.history.last_quarter + 1
    quarters = a.horizon.index - first.index + 1
    draws = max(np.asarray(x).size for x in values.values())
    e, v = prepare(a), Values(values, draws)
    new_hist, new_from, capex, after = plan_capex(e, v, first, quarters, draws)
    capex[:, after:] = 30_000.0  # after the plan: a fixed path (the policy is tested in test_cloud_supply.py)
    return result_of(e, v, new_from, new_hist, capex)


def test_capex_history_fills_unreported_quarters_from_the_annual_cash_flow(bundled):
    hist = capex_history(bundled.history, Quarter(2024, 1), Quarter(2026, 4))
    np.testing.assert_allclose(hist[:4], 32_087 / 4)  # FY2024: annual only
    # FY2025Q3 is the stated 31,800 (Dec-2024); only Q1-Q2 share what the year leaves
    np.testing.assert_allclose(hist[4:6], (85_972 - 23_993 - 31_800) / 2)  # 15,089.5
    assert hist[6] == 31_800
    assert hist[7] == 23_993
    np.testing.assert_array_equal(hist[8:], FY2026)


def test_capex_history_without_a_figure_is_nan_and_the_engine_raises_nothing(bundled):
    np.testing.assert_allclose(capex_history(bundled.history, Quarter(2023, 1), Quarter(2023, 4)), 34_330 / 4)
    assert np.isnan(capex_history(bundled.history, Quarter(2021, 1), Quarter(2021, 1))[0])


def test_a_capex_quarter_the_plan_needs_is_checked_at_load(tmp_path):
    """Without FY2026Q2's reported or stated capex and without the year's cash-flow total,
    the loader (not the engine) refuses, naming the file and the quarter."""
    folder = copy_assumptions(tmp_path)
    path = folder / "history" / "reported.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    drop = (
        "FY2026Q2,Consolidated,capex_purchase_of_ppe_fcf_table,",
        "FY2026Q2,Consolidated,capex_total_stated,",
        "FY2026,Consolidated,capex_land_use_rights_and_ppe_cashflow,",
    )
    kept = [ln for ln in lines if not ln.startswith(drop)]
    assert len(kept) == len(lines) - 3
    path.write_text("".join(kept), encoding="utf-8")
    with pytest.raises(InputError) as exc:
        assumptions_mod.load(folder)
    assert any(
        p.file == "assumptions/history/reported.csv" and "no capex for FY2026Q2" in p.message
        for p in exc.value.problems
    )


def plan_case(a, total_rmb_mn, tilt, **more):
    return project(a, values_with(a, {"capex.plan.total": total_rmb_mn, "capex.plan.phasing_tilt": tilt, **more}))


def test_even_phasing_reaches_the_plan_total_exactly(bundled):
    p = plan_case(bundled, 380_000, 0.0)
    window = p["group.capex"][0, col(p, "FY2026Q1") : col(p, "FY2028Q4") + 1]
    np.testing.assert_array_equal(window[:4], FY2026)  # reported quarters count toward the plan
    np.testing.assert_allclose(window[4:], (380_000 - sum(FY2026)) / 8, rtol=1e-14)  # 32,247.375 each
    assert p.total("group.capex", "FY2026Q1:FY2028Q4")[0] == pytest.approx(380_000, rel=1e-14)


def test_tilted_phasing_still_sums_to_the_plan(bundled):
    p = plan_case(bundled, 450_000, 0.05)
    projected = p["group.capex"][0, col(p, "FY2027Q1") : col(p, "FY2028Q4") + 1]
    np.testing.assert_allclose(projected[1:] / projected[:-1], 1.05, rtol=1e-12)
    weights = 1.05 ** np.arange(8)
    assert projected[0] == pytest.approx((450_000 - sum(FY2026)) / weights.sum(), rel=1e-12)
    assert p.total("group.capex", "FY2026Q1:FY2028Q4")[0] == pytest.approx(450_000, rel=1e-13)


def test_a_plan_already_exceeded_runs_at_last_years_pace(bundled):
    p = plan_case(bundled, 100_000, 0.0)  # less than the 122,021 already spent
    projected = p["group.capex"][0, col(p, "FY2027Q1") : col(p, "FY2028Q4") + 1]
    np.testing.assert_allclose(projected, sum(FY2026) / 4, rtol=1e-14)  # 30,505.25


# --- depreciation -------------------------------------------------------------------------------


def test_in_service_gross_with_whole_quarters():
    capex = np.array([[100.0] + [0.0] * 9])
    gross = in_service_gross(capex, np.array([[2.0]]), np.array([[4.0]]), 0)
    np.testing.assert_allclose(gross, [[0, 0, 100, 100, 100, 100, 0, 0, 0, 0]], atol=1e-12)
    np.testing.assert_allclose(depreciation(gross, np.array([[4.0]])).sum(), 100.0)


def test_in_service_gross_with_a_fractional_lag_is_interpolated():
    capex = np.array([[100.0] + [0.0] * 9])
    gross = in_service_gross(capex, np.array([[1.5]]), np.array([[4.0]]), 0)
    np.testing.assert_allclose(gross, [[0, 50, 100, 100, 100, 50, 0, 0, 0, 0]], atol=1e-12)
    assert depreciation(gross, np.array([[4.0]])).sum() == pytest.approx(100.0)


def test_in_service_gross_from_a_later_start():
    capex = np.array([[10.0, 20.0, 30.0, 40.0]])
    gross = in_service_gross(capex, np.array([[1.0]]), np.array([[8.0]]), 2)
    np.testing.assert_allclose(gross, [[30.0, 60.0]])  # columns 2 and 3 only


@settings(max_examples=60)
@given(
    st.lists(st.one_of(st.just(0.0), st.floats(1.0, 1e5)), min_size=1, max_size=16),  # RMB mn, no subnormals
    st.floats(0, 4),
    st.floats(4, 12),
)
def test_each_rmb_is_depreciated_once_and_never_early(capex, lag, life):
    n_tail = int(np.ceil(lag + life)) + 2
    series = np.array([capex + [0.0] * n_tail])
    lag_a, life_a = np.array([[lag]]), np.array([[life]])
    dep = depreciation(in_service_gross(series, lag_a, life_a, 0), life_a)[0]
    assert np.all(dep >= -1e-9)
    cum_dep, cum_capex = np.cumsum(dep), np.cumsum(series[0])
    assert np.all(cum_dep <= cum_capex + 1e-6 * (1 + cum_capex))
    assert cum_dep[-1] == pytest.approx(cum_capex[-1], rel=1e-9, abs=1e-6)


def test_depreciation_by_hand_new_assets_and_legacy_runoff(bundled):
    # lag 2, life 24: FY2026 depreciation of new assets = (61,979 + 85,972 + 124,601 + 156,029) / 24
    # (capex since FY2025Q1 in service in FY2026Q1..Q4); legacy = FY2026 D&A 34,963 less that,
    # a quarter, running off over 12 quarters: x (1 - (t + 1) / 12).
    values = values_with(
        bundled,
        {
            "cloud.supply.deployment_lag": 2,
            "capex.useful_life": 24,
            "capex.legacy_runoff": 12,
            "capex.server_share": 1.0,
        },
    )
    res = capex_result(bundled, values)
    new_fy2026 = (61_979 + 85_972 + 124_601 + 156_029) / 24
    legacy_q = (34_963 - new_fy2026) / 4
    np.testing.assert_allclose(
        res.depreciation_legacy[0], legacy_q * np.clip(1 - (np.arange(20) + 1) / 12, 0, 1), rtol=1e-12
    )
    assert res.depreciation_new[0, 0] == pytest.approx(181_405 / 24, rel=1e-12)
    assert res.gross_in_service[0, 0] == pytest.approx(181_405, rel=1e-12)
    np.testing.assert_allclose(res.depreciation_new, res.gross_in_service / 24, rtol=1e-14)
    np.testing.assert_allclose(res.depreciation, res.depreciation_new + res.depreciation_legacy)
    p = project(bundled, values)
    assert p["group.depreciation"][0, col(p, "FY2027Q1")] == pytest.approx(181_405 / 24 + legacy_q * 11 / 12, rel=1e-12)
    assert p["group.capex"][0, col(p, "FY2027Q1")] == res.capex[0, 0]


@pytest.mark.parametrize("draws, seed", [(1, None), (50, 7)])
def test_cumulative_depreciation_of_new_assets_never_exceeds_their_capex(bundled, draws, seed):
    values = base_values(bundled) if seed is None else sampled_values(bundled, draws, seed)
    res = capex_result(bundled, values)
    new_hist = capex_history(bundled.history, Quarter(2025, 1), Quarter(2026, 4))  # new assets from FY2025Q1
    assert bundled.inputs["capex.new_assets_from"].text == "FY2025Q1"
    cum_capex = new_hist.sum() + np.cumsum(res.capex, axis=1)
    cum_dep = np.cumsum(res.depreciation_new, axis=1)
    assert np.all(cum_dep <= cum_capex)
    assert np.all(res.depreciation_legacy >= 0) and np.all(res.capex > 0)

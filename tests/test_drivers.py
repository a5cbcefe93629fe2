"""Claim drivers: Monte Carlo filtering (KS) and the PRIM-style box (pivotmodel.drivers)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from pivotmodel.drivers import drivers, prim_box
from pivotmodel.errors import InputError

KEYS = ["cloud.ai_revenue.growth.start", "capex.plan.total", "international.margin.start", "group.fx.usd_rmb"]


def fake_results(bundled, holds: np.ndarray, x: dict[str, np.ndarray], claim_id: str = "synthetic"):
    return SimpleNamespace(
        assumptions=bundled,
        claims=[SimpleNamespace(id=claim_id)],
        inputs=pd.DataFrame(x),
        claim_holds=pd.DataFrame({claim_id: holds}),
        claim_metric=pd.DataFrame({claim_id: holds}),
    )


@pytest.fixture
def synthetic(bundled):
    rng = np.random.default_rng(7)
    n = 4000
    x = {k: rng.uniform(0, 1, n) for k in KEYS}
    x["capex.plan.total"] = 380_000 + 180_000 * x["capex.plan.total"]
    # holds when growth is high, with a little noise from the others; some draws not evaluable
    holds = (x["cloud.ai_revenue.growth.start"] + 0.05 * rng.standard_normal(n) > 0.6).astype(float)
    holds[:100] = np.nan
    return fake_results(bundled, holds, x)


def test_defining_input_ranks_first(synthetic):
    d = drivers(synthetic, "synthetic")
    assert d.loc[0, "input"] == "cloud.ai_revenue.growth.start"
    assert d.loc[0, "ks"] > 0.8 and d.loc[0, "direction"] == "higher"
    assert (d["ks"].iloc[1:] < 0.1).all()
    assert d.attrs["not_evaluable"] == 100 and d.attrs["evaluable"] == 3900
    assert d.attrs["message"] == ""


def test_prim_box_finds_the_threshold(synthetic):
    box = prim_box(synthetic, "synthetic", alpha=0.05, min_support=0.05)
    first = box.set_index("input").loc["cloud.ai_revenue.growth.start"]
    assert 0.55 < first["lower"] < 0.75
    assert box.attrs["density"] > 0.95 > box.attrs["base_density"]
    assert box.attrs["support"] >= 0.05
    s = box.attrs["sentence"]
    assert s.startswith("synthetic holds in ")
    assert f"cloud.ai_revenue.growth.start >= {first['lower']:.4g}" in s
    assert "density" in s and "coverage" in s


def test_money_inputs_are_shown_in_rmb_mn(bundled):
    rng = np.random.default_rng(1)
    n = 2000
    x = {k: rng.uniform(0, 1, n) for k in KEYS}
    x["capex.plan.total"] = 380_000 + 180_000 * rng.uniform(0, 1, n)
    holds = (x["capex.plan.total"] > 450_000).astype(float)
    box = prim_box(fake_results(bundled, holds, x), "synthetic", top=2)
    assert "capex.plan.total >= 45" in box.attrs["sentence"] and "RMB mn" in box.attrs["sentence"]
    assert box.attrs["density"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "value,word", [(1.0, "holds in every"), (0.0, "fails in every"), (np.nan, "cannot be evaluated")]
)
def test_claims_that_always_or_never_hold(bundled, value, word):
    x = {k: np.linspace(0, 1, 50) for k in KEYS}
    r = fake_results(bundled, np.full(50, value), x)
    d = drivers(r, "synthetic")
    assert d.empty and word in d.attrs["message"]
    box = prim_box(r, "synthetic")
    assert box.empty and word in box.attrs["sentence"]


def test_unknown_claim_is_an_input_error(synthetic):
    with pytest.raises(InputError, match="valid: synthetic"):
        drivers(synthetic, "nope")


def test_capex_claim_is_driven_by_the_plan_total(bundled):
    from pivotmodel.simulate import simulate

    r = simulate(bundled, draws=1500, seed=11, method="mc", keep=(), progress=False)
    d = drivers(r, "capex_480bn_fy2026_fy2028")
    assert d.loc[0, "input"] == "capex.plan.total" and d.loc[0, "direction"] == "higher"
    box = prim_box(r, "capex_480bn_fy2026_fy2028")
    lower = box.set_index("input").loc["capex.plan.total", "lower"]
    assert 470_000 < lower < 495_000
    assert box.attrs["density"] > 0.95


@pytest.mark.parametrize("n", [600, 24_000])  # scipy's exact test below 10,000 draws a side, asymptotic above
def test_one_pass_drivers_equal_scipy_per_claim(bundled, n):
    """drivers_all (every claim in one pass, each input sorted once) gives what ks_2samp and
    np.median give claim by claim, ties and not-evaluable draws included."""
    from scipy import stats

    from pivotmodel.drivers import drivers_all

    rng = np.random.default_rng(11)
    x = {k: rng.uniform(0, 1, n) for k in KEYS}
    x["group.fx.usd_rmb"] = np.round(x["group.fx.usd_rmb"] * 5)  # heavy ties
    claims = {
        "a": (x["cloud.ai_revenue.growth.start"] > 0.4).astype(float),
        "b": (x["group.fx.usd_rmb"] + rng.standard_normal(n) > 2.5).astype(float),
        "always": np.ones(n),
    }
    claims["a"][::7] = np.nan
    r = SimpleNamespace(
        assumptions=bundled,
        claims=[SimpleNamespace(id=c) for c in claims],
        inputs=pd.DataFrame(x),
        claim_holds=pd.DataFrame(claims),
    )
    got = drivers_all(r)
    assert list(got) == list(claims) and got["always"].empty and "holds in every" in got["always"].attrs["message"]
    for cid in ("a", "b"):
        h = claims[cid]
        d = got[cid].set_index("input")
        assert d.attrs["not_evaluable"] == int(np.isnan(h).sum())
        for k in KEYS:
            xh, xf = x[k][h == 1], x[k][h == 0]
            res = stats.ks_2samp(xh, xf)
            assert d.loc[k, "ks"] == res.statistic and d.loc[k, "p_value"] == pytest.approx(
                res.pvalue, rel=1e-12, abs=1e-300
            )
            assert d.loc[k, "median_holds"] == np.median(xh) and d.loc[k, "median_fails"] == np.median(xf)
        assert d.index[0] == ("cloud.ai_revenue.growth.start" if cid == "a" else "group.fx.usd_rmb")
        assert d.loc[d.index[0], "direction"] == "higher"
        pd.testing.assert_frame_equal(drivers(r, cid).set_index("input"), d)


def test_top_rows_are_the_head_of_the_full_table(synthetic):
    from pivotmodel.drivers import drivers_all

    full = drivers(synthetic, "synthetic")
    top = drivers_all(synthetic, top=2)["synthetic"]
    pd.testing.assert_frame_equal(top, full.head(2))
    assert top.attrs["holding"] == full.attrs["holding"]

"""Tornado, spider, Sobol indices and rank correlations (pivotmodel.sensitivity)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import values_with
from scipy import stats

from pivotmodel.errors import InputError
from pivotmodel.model import project
from pivotmodel.sampling import uncertain_inputs
from pivotmodel.sensitivity import (
    evaluate_output,
    parse_output,
    rank_correlations,
    sobol,
    sobol_from_function,
    spider,
    tornado,
)


def test_tornado_has_a_row_per_uncertain_input_sorted_by_swing(bundled):
    t = tornado(bundled, "cloud.ai_revenue@FY2028")
    assert list(t.columns[:9]) == [
        "input",
        "unit",
        "low_value",
        "high_value",
        "output_low",
        "output_high",
        "swing",
        "base_output",
        "monotonic",
    ]
    assert set(t["input"]) == set(uncertain_inputs(bundled))
    assert any(k.startswith("cloud.ai_revenue.seed.") for k in t["input"])  # seed estimates swing too
    assert (np.diff(t["swing"].to_numpy()) <= 0).all()


def test_tornado_direct_driver_is_first_and_matches_a_hand_run(bundled):
    key = "cloud.ai_revenue.growth.start"
    t = tornado(bundled, "cloud.ai_revenue@FY2028")
    assert t.loc[0, "input"] == key
    row = t.iloc[0]
    p90 = uncertain_inputs(bundled)[key].quantile(0.90)
    assert row["high_value"] == pytest.approx(p90)
    by_hand = project(bundled, values_with(bundled, {key: p90})).total("cloud.ai_revenue", "FY2028")[0] / 1000
    assert row["output_high"] == pytest.approx(by_hand, rel=1e-12)
    base = project(bundled).total("cloud.ai_revenue", "FY2028")[0] / 1000
    assert row["base_output"] == pytest.approx(base, rel=1e-12)
    assert row["output_high"] > base > row["output_low"]


def test_inputs_that_cannot_affect_the_output_have_zero_swing(bundled):
    t = tornado(bundled, "china_ecommerce.cmr@FY2028").set_index("input")
    capex = t.loc[[k for k in t.index if k.startswith("capex.")], "swing"]
    assert len(capex) >= 5 and (capex == 0).all()
    cloud = t.loc[[k for k in t.index if k.startswith("cloud.")], "swing"]
    assert (cloud == 0).all()
    assert t["swing"].iloc[0] > 0


def test_output_forms(bundled):
    p = project(bundled)
    short = evaluate_output("cloud.revenue@FY2028", p)
    assert short[0] == pytest.approx(p.total("cloud.revenue", "FY2028")[0] / 1000)
    share = evaluate_output("share(cloud.revenue, group.revenue, CY2026)", p)
    assert share[0] == pytest.approx(p.share("cloud.revenue", "group.revenue", "CY2026"))
    assert isinstance(p.share("cloud.revenue", "group.revenue", "CY2026"), float)  # one draw: a float
    assert evaluate_output("capex@FY2027", p)[0] == pytest.approx(p.total("group.capex", "FY2027")[0] / 1000)
    assert parse_output("share(cloud.revenue, group.revenue, CY2026)").unit == "ratio"
    for bad, message in (
        (
            "cloud.revenue@FY2028 > 3",
            "'cloud.revenue@FY2028 > 3' is a test (it has a comparison); an output is a number - drop the comparison",
        ),
        ("share(cloud.revenue, group.revenue, CY2026) > 0.3", "is a test (it has a comparison)"),
        ("nope@FY2028", "unknown series 'nope'; valid: "),
        ("sum(cloud.revenue, FY1990)", "(output: 'sum(cloud.revenue, FY1990)')"),
        ("import os", "(output: 'import os'); write SERIES@PERIOD or an expression such as"),
    ):
        with pytest.raises(InputError) as info:
            evaluate_output(bad, p)
        assert str(info.value).startswith("--output: output: ") and message in str(info.value), (bad, str(info.value))


def test_a_first_year_is_refused_as_an_output(capsys):
    """first_fy/first_cy is a year, infinite where the condition never holds: sensitivity refuses it
    (exit 2, one message) instead of ranking infinities."""
    from pivotmodel.cli import main

    spec = "first_fy(share(cloud.revenue, group.revenue, FY2027) > 0.3)"
    assert main(["sensitivity", "--output", spec]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "pivotmodel: 1 problem in the inputs:\n  --output: output: first_fy(...) is a year (infinite where the "
        "condition "
        "never holds), not an output; give the number inside the condition instead, e.g. "
        "share(cloud.revenue, group.revenue, CY2026)\n"
    )
    with pytest.raises(InputError, match=r"first_cy\(\.\.\.\) is a year"):
        parse_output("first_cy (all(cloud.revenue > 0, FY2027Q1:FY2027Q4))")


def test_spider_flags_monotonic_inputs(bundled):
    keys = ["cloud.ai_revenue.growth.start", "capex.plan.total"]
    sp = spider(bundled, "cloud.ai_revenue@FY2028", inputs=keys)
    assert sorted(sp["percentile"].unique()) == [5, 10, 25, 50, 75, 90, 95]
    g = sp[sp["input"] == keys[0]].sort_values("percentile")
    assert np.all(np.diff(g["output"]) > 0) and g["monotonic"].all()
    med = g[g["percentile"] == 50]["output"].iloc[0]
    assert med == pytest.approx(sp.attrs["base_output"])
    with pytest.raises(InputError):
        spider(bundled, "cloud.ai_revenue@FY2028", inputs=["not.an.input"])


def test_plots_draw_one_bar_pair_per_input_and_one_line_per_input(bundled):
    import matplotlib.pyplot as plt

    from pivotmodel.charts import plot_spider, plot_tornado

    t = tornado(bundled, "cloud.revenue@FY2028")
    ax = plot_tornado(t, top=6)
    assert len(ax.patches) == 2 * 6 and [x.get_text() for x in ax.get_yticklabels()] == list(t["input"][:6])[::-1]
    ax = plot_spider(spider(bundled, "cloud.revenue@FY2028", inputs=list(t["input"][:3])))
    assert len(ax.get_lines()) == 3
    plt.close("all")


class _Uniform:
    def __init__(self, lo, hi):
        self.d = stats.uniform(lo, hi - lo)

    def ppf(self, u):
        return self.d.ppf(u)


def test_sobol_linear_model_analytic():
    # y = a + 2b with a, b ~ U(0, 1): Var = 1/12 + 4/12, so S1 = S_T = 0.2 and 0.8; c is inert.
    dists = {"a": _Uniform(0, 1), "b": _Uniform(0, 1), "c": _Uniform(0, 1)}
    df = sobol_from_function(dists, lambda v: v["a"] + 2 * v["b"], n=1024, seed=3).set_index("input")
    assert df.loc["a", "S1"] == pytest.approx(0.2, abs=0.03)
    assert df.loc["b", "S1"] == pytest.approx(0.8, abs=0.03)
    assert df.loc["a", "ST"] == pytest.approx(0.2, abs=0.03)
    assert df.loc["b", "ST"] == pytest.approx(0.8, abs=0.03)
    assert abs(df.loc["c", "S1"]) < 0.02 and abs(df.loc["c", "ST"]) < 0.01
    assert (df.loc[["a", "b"], "S1_conf"] > 0).all()


def test_sobol_ishigami():
    pi = np.pi
    dists = {k: _Uniform(-pi, pi) for k in ("x1", "x2", "x3")}
    f = lambda v: np.sin(v["x1"]) + 7 * np.sin(v["x2"]) ** 2 + 0.1 * v["x3"] ** 4 * np.sin(v["x1"])  # noqa: E731
    df = sobol_from_function(dists, f, n=4096, seed=1).set_index("input")
    # analytic: S1 = 0.3139, 0.4424, 0; ST = 0.5576, 0.4424, 0.2437
    for k, s1, st in (("x1", 0.3139, 0.5576), ("x2", 0.4424, 0.4424), ("x3", 0.0, 0.2437)):
        assert df.loc[k, "S1"] == pytest.approx(s1, abs=0.04)
        assert df.loc[k, "ST"] == pytest.approx(st, abs=0.04)


def test_sobol_on_the_model_notes_correlations_and_groups(bundled):
    keys = [
        "cloud.ai_revenue.growth.start",
        "cloud.ai_revenue.growth.half_life",
        "capex.plan.total",
        "capex.plan.phasing_tilt",
    ]
    df = sobol(bundled, "cloud.demand@FY2028", n=256, inputs=keys).set_index("input")  # served is capacity-bound
    assert list(df.columns) == ["S1", "S1_conf", "ST", "ST_conf", "note"]
    assert df["ST"].idxmax() == "cloud.ai_revenue.growth.start"
    # demand still here depends on capex only through the customers lost while rationed
    # (issue 19): the plan's phasing moves it a little, the growth start most
    assert abs(df.loc["capex.plan.phasing_tilt", "ST"]) < 0.5 * df.loc["cloud.ai_revenue.growth.start", "ST"]
    # the frozen correlations.yaml links capex.plan.total - cloud.ai_revenue.growth.start (0.5) -
    # cloud.other_external_revenue.growth.start (0.3): one group, the tilt alone
    assert "independence" in df.attrs["note"]
    assert df.loc["capex.plan.total", "note"] != "" and df.loc["capex.plan.phasing_tilt", "note"] == ""
    g = sobol(bundled, "cloud.ai_revenue@FY2028", n=256, inputs=keys, grouped=True)
    assert [k for k in g["input"] if " + " in k] == [
        "capex.plan.total + cloud.ai_revenue.growth.start + cloud.other_external_revenue.growth.start"
    ]


def test_rank_correlations_from_a_run(bundled):
    from pivotmodel.simulate import simulate

    r = simulate(bundled, draws=800, seed=5, method="mc", keep=(), progress=False)
    rc = rank_correlations(r, ["cloud.ai_revenue@FY2028", "capex_480bn_fy2026_fy2028"])
    assert rc.loc["cloud.ai_revenue.growth.start", "cloud.ai_revenue@FY2028"] > 0.5
    assert rc.loc["capex.plan.total", "capex_480bn_fy2026_fy2028"] > 0.8
    assert abs(rc.loc["international.margin.start", "cloud.ai_revenue@FY2028"]) < 0.15

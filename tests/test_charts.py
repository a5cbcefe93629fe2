"""Each chart's data function against the Results / Projection numbers it draws from, and
image comparisons of two charts against committed baselines."""

from __future__ import annotations

import os
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.testing.compare import compare_images  # noqa: E402

import pivotmodel.assumptions as assumptions_mod  # noqa: E402
from pivotmodel import charts as C  # noqa: E402
from pivotmodel.model import project  # noqa: E402
from pivotmodel.simulate import simulate  # noqa: E402

BASELINE = Path(__file__).parent / "baseline_images"
TOL = 2.0  # RMS, 0-255 scale


@pytest.fixture(scope="module")
def a():
    return assumptions_mod.load()


@pytest.fixture(scope="module")
def r(a):
    return simulate(a, draws=400, seed=7, jobs=1, progress=False)


def _i(r, label):
    return r.periods["fy"].index(label)


def test_revenue_mix_history_is_reported_and_projection_is_median(a, r):
    d = C.revenue_mix_data(r).set_index("period")
    p = project(a)
    for label in ("FY2024", "FY2025", "FY2026"):
        assert d.loc[label, "status"] == "A"
        for seg in C.SEGMENTS:
            assert d.loc[label, seg] == pytest.approx(float(p.total(f"{seg}.revenue", label)[0]) / 1000)
    i = _i(r, "FY2029")
    assert d.loc["FY2029", "status"] == "P"
    for seg in C.SEGMENTS:
        assert d.loc["FY2029", seg] == pytest.approx(np.median(r.totals["fy"][f"{seg}.revenue"][:, i]) / 1000)


def test_cloud_share_quantiles(r):
    d = C.cloud_share_data(r).set_index("period")
    i = _i(r, "FY2028")
    share = r.totals["fy"]["cloud.revenue"][:, i] / r.totals["fy"]["group.revenue"][:, i]
    assert d.loc["FY2028", "p50"] == pytest.approx(np.median(share))
    assert d.loc["FY2028", "p5"] == pytest.approx(np.quantile(share, 0.05))
    assert d.loc["FY2028", "p95"] == pytest.approx(np.quantile(share, 0.95))
    marks = d.attrs["claims"].set_index("id")
    assert marks.loc["cloud_share_30pct_cy2026", "threshold"] == pytest.approx(0.30)
    assert marks.loc["cloud_share_30pct_cy2026", "x"] == pytest.approx(2026.75)
    assert marks.loc["cloud_share_30pct_fy2026", "x"] == 2026
    # first_fy(share(...) > 0.30) <= 2031: a line up to FY2031 at the inner threshold
    assert marks.loc["cloud_share_30pct_first_fy_by_fy2031", ["x", "threshold", "kind"]].tolist() == [
        2031.0,
        0.30,
        "by",
    ]
    # other shares (AI / external cloud) are not cloud-share marks
    assert set(marks.index) == {
        "cloud_share_30pct_cy2026",
        "cloud_share_30pct_fy2026",
        "cloud_share_30pct_first_fy_by_fy2031",
    }


def test_cloud_share_marks_come_from_the_parsed_claim_not_its_spelling():
    """Spacing, a negated threshold's form or a quarter period do not fool the marks: they are
    read off the parsed test."""
    from pivotmodel.claims import Claim, parse_test

    def claim(cid, test):
        return Claim(cid, "w", {}, "r", test, parse_test(test))

    marks = C.cloud_share_claims(
        [
            claim("spaced", "share( cloud.revenue ,group.revenue,CY2027 )>=0.25"),
            claim("quarter", "share(cloud.revenue, group.revenue, FY2027Q3) > 0.2"),  # not a year: no mark
            claim("reversed", "share(group.revenue, cloud.revenue, FY2027) > 3"),  # the inverse ratio: no mark
            claim("below", "share(cloud.revenue, group.revenue, FY2027) < 0.5"),  # a ceiling, not a claim to reach
        ]
    ).set_index("id")
    assert list(marks.index) == ["spaced"]
    assert marks.loc["spaced", ["x", "threshold", "kind"]].tolist() == [2027.75, 0.25, "cy"]


def test_margins_every_segment_and_group(r):
    d = C.margin_data(r)
    assert list(dict.fromkeys(d["segment"])) == [*C.SEGMENTS, "group"]
    i = _i(r, "FY2030")
    row = d[(d["segment"] == "cloud") & (d["period"] == "FY2030")].iloc[0]
    m = r.totals["fy"]["cloud.adjusted_ebita"][:, i] / r.totals["fy"]["cloud.revenue"][:, i]
    assert row["p50"] == pytest.approx(np.median(m))
    assert row["p25"] == pytest.approx(np.quantile(m, 0.25))


def test_capex_and_fcf(r):
    d = C.capex_data(r)
    i = _i(r, "FY2027")
    for name in ("group.capex", "group.depreciation", "cloud.revenue"):
        row = d[(d["series"] == name) & (d["period"] == "FY2027")].iloc[0]
        assert row["p50"] == pytest.approx(np.median(r.totals["fy"][name][:, i]) / 1000)
    f = C.fcf_data(r).set_index("period")
    assert f.loc["FY2027", "p75"] == pytest.approx(np.quantile(r.totals["fy"]["group.fcf"][:, i], 0.75) / 1000)
    # FY2025 is reported (FCF 73,870 RMB mn in the frozen history): one value in every draw,
    # so the band collapses onto it
    assert r.totals["fy"]["group.fcf"][0, _i(r, "FY2025")] == 73_870.0
    assert f.loc["FY2025", "p5"] == pytest.approx(73.87, rel=1e-12) and f.loc["FY2025", "p95"] == pytest.approx(
        73.87, rel=1e-12
    )


def test_claim_probabilities_headline_first(r):
    d = C.claim_probabilities_data(r)
    t = r.claims_table()
    assert set(d["id"]) == set(t.index)
    n_head = int(t["headline"].sum())
    assert d["headline"].iloc[:n_head].all() and not d["headline"].iloc[n_head:].any()
    for _, row in d.iterrows():
        assert row["probability"] == pytest.approx(t.loc[row["id"], "probability"], nan_ok=True)


def test_claim_metric_shares(r):
    cid = "capex_480bn_fy2026_fy2028"
    d = C.claim_metric_data(r, cid)
    m = r.claim_metric[cid].to_numpy()
    assert d["count"].sum() == np.isfinite(m).sum()
    assert d.attrs["share_holds"] == pytest.approx(np.mean(m > 480))
    assert d.attrs["share_holds"] + d.attrs["share_fails"] + d.attrs["share_not_evaluable"] == pytest.approx(1)
    # bins never straddle the threshold: the counts each side match the draws each side
    assert d.loc[d["side"] == "holds", "count"].sum() == (m > 480).sum()
    assert d.attrs["unit"] == "RMB bn"


def test_convergence_ends_at_full_estimate(r):
    d = C.convergence_data(r)
    heads = [c.id for c in r.claims if c.headline]
    drawn = [cid for cid in heads if r.probability(cid)[3] > 0]  # never-evaluable claims have no line
    assert set(d["claim"]) == set(drawn) and len(drawn) <= len(heads)
    last = d[d["draws"] == r.draws].set_index("claim")
    for cid in drawn:
        assert last.loc[cid, "probability"] == pytest.approx(r.probability(cid)[0])


def test_series_compare_uses_projection_totals(a):
    changed = a.with_values(**{"cloud.ai_revenue.growth.start": 1.4})
    p0, p1 = project(a), project(changed)
    # demand: revenue served is capacity-bound in the base case, demand is not
    d = C.series_compare_data({"base": p0, "ai growth 140%": p1}, "cloud.demand").set_index("period")
    assert d.loc["FY2028", "base"] == pytest.approx(float(p0.total("cloud.demand", "FY2028")[0]) / 1000)
    assert d.loc["FY2028", "ai growth 140%"] > d.loc["FY2028", "base"]
    assert np.isnan(d.loc["FY2025", "base"]) and np.isnan(d.loc["FY2025", "ai growth 140%"])  # demand: never reported


def test_every_chart_draws_with_units_and_source(r, tmp_path):
    for name, (data_fn, plot_fn) in C.CHARTS.items():
        ax = plot_fn(data_fn(r))
        labels = f"{ax.get_ylabel()} | {ax.get_xlabel()}"
        assert ax.get_ylabel() and re.search(r"RMB bn|\(ratio\)|share of draws", labels), (
            name,
            labels,
        )  # a unit on an axis
        C.add_source(ax.figure, C.source_line(r))
        assert any("seed 7" in t.get_text() for t in ax.figure.texts), name
        C.save(ax.figure, tmp_path / name)
        plt.close(ax.figure)
        assert (tmp_path / f"{name}.png").stat().st_size > 1000
        assert b"<svg" in (tmp_path / f"{name}.svg").read_bytes()


def test_segment_colours_fixed():
    assert set(C.COLORS) == {"china_ecommerce", "cloud", "international", "all_others", "group"}
    assert len(set(C.COLORS.values())) == 5


def _fixed_data(name):
    """Fixed numbers, so the image tests check drawing only, not the model."""
    import pandas as pd

    years = list(range(2024, 2032))
    status = ["A"] * 3 + ["P"] * 5
    base = pd.DataFrame({"period": [f"FY{y}" for y in years], "year": years, "status": status})
    if name == "revenue_mix":
        d = base.assign(
            china_ecommerce=[490, 508, 554, 600, 650, 700, 740, 780],
            cloud=[106, 118, 158, 200, 260, 330, 400, 490],
            international=[103, 132, 144, 156, 168, 181, 194, 208],
            all_others=[318, 338, 254, 270, 286, 301, 316, 332],
        )
        return d.astype({s: float for s in C.SEGMENTS})
    mid = np.array([0.11, 0.12, 0.155, 0.175, 0.205, 0.235, 0.265, 0.293])
    spread = np.array([0, 0, 0, 0.01, 0.02, 0.03, 0.04, 0.05])
    d = base.assign(
        p5=mid - spread * 1.6, p25=mid - spread * 0.6, p50=mid, p75=mid + spread * 0.6, p95=mid + spread * 1.6
    )
    d.attrs["claims"] = pd.DataFrame(
        [
            {"id": "share_cy2026", "x": 2026.75, "threshold": 0.3, "kind": "cy"},
            {"id": "share_by_fy2031", "x": 2031.0, "threshold": 0.3, "kind": "by"},
        ]
    )
    return d


@pytest.mark.parametrize("name", ["cloud_share", "revenue_mix"])
def test_image_matches_baseline(name, tmp_path):
    _, plot_fn = C.CHARTS[name]
    ax = plot_fn(_fixed_data(name))
    C.add_source(ax.figure, C.source_line(scenario="test", draws=100, seed=1))
    C.save(ax.figure, tmp_path / name, formats=("png",))
    plt.close(ax.figure)
    baseline = BASELINE / f"{name}.png"
    if os.environ.get("PIVOTMODEL_UPDATE_BASELINES"):
        BASELINE.mkdir(exist_ok=True)
        baseline.write_bytes((tmp_path / f"{name}.png").read_bytes())
    assert baseline.exists(), "run with PIVOTMODEL_UPDATE_BASELINES=1 once to create the baseline"
    assert compare_images(str(baseline), str(tmp_path / f"{name}.png"), tol=TOL) is None


def test_output_tornado_in_house_style(a):
    from pivotmodel.sensitivity import tornado

    t = tornado(a, "group.fcf@FY2027")
    ax = C.plot_output_tornado(t, top=6, title="What moves FCF")
    try:
        labels = [x.get_text() for x in ax.get_yticklabels()]
        assert labels == list(t["input"].head(6))[::-1]  # largest swing on top
        assert [x.get_text() for x in ax.get_legend().get_texts()] == ["input at P10", "input at P90"]
        assert ax.get_title() == "What moves FCF" and "RMB bn" in ax.get_xlabel()
        assert len(ax.patches) == 12
    finally:
        plt.close(ax.figure)


def test_importing_charts_changes_no_global_matplotlib_state():
    """No backend switch and no rcParams change on import: a notebook keeps its own settings."""
    import subprocess
    import sys

    code = (
        "import matplotlib; before = dict(matplotlib.rcParams); backend = matplotlib.get_backend(); "
        "import pivotmodel.charts, pivotmodel.sensitivity, pivotmodel.solve; "
        "print(dict(matplotlib.rcParams) == before and matplotlib.get_backend() == backend)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**__import__("os").environ, "MPLBACKEND": "svg"},
    ).stdout
    assert out.strip() == "True"


def test_plot_margins_draws_inside_the_axes_it_is_given(r):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    out = C.plot_margins(C.margin_data(r), ax=ax)
    assert out is ax and ax in fig.axes and len(ax.child_axes) == 6
    plt.close(fig)


def test_cloud_funding_shows_capex_to_revenue_lost_demand_and_net_cash(r):
    d = C.cloud_funding_data(r)
    assert list(dict.fromkeys(d["series"])) == ["group.capex_to_revenue", "cloud.lost_demand", "group.net_cash"]
    fy = _i(r, "FY2030")
    row = lambda s: d[(d["series"] == s) & (d["period"] == "FY2030")].iloc[0]  # noqa: E731
    fy_ = r.totals["fy"]
    # capex / revenue: the ratio of the year's sums, per draw, then its median
    assert row("group.capex_to_revenue")["p50"] == pytest.approx(
        float(np.quantile(fy_["group.capex"][:, fy] / fy_["group.revenue"][:, fy], 0.5))
    )
    lost = float(np.quantile(fy_["cloud.lost_demand"][:, fy], 0.5)) / 1000
    assert row("cloud.lost_demand")["p50"] == pytest.approx(lost)
    assert row("group.net_cash")["p50"] == pytest.approx(float(np.quantile(fy_["group.net_cash"][:, fy], 0.5)) / 1000)
    assert (d.loc[(d["series"] == "cloud.lost_demand") & (d["status"] == "P"), "p5"] >= 0).all()
    ax = C.plot_cloud_funding(d)
    assert "Capex / group revenue" in ax.get_ylabel() and len(ax.figure.axes) == 2
    assert ax.figure.axes[1].get_ylabel() == "RMB bn"


def test_cloud_supply_shows_utilisation_as_a_ratio_and_backlog_in_rmb_bn(r):
    d = C.cloud_supply_data(r)
    util = d[(d["series"] == "cloud.utilisation") & (d["status"] == "P")]
    back = d[(d["series"] == "cloud.backlog") & (d["status"] == "P")]
    fy = r.periods["fy"].index(util["period"].iloc[0])
    assert util["p50"].iloc[0] == pytest.approx(float(np.quantile(r.totals["fy"]["cloud.utilisation"][:, fy], 0.5)))
    assert back["p50"].iloc[0] == pytest.approx(float(np.quantile(r.totals["fy"]["cloud.backlog"][:, fy], 0.5)) / 1000)
    assert ((util[["p5", "p50", "p95"]] > 0) & (util[["p5", "p50", "p95"]] <= 1 + 1e-9)).all().all()
    assert (back["p5"] >= 0).all()
    ax = C.plot_cloud_supply(d)
    assert "Utilisation" in ax.get_ylabel() and len(ax.figure.axes) == 2

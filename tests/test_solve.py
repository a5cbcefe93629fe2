"""What would have to be true (pivotmodel.solve) and the sensitivity CLI."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import values_with

from pivotmodel.charts import plot_contour
from pivotmodel.claims import evaluate
from pivotmodel.cli import main
from pivotmodel.errors import InputError
from pivotmodel.model import project
from pivotmodel.solve import find_claim, solve, solve_grid

CAPEX = "capex_480bn_fy2026_fy2028"


def test_capex_plan_total_solves_to_480bn(bundled):
    # Reported in-window capex counts toward the plan total, so the window's cumulative
    # capex equals the plan total and the claim flips at exactly RMB 480bn.
    sol = solve(bundled, CAPEX, "capex.plan.total")
    assert sol.status == "solved" and sol.direction == "at least"
    assert sol.value == pytest.approx(480_000, rel=1e-6)
    assert sol.unit == "RMB_mn"
    assert "capex.plan.total at least 480,000 RMB mn (RMB 480.0 bn)" in sol.sentence
    assert "everything else at base" in sol.sentence
    claim = find_claim(bundled, CAPEX)
    by_hand = evaluate(claim, project(bundled, values_with(bundled, {"capex.plan.total": 480_000.0})))
    assert by_hand.metric[0] == pytest.approx(480.0, rel=1e-9)
    assert sol.frame().loc[0, "value"] == pytest.approx(480_000, rel=1e-6)


def test_no_value_makes_it_true(bundled):
    sol = solve(bundled, "cloud_share_30pct_cy2026", "cloud.ai_revenue.growth.start")
    assert sol.status == "never" and np.isnan(sol.value)
    assert sol.sentence.startswith("no value of cloud.ai_revenue.growth.start in its P0.1-P99.9 range")
    assert "high end" in sol.sentence  # more AI growth comes closer to a 30% share
    assert sol.closest_metric < 0.30


def test_input_that_does_not_matter(bundled):
    sol = solve(bundled, "capex_380bn_fy2026_fy2028", "cloud.supply.revenue_yield")
    assert sol.status == "always" and "holds for every value" in sol.sentence


def test_claim_without_a_threshold_uses_bisection(bundled):
    bundled = bundled.with_values(
        **{"cloud.supply.revenue_yield": 2.0}
    )  # supply not binding: AI revenue follows demand
    sol = solve(bundled, "ai_revenue_triple_digit_fy2027", "cloud.ai_revenue.growth.start")
    assert find_claim(bundled, "ai_revenue_triple_digit_fy2027").threshold is None
    assert sol.status == "solved" and sol.direction == "at least"
    claim = find_claim(bundled, "ai_revenue_triple_digit_fy2027")
    above = evaluate(
        claim, project(bundled, values_with(bundled, {"cloud.ai_revenue.growth.start": sol.value * (1 + 1e-6)}))
    )
    below = evaluate(
        claim, project(bundled, values_with(bundled, {"cloud.ai_revenue.growth.start": sol.value * (1 - 1e-6)}))
    )
    assert above.holds[0] == 1.0 and below.holds[0] == 0.0


def test_unknown_claim_or_input(bundled):
    with pytest.raises(InputError, match="valid: cloud_share_30pct_cy2026"):
        solve(bundled, "nope", "capex.plan.total")
    with pytest.raises(InputError, match="uncertain inputs: all_others"):
        solve(bundled, CAPEX, "not.an.input")
    with pytest.raises(InputError, match="fixed input"):
        solve(bundled, CAPEX, "capex.plan.first_quarter")


def test_grid_of_two_inputs(bundled):
    g = solve_grid(bundled, CAPEX, "capex.plan.total", "capex.plan.phasing_tilt", size=9)
    assert len(g) == 81 and set(g.columns) == {"capex.plan.total", "capex.plan.phasing_tilt", "metric", "holds"}
    assert ((g["capex.plan.total"] > 480_000) == (g["holds"] == 1)).all()
    assert g.attrs["threshold"] == 480
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = plot_contour(g)
    try:  # axes named with units, the claim's test as title, the threshold drawn once, the base case marked
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("capex.plan.total (RMB_mn)", "capex.plan.phasing_tilt (ratio)")
        assert ax.get_title() == f"{CAPEX}: cumsum(capex, FY2026Q1:FY2028Q4) > 480"
        assert [list(c.levels) for c in ax.collections if len(c.levels) == 1] == [[480.0]]  # metric spans 334-551
        (base,) = [line for line in ax.get_lines() if line.get_label() == "base case"]
        assert (base.get_xdata()[0], base.get_ydata()[0]) == g.attrs["base"]
    finally:
        plt.close(ax.figure)


def test_cli_solve_and_errors(capsys):
    assert main(["solve", CAPEX, "--input", "capex.plan.total"]) == 0
    assert "480,000 RMB mn" in capsys.readouterr().out
    assert main(["solve", "nope", "--input", "capex.plan.total"]) == 2
    assert "unknown claim id 'nope'; valid:" in capsys.readouterr().err
    assert main(["solve", CAPEX, "--input", "not.an.input"]) == 2
    assert "uncertain inputs:" in capsys.readouterr().err
    assert main(["drivers", "nope"]) == 2
    assert "unknown claim id" in capsys.readouterr().err
    assert main(["sensitivity", "--output", "nope@FY2028"]) == 2
    assert "unknown series 'nope'" in capsys.readouterr().err


def test_cli_sensitivity_and_drivers(capsys):
    assert main(["sensitivity", "--output", "cloud.ai_revenue@FY2028", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "Tornado" in out and "cloud.ai_revenue.growth.start" in out
    assert (
        main(
            [
                "sensitivity",
                "--method",
                "sobol",
                "--samples",
                "64",
                "--output",
                "share(cloud.revenue, group.revenue, CY2026)",
            ]
        )
        == 0
    )
    assert "Sobol indices" in capsys.readouterr().out
    assert main(["sensitivity", "--method", "rank", "--draws", "300", "--top", "3"]) == 0
    assert "Spearman rank correlation" in capsys.readouterr().out
    assert main(["sensitivity", "--method", "sobol", "--samples", "100"]) == 2
    assert "power of two" in capsys.readouterr().err
    assert main(["drivers", CAPEX, "--draws", "500"]) == 0
    out = capsys.readouterr().out
    assert "capex.plan.total" in out and "PRIM box" in out
    assert (
        main(["solve", CAPEX, "--input", "capex.plan.total", "--input", "capex.plan.phasing_tilt", "--size", "5"]) == 0
    )
    assert "holds in" in capsys.readouterr().out

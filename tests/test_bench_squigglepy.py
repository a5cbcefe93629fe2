"""benchmarks/bench_squigglepy.py runs the same reference model in squigglepy and in pivotmodel's
sampling: pivotmodel's specs are squigglepy's distributions, the shared model function computes
hand-worked numbers, and the two sides agree within Monte Carlo error (no timing is asserted)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from scipy import special

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_squigglepy.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_squigglepy", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pivotmodel_specs_are_the_squigglepy_distributions(bench):
    d = bench.pivotmodel_design(10).dists
    # sq.to(0.20, 0.45): a lognormal with that 90% interval
    assert d["growth_0"].ppf(np.array([0.05, 0.95])) == pytest.approx([0.20, 0.45], rel=1e-12)
    # sq.norm(0.03, 0.09): a normal with that 90% interval, mean 0.06 and sd 0.03 / 1.6449
    assert d["growth_4"].ppf(np.array([0.05, 0.5, 0.95])) == pytest.approx([0.03, 0.06, 0.09], rel=1e-12)
    assert d["growth_4"]._frozen.args[1] == pytest.approx(0.03 / 1.6448536269514722, rel=1e-12)
    # sq.beta(8, 2): PERT on [0, 1], mode 7/8, lambda 8 has shape parameters 8 and 2
    assert d["fade"]._frozen.args == (8.0, 2.0)
    assert d["fade"].ppf(np.array([0.5]))[0] == pytest.approx(special.betaincinv(8, 2, 0.5), abs=1e-12)
    assert d["useful_life_adj"].ppf(np.array([0.25])) == pytest.approx([0.9], rel=1e-12)
    assert len(d) == 11


def test_the_shared_model_computes_hand_worked_numbers(bench):
    zero = np.zeros(1)
    v = {f"growth_{i}": zero for i in range(6)}
    v.update(
        fade=np.ones(1),
        margin=np.array([0.03]),
        capex_share=np.array([0.5]),
        useful_life_adj=np.ones(1),
        fx=np.array([8.0]),
    )
    ebita, usd = bench.model(v)
    # revenue flat at 172 a quarter; cloud (lines 0 and 1) 40, capex 20 a quarter over 20 quarters:
    # depreciation t + 1 in quarter t; EBITA 172 x 0.15 - (t + 1)
    assert ebita[:, 0] == pytest.approx(25.8 - np.arange(1, 13), rel=1e-12)
    assert usd[0] == pytest.approx(172 * 12 / 8.0, rel=1e-12)
    # line 0 doubles in a year (fade 1 keeps its growth); no capex; margin 0.88 makes EBITA the revenue
    v.update(growth_0=np.ones(1), margin=np.array([0.88]), capex_share=np.zeros(1))
    ebita, _ = bench.model(v)
    assert ebita[3, 0] == pytest.approx(60 + 142, rel=1e-12)


def test_pivotmodel_side_reaches_the_correlations_whatever_the_chunking(bench):
    chunked = bench.run_pivotmodel(20_000, seed=3, chunk=3_000)
    whole = bench.run_pivotmodel(20_000, seed=3, chunk=20_000)
    assert np.array_equal(chunked["ebita"], whole["ebita"]) and np.array_equal(chunked["usd"], whole["usd"])
    g = chunked["drivers"]
    for i, a in enumerate(bench.CORRELATED):
        for j, b in enumerate(bench.CORRELATED[i + 1 :], start=i + 1):
            assert bench._spearman(g[a], g[b]) == pytest.approx(bench.CORRELATION[i][j], abs=0.02)


def test_both_sides_agree_within_monte_carlo_error(bench):
    pytest.importorskip("squigglepy")
    rows = bench.agreement(bench.run_squigglepy(20_000, seed=2), bench.run_pivotmodel(20_000, seed=2))
    assert len(rows) == 11 + 3 + 6
    for r in rows:
        if r["z"] is not None:  # means: the difference within 4 standard errors
            assert abs(r["z"]) < 4, r
            assert r["squigglepy"][1] == pytest.approx(r["pivotmodel"][1], rel=0.05), r
        else:  # Spearman: Iman-Conover reaches about (6/pi) asin(rho/2), the copula rho
            assert r["squigglepy"][0] == pytest.approx(r["pivotmodel"][0], abs=0.04), r


def test_pivotmodels_own_inputs_sampled_by_squigglepy_agree(bench):
    pytest.importorskip("squigglepy")
    from conftest import FROZEN

    r = bench.inputs_comparison(20_000, repeat=1, folder=str(FROZEN))
    assert r["inputs"] > 50 and r["correlated"] >= 2
    assert r["max_z"] < 4.5, r  # every input's mean, over ~100 inputs

"""Monte Carlo runs: a closed-form claim probability per method, bit-identical results for
any chunking and number of processes, draw 0 = the deterministic base case, intervals."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import pivotmodel.assumptions as assumptions_mod
import pivotmodel.simulate as simulate_mod
from pivotmodel.claim_counts import ClaimCounts
from pivotmodel.claims import evaluate, parse_claims
from pivotmodel.errors import InputError
from pivotmodel.model import project
from pivotmodel.periods import parse_quarter
from pivotmodel.sampling import REPLICATES
from pivotmodel.simulate import MEAN_BLOCK, sample_draws, simulate, wilson
from pivotmodel.yamlio import read_yaml

MC = Path(__file__).resolve().parent / "fixtures" / "mc"
SEED = 20260522
Z = stats.norm.ppf(0.975)


@pytest.fixture(scope="module")
def a():
    return assumptions_mod.load()


@pytest.fixture(scope="module")
def capex_claim(a):
    return dataclasses.replace(a, claims=tuple(parse_claims(read_yaml(MC / "claim_capex_480.yaml"))))


# --- a claim with a closed form -------------------------------------------------------------


def test_capex_window_claim_reduces_to_the_plan_total(a):
    """By hand: reported in-window capex (FY2026) is 122,021 RMB mn, below the plan's low
    (380,000), so the window's capex = reported + (plan - reported) = plan total."""
    reported = [a.history.value("group.capex", parse_quarter(f"FY2026Q{k}")) for k in range(1, 5)]
    assert reported == [38629, 31428, 25376, 26588] and sum(reported) == 122021
    assert a.history.last_quarter.label == "FY2026Q4"
    assert a.inputs["capex.plan.total"].dist.params["low"] > sum(reported)
    assert (
        a.inputs["capex.plan.first_quarter"].text == "FY2026Q1"
        and a.inputs["capex.plan.last_quarter"].text == "FY2028Q4"
    )


P_480 = 1 - stats.beta(1 + 4 * 130 / 240, 1 + 4 * 110 / 240).cdf(160 / 240)


@pytest.mark.parametrize("method", ["mc", "lhs", "sobol"])
def test_closed_form_probability_inside_interval(capex_claim, method):
    assert pytest.approx(0.25487, abs=1e-5) == P_480  # 1 - F_pert(480) for pert(320, 450, 560)
    r = simulate(capex_claim, draws=4000, seed=SEED, method=method, jobs=1, keep=["group.capex"])
    plan = r.inputs["capex.plan.total"].to_numpy()
    metric = r.claim_metric["capex_480bn_window"].to_numpy()
    holds = r.claim_holds["capex_480bn_window"].to_numpy()
    # per draw: the metric is the plan total in RMB bn, and the claim holds iff it exceeds 480
    np.testing.assert_allclose(metric, plan / 1000, rtol=1e-12)
    assert np.array_equal(holds, (plan > 480_000).astype(float))
    est, lo, hi, n = r.probability("capex_480bn_window")
    assert n == 4000
    assert lo <= P_480 <= hi, (method, est, lo, hi, P_480)
    assert hi - lo < 0.05
    table = r.claims_table()
    assert list(table.index) == ["capex_480bn_window"]
    assert table.loc["capex_480bn_window", "probability"] == est
    assert table.loc["capex_480bn_window", "threshold"] == 480.0
    assert table.loc["capex_480bn_window", "base_case"] == 0.0  # median 456.7 < 480


def test_lhs_estimate_within_stratum_granularity(capex_claim):
    """The LHS estimate itself is excellent (within one stratum, 1/400, of the closed form) -
    its replicates all agree, which is why the interval above collapses."""
    r = simulate(capex_claim, draws=4000, seed=SEED, method="lhs", jobs=1, keep=["group.capex"])
    est, lo, hi, n = r.probability("capex_480bn_window")
    assert abs(est - P_480) <= 1 / r.design.replicate_size
    holds = r.claim_holds["capex_480bn_window"].to_numpy().reshape(REPLICATES, -1)
    # every replicate has the same count, up to the one draw in the stratum holding the
    # threshold, which falls on either side (which side depends on the design's other columns)
    counts = holds.sum(axis=1)
    assert counts.max() - counts.min() <= 1


# --- chunking and processes -----------------------------------------------------------------


@pytest.mark.parametrize("method", ["mc", "lhs"])
def test_results_bit_identical_across_chunks_and_jobs(a, method):
    runs = [
        simulate(a, draws=3000, seed=SEED, method=method, chunk_size=cs, jobs=j)
        for cs, j in [(1000, 1), (777, 2), (5000, 1)]
    ]
    ref = runs[0]
    assert ref.draws == 3000 and ref.claim_holds.shape[1] >= 10
    for other in runs[1:]:
        assert list(other.inputs.columns) == list(ref.inputs.columns)
        assert np.array_equal(other.inputs.to_numpy(), ref.inputs.to_numpy())
        assert list(other.claim_holds.columns) == list(ref.claim_holds.columns)
        assert np.array_equal(other.claim_holds.to_numpy(), ref.claim_holds.to_numpy(), equal_nan=True)
        assert np.array_equal(other.claim_metric.to_numpy(), ref.claim_metric.to_numpy(), equal_nan=True)
        assert np.array_equal(other.outcomes, ref.outcomes)
        for basis in ("quarter", "fy", "cy"):
            assert set(other.totals[basis]) == set(ref.totals[basis])
            for name, arr in ref.totals[basis].items():
                assert np.array_equal(other.totals[basis][name], arr, equal_nan=True), (basis, name)
                assert np.array_equal(other.means[basis][name], ref.means[basis][name], equal_nan=True), (basis, name)
    assert runs[1].manifest["jobs"] == 2 and runs[1].manifest["chunk_size"] == 777


# --- draw 0 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["mc", "sobol"])
def test_draw_zero_is_the_deterministic_base_case(a, method):
    r = simulate(a, draws=200, seed=SEED, method=method, jobs=1)
    for key, inp in a.inputs.items():
        if inp.uncertain:
            assert r.inputs[key].iloc[0] == inp.dist.median(), key
    p = project(a)
    claims = a.claims
    assert [c.id for c in claims] == list(r.claim_holds.columns)
    for c in claims:
        det = evaluate(c, p)
        h0, m0 = r.claim_holds[c.id].iloc[0], r.claim_metric[c.id].iloc[0]
        assert (np.isnan(h0) and np.isnan(det.holds[0])) or h0 == det.holds[0], c.id
        assert m0 == pytest.approx(det.metric[0], rel=1e-9, nan_ok=True), c.id
    table = r.claims_table()
    for c in claims:
        assert np.array_equal(table.loc[c.id, "base_case"], evaluate(c, p).holds[0], equal_nan=True)
    # the totals of draw 0 are the deterministic projection
    np.testing.assert_allclose(r.totals["quarter"]["cloud.revenue"][0], p["cloud.revenue"][0], rtol=1e-9)


# --- intervals ------------------------------------------------------------------------------


def test_wilson_known_values():
    lo, hi = wilson(0, 10)
    assert lo == pytest.approx(0.0, abs=1e-15)
    assert hi == pytest.approx(Z**2 / (10 + Z**2), rel=1e-12)
    assert hi == pytest.approx(0.27753, abs=1e-5)
    lo, hi = wilson(5, 10)
    half = Z * math.sqrt(0.25 / 10 + Z**2 / 400) / (1 + Z**2 / 10)
    assert (lo, hi) == (pytest.approx(0.5 - half, rel=1e-12), pytest.approx(0.5 + half, rel=1e-12))
    assert (lo, hi) == (pytest.approx(0.23659, abs=1e-5), pytest.approx(0.76341, abs=1e-5))
    lo, hi = wilson(10, 10)
    assert hi == pytest.approx(1.0, abs=1e-15) and lo == pytest.approx(10 / (10 + Z**2), rel=1e-12)
    lo, hi = wilson(30, 100)  # general case against the textbook formula
    c = (0.3 + Z**2 / 200) / (1 + Z**2 / 100)
    h = Z * math.sqrt(0.3 * 0.7 / 100 + Z**2 / 40000) / (1 + Z**2 / 100)
    assert (lo, hi) == (pytest.approx(c - h, rel=1e-12), pytest.approx(c + h, rel=1e-12))
    assert all(math.isnan(x) for x in wilson(0, 0))


def test_mc_interval_is_wilson(capex_claim):
    r = simulate(capex_claim, draws=1000, seed=3, method="mc", jobs=1, keep=["group.capex"])
    assert r.interval_method == "Wilson 95%"
    holds = r.claim_holds["capex_480bn_window"].to_numpy()
    est, lo, hi, n = r.probability("capex_480bn_window")
    assert (lo, hi) == wilson(holds.sum(), 1000)
    assert est == holds.mean() and n == 1000
    assert r.claims_table().loc["capex_480bn_window", "interval"] == "Wilson 95%"


@pytest.mark.parametrize("method", ["lhs", "sobol"])
def test_replicate_interval(capex_claim, method):
    r = simulate(capex_claim, draws=2000, seed=5, method=method, jobs=1, keep=["group.capex"])
    assert r.interval_method == f"t 95% over {REPLICATES} independent {method} replicates"
    assert r.design.replicate_size == 200
    holds = r.claim_holds["capex_480bn_window"].to_numpy()
    est, lo, hi, n = r.probability("capex_480bn_window")
    assert est == holds.mean() and n == 2000 and 0 < lo < est < hi < 1
    assert hi - est == pytest.approx(est - lo, rel=1e-9)  # symmetric about the estimate
    # stratification: the replicate spread is below what independent draws would give
    w_lo, w_hi = wilson(holds.sum(), 2000)
    assert hi - lo < w_hi - w_lo
    assert r.claims_table().loc["capex_480bn_window", "interval"] == r.interval_method


def _set_outcomes(r, claim_id: str, counts: list[int]) -> None:
    """Replace a claim's outcomes in a run: replicate i's first counts[i] draws of 200 hold, the
    rest fail (in the per-draw table and in the counts over every draw made from it)."""
    holds = np.concatenate([np.r_[np.ones(k), np.zeros(200 - k)] for k in counts])
    r.claim_holds[claim_id] = holds
    r.counts = ClaimCounts.from_codes(r.outcomes, r.counts.bounds)


def test_replicate_interval_known_values(capex_claim):
    """The t interval over replicates, worked by hand on outcomes set per replicate."""
    r = simulate(capex_claim, draws=2000, seed=5, method="lhs", jobs=1, keep=["group.capex"])
    assert r.design.replicate_size == 200 and REPLICATES == 10
    cid = "capex_480bn_window"
    _set_outcomes(r, cid, [60, 62, 58, 61, 59, 60, 63, 57, 60, 60])
    # 600 / 2000 = 0.3; replicate means 0.3 + (0, 1, -1, 0.5, -0.5, 0, 1.5, -1.5, 0, 0)%:
    # sd = sqrt(0.0007 / 9) = 0.00881917, t(0.975, 9) = 2.26215716,
    # half = 2.26215716 * 0.00881917 / sqrt(10) = 0.00630885
    est, lo, hi, n = r.probability(cid)
    assert (est, n) == (0.3, 2000)
    assert lo == pytest.approx(0.29369115, abs=1e-8) and hi == pytest.approx(0.30630885, abs=1e-8)
    # every replicate at 60 of 200: no spread, but a replicate resolves only half a stratum, 0.5 / 200
    _set_outcomes(r, cid, [60] * 10)
    assert r.probability(cid) == (0.3, pytest.approx(0.2975, abs=1e-12), pytest.approx(0.3025, abs=1e-12), 2000)
    # 2 holding draws, both in one replicate: means (0.01, 0 x 9), sd = sqrt(9e-5 / 9) = 0.00316228,
    # t half = 2.26215716 * 0.00316228 / sqrt(10) = 0.00226 < the half-stratum floor 0.0025;
    # the low end is cut at 0
    _set_outcomes(r, cid, [2] + [0] * 9)
    assert r.probability(cid) == (0.001, 0.0, pytest.approx(0.0035, abs=1e-12), 2000)


def test_convergence_table_ends_at_the_full_run(capex_claim):
    r = simulate(capex_claim, draws=2000, seed=5, method="lhs", jobs=1, keep=["group.capex"])
    conv = r.convergence()
    assert list(conv.columns) == ["claim", "draws", "probability", "ci_low", "ci_high"]
    assert conv["draws"].is_monotonic_increasing and conv["draws"].iloc[-1] == 2000
    assert conv["draws"].iloc[0] >= 2 * r.design.replicate_size
    last = conv.iloc[-1]
    assert (last["probability"], last["ci_low"], last["ci_high"]) == r.probability("capex_480bn_window")[:3]


def test_quantiles_of_capex_window_match_plan(capex_claim):
    r = simulate(capex_claim, draws=2000, seed=9, method="mc", jobs=1, keep=["group.capex", "group.fx_usd_rmb"])
    q = r.quantiles("fy")
    assert list(q.columns) == ["unit", "P5", "P10", "P50", "P90", "P95", "mean"]
    assert q.loc[("group.capex", "FY2026"), "unit"] == "RMB bn"
    # FY2026 is reported: every quantile is 122.021 RMB bn
    assert q.loc[("group.capex", "FY2026"), "P5"] == pytest.approx(122.021, rel=1e-12)
    assert q.loc[("group.capex", "FY2026"), "P95"] == pytest.approx(122.021, rel=1e-12)
    assert q.loc[("group.fx_usd_rmb", "FY2027"), "unit"] == "RMB per US$"


def test_worker_processes_give_the_same_numbers_under_fork_and_spawn(bundled):
    """Inputs and errors are picklable, so --jobs works where only spawn exists (macOS, Windows)."""
    runs = [
        simulate(bundled, draws=3000, seed=11, chunk_size=1000, jobs=2, start_method=m, progress=False)
        for m in ("fork", "spawn")
    ]
    one = simulate(bundled, draws=3000, seed=11, chunk_size=3000, jobs=1, progress=False)
    for r in runs:
        assert np.array_equal(r.claim_metric.to_numpy(), one.claim_metric.to_numpy(), equal_nan=True)
        assert np.array_equal(r.inputs.to_numpy(), one.inputs.to_numpy())


@pytest.mark.parametrize("method", ["mc", "lhs"])
def test_convergence_from_running_counts_equals_direct_recount(capex_claim, method):
    """Each mark of the convergence table equals the estimate and interval recomputed by hand
    from the first m draws (mean of the outcomes; Wilson, or t over whole replicates)."""
    r = simulate(capex_claim, draws=2000, seed=5, method=method, jobs=1, keep=["group.capex"])
    holds = r.claim_holds["capex_480bn_window"].to_numpy(dtype=float)
    size = r.design.replicate_size
    conv = r.convergence()
    assert len(conv) > 5
    for _, row in conv.iterrows():
        m = int(row["draws"])
        h = holds[:m]
        assert row["probability"] == h.mean()
        if method == "mc":
            lo, hi = wilson(h.sum(), m)
        else:
            means = h[: (m // size) * size].reshape(-1, size).mean(axis=1)
            half = max(stats.t.ppf(0.975, len(means) - 1) * means.std(ddof=1) / math.sqrt(len(means)), 0.5 / size)
            lo, hi = max(0.0, h.mean() - half), min(1.0, h.mean() + half)
        assert row["ci_low"] == pytest.approx(lo, abs=1e-15) and row["ci_high"] == pytest.approx(hi, abs=1e-15)


def test_quantiles_one_column_at_a_time_equal_numpy_over_the_table(capex_claim):
    r = simulate(capex_claim, draws=3000, seed=9, method="lhs", jobs=1, keep=["group.capex", "cloud.revenue"])
    for name in ("group.capex", "cloud.revenue"):
        arr = r.totals["cy"][name].astype(float)
        expected = np.quantile(arr, [0.05, 0.10, 0.50, 0.90, 0.95], axis=0) / 1000
        got = r.quantiles("cy", [name])[["P5", "P10", "P50", "P90", "P95"]].to_numpy().T
        assert np.array_equal(got, expected, equal_nan=True) and np.isfinite(got).sum() > 10
        assert np.allclose(
            r.quantiles("cy", [name])["mean"].to_numpy(), arr.mean(axis=0) / 1000, rtol=1e-14, atol=0, equal_nan=True
        )


# --- bounded memory: a fixed sample of per-draw values, outcomes and means over every draw ----


def test_sample_of_draws_is_fixed_by_the_seed_and_holds_draw_zero():
    assert np.array_equal(sample_draws(500, 1, size=500), np.arange(500))
    s = sample_draws(10_000, 1, size=300)
    assert len(s) == len(np.unique(s)) == 300 and s[0] == 0 and np.all(np.diff(s) > 0) and s[-1] < 10_000
    assert np.array_equal(s, sample_draws(10_000, 1, size=300))
    assert not np.array_equal(s, sample_draws(10_000, 2, size=300))
    # spread over the run, not bunched at its start: every tenth of the draws holds some
    assert len(np.unique(s // 1000)) == 10


@pytest.mark.parametrize("method", ["mc", "lhs"])
def test_sampled_run_equals_the_full_run_on_its_draws(a, method):
    """A run keeping 700 of 3,000 draws: outcomes, probabilities and convergence over every
    draw as in the full run; inputs, metrics and totals those of the sampled draws; quantiles
    exact over the sample; means over every draw, bit-identical across chunks and jobs."""
    full = simulate(
        a, draws=3000, seed=SEED, method=method, chunk_size=1000, jobs=1, keep=["group.capex", "cloud.revenue"]
    )
    runs = [
        simulate(
            a,
            draws=3000,
            seed=SEED,
            method=method,
            chunk_size=cs,
            jobs=j,
            sample_size=700,
            keep=["group.capex", "cloud.revenue"],
        )
        for cs, j in [(1000, 1), (777, 2), (5000, 1), (4096, 1)]
    ]
    ref = runs[0]
    s = ref.sample
    assert ref.sampled and not full.sampled and len(s) == 700 and ref.manifest["sampled_draws"] == 700
    assert list(ref.inputs.index) == list(s) and list(ref.claim_holds.index) == list(s)
    assert ref.counts.equals(full.counts)
    assert np.array_equal(ref.inputs.to_numpy(), full.inputs.to_numpy()[s])
    assert np.array_equal(ref.claim_metric.to_numpy(), full.claim_metric.to_numpy()[s], equal_nan=True)
    assert np.array_equal(ref.claim_holds.to_numpy(), full.claim_holds.to_numpy()[s], equal_nan=True)
    for c in ref.claims:
        assert ref.probability(c.id) == full.probability(c.id)
    pd.testing.assert_frame_equal(ref.convergence(), full.convergence())
    for basis in ("fy", "cy"):
        for name in ("group.capex", "cloud.revenue"):
            assert np.array_equal(ref.totals[basis][name], full.totals[basis][name][s], equal_nan=True)
            got = ref.quantiles(basis, [name])
            exact = np.quantile(full.totals[basis][name][s], [0.05, 0.10, 0.50, 0.90, 0.95], axis=0).T / 1000
            assert np.array_equal(got[["P5", "P10", "P50", "P90", "P95"]].to_numpy(), exact, equal_nan=True)
            np.testing.assert_allclose(got["mean"].to_numpy(), full.totals[basis][name].mean(axis=0) / 1000, rtol=1e-13)
    for other in runs[1:]:
        assert np.array_equal(other.sample, s) and other.counts.equals(ref.counts)
        assert np.array_equal(other.inputs.to_numpy(), ref.inputs.to_numpy())
        for basis in ("fy", "cy"):
            pd.testing.assert_frame_equal(other.quantiles(basis), ref.quantiles(basis), check_exact=True)
            for name, arr in ref.totals[basis].items():
                assert np.array_equal(other.totals[basis][name], arr, equal_nan=True)


def test_means_are_exact_over_every_draw_whatever_the_chunking(a):
    """Streamed means (a sampled run): block sums assembled from partial blocks give the same
    bits as blocks that came whole, and equal the blocks of the full run summed in order."""
    runs = [
        simulate(a, draws=9000, seed=3, method="mc", chunk_size=cs, jobs=j, keep=["group.revenue"], sample_size=500)
        for cs, j in ((9000, 1), (1000, 1), (4096, 2), (333, 2))
    ]
    full = simulate(a, draws=9000, seed=3, method="mc", jobs=1, keep=["group.revenue"])
    for basis in ("quarter", "fy", "cy"):
        for r in runs[1:]:
            assert np.array_equal(
                r.means[basis]["group.revenue"], runs[0].means[basis]["group.revenue"], equal_nan=True
            )
        arr = full.totals[basis]["group.revenue"]
        blocks = [arr[i : i + MEAN_BLOCK].sum(axis=0) for i in range(0, 9000, MEAN_BLOCK)]
        assert np.array_equal(runs[0].means[basis]["group.revenue"], np.sum(blocks, axis=0) / 9000, equal_nan=True)
        # a run that keeps every draw in float64 takes the mean of its totals
        assert np.array_equal(full.means[basis]["group.revenue"], arr.mean(axis=0), equal_nan=True)


def test_outcomes_are_one_byte_codes_and_give_the_probability(capex_claim):
    r = simulate(capex_claim, draws=1500, seed=4, method="mc", jobs=1, keep=[])
    i = [c.id for c in r.claims].index("capex_480bn_window")
    codes = r.outcomes[i]
    assert r.outcomes.dtype == np.int8 and set(np.unique(codes)) <= {-1, 0, 1}
    holds = r.claim_holds["capex_480bn_window"].to_numpy()
    assert np.array_equal(np.where(codes < 0, np.nan, codes), holds, equal_nan=True)
    est, _, _, n = r.probability("capex_480bn_window", upto=900)
    assert n == np.count_nonzero(codes[:900] >= 0) and est == np.count_nonzero(codes[:900] == 1) / n
    assert r.probability("capex_480bn_window", upto=0)[3] == 0


def test_large_run_storage_float32_quantiles_and_streamed_means(a, monkeypatch):
    """Runs over FULL_TABLES_UP_TO keep totals, inputs and metrics in float32 and stream the
    means: quantiles within float32 rounding (rtol 1e-6) of a float64 run, means within 1e-13,
    probabilities identical."""
    full = simulate(a, draws=3000, seed=SEED, method="sobol", jobs=1, keep=["group.revenue", "cloud.utilisation"])
    monkeypatch.setattr(simulate_mod, "FULL_TABLES_UP_TO", 1000)
    small = simulate(
        a, draws=3000, seed=SEED, method="sobol", chunk_size=700, jobs=2, keep=["group.revenue", "cloud.utilisation"]
    )
    assert small.totals["fy"]["group.revenue"].dtype == np.float32 and not small.totals["quarter"]
    assert small.inputs.to_numpy().dtype == np.float32
    np.testing.assert_allclose(small.inputs.to_numpy(), full.inputs.to_numpy(), rtol=1e-6)
    assert np.array_equal(small.outcomes, full.outcomes)
    for basis in ("fy", "cy"):
        got, ref = small.quantiles(basis), full.quantiles(basis)
        cols = ["P5", "P10", "P50", "P90", "P95"]
        np.testing.assert_allclose(got[cols].to_numpy(), ref[cols].to_numpy(), rtol=1e-6, atol=0)
        np.testing.assert_allclose(got["mean"].to_numpy(), ref["mean"].to_numpy(), rtol=1e-13, atol=0)
        assert np.isfinite(got[cols].to_numpy()).sum() > 10


def test_a_run_finds_its_claims_where_the_loader_does(capex_claim):
    """Results.claim and Assumptions.claim share one lookup: an unknown id names the claims
    file and lists the run's claims."""
    r = simulate(capex_claim, draws=200, seed=SEED, method="mc", jobs=1)
    (only,) = capex_claim.claims
    assert r.claim(only.id) is only
    with pytest.raises(InputError) as exc:
        r.claim("capex_380")
    (problem,) = exc.value.problems
    assert (problem.key, problem.message) == ("claim", f"unknown claim id 'capex_380'; valid: {only.id}")


def test_importing_simulate_leaves_pandas_for_the_output_tables():
    """pandas (the output tables) is not imported before a run's pool starts: the parent
    loads it while the workers compute the first chunks."""
    import subprocess
    import sys

    code = "import sys, pivotmodel.simulate, pivotmodel.cli.run\nprint('pandas' in sys.modules)\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stdout + out.stderr

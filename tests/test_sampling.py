"""Sampling: each family's draws follow its distribution, rank correlations are achieved,
plain Monte Carlo streams are stable per input and per draw, draw 0 is the base case, and an
inconsistent correlation set is caught."""

from __future__ import annotations

import dataclasses
import math
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
from scipy import special, stats

import pivotmodel.assumptions as assumptions_mod
from pivotmodel import distributions
from pivotmodel.correlations import parse_correlations, uncertain_keys
from pivotmodel.distributions import build_distribution
from pivotmodel.errors import InputError
from pivotmodel.sampling import Design, _key_words, _mc_uniforms, correlation_copula, make_design, uncertain_inputs
from pivotmodel.yamlio import read_yaml

MC = Path(__file__).resolve().parent / "fixtures" / "mc"
Z95 = 1.6448536269514722
SEED = 20260522


@pytest.fixture(scope="module")
def a() -> assumptions_mod.Assumptions:
    return assumptions_mod.load()


def _pert(lo: float, mode: float, hi: float, lam: float = 4.0):
    return stats.beta(1 + lam * (mode - lo) / (hi - lo), 1 + lam * (hi - mode) / (hi - lo), loc=lo, scale=hi - lo)


# (kind, params, the scipy distribution built here from the spec, independently of the package)
FAMILIES = [
    ("uniform", {"low": -0.05, "high": 0.08}, stats.uniform(-0.05, 0.13)),
    ("triangular", {"low": 20, "mode": 24, "high": 32}, stats.triang(c=4 / 12, loc=20, scale=12)),
    ("pert", {"low": 380, "mode": 450, "high": 560}, _pert(380, 450, 560)),
    ("pert", {"low": 0, "mode": 1, "high": 10, "lambda": 2}, _pert(0, 1, 10, 2)),
    ("normal", {"mean": 7.1, "sd": 0.3}, stats.norm(7.1, 0.3)),
    ("truncnormal", {"mean": 0.1, "sd": 0.2, "low": 0.0, "high": 0.3}, stats.truncnorm(-0.5, 1.0, loc=0.1, scale=0.2)),
    ("lognormal", {"median": 50.0, "sigma": 0.4}, stats.lognorm(s=0.4, scale=50.0)),
    ("lognormal", {"p5": 10.0, "p95": 40.0}, stats.lognorm(s=math.log(4.0) / (2 * Z95), scale=20.0)),
    ("range", {"p5": 100.0, "p95": 140.0}, stats.norm(120.0, 40.0 / (2 * Z95))),
    ("range", {"p5": 100.0, "p95": 140.0, "shape": "normal"}, stats.norm(120.0, 40.0 / (2 * Z95))),
    ("range", {"p5": 2.0, "p95": 18.0, "shape": "lognormal"}, stats.lognorm(s=math.log(9.0) / (2 * Z95), scale=6.0)),
]


@pytest.mark.parametrize("kind,params,ref", FAMILIES, ids=[f"{k}-{'-'.join(p)}" for k, p, _ in FAMILIES])
def test_family_samples_match_distribution(kind, params, ref):
    dist = build_distribution(kind, params)
    u = _mc_uniforms(SEED, f"test.{kind}", 0, 20_000)
    x = dist.ppf(u)
    assert stats.kstest(x, ref.cdf).pvalue > 0.01
    # and the quantile function itself, pointwise (this is what the KS test relies on)
    probs = np.array([0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99])
    # PERT's sampling ppf interpolates a 2**16-point table of the exact inverse (see
    # distributions._beta_ppf): accurate to ~1e-8 relative here; the others are closed forms.
    np.testing.assert_allclose(dist.ppf(probs), ref.ppf(probs), rtol=1e-7 if kind == "pert" else 1e-9)
    np.testing.assert_allclose([dist.quantile(p) for p in probs], ref.ppf(probs), rtol=1e-9)
    assert dist.median() == pytest.approx(ref.median(), rel=1e-12)


def test_family_p5_p95_are_the_named_quantiles():
    for kind, params in [
        ("lognormal", {"p5": 10.0, "p95": 40.0}),
        ("range", {"p5": 100.0, "p95": 140.0}),
        ("range", {"p5": 2.0, "p95": 18.0, "shape": "lognormal"}),
    ]:
        d = build_distribution(kind, params)
        assert d.quantile(0.05) == pytest.approx(params["p5"], rel=1e-9)
        assert d.quantile(0.95) == pytest.approx(params["p95"], rel=1e-9)


@pytest.mark.parametrize("p,vt,vf", [(0.3, 1.0, 0.0), (0.85, -5.0, 2.0)])
def test_bernoulli_frequency(p, vt, vf):
    dist = build_distribution("bernoulli", {"p": p, "value_if_true": vt, "value_if_false": vf})
    x = dist.ppf(_mc_uniforms(SEED, "test.bernoulli", 0, 20_000))
    assert set(np.unique(x)) == {vt, vf}
    k = int((x == vt).sum())
    assert stats.binomtest(k, 20_000, p).pvalue > 0.01
    assert abs(k / 20_000 - p) < 0.015


def test_bernoulli_defaults_are_one_and_zero():
    dist = build_distribution("bernoulli", {"p": 0.5})
    assert dist.ppf(np.array([0.1, 0.9])).tolist() == [1.0, 0.0]


@pytest.mark.parametrize("method", ["mc", "lhs", "sobol"])
def test_design_draws_of_capex_plan_follow_its_pert(a, method):
    assert a.inputs["capex.plan.total"].dist.params == {"low": 320000.0, "mode": 450000.0, "high": 560000.0}
    x = make_design(a, 20_000, SEED, method).values(0, 20_000)["capex.plan.total"]
    assert x[0] == pytest.approx(_pert(320000, 450000, 560000).median(), rel=1e-12)
    assert stats.kstest(x[1:], _pert(320000, 450000, 560000).cdf).pvalue > 0.01
    assert x.min() >= 320000 and x.max() <= 560000


# --- rank correlations ---------------------------------------------------------------------


def with_correlations(a, path: Path):
    """``a`` with the correlations of the file at ``path`` instead, validated as the loader does."""
    corr = parse_correlations(
        read_yaml(path), "assumptions/correlations.yaml", a.sources, uncertain_keys(a.inputs, a.seeds), a.inputs
    )
    return dataclasses.replace(a, correlations=corr)


@pytest.fixture(scope="module")
def correlation_pairs(a):
    pairs = [(p.a, p.b, p.rho) for p in a.correlations.pairs]
    assert len(pairs) == 4
    return pairs


@pytest.mark.parametrize("method", ["mc", "lhs"])
def test_achieved_spearman_within_002_at_100k(a, correlation_pairs, method):
    n = 100_000
    design = make_design(a, n, SEED, method)
    assert design.correlation is not None and not design.correlation.adjusted
    values = design.values(0, n)
    for x, y, rho in correlation_pairs:
        got = stats.spearmanr(values[x], values[y]).statistic
        assert abs(got - rho) < 0.02, (x, y, rho, got)
    # an uncorrelated pair stays near 0
    got = stats.spearmanr(values["capex.useful_life"], values["capex.legacy_runoff"]).statistic
    assert abs(got) < 0.02


# --- plain Monte Carlo streams -------------------------------------------------------------


def _dists(*keys):
    return {k: build_distribution("uniform", {"low": 0.0, "high": 1.0}) for k in keys}


def test_adding_an_input_leaves_other_draws_unchanged():
    n = 5000
    small = Design("mc", 7, n, _dists("a.x", "c.z"), {}, None)
    big = Design("mc", 7, n, _dists("a.x", "b.extra", "c.z", "0.first"), {}, None)
    vs, vb = small.values(0, n), big.values(0, n)
    for k in ("a.x", "c.z"):
        assert np.array_equal(vs[k], vb[k])
    # the streams are distinct per key and per seed
    assert not np.array_equal(vb["a.x"][1:], vb["c.z"][1:])
    other_seed = Design("mc", 8, n, _dists("a.x"), {}, None).values(0, n)["a.x"]
    assert not np.array_equal(other_seed[1:], vs["a.x"][1:])


def test_mc_stream_jumps_ahead_to_any_start():
    full = _mc_uniforms(11, "cloud.x", 0, 3 * 4096 + 10)
    for start, stop in [
        (4091, 4101),
        (4000, 4200),
        (1, 2 * 4096 + 3),
        (8192, 3 * 4096 + 10),
        (4096, 4097),
        (12297, 12298),
    ]:
        assert np.array_equal(_mc_uniforms(11, "cloud.x", start, stop), full[start:stop]), (start, stop)
    assert ((full > 0) & (full < 1)).all()
    # the same numbers as drawing the whole stream from one generator
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([11, *_key_words("cloud.x")])))
    assert np.array_equal(rng.random(len(full)), full)


@pytest.mark.parametrize("method", ["mc", "lhs", "sobol"])
def test_design_values_chunk_equals_slice(a, method):
    """Draws [start, stop) of a design (with the bundled copula) equal that slice of a longer run."""
    n = 9000
    design = make_design(a, n, SEED, method)
    full = design.values(0, n)
    for start, stop in [(1, 4100), (4090, 4100), (4096, 9000)]:
        part = design.values(start, stop)
        assert set(part) == set(full)
        for k in design.dists:
            assert np.array_equal(part[k], full[k][start:stop]), (k, start, stop)


# --- draw 0 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["mc", "lhs", "sobol"])
def test_draw_zero_is_every_median(a, method):
    design = make_design(a, 50, SEED, method)
    assert design.correlation is not None  # the copula must not move draw 0
    values = design.values(0, 50)
    dists = uncertain_inputs(a)
    assert len(dists) > 20 and set(design.dists) == set(dists)
    for k, d in dists.items():
        assert values[k][0] == d.median(), k
        assert len(values[k]) == 50
    for k, v in design.fixed.items():
        assert np.all(values[k] == v)
    # draw 1 is a genuine draw, not the median, for continuous inputs
    assert values["capex.plan.total"][1] != dists["capex.plan.total"].median()


# --- correlation problems -------------------------------------------------------------------


def test_non_psd_correlations_name_the_inputs(a):
    bad = with_correlations(a, MC / "corr_not_psd.yaml")
    with pytest.raises(InputError) as exc:
        make_design(bad, 100, SEED, "mc")
    msg = str(exc.value)
    assert "not positive semi-definite" in msg
    for key in ("capex.plan.total", "capex.useful_life", "capex.legacy_runoff"):
        assert key in msg
    assert "nearest" in msg
    assert exc.value.problems[0].file == "assumptions/correlations.yaml"


@pytest.mark.parametrize("how", ["yaml", "argument"])
def test_non_psd_with_nearest_passes_and_is_reported(a, how):
    name = "corr_not_psd_nearest.yaml" if how == "yaml" else "corr_not_psd.yaml"
    variant = with_correlations(a, MC / name)
    design = make_design(variant, 20_000, SEED, "mc", nearest=True if how == "argument" else None)
    corr = design.correlation
    assert corr.adjusted is True
    assert corr.keys == ("capex.legacy_runoff", "capex.plan.total", "capex.useful_life")
    implied = corr.cholesky @ corr.cholesky.T
    np.testing.assert_allclose(np.diag(implied), 1.0, atol=1e-6)
    assert np.linalg.eigvalsh(implied).min() > -1e-9
    v = design.values(0, 20_000)
    # the sign pattern survives the adjustment; signs of the adjusted pairs are kept
    assert stats.spearmanr(v["capex.plan.total"], v["capex.useful_life"]).statistic > 0.2
    assert stats.spearmanr(v["capex.plan.total"], v["capex.legacy_runoff"]).statistic < -0.2


def test_valid_bundled_correlations_are_not_adjusted(a):
    corr = correlation_copula(a, uncertain_inputs(a))
    assert corr is not None and corr.adjusted is False
    assert len(corr.keys) == 7
    # requested Spearman -> normal via 2 sin(pi rho / 6)
    implied = corr.cholesky @ corr.cholesky.T
    i, j = corr.keys.index("cloud.ai_revenue.growth.start"), corr.keys.index("capex.plan.total")
    assert implied[i, j] == pytest.approx(2 * math.sin(math.pi * 0.5 / 6), abs=1e-9)


def test_correlation_with_fixed_or_unknown_input_is_an_error(a, tmp_path):
    raw_text = (
        "correlations:\n  pairs:\n"
        "    - {a: capex.plan.total, b: capex.plan.first_quarter, rho: 0.2, source: capex_plan_feb2025}\n"
        "    - {a: capex.plan.total, b: capex.nope, rho: 1.5, source: capex_plan_feb2025}\n"
        "    - {a: capex.plan.total, b: capex.useful_life, rho: 0.2, source: no_such_source}\n"
    )
    path = tmp_path / "c.yaml"
    path.write_text(raw_text, encoding="utf-8")
    with pytest.raises(InputError) as exc:  # at load: the pairs are validated with the files
        with_correlations(a, path)
    msg = str(exc.value)
    assert len(exc.value.problems) == 3
    assert "'capex.plan.first_quarter' is a fixed input" in msg
    assert "rho: must be a number in (-1, 1), got 1.5" in msg
    assert "'no_such_source' is not an id in sources.yaml" in msg


def test_lhs_computed_per_chunk_fills_every_stratum_once_per_replicate():
    """Each replicate of the Latin hypercube puts exactly one draw of every input in each of
    its equal strata, and any chunk computed alone equals the same draws of the whole run."""
    from pivotmodel.sampling import _lhs_uniforms

    keys = ["a.x", "b.y", "c.z"]
    for size in (1, 2, 7, 1000):
        whole = _lhs_uniforms(5, keys, size, 0, 10 * size)
        for r in range(10):
            strata = np.floor(whole[:, r * size : (r + 1) * size] * size).astype(int)
            assert all(np.array_equal(np.sort(row), np.arange(size)) for row in strata), size
        for lo, hi in [(0, 1), (3, 9), (size - 1, 3 * size + 1), (9 * size, 10 * size)]:  # every one inside the run
            assert np.array_equal(_lhs_uniforms(5, keys, size, lo, hi), whole[:, lo:hi]), (size, lo, hi)
    # inputs are independent: another key set leaves a key's draws unchanged
    assert np.array_equal(_lhs_uniforms(5, ["b.y"], 1000, 0, 500)[0], _lhs_uniforms(5, keys, 1000, 0, 500)[1])


def _tables_in_worker(dists: list) -> dict:
    """In a worker: the PERT tables it already holds (inherited from a fork), else those it
    builds itself (spawn)."""
    from pivotmodel import distributions

    inherited = bool(distributions._BETA_TABLES)
    distributions.build_tables(dists)
    return {"inherited": inherited, "tables": dict(distributions._BETA_TABLES)}


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_tables_built_before_the_fork_equal_a_workers_own(a, start_method):
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from pivotmodel import distributions

    design = make_design(a, 1000, 7, "sobol")
    pert = [d for d in design.dists.values() if d.kind == "pert"]
    assert pert
    distributions._BETA_TABLES.clear()
    design.build_tables()  # what simulate does before its pool starts
    parent = dict(distributions._BETA_TABLES)
    assert len(parent) == len({d._frozen.args for d in pert})
    with ProcessPoolExecutor(1, mp_context=mp.get_context(start_method)) as pool:
        got = pool.submit(_tables_in_worker, pert).result()
    assert got["inherited"] == (start_method == "fork")
    assert got["tables"].keys() == parent.keys()
    for key, table in parent.items():
        assert np.array_equal(got["tables"][key], table)


def test_beta_points_on_the_grid_skip_the_table_and_equal_its_entries(monkeypatch):
    """A few points all on the table's grid (a base case's medians) are computed directly; they
    must be the table's own entries bit for bit, or the base case and draw 0 would differ."""
    monkeypatch.setattr(distributions, "_BETA_TABLES", OrderedDict())
    rng = np.random.default_rng(7)
    for _ in range(50):
        a, b = 1.0 + 6.0 * rng.random(2)
        u = np.array([0.5, 0.25, 0.0, 1.0, 17 / 65536, 1 - 17 / 65536, 12345 / 65536])
        direct = distributions._beta_ppf(a, b, u)
        assert (a, b) not in distributions._BETA_TABLES  # no table was built
        through_table = distributions._beta_ppf(a, b, np.concatenate([u, np.full(20, 0.3)]))[: u.size]
        assert (a, b) in distributions._BETA_TABLES
        assert np.array_equal(direct.view(np.int64), through_table.view(np.int64))
    off_grid = np.array([0.5 + 1e-9])
    distributions._beta_ppf(2.0, 3.0, off_grid)  # off the grid: the table, as in every run
    assert (2.0, 3.0) in distributions._BETA_TABLES


def test_the_beta_tables_are_bounded_dropping_the_least_recently_used(monkeypatch):
    from pivotmodel.distributions import build_distribution

    monkeypatch.setattr(distributions, "_BETA_TABLES", OrderedDict())
    monkeypatch.setattr(distributions, "_BETA_TABLES_MAX", 3)
    u = np.full(20, 0.3)  # off the grid: through a table
    for a in (2.0, 3.0, 4.0):
        distributions._beta_ppf(a, 2.0, u)
    distributions._beta_ppf(2.0, 2.0, u)  # used again: now the most recent
    distributions._beta_ppf(5.0, 2.0, u)  # a fourth shape: the least recently used (3, 2) goes
    assert list(distributions._BETA_TABLES) == [(4.0, 2.0), (2.0, 2.0), (5.0, 2.0)]
    # a run that needs more tables than the bound keeps them all while it runs
    dists = [build_distribution("pert", {"low": 0.0, "mode": m, "high": 1.0}) for m in (0.1, 0.3, 0.5, 0.7, 0.9)]
    distributions.build_tables(dists, threads=1)
    assert {tuple(float(x) for x in d._frozen.args) for d in dists} <= set(distributions._BETA_TABLES)
    assert len(distributions._BETA_TABLES) == 5


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_tables_built_in_slices_on_threads_equal_one_call_bit_for_bit(monkeypatch, threads):
    """build_tables computes each missing table in slices of its grid shared among threads;
    every entry must be the one call's (``_beta_table``), bit for bit, and read-only, and a
    table already held is not built again."""
    from pivotmodel.distributions import build_distribution

    monkeypatch.setattr(distributions, "_BETA_TABLES", OrderedDict())
    dists = [build_distribution("pert", {"low": 0.0, "mode": m, "high": 1.0}) for m in (0.2, 0.5, 0.9, 0.2)]
    keys = {tuple(float(x) for x in d._frozen.args) for d in dists}
    assert len(keys) == 3
    distributions.build_tables(dists, threads=threads)
    assert set(distributions._BETA_TABLES) == keys
    built = dict(distributions._BETA_TABLES)
    grid = np.linspace(0.0, 1.0, distributions._BETA_GRID + 1)
    for (a, b), table in built.items():
        assert not table.flags.writeable
        assert np.array_equal(table.view(np.int64), special.betaincinv(a, b, grid).view(np.int64))
    distributions.build_tables(dists, threads=threads)
    assert all(distributions._BETA_TABLES[k] is built[k] for k in keys)  # kept, not rebuilt

"""The faster paths of a run give exactly the numbers of the plain ones they replace."""

from __future__ import annotations

import numpy as np

import pivotmodel.simulate as sim
from pivotmodel.claims import evaluate
from pivotmodel.earnings_series import EARNINGS_NOT_SUMMED
from pivotmodel.model import SERIES, prepare, run
from pivotmodel.model.projection import NOT_SUMMED
from pivotmodel.sampling import make_design


def _projection(a, draws=3000):
    design = make_design(a, draws, 7, "sobol")
    return run(prepare(a), design.values(0, draws))


def test_year_totals_equal_total_period_by_period(bundled):
    p = _projection(bundled)
    tl = p.timeline
    for basis in ("fy", "cy"):
        periods = tl.year_periods(basis)
        for name in SERIES:
            fast = sim._year_totals(p, name, periods)
            assert fast.shape == (p.draws, len(periods))
            # laid out as the series: each period's draws contiguous when each quarter's are
            assert (fast.T if p[name].T.flags.c_contiguous else fast).flags.c_contiguous
            for j, y in enumerate(periods):
                averaged = name in NOT_SUMMED and name not in EARNINGS_NOT_SUMMED  # a level: total() (year end)
                plain = p[name][:, tl.columns(y)].mean(axis=1) if averaged else p.total(name, y)
                # bit for bit, NaN where the plain total is NaN
                assert np.array_equal(fast[:, j], plain, equal_nan=True), (name, y.label)


def test_a_years_net_cash_is_its_last_quarter_in_the_run_tables_as_in_project(bundled):
    """Net cash and share counts are levels: a year's figure in the run's tables (quantiles_fy,
    quantiles_cy) is the level at its last quarter end, the figure `pivotmodel project` prints,
    never the average of its quarter ends (issue 20: one FY net cash definition)."""
    p = _projection(bundled, 50)
    tl = p.timeline
    for basis in ("fy", "cy"):
        periods = tl.year_periods(basis)
        for name in ("group.net_cash", "group.diluted_shares"):
            fast = sim._year_totals(p, name, periods)
            for j, y in enumerate(periods):
                last = tl.columns(y).stop - 1
                assert np.array_equal(fast[:, j], p[name][:, last], equal_nan=True), (name, y.label)
    fy2027 = tl.columns(next(y for y in tl.year_periods("fy") if y.label == "FY2027"))
    cash = p["group.net_cash"][:, fy2027]
    assert not np.allclose(cash.mean(axis=1), cash[:, -1])  # the average would differ: the test can fail


def test_year_totals_keep_reported_annual_figures(bundled):
    """A reported fiscal year takes the reported annual figure, as total() does, not the
    sum of its quarters (which carries rounding)."""
    p = _projection(bundled, 10)
    fy = p.timeline.year_periods("fy")
    j = next(i for i, y in enumerate(fy) if y.last < p.first_projected)
    annual = bundled.history.annual_value("group.revenue", fy[j].first.fiscal_year)
    assert p.annual[("group.revenue", fy[j].first.fiscal_year)] == annual  # prepared once, not read from history
    assert not np.isnan(annual)
    assert np.all(sim._year_totals(p, "group.revenue", fy)[:, j] == annual)


def test_claims_memo_gives_the_values_of_an_evaluation_without_it(bundled, monkeypatch):
    """The per-evaluation memo of period functions changes no metric, outcome or message."""
    import pivotmodel.claims as claims_mod

    p = _projection(bundled, 2000)
    memo = [evaluate(c, p) for c in bundled.claims]
    monkeypatch.setattr(claims_mod, "_MEMO_FNS", frozenset())
    p = _projection(bundled, 2000)
    for c, fast in zip(bundled.claims, memo, strict=True):
        plain = evaluate(c, p)
        assert np.array_equal(fast.metric, plain.metric, equal_nan=True), c.id
        assert np.array_equal(fast.holds, plain.holds, equal_nan=True), c.id
        assert fast.undefined == plain.undefined


def test_chunks_of_whole_mean_blocks_same_numbers(bundled):
    """A chunk size of at least MEAN_BLOCK is cut down to whole blocks (what the manifest
    records), and the run's numbers are those of one chunk."""
    draws = 2 * sim.MEAN_BLOCK + 500
    cut = sim.simulate(
        bundled, draws=draws, seed=5, chunk_size=sim.MEAN_BLOCK + 1000, jobs=1, progress=False, sample_size=900
    )
    whole = sim.simulate(bundled, draws=draws, seed=5, chunk_size=draws, jobs=1, progress=False, sample_size=900)
    assert cut.manifest["chunk_size"] == sim.MEAN_BLOCK
    assert whole.manifest["chunk_size"] == 2 * sim.MEAN_BLOCK  # draws rounded down to whole blocks
    assert cut.counts.equals(whole.counts)
    for basis in cut.means:
        for name, mean in cut.means[basis].items():
            assert mean.tobytes() == whole.means[basis][name].tobytes(), (basis, name)


def test_kept_totals_equal_each_series_totals_and_block_sums(bundled):
    """The wide pass of _kept_totals gives, per (basis, series), what each series' own
    totals, sampled rows and row-by-row block sums were (numpy's reduce over a C-ordered
    block, written here as the plain loop it performs)."""
    block = sim.MEAN_BLOCK
    p = _projection(bundled, draws=3 * block)
    start = 2 * block - 100  # the chunk: the last 100 draws of block 1, block 2 whole, the start of block 3
    rows = np.arange(3, p.draws, 7)
    keep = ("group.revenue", "cloud.utilisation", "group.capex")
    sim._STATE["stream_means"] = True
    try:
        totals, sums = sim._kept_totals(p, keep, True, rows, start, start + p.draws, 10 * block)
    finally:
        sim._STATE.clear()
    for basis in ("fy", "cy"):
        periods = p.timeline.year_periods(basis)
        for name in keep:
            own = np.ascontiguousarray(sim._year_totals(p, name, periods))
            assert np.array_equal(totals[basis, name], own[rows].astype(np.float32), equal_nan=True)
            parts = sums[basis, name]
            assert [(b, off, whole) for b, off, _, whole in parts] == [
                (1, block - 100, False),
                (2, 0, True),
                (3, 0, True),
                (4, 0, False),
            ]
            assert np.array_equal(parts[0][2], own[:100], equal_nan=True)
            assert np.array_equal(parts[3][2], own[100 + 2 * block :], equal_nan=True)
            for k, part in ((1, parts[1][2]), (2, parts[2][2])):
                rows_k = own[100 + (k - 1) * block : 100 + k * block]
                plain = rows_k[0].copy()
                for row in rows_k[1:]:
                    plain += row
                assert np.array_equal(part, plain, equal_nan=True), (basis, name, k)


def test_column_quantiles_in_threads_equal_one_np_quantile_per_column():
    rng = np.random.default_rng(3)
    data = rng.lognormal(size=(5000, 9)).astype(np.float32)
    data[:, 4] = np.nan  # a period without figures
    data[::3, 5] = 1.0  # ties
    columns = [data[:, j] for j in range(data.shape[1])] + [rng.standard_normal(777)]
    plain = np.array([np.quantile(np.asarray(c, dtype=np.float64), sim.QUANTILES) for c in columns])
    for threads in (1, 2, 3):
        assert np.array_equal(sim.column_quantiles(columns, threads=threads), plain, equal_nan=True)


def test_sorted_quantiles_equal_np_quantile_on_the_values_as_given():
    """Sorting first changes nothing: ties, NaN, float32 in and float64 out, and zeros of both
    signs (which take numpy's own path, the sign of a zero included)."""
    rng = np.random.default_rng(5)
    probs = [0.05, 0.1, 0.5, 0.9, 0.95]
    cases = [rng.lognormal(size=4001), np.round(rng.normal(size=3000), 1), rng.normal(size=999).astype(np.float32)]
    with_nan = rng.normal(size=500)
    with_nan[17] = np.nan
    zeros = np.zeros(1000)
    zeros[rng.random(1000) < 0.5] = -0.0
    cases += [with_nan, zeros, np.concatenate([zeros, rng.normal(size=10)])]
    for values in cases:
        for dtype in {np.dtype(np.float64), values.dtype}:
            with np.errstate(all="ignore"):
                plain = np.quantile(values.astype(dtype), probs)
            got = sim.sorted_quantiles(values, probs, dtype)
            assert got.dtype == plain.dtype
            assert np.array_equal(got, plain, equal_nan=True)
            assert np.array_equal(np.signbit(got), np.signbit(plain))


def test_segment_counts_equal_add_reduceat():
    rng = np.random.default_rng(11)
    mask = rng.random(10_000) < 0.3
    for starts in ([0], [0, 1, 2], [0, 5000, 9999], [0, 17, 17, 400, 399, 9000], list(range(0, 10_000, 1000))):
        starts = np.array(starts)
        assert np.array_equal(sim.segment_counts(mask, starts), np.add.reduceat(mask, starts, dtype=np.int64))


def test_triangular_inverse_cdf_equals_the_plain_formula():
    from pivotmodel.distributions import build_distribution

    rng = np.random.default_rng(2)
    u = np.concatenate([rng.random(20_000), [0.0, 0.5, 1.0 - 1e-16, 1e-300]])
    for lo, mode, hi in ((2.0, 3.3, 7.1), (-5.0, -5.0, 1.0), (0.1, 0.9, 0.9), (100.0, 130.0, 131.0)):
        d = build_distribution("triangular", {"low": lo, "mode": mode, "high": hi})
        c = (mode - lo) / (hi - lo)
        with np.errstate(under="ignore"):
            u_c = np.concatenate([u, [c, np.nextafter(c, 0.0), np.nextafter(c, 1.0)]])
            plain = np.where(
                u_c < c,
                lo + np.sqrt(u_c * (hi - lo) * (mode - lo)),
                hi - np.sqrt((1.0 - u_c) * (hi - lo) * (hi - mode)),
            )
        assert np.array_equal(d.ppf(u_c), plain)

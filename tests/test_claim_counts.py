"""Claim outcomes streamed as counts per stretch of draws (pivotmodel.claim_counts): the bounds
worked by hand, a chunk's counts by hand, and a run's streamed counts equal to the counts of
its per-draw outcomes whatever the chunking, the processes or the sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pivotmodel.assumptions as assumptions_mod
from pivotmodel.claim_counts import COUNT_BLOCK, ClaimCounts, chunk_counts, convergence_marks, count_bounds
from pivotmodel.simulate import simulate

SEED = 20260522


@pytest.fixture(scope="module")
def a():
    return assumptions_mod.load()


def test_bounds_of_a_replicated_run_by_hand():
    # 150,000 draws in 10 replicates of 15,000; marks: max(2 x 15,000, 150,000 k / 20) = 30,000,
    # then 37,500 ... 150,000 in steps of 7,500; blocks at 0, 65,536, 131,072
    assert COUNT_BLOCK == 65_536
    marks = convergence_marks(150_000, 15_000)
    assert marks == [30_000 + 7_500 * j for j in range(17)]
    bounds = count_bounds(150_000, 15_000, replicated=True)
    expected = sorted({0, 65_536, 131_072} | set(range(0, 150_000, 15_000)) | set(marks) | {150_000})
    assert bounds.tolist() == expected
    # plain Monte Carlo: no replicates; marks from 7,500 up
    assert count_bounds(20_000, 20_000, replicated=False).tolist() == [0, *range(1_000, 20_001, 1_000)]


def test_a_chunks_counts_by_hand():
    bounds = np.array([0, 4, 8, 10])
    # draws 3..8 of two claims: claim 0 holds, fails, not evaluable, holds, holds, fails
    codes = np.array([[1, 0, -1, 1, 1, 0], [-1, -1, -1, 0, 0, 1]], dtype=np.int8)
    first, known, holds = chunk_counts(codes, bounds, 3)
    # stretches touched: [0, 4) (draw 3), [4, 8) (draws 4-7: claim 0 fails, n/a, holds, holds;
    # claim 1 n/a, n/a, fails, fails), [8, 10) (draw 8)
    assert first == 0
    assert known.tolist() == [[1, 3, 1], [0, 2, 1]] and holds.tolist() == [[1, 2, 0], [0, 0, 1]]
    counts = ClaimCounts.empty(2, bounds)
    counts.add(first, known, holds)
    n, k = counts.upto(0, [4, 8, 10])
    assert n.tolist() == [1, 4, 5] and k.tolist() == [1, 3, 3]
    n, k = counts.between(1, np.array([0, 8]))
    assert n.tolist() == [2, 1] and k.tolist() == [0, 1]
    with pytest.raises(ValueError, match=r"claim counts are kept at 4 fixed draw counts; not at \[5\]"):
        counts.upto(0, [5])


@pytest.mark.parametrize("method", ["mc", "lhs"])
def test_streamed_counts_equal_the_counts_of_every_draws_outcome(a, method):
    """Counts streamed from chunks of 777 on two processes, and from a run keeping 500 draws'
    outcomes only, equal the counts made from the 6,000 per-draw outcomes of a run in one chunk."""
    whole = simulate(a, draws=6000, seed=SEED, method=method, chunk_size=6000, jobs=1, keep=[])
    assert whole.outcomes.shape == (len(whole.claims), 6000)
    by_hand = ClaimCounts.from_codes(whole.outcomes, whole.counts.bounds)
    assert whole.counts.equals(by_hand)
    assert int(by_hand.known.sum()) == int(np.count_nonzero(whole.outcomes >= 0))
    assert int(by_hand.holds.sum()) == int(np.count_nonzero(whole.outcomes == 1))
    chunked = simulate(a, draws=6000, seed=SEED, method=method, chunk_size=777, jobs=2, keep=[])
    sampled = simulate(a, draws=6000, seed=SEED, method=method, chunk_size=1000, jobs=1, keep=[], sample_size=500)
    for r in (chunked, sampled):
        assert r.counts.equals(by_hand)
        pd.testing.assert_frame_equal(r.convergence(), whole.convergence(), check_exact=True)
        for c in r.claims:
            assert r.probability(c.id) == whole.probability(c.id)
    # the sampled run keeps 500 draws' outcomes, not 6,000
    assert sampled.claim_holds.shape == (500, len(sampled.claims))
    with pytest.raises(ValueError, match="keeps 500 draws' outcomes and counts over every draw"):
        sampled.outcomes  # noqa: B018
    cid = sampled.claims[0].id
    with pytest.raises(ValueError, match=r"not at \[1234\]"):
        sampled.probability(cid, upto=1234)
    assert sampled.probability(cid, upto=3000) == whole.probability(cid, upto=3000)  # a convergence mark

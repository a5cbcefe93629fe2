"""The numpy Sobol points (pivotmodel.sobol_points) equal scipy.stats.qmc.Sobol's, bit for bit."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.stats import qmc

from pivotmodel.sampling import _sobol_uniforms
from pivotmodel.sobol_points import BITS, direction_numbers, scrambled_points


def scipy_points(d: int, entropy: tuple[int, ...], start: int, stop: int) -> np.ndarray:
    """What sampling computed before: scipy's engine seeded from the entropy, fast-forwarded
    to ``start``, then ``stop - start`` points, transposed to (d, points)."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(list(entropy))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        engine = qmc.Sobol(d, scramble=True, seed=rng)
        if start > 0:
            engine.fast_forward(start)
        return engine.random(stop - start).T


@pytest.mark.parametrize("d", [1, 2, 7, 97, 300])
@pytest.mark.parametrize(
    "start,stop", [(0, 1), (0, 2), (0, 1024), (1, 9), (5, 1029), (4096, 7096), (99_999, 100_003), (123_456, 124_000)]
)
def test_points_equal_scipys(d, start, stop):
    for entropy in ((1, 2, 3), (20260522, 0x5EED, 4)):
        ours = scrambled_points(d, entropy, start, stop)
        assert ours.shape == (d, stop - start)
        assert np.array_equal(ours, scipy_points(d, entropy, start, stop))


def test_unscrambled_direction_numbers_equal_scipys():
    from scipy.stats._sobol import _initialize_v

    ref = np.zeros((300, BITS), dtype=np.uint32)
    _initialize_v(ref, dim=300, bits=BITS)
    assert np.array_equal(direction_numbers(300), ref)


def test_design_uniforms_equal_scipy_per_replicate():
    """A run's Sobol uniforms, replicate by replicate, across a replicate boundary."""
    seed, d, size = 20260522, 11, 3000
    got = _sobol_uniforms(seed, d, size, 2500, 6200)
    want = np.concatenate(
        [
            scipy_points(d, (seed, 0x5EED, 0), 2500, 3000),
            scipy_points(d, (seed, 0x5EED, 1), 0, 3000),
            scipy_points(d, (seed, 0x5EED, 2), 0, 200),
        ],
        axis=1,
    )
    assert np.array_equal(got, want)


def test_sampling_a_sobol_chunk_leaves_scipy_stats_unimported():
    """Each worker samples its chunks without importing scipy.stats (about a second each)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import pivotmodel.assumptions as am\n"
        "from pivotmodel.sampling import make_design\n"
        "a = am.load()\n"
        "make_design(a, 10_000, 7, 'sobol').values(2_000, 7_000)\n"
        "print('scipy.stats' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stdout + out.stderr


def test_points_beyond_what_scipy_generates_are_refused():
    with pytest.raises(ValueError, match="dimensions"):
        direction_numbers(30_000)
    with pytest.raises(ValueError, match="within"):
        scrambled_points(2, (1, 2), 5, (1 << BITS) + 1)

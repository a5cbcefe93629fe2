"""Scoring on synthetic outcomes with a known generating process."""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import norm

from pivotmodel.scoring import BANDS, coverage, crps, naive_draws, pit


def _hits(shift: float, n: int = 400, draws: int = 2000) -> float:
    rng = np.random.default_rng(7)
    forecast = rng.standard_normal(draws)  # the forecaster's belief: N(shift, 1) shifted below
    outcomes = rng.standard_normal(n)  # the truth: N(0, 1)
    return float(np.mean([coverage(forecast + shift, y, BANDS["P10-P90"]) for y in outcomes]))


def test_a_calibrated_forecaster_covers_80_percent_with_its_80_percent_band():
    se = math.sqrt(0.8 * 0.2 / 400)
    assert abs(_hits(0.0) - 0.80) < 3 * se


def test_a_biased_forecaster_fails():
    # shifted one standard deviation: P(|Z - 1| < 1.2816) = Phi(0.2816) - Phi(-2.2816) = 0.600
    assert _hits(1.0) == pytest.approx(norm.cdf(0.2816) - norm.cdf(-2.2816), abs=0.07)
    assert _hits(1.0) < 0.80 - 3 * math.sqrt(0.8 * 0.2 / 400)


def test_crps_matches_the_closed_form_for_a_normal_forecast():
    mu, sigma, y = 2.0, 3.0, 3.5
    z = (y - mu) / sigma
    closed = sigma * (z * (2 * norm.cdf(z) - 1) + 2 * norm.pdf(z) - 1 / math.sqrt(math.pi))
    draws = norm.ppf((np.arange(20000) + 0.5) / 20000, loc=mu, scale=sigma)  # a fine quantile grid
    assert crps(draws, y) == pytest.approx(closed, rel=2e-3)
    assert closed == pytest.approx(0.9942, abs=1e-4)  # hand-worked: z = 0.5, 3 x (0.5 x 0.3829 + 0.7041 - 0.5642)


def test_pit_counts_draws_below_and_half_the_ties():
    assert pit(np.array([1.0, 2.0, 3.0, 4.0]), 3.0) == pytest.approx(0.625)
    assert pit(np.array([1.0, 2.0]), 0.0) == 0.0


def test_naive_persists_the_last_yoy_growth():
    # constant 10% YoY growth: the naive forecast is exact, with no spread
    v = [100 * 1.1 ** (k / 4) for k in range(12)]
    d = naive_draws(v, 1, 50)
    assert np.allclose(d, v[-4] * 1.1)
    d5 = naive_draws(v, 5, 50)
    assert np.allclose(d5, v[-4] * 1.1**2)
    assert naive_draws(v[:6], 1, 10) is None  # too short a history


SCORE = """
import sys
import numpy as np
if sys.argv[1] == "numba first":
    import numba  # noqa: F401  # e.g. a notebook that ran a large simulation first
from pivotmodel.scoring import crps
draws = np.random.default_rng(11).lognormal(3.0, 0.4, size=4000)
value = crps(draws, 21.5)
loaded = "numba" in sys.modules
import numba  # noqa: F401,F811  # importable afterwards either way
import scoringrules
print(value.hex(), loaded, scoringrules.crps_ensemble(21.5, draws, backend="numpy") == value)
"""


@pytest.mark.skipif(importlib.util.find_spec("numba") is None, reason="needs numba installed (test or compiled extra)")
def test_crps_is_the_numpy_backends_number_with_or_without_numba_loaded_and_skips_compiling_it():
    """With numba installed, scoringrules' import would compile its numba estimators (seconds
    on every report) and its default backend would be numba, whose CRPS differs in the last
    bits: scoring imports it with numba out of sight and names the numpy backend, so the score
    is the same number whether numba is absent, installed, or already loaded."""
    runs = {
        how: subprocess.run(
            [sys.executable, "-c", SCORE, how], capture_output=True, text=True, check=True
        ).stdout.split()
        for how in ("fresh", "numba first")
    }
    assert runs["fresh"] == [runs["numba first"][0], "False", "True"]  # numba never loaded for the score
    assert runs["numba first"][1:] == ["True", "True"]

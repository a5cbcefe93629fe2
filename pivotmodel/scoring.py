"""Scores of a forecast against what was then reported: band coverage, PIT and CRPS.

CRPS (continuous ranked probability score: the mean absolute distance between forecast and
outcome, less half the mean distance between two forecast draws; lower is better, in the
series' unit) comes from the ``scoringrules`` package, a maintained implementation of
proper scoring rules, rather than being written here. The naive baseline the model is
scored against: the last YoY growth persists, with the spread of past changes in YoY growth.

scoringrules computes with its numpy backend, named in every call, so a score is the same
number whether or not numba is installed (its numba estimators differ in the last bits, up to
~4e-15 relative). Where numba is installed but not yet loaded, scoringrules is imported with
numba kept out of sight: otherwise its import compiles its numba estimators, 4-5 s on every
``report`` and ``backtest`` (numba comes with pivotmodel's ``compiled`` and ``test`` extras).
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

__all__ = ["BANDS", "NOMINAL", "coverage", "pit", "crps", "naive_draws"]

BANDS = {"P25-P75": (0.25, 0.75), "P10-P90": (0.10, 0.90), "P5-P95": (0.05, 0.95)}  # 50%, 80%, 90%
NOMINAL = {"P25-P75": 0.50, "P10-P90": 0.80, "P5-P95": 0.90}


def coverage(draws: np.ndarray, actual: float, band: tuple[float, float]) -> bool:
    """Whether ``actual`` lies inside the ``band`` quantiles of ``draws`` (1-D)."""
    lo, hi = np.quantile(draws, band)
    return bool(lo <= actual <= hi)


def pit(draws: np.ndarray, actual: float) -> float:
    """Probability integral transform: the share of draws below the outcome (ties half)."""
    d = np.asarray(draws, dtype=float)
    return float((np.sum(d < actual) + 0.5 * np.sum(d == actual)) / d.size)


def _scoringrules() -> Any:
    """The scoringrules module, imported without its numba estimators unless this process
    already loaded numba (then imported as it is: the numpy backend is named in each call)."""
    if "scoringrules" in sys.modules or "numba" in sys.modules:
        import scoringrules

        return scoringrules
    sys.modules["numba"] = None  # type: ignore[assignment]  # `import numba` raises ImportError meanwhile
    try:
        import scoringrules
    finally:
        del sys.modules["numba"]
    return scoringrules


def crps(draws: np.ndarray, actual: float) -> float:
    """CRPS of an ensemble forecast (``scoringrules.crps_ensemble``, numpy backend)."""
    return float(_scoringrules().crps_ensemble(actual, np.asarray(draws, dtype=float), backend="numpy"))


def naive_draws(values: list[float], horizon: int, n: int, seed: int = 0) -> np.ndarray | None:
    """Draws of the value ``horizon`` quarters after the last of ``values`` (consecutive
    quarters, oldest first): each draw's YoY growth is the last YoY growth plus a normal error
    with the standard deviation of past quarter-to-quarter changes in YoY growth (times
    sqrt(horizon)); applied to the quarter a year before the target (itself projected when
    the horizon exceeds four). None with fewer than six quarters (two YoY changes needed)."""
    v = np.asarray(values, dtype=float)
    if v.size < 7 or not np.all(np.isfinite(v[-7:])):
        return None
    yoy = v[4:] / v[:-4] - 1.0
    yoy = yoy[np.isfinite(yoy)]
    if yoy.size < 3:
        return None
    sigma = float(np.std(np.diff(yoy), ddof=1))
    rng = np.random.default_rng(seed)
    growth = yoy[-1] + sigma * math.sqrt(horizon) * rng.standard_normal(n)
    path = [np.full(n, x) for x in v[-4:]]  # the last four reported quarters
    for _ in range(horizon):
        path.append(path[-4] * (1.0 + growth))
    return path[-1]

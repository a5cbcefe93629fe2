"""Growth and margin paths, and year-on-year compounding on the same quarter a year earlier.

All functions take per-draw parameters shaped (draws, 1) and return arrays shaped
(draws, quarters), where quarter 0 is the first projected quarter.
"""

from __future__ import annotations

import numpy as np

from .engine_choice import kernels_for

__all__ = ["converging_path", "compound_yoy", "quarter_steps", "by_quarter", "per_draw"]


def quarter_steps(quarters: int) -> np.ndarray:
    """0, 1, ..., quarters-1 as a (1, quarters) row."""
    return np.arange(quarters, dtype=float)[None, :]


def by_quarter(f, *args: np.ndarray | float) -> np.ndarray:
    """``f(*args)`` for arguments shaped (draws or 1, 1) and (1, quarters), evaluated on their
    transposes so the (draws, quarters) result has quarter columns contiguous (order F), like
    every other engine array: elementwise arithmetic between arrays of one layout runs several
    times faster than between mixed layouts. The same operations on the same numbers."""
    return f(*(np.asarray(a).T for a in args)).T


def per_draw(x: np.ndarray | float, n: int) -> np.ndarray:
    """A per-draw input (a scalar, or shaped (draws or 1,) or (draws or 1, 1)) as a contiguous
    (n,) float vector, for the compiled kernels."""
    return np.ascontiguousarray(np.broadcast_to(np.asarray(x, dtype=float).reshape(-1), (n,)))


def converging_path(start: np.ndarray, long_run: np.ndarray, half_life: np.ndarray, quarters: int) -> np.ndarray:
    """Rate in quarter t: ``long_run + (start - long_run) * 0.5 ** (t / half_life)``.

    ``start`` is the rate in the first projected quarter (t = 0); the gap to ``long_run``
    halves every ``half_life`` quarters. Used for YoY growth rates and for margins.
    """
    # decay[t] = 0.5 ** (t / half_life), built as a running product of the one-quarter
    # factor: several times faster than exp2 on the full array, equal to ~1e-15.
    factor = np.exp2(-1.0 / np.asarray(half_life, dtype=float))
    n = max(
        np.shape(start)[0] if np.ndim(start) else 1,
        factor.shape[0] if factor.ndim else 1,
        np.shape(long_run)[0] if np.ndim(long_run) else 1,
    )
    decay = np.empty((n, quarters), order="F")  # quarter columns contiguous: faster column ops
    decay[:, 0] = 1.0
    step = factor.reshape(-1) if factor.ndim else factor
    kernels = kernels_for()
    if kernels is not None:
        kernels.converging(per_draw(start, n), per_draw(long_run, n), per_draw(step, n), decay.T)
        return decay
    for t in range(1, quarters):
        np.multiply(decay[:, t - 1], step, out=decay[:, t])
    decay *= start - long_run  # in place: long_run + (start - long_run) * decay
    decay += long_run
    return decay


def compound_yoy(base: np.ndarray, growth: np.ndarray) -> np.ndarray:
    """Level in quarter t = level four quarters earlier x (1 + growth[t]).

    ``base`` holds the last four reported quarters, shaped (draws or 1, 4), oldest first;
    ``growth`` is (draws, quarters). Seasonality carries over because each quarter grows
    from the same quarter a year earlier: level[t] = base[t % 4] x prod(1 + g[k]) over
    k <= t with k = t (mod 4).
    """
    quarters = growth.shape[1]
    n = max(np.shape(base)[0], growth.shape[0])
    growth = np.broadcast_to(growth, (n, quarters))
    out = np.empty((n, quarters), order="F")
    previous = np.broadcast_to(base, (n, 4))
    kernels = kernels_for()
    if kernels is not None:
        kernels.compound(
            np.ascontiguousarray(previous.T, dtype=float), np.ascontiguousarray(growth.T, dtype=float), out.T
        )
        return out
    for first in range(0, quarters, 4):  # one year of quarters at a time
        width = min(4, quarters - first)
        block = out[:, first : first + width]
        np.add(growth[:, first : first + width], 1.0, out=block)  # previous x (1 + growth), in place
        block *= previous[:, :width]
        previous = block
    return out

"""Compiled kernels (numba) for the engine's hot loops, each the same arithmetic as its numpy
reference, in the same order, so the results are equal bit for bit.

The numpy functions stay the reference: :func:`pivotmodel.model.paths.converging_path` and
``compound_yoy``, the in-service gross and depreciation of
:func:`pivotmodel.model.capex.capex_result`. The cloud's supply side and the capex policy
after the plan (:mod:`pivotmodel.model.supply`: capex, capacity and the backlog coupled
quarter by quarter) run in numpy only: no kernel mirrors them. Each of those calls its kernel here when
:func:`pivotmodel.model.engine_choice.kernels_for` says so; tests/test_compiled_engine.py checks
every series for equality. (The earnings block below EBITA stays numpy: fused into one pass it
measured no faster, as both are bound by writing its 17 full-size output arrays.)

Rules that keep the numbers equal:

* no ``fastmath`` (it would reassociate sums and contract ``a * b + c`` into one rounding);
  every expression is written with the reference's operands in the reference's order;
* nothing from libm inside a kernel: ``exp2`` and ``**`` with a fractional exponent (which
  numpy may compute with its own SIMD routines) are computed in numpy by the caller and passed
  in (the converging path's one-quarter factor);
* ``np.minimum`` / ``np.maximum`` / ``np.clip`` are reproduced with numpy's NaN and tie rules
  (:func:`_minimum`, :func:`_maximum`);
* ``error_model="numpy"``: a division by zero gives inf or NaN as in numpy, not an exception.
  (Numpy's floating-point error reporting, ``np.seterr``, does not reach compiled code.)

Arrays are quarter-major, (quarters, draws) C-contiguous (the transpose of the engine's
(draws, quarters) arrays with quarter columns contiguous), and per-draw inputs are (draws,)
vectors already broadcast to every draw. Signatures are explicit, so importing this module
compiles every kernel (or, with ``cache=True``, loads it from numba's cache: see
:func:`warm` and the README).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import float64, types, void

__all__ = ["converging", "compound", "capex_in_service", "warm"]

# inputs are typed read-only (numba then accepts writable arrays and read-only views alike);
# outputs are writable
_R1 = types.Array(float64, 1, "C", readonly=True)
_R2 = types.Array(float64, 2, "C", readonly=True)
_F2 = float64[:, ::1]


# draws a block: small buffers of a block stay in the first-level cache (see the kernels)
_CURVE_BLOCK = 64  # capex_in_service


def _jit(signature):
    """Compile eagerly for ``signature``, cached on disk; where numba finds no writable cache
    folder (a read-only install without NUMBA_CACHE_DIR) it raises, and the kernel is then
    compiled in memory in each process instead."""

    def compile_(f):
        try:
            return numba.njit(signature, cache=True, error_model="numpy")(f)
        except RuntimeError:  # "cannot cache function ...: no locator available"
            return numba.njit(signature, error_model="numpy")(f)

    return compile_


@numba.njit(inline="always")  # inlined into the kernels (and cached with them)
def _minimum(a, b):
    """``np.minimum`` on two floats: NaN if either is NaN; on a tie, the second."""
    if a != a:
        return a
    return a if a < b else b


@numba.njit(inline="always")  # inlined into the kernels (and cached with them)
def _maximum(a, b):
    """``np.maximum`` on two floats: NaN if either is NaN; on a tie, the second."""
    if a != a:
        return a
    return a if a > b else b


@_jit(void(_R1, _R1, _R1, _F2))
def converging(start, long_run, step, out):
    """out[t] = long_run + (start - long_run) x step^t, the power as a running product (rows t)."""
    quarters, n = out.shape
    decay = np.ones(n)
    for t in range(quarters):
        row = out[t]
        for i in range(n):
            if t:
                decay[i] = decay[i] * step[i]
            row[i] = decay[i] * (start[i] - long_run[i]) + long_run[i]


@_jit(void(_R2, _R2, _F2))
def compound(base, growth, out):
    """out[t] = (growth[t] + 1) x (base[t] for t < 4, else out[t - 4]); base is (4, draws)."""
    quarters, n = out.shape
    for t in range(quarters):
        previous = base[t] if t < 4 else out[t - 4]
        row, g = out[t], growth[t]
        for i in range(n):
            row[i] = (g[i] + 1.0) * previous[i]


@numba.njit(inline="always")  # inlined into the kernels (and cached with them)
def _curve_at(padded, x, i, width):
    """Cumulative capex at position x - 1 of draw i: clip to 0 .. width, linear between rows."""
    x = _minimum(_maximum(x, 0.0), width)
    lo = int(x)
    w = x - lo
    nxt = lo + 1 if lo < width else lo
    return padded[lo, i] * (1.0 - w) + w * padded[nxt, i]


@_jit(void(_R1, _R2, _R1, _R1, _R1, _R1, _F2, _F2))
def capex_in_service(history, capex, lag, life_s, life_b, servers, gross, dep):
    """Gross PP&E in service and its depreciation, rows = history quarters then projected ones
    (``history`` (h,) shared by every draw, ``capex`` (quarters, draws)): cumulative capex, its
    value at the in-service point and at the end of each class's life, by class."""
    h = history.shape[0]
    k, n = gross.shape
    width = float(k)
    # Blocks of draws with their cumulative curve in a small local buffer: the lookups land at
    # a different quarter for every draw, and rows of a full-width curve (draws x 8 bytes
    # apart) would all fall in the same cache sets.
    padded = np.empty((k + 1, _CURVE_BLOCK))  # padded[j] = capex of the first j quarters
    for b0 in range(0, n, _CURVE_BLOCK):
        m = min(_CURVE_BLOCK, n - b0)
        for i in range(m):
            padded[0, i] = 0.0
        for j in range(k):
            for i in range(m):
                if j == 0:
                    padded[1, i] = history[0] if h else capex[0, b0 + i]
                elif j < h:
                    padded[j + 1, i] = padded[j, i] + history[j]
                else:
                    padded[j + 1, i] = padded[j, i] + capex[j - h, b0 + i]
        for t in range(k):
            for i in range(m):
                d = b0 + i
                in_service = t - lag[d]
                on = _curve_at(padded, in_service + 1.0, i, width)
                g_s = (on - _curve_at(padded, (in_service - life_s[d]) + 1.0, i, width)) * servers[d]
                g_b = (on - _curve_at(padded, (in_service - life_b[d]) + 1.0, i, width)) * (1.0 - servers[d])
                gross[t, d] = g_s + g_b
                dep[t, d] = g_s / life_s[d] + g_b / life_b[d]


def warm() -> None:
    """Run every kernel once on a tiny input. Importing this module has already compiled them
    (or loaded them from the cache); a process pool forked after this call inherits them."""
    n, q = 2, 6
    one = np.ones(n)
    rows = np.ones((q, n))
    converging(one, one, one, np.empty((q, n)))
    compound(np.ones((4, n)), rows, np.empty((q, n)))
    capex_in_service(np.ones(2), rows, one, one, one, one, np.empty((q + 2, n)), np.empty((q + 2, n)))

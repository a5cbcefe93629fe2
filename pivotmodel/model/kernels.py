"""Compiled kernels (numba) for the engine's hot loops, each the same arithmetic as its numpy
reference, in the same order, so the results are equal bit for bit.

The numpy functions stay the reference: :func:`pivotmodel.model.paths.converging_path` and
``compound_yoy``, :func:`pivotmodel.model.cloud.serve_stacked` and the cloud's supply side in
:func:`~pivotmodel.model.cloud.project_cloud`, the in-service gross and depreciation of
:func:`pivotmodel.model.capex.project_capex`. Each of those calls its kernel here when
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

__all__ = ["converging", "compound", "serve3", "cloud_supply", "CLOUD_OUT", "capex_in_service", "warm"]

# inputs are typed read-only (numba then accepts writable arrays and read-only views alike);
# outputs are writable
_R1 = types.Array(float64, 1, "C", readonly=True)
_R2 = types.Array(float64, 2, "C", readonly=True)
_F2 = float64[:, ::1]
_F3 = float64[:, :, ::1]


# draws a block: small buffers of a block stay in the first-level cache (see the kernels)
_CURVE_BLOCK = 64  # capex_in_service
_BLOCK = 256  # cloud_supply


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
def _take_block(p, b0, m, block):
    """block[:, :m] = p[:, b0 : b0 + m]: per-draw inputs of a block of draws, one contiguous buffer."""
    for j in range(p.shape[0]):
        for k in range(m):
            block[j, k] = p[j, b0 + k]


@numba.njit(inline="always")  # inlined into the kernels (and cached with them)
def _put_block(r, out, t, b0, m):
    """out[:, t, b0 : b0 + m] = r[:, :m]: one quarter's results of a block, plane by plane."""
    for j in range(out.shape[0]):
        for k in range(m):
            out[j, t, b0 + k] = r[j, k]


@numba.njit(inline="always")  # inlined into the kernels (and cached with them)
def _serve(w0, w1, w2, capacity):
    """One quarter of one draw: what is wanted of three streams (demand + backlog) served up to
    capacity, each cut by the same scale (min(asked, capacity) / asked; 1 when nothing is asked)."""
    asked = w0
    asked += w1
    asked += w2
    scale = 1.0
    if asked > 0:
        scale = _minimum(asked, capacity) / asked
    return w0 * scale, w1 * scale, w2 * scale


@_jit(void(types.UniTuple(_R2, 3), _R2, _F3, _F3))
def serve3(demand, capacity, served, backlog):
    """Three demand streams (quarters, draws) served quarter by quarter (:func:`_serve`), the
    backlog carried to the next quarter."""
    quarters, n = capacity.shape
    carried = np.zeros((3, n))
    for t in range(quarters):
        d0, d1, d2 = demand[0][t], demand[1][t], demand[2][t]
        cap = capacity[t]
        for i in range(n):
            w0, w1, w2 = d0[i] + carried[0, i], d1[i] + carried[1, i], d2[i] + carried[2, i]
            s0, s1, s2 = _serve(w0, w1, w2, cap[i])
            served[0, t, i], served[1, t, i], served[2, t, i] = s0, s1, s2
            carried[0, i], carried[1, i], carried[2, i] = w0 - s0, w1 - s1, w2 - s2
            backlog[0, t, i], backlog[1, t, i], backlog[2, t, i] = carried[0, i], carried[1, i], carried[2, i]


# the cloud's supply-side series, planes of cloud_supply's output (the served streams first)
CLOUD_OUT = (
    "cloud.ai_revenue", "cloud.other_external_revenue", "cloud.internal_revenue", "cloud.external_revenue", "cloud.revenue",
    "cloud.backlog", "cloud.capacity_revenue", "cloud.utilisation", "cloud.depreciation", "cloud.adjusted_ebita",
)


@_jit(void(types.UniTuple(_R2, 3), _R2, _R2, _R2, _R2, _F3))
def cloud_supply(demand, gross, p, margin, depreciation_new, out):
    """The cloud after demand (see pivotmodel.model.cloud.project_cloud): capacity from capex in
    service, the three streams served with their backlog, revenue, utilisation, the cloud's
    depreciation and adjusted EBITA. ``p`` holds per draw: capacity at exit, revenue yield,
    capacity share of capex, gross in service at exit. ``out`` receives :data:`CLOUD_OUT`."""
    quarters, n = gross.shape
    block = np.empty((p.shape[0], _BLOCK))
    capacity_exit, revenue_yield, share, gross_exit = block[0], block[1], block[2], block[3]
    carried = np.empty((3, _BLOCK))
    # Blocks of draws, computed in small local buffers and copied out plane by plane: one pass
    # over every draw writing the output planes at once would keep ten streams open whose
    # addresses (quarters x draws x 8 bytes apart) fall in the same cache sets at the usual
    # chunk sizes, several times slower. Per-draw inputs are copied into a block likewise.
    r = np.empty((out.shape[0], _BLOCK))  # one quarter's results for the block
    for b0 in range(0, n, _BLOCK):
        m = min(_BLOCK, n - b0)
        _take_block(p, b0, m, block)
        for k in range(m):
            carried[0, k], carried[1, k], carried[2, k] = 0.0, 0.0, 0.0
        for t in range(quarters):
            for k in range(m):
                i = b0 + k
                capacity = capacity_exit[k] + revenue_yield[k] * share[k] * (gross[t, i] - gross_exit[k])
                w0, w1, w2 = demand[0][t, i] + carried[0, k], demand[1][t, i] + carried[1, k], demand[2][t, i] + carried[2, k]
                s0, s1, s2 = _serve(w0, w1, w2, capacity)
                c0, c1, c2 = w0 - s0, w1 - s1, w2 - s2
                carried[0, k], carried[1, k], carried[2, k] = c0, c1, c2
                revenue = s0 + s1 + s2
                depreciation = share[k] * depreciation_new[t, i]
                r[0, k], r[1, k], r[2, k], r[3, k], r[4, k] = s0, s1, s2, s0 + s1, revenue
                r[5, k], r[6, k], r[7, k] = c0 + c1 + c2, capacity, revenue / capacity
                r[8, k], r[9, k] = depreciation, margin[t, i] * revenue - depreciation
            _put_block(r, out, t, b0, m)


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
    serve3((rows, rows, rows), rows, np.empty((3, q, n)), np.empty((3, q, n)))
    cloud_supply((rows, rows, rows), rows, np.ones((4, n)), rows, rows, np.empty((len(CLOUD_OUT), q, n)))
    capex_in_service(np.ones(2), rows, one, one, one, one, np.empty((q + 2, n)), np.empty((q + 2, n)))

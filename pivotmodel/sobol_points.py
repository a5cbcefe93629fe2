"""Scrambled Sobol points in numpy, the numbers of ``scipy.stats.qmc.Sobol`` without importing
scipy.stats (about a second in every worker process that first samples a chunk).

The construction is the textbook one: Joe and Kuo's direction numbers (the table scipy ships,
read from its file), a left linear matrix scramble of every dimension's direction numbers and
a digital shift, both from the generator scipy would use (a child spawned from the one
given), then points by Gray code, point t being the shift XOR the direction numbers of the
bits set in ``t ^ (t >> 1)``. Points are integers below 2**30 scaled by 2**-30, so every value
is exact and equal to scipy's as of the scipy this was written against (1.17, whose engine
spawns a child of the generator it is given; tests/test_sobol_points.py checks the installed
scipy point for point). Any stretch of points is computed on its own, laid out dimension by
dimension (each input's draws contiguous).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

__all__ = ["BITS", "direction_numbers", "scrambled_points"]

BITS = 30  # scipy's default: integers below 2**30, at most 2**30 points a replicate


@functools.lru_cache(maxsize=2)
def _table() -> tuple[np.ndarray, np.ndarray]:
    """(primitive polynomials, initial direction numbers) of every dimension scipy supports."""
    import scipy

    with np.load(Path(scipy.__file__).parent / "stats" / "_sobol_direction_numbers.npz") as f:
        return f["poly"].astype(np.uint64), f["vinit"].astype(np.uint64)


@functools.lru_cache(maxsize=8)
def direction_numbers(d: int) -> np.ndarray:
    """Unscrambled direction numbers, (d, BITS) uint32, column j weighted by 2**(BITS-1-j):
    dimension 0 all ones; dimension i from its polynomial of degree m and m initial numbers by
    the Bratley-Fox recurrence v[j] = v[j-m] ^ sum over k < m with coefficient bit m-1-k set of
    v[j-k-1] << (k+1). Read-only (memoised)."""
    poly_all, vinit = _table()
    if d > len(poly_all):
        raise ValueError(f"Sobol points have at most {len(poly_all)} dimensions, not {d}")
    poly = poly_all[:d]
    m = np.array([int(p).bit_length() - 1 for p in poly], dtype=np.int64)
    v = np.zeros((d, BITS), dtype=np.uint64)
    v[0] = 1
    rows = np.arange(1, d)
    for j in range(BITS):
        mr, pr = m[rows], poly[rows]
        init = j < mr
        if init.any():
            v[rows[init], j] = vinit[rows[init], j]
        rec = ~init
        if not rec.any():
            continue
        r, mm, pp = rows[rec], mr[rec], pr[rec]
        new = v[r, j - mm]
        for k in range(int(mm.max())):
            use = (k < mm) & ((pp >> np.maximum(mm - 1 - k, 0).astype(np.uint64)) & np.uint64(1)).astype(bool)
            if use.any():
                new[use] ^= v[r[use], j - k - 1] << np.uint64(k + 1)
        v[r, j] = new
    v <<= (BITS - 1 - np.arange(BITS)).astype(np.uint64)
    out = v.astype(np.uint32)
    out.setflags(write=False)
    return out


def _parity(x: np.ndarray) -> np.ndarray:
    """Parity of each uint32 (1 if an odd number of bits is set)."""
    x = x.copy()
    for s in (16, 8, 4, 2, 1):
        x ^= x >> np.uint32(s)
    return x & np.uint32(1)


@functools.lru_cache(maxsize=32)
def _scrambled(d: int, entropy: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(direction numbers (d, BITS), shift (d,)) of the engine scipy builds from a generator
    seeded with ``entropy``: it spawns a child generator, draws the shift's bits, then the
    lower-triangular scramble matrices (unit diagonal). Memoised (read-only): the chunks of a
    replicate share them."""
    child = np.random.Generator(np.random.PCG64(np.random.SeedSequence(list(entropy)).spawn(1)[0]))
    weights = np.left_shift(np.uint32(1), np.arange(BITS, dtype=np.uint32))
    shift = (child.integers(0, 2, size=(d, BITS), dtype=np.uint32) * weights).sum(axis=1, dtype=np.uint32)
    ltm = np.tril(child.integers(0, 2, size=(d, BITS, BITS), dtype=np.uint32))
    ltm[:, np.arange(BITS), np.arange(BITS)] = 1
    # row p of a matrix as an integer, its column k the bit BITS-1-k
    rows = (ltm << (BITS - 1 - np.arange(BITS, dtype=np.uint32))).sum(axis=2, dtype=np.uint32)
    # bit BITS-1-p of a scrambled direction number: the parity of row p AND the number
    bits = _parity(rows[:, :, None] & direction_numbers(d)[:, None, :])  # (d, p, j)
    sv = (bits << (BITS - 1 - np.arange(BITS, dtype=np.uint32))[None, :, None]).sum(axis=1, dtype=np.uint32)
    for a in (sv, shift):
        a.setflags(write=False)
    return sv, shift


def scrambled_points(
    d: int, entropy: tuple[int, ...], start: int, stop: int, out: np.ndarray | None = None
) -> np.ndarray:
    """Points start..stop-1 (stop <= 2**BITS) of the ``d``-dimensional Sobol sequence that
    ``scipy.stats.qmc.Sobol(d, scramble=True, seed=Generator(PCG64(SeedSequence(entropy))))``
    generates, as (d, stop - start) float64 (into ``out`` when given): point t of dimension i
    in row i, column t - start."""
    if not 0 <= start <= stop <= 1 << BITS:
        raise ValueError(f"Sobol points {start}..{stop - 1} are not within 0..2**{BITS} - 1")
    sv, shift = _scrambled(d, tuple(entropy))
    n = stop - start
    t = np.arange(start, stop, dtype=np.int64)
    gray = start ^ (start >> 1)
    first = shift.copy()
    for b in range(BITS):
        if gray >> b & 1:
            first ^= sv[:, b]
    # point t = point t-1 XOR the direction numbers of t's lowest set bit
    low = np.zeros(n, dtype=np.intp)
    if n > 1:
        tt = t[1:]
        low[1:] = np.frexp((tt & -tt).astype(np.float64))[1] - 1  # 2**k = 0.5 * 2**(k+1), exactly
    q = np.take(sv, low, axis=1)
    q[:, 0] = first
    np.bitwise_xor.accumulate(q, axis=1, out=q)
    if out is None:
        out = np.empty((d, n))
    return np.multiply(q, 1.0 / (1 << BITS), out=out)  # each integer as a double, times 2**-30: exact

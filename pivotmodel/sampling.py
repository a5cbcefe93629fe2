"""Draws for every uncertain input: uniforms, then each input's inverse CDF.

Methods (one path for all: a uniform design, an optional Gaussian copula, then ``ppf``):

* ``mc`` - plain Monte Carlo. Each input has its own stream derived from the seed and a hash
  of the input's key, jumped ahead to each chunk's first draw; a draw's value depends only on
  (seed, key, draw index). Adding an input leaves the other inputs' draws unchanged, and
  any chunking of the draws gives the same numbers.
* ``lhs`` - Latin hypercube, in :data:`REPLICATES` independent replicates (each stratified
  on its own), so a claim's interval comes from the spread between replicates.
* ``sobol`` - scrambled Sobol points (those of ``scipy.stats.qmc.Sobol``, computed by
  :mod:`pivotmodel.sobol_points`), also in independent replicates.
  Its dimensions follow the sorted input keys, so adding an input changes the design.

Draw 0 is the base case: every input at its median (uniform 0.5).

Rank correlations (``correlations.yaml``) are imposed with a Gaussian copula: uniforms go to
normal scores, are mixed with the Cholesky factor of the normal correlation matrix that
gives the requested Spearman correlations (rho_normal = 2 sin(pi rho_s / 6)), and come back
to uniforms, so each input keeps its own distribution. A matrix that is not positive
semi-definite is an error naming the inputs involved, unless ``nearest: true`` asks for the
nearest valid correlation matrix (Higham's alternating projections), which is then reported.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import special

from .assumptions import Assumptions
from .correlations import pair_problems
from .distributions import Distribution, build_tables
from .errors import InputError
from .schema import seed_key
from .sobol_points import direction_numbers, scrambled_points

__all__ = ["Design", "uncertain_inputs", "make_design", "Correlation", "correlation_copula", "METHODS"]

REPLICATES = 10
METHODS = ("mc", "lhs", "sobol")


def uncertain_inputs(a: Assumptions) -> dict[str, Distribution]:
    """Every input and seed estimate whose value varies, by key (sorted)."""
    out = {k: inp.dist for k, inp in a.inputs.items() if inp.uncertain}
    for (series, q), inp in a.seeds.items():
        if inp.uncertain:
            out[seed_key(series, q)] = inp.dist
    return dict(sorted(out.items()))


def fixed_inputs(a: Assumptions) -> dict[str, float]:
    out = {k: inp.base_value for k, inp in a.inputs.items() if not inp.uncertain}
    for (series, q), inp in a.seeds.items():
        if not inp.uncertain:
            out[seed_key(series, q)] = inp.base_value
    return out


@functools.lru_cache(maxsize=4096)
def _key_words(key: str) -> tuple[int, ...]:
    """Four 32-bit words of the key's SHA-256 (memoised: every chunk asks for the same keys)."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))


def _stream(entropy: list[int], start: int, stop: int) -> np.ndarray:
    """Uniforms number start..stop-1 of the PCG64 stream seeded with ``entropy``: the
    generator jumps ahead to ``start`` (each double uses one 64-bit step), so a value
    depends only on its position, never on how the draws are chunked."""
    bits = np.random.PCG64(np.random.SeedSequence(entropy))
    bits.advance(start)
    return np.random.Generator(bits).random(stop - start)


def _mc_uniforms(seed: int, key: str, start: int, stop: int) -> np.ndarray:
    """Uniforms for draws [start, stop) of one input: one stream per (seed, input key)."""
    return _stream([seed, *_key_words(key)], start, stop)


@dataclass(frozen=True)
class Correlation:
    keys: tuple[str, ...]
    cholesky: np.ndarray  # lower triangular, normal-score correlation
    requested: np.ndarray  # Spearman, as asked
    adjusted: bool  # True if the nearest PSD matrix was used

    def apply(self, columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Correlate the uniforms of ``keys``; an explicit sum keeps each row's arithmetic
        independent of how many rows there are (chunk-size invariance)."""
        z = [special.ndtri(np.clip(columns[k], 1e-15, 1 - 1e-15)) for k in self.keys]
        out = dict(columns)
        for j, key in enumerate(self.keys):
            acc = np.zeros_like(z[0])
            for k in range(j + 1):
                acc = acc + self.cholesky[j, k] * z[k]
            out[key] = special.ndtr(acc)
        return out


def _nearest_correlation(matrix: np.ndarray, iterations: int = 200) -> np.ndarray:
    """Higham (2002) alternating projections onto PSD matrices and unit diagonals."""
    y = matrix.copy()
    ds = np.zeros_like(matrix)
    for _ in range(iterations):
        r = y - ds
        w, v = np.linalg.eigh(r)
        x = (v * np.maximum(w, 1e-10)) @ v.T
        ds = x - r
        y = x.copy()
        np.fill_diagonal(y, 1.0)
    return y


def correlation_copula(
    a: Assumptions, keys: Mapping[str, Distribution], nearest: bool | None = None
) -> Correlation | None:
    """The copula of the loaded ``correlations.yaml`` (:attr:`Assumptions.correlations`) over
    the uncertain inputs ``keys``; ``nearest`` overrides the file's ``nearest``."""
    corr = a.correlations
    problems = pair_problems(corr, list(keys), a.inputs)
    if problems:  # an input made fixed in code since the files were loaded
        raise InputError(problems)
    use_nearest = corr.nearest if nearest is None else nearest
    if not corr.pairs:
        return None
    names = corr.keys
    idx = {k: i for i, k in enumerate(names)}
    spearman = np.eye(len(names))
    for pair in corr.pairs:
        spearman[idx[pair.a], idx[pair.b]] = spearman[idx[pair.b], idx[pair.a]] = pair.rho
    normal = 2.0 * np.sin(np.pi * spearman / 6.0)
    eigval, eigvec = np.linalg.eigh(normal)
    adjusted = False
    if eigval[0] < -1e-12:
        if not use_nearest:
            weights = np.abs(eigvec[:, 0])
            culprits = [names[i] for i in np.argsort(-weights)[:3] if weights[i] > 0.2]
            raise InputError.single(
                corr.label,
                "correlations.pairs",
                f"the correlation matrix is not positive semi-definite (smallest eigenvalue {eigval[0]:.3f}); "
                f"the inconsistent correlations involve {', '.join(culprits)}. Loosen them, or set "
                "'nearest: true' (or --nearest-correlation) to use the nearest valid matrix",
            )
        normal = _nearest_correlation(normal)
        adjusted = True
    chol = np.linalg.cholesky(normal + 1e-12 * np.eye(len(names)))
    return Correlation(names, chol, spearman, adjusted)


_MIX = (np.uint32(0x9E3779B1), np.uint32(0x85EBCA6B))


def _feistel(x: np.ndarray, keys: np.ndarray, bits: int) -> np.ndarray:
    """A keyed bijection of [0, 2**bits) (uint32): four rounds of an unbalanced Feistel
    network on a left and a right part, each round a murmur-style hash of one part and the
    round key (numpy uint32 arithmetic wraps). ``keys`` broadcasts against ``x`` with a
    trailing axis of four round keys. Works in three buffers of the result's shape, in place."""
    shape = np.broadcast_shapes(x.shape, keys.shape[:-1])
    lw, rw = bits // 2, bits - bits // 2  # widths of the left and right parts
    left = np.empty(shape, dtype=np.uint32)
    right = np.empty(shape, dtype=np.uint32)
    np.right_shift(x, np.uint32(rw), out=left)
    np.bitwise_and(x, np.uint32((1 << rw) - 1), out=right)
    z, tmp = np.empty(shape, dtype=np.uint32), np.empty(shape, dtype=np.uint32)
    for k in range(4):
        np.add(right, keys[..., k], out=z)
        z *= _MIX[0]
        np.right_shift(z, np.uint32(15), out=tmp)
        z ^= tmp
        z *= _MIX[1]
        np.right_shift(z, np.uint32(13), out=tmp)
        z ^= tmp
        # the new right part is the old left part mixed with lw bits of the hash
        if lw:
            np.right_shift(z, np.uint32(32 - lw), out=z)
            left ^= z
        left, right = right, left
        lw, rw = rw, lw
    left <<= np.uint32(rw)
    left |= right
    return left


@functools.lru_cache(maxsize=64)
def _round_keys(seed: int, replicate: int, keys: tuple[str, ...]) -> np.ndarray:
    """Feistel round keys of every input in one replicate, (inputs, 1, 4) uint32; memoised, as
    the chunks of a replicate share them (read-only)."""
    out = np.array(
        [np.random.SeedSequence([seed, 0x1A5, replicate, *_key_words(k)]).generate_state(4, np.uint32) for k in keys]
    ).reshape(len(keys), 1, 4)
    out.setflags(write=False)
    return out


def _lhs_uniforms(seed: int, keys: list[str], size: int, start: int, stop: int) -> np.ndarray:
    """Latin hypercube uniforms for draws [start, stop), shape (inputs, draws), computed draw by
    draw: in replicate r (draws r*size .. (r+1)*size - 1) draw i of input k falls in stratum
    perm(i) of ``size`` equal strata, perm a keyed bijection of 0..size-1 (a Feistel cipher with
    cycle walking) drawn from (seed, r, k), and at a uniform point inside it from a stream of
    (seed, r, k) jumped ahead to i. Any chunk is computed alone, and every input has its own
    keys, so adding an input leaves the others' draws unchanged."""
    out = np.empty((len(keys), stop - start))
    bits = max(2, (size - 1).bit_length())
    for r in range(start // size, (stop - 1) // size + 1):
        lo, hi = max(start, r * size), min(stop, (r + 1) * size)
        round_keys = _round_keys(seed, r, tuple(keys))
        strata = _feistel(np.arange(lo - r * size, hi - r * size, dtype=np.uint32)[None, :], round_keys, bits)
        flat, width = strata.reshape(-1), strata.shape[1]
        outside = np.flatnonzero(flat >= size)
        rows = outside // width
        while outside.size:  # cycle walking: apply again until inside 0..size-1
            walked = _feistel(flat[outside], round_keys[rows, 0], bits)
            flat[outside] = walked
            still = walked >= size
            outside, rows = outside[still], rows[still]
        block = out[:, lo - start : hi - start]
        block[...] = strata
        for j, k in enumerate(keys):
            block[j] += _stream([seed, 0x1A6, r, *_key_words(k)], lo - r * size, hi - r * size)
        block /= size
    return out


def _sobol_uniforms(seed: int, d: int, size: int, start: int, stop: int) -> np.ndarray:
    """Scrambled Sobol points for draws [start, stop), shape (inputs, draws) (each input's
    draws contiguous, as its inverse CDF reads them): each replicate's points are scrambled
    from (seed, replicate), the numbers of ``scipy.stats.qmc.Sobol`` with that seed
    (:mod:`pivotmodel.sobol_points`)."""
    out = np.empty((d, stop - start))
    for r in range(start // size, (stop - 1) // size + 1):
        lo, hi = max(start, r * size), min(stop, (r + 1) * size)
        scrambled_points(d, (seed, 0x5EED, r), lo - r * size, hi - r * size, out=out[:, lo - start : hi - start])
    return out


@dataclass(frozen=True)
class Design:
    """The uniform design of a run; :meth:`values` turns draws [start, stop) into inputs.
    Every method computes any chunk of draws on its own (nothing is built for the whole run),
    with the same numbers whatever the chunking."""

    method: str
    seed: int
    draws: int
    dists: Mapping[str, Distribution]
    fixed: Mapping[str, float]
    correlation: Correlation | None

    @property
    def replicate_size(self) -> int:
        return self.draws if self.method == "mc" else -(-self.draws // REPLICATES)

    def uniforms(self, start: int, stop: int) -> dict[str, np.ndarray]:
        keys = list(self.dists)
        if self.method == "mc" or not keys:
            cols = {k: _mc_uniforms(self.seed, k, start, stop) for k in keys}
        elif self.method == "lhs":
            block = _lhs_uniforms(self.seed, keys, self.replicate_size, start, stop)
            cols = dict(zip(keys, block))
        else:
            block = _sobol_uniforms(self.seed, len(keys), self.replicate_size, start, stop)
            cols = dict(zip(keys, block))
        if start == 0:  # draw 0 is the base case
            cols = {k: np.concatenate([[0.5], c[1:]]) for k, c in cols.items()}
        if self.correlation is not None:
            cols = self.correlation.apply(cols)
            if start == 0:
                cols = {k: np.concatenate([[0.5], c[1:]]) for k, c in cols.items()}
        return cols

    def build_tables(self) -> None:
        """Build what sampling looks up (PERT tables, Sobol direction numbers) in this process:
        a run calls it before forking workers, which inherit the tables (a spawned worker
        builds them itself on first use)."""
        build_tables(self.dists.values())
        if self.method == "sobol" and self.dists:
            direction_numbers(len(self.dists))

    def values(self, start: int, stop: int) -> dict[str, np.ndarray]:
        cols = self.uniforms(start, stop)
        out = {k: self.dists[k].ppf(cols[k]) for k in self.dists}
        n = stop - start
        out.update({k: np.full(n, v) for k, v in self.fixed.items()})
        return out


def make_design(a: Assumptions, draws: int, seed: int, method: str, nearest: bool | None = None) -> Design:
    if method not in METHODS:
        raise InputError.single("--method", "method", f"{method!r} is not one of {', '.join(METHODS)}")
    dists = uncertain_inputs(a)
    correlation = correlation_copula(a, dists, nearest)
    return Design(method, seed, draws, dists, fixed_inputs(a), correlation)

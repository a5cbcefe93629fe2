"""Claim outcomes streamed as counts: how many draws are evaluable and how many hold, per claim,
in each stretch of draws between fixed bounds, instead of every draw's outcome.

The bounds depend only on the run's size and design (every :data:`COUNT_BLOCK` draws, each
replicate's first draw, each convergence mark, the last draw), never on the chunking, and
counts are integers added as chunks finish, so the counts are the same whatever the chunk
size, the number of processes or the executor. Every estimate a run reports (the probability
over all draws, over the first m draws at each convergence mark, and per replicate) is a sum
of whole stretches; the main process holds ``2 x 8`` bytes a claim per stretch, about 16 bytes
a claim per 65,536 draws, however many draws a run makes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["COUNT_BLOCK", "CONVERGENCE_POINTS", "ClaimCounts", "convergence_marks", "count_bounds", "segment_counts"]

COUNT_BLOCK = 65_536  # draws per stretch of counts, at most (stretches also end at replicates and marks)
CONVERGENCE_POINTS = 20  # marks of the convergence table


def segment_counts(mask: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """``np.add.reduceat(mask, starts, dtype=np.int64)`` for a boolean ``mask``: the True
    values in each stretch from one start to the next (the last to the end; a start not
    below the next counts its own element, as reduceat does), by np.count_nonzero, which
    counts bytes many times faster than reduceat adds them one by one."""
    bounds = [*(int(x) for x in starts), len(mask)]
    return np.array(
        [np.count_nonzero(mask[a:b]) if a < b else int(mask[a]) for a, b in zip(bounds[:-1], bounds[1:])],
        dtype=np.int64,
    )


def convergence_marks(draws: int, step: int, points: int = CONVERGENCE_POINTS) -> list[int]:
    """The draw counts of a convergence table: ``points`` even steps up to ``draws``, none below
    two replicates (``step``: a replicate's draws; 1 for plain Monte Carlo)."""
    marks = sorted({max(step * 2, int(draws * k / points)) for k in range(1, points + 1)} | {draws})
    return [m for m in marks if m <= draws]


def count_bounds(draws: int, replicate_size: int, replicated: bool) -> np.ndarray:
    """The stretches' bounds of a run: 0, every :data:`COUNT_BLOCK` draws, each replicate's
    first draw (``replicated``: Latin hypercube and Sobol designs), each convergence mark, and
    ``draws``; sorted, without repeats."""
    step = replicate_size if replicated else 1
    parts = [np.arange(0, draws, COUNT_BLOCK), np.asarray(convergence_marks(draws, step), dtype=np.int64), [draws]]
    if replicated:
        parts.append(np.arange(0, draws, replicate_size))
    return np.unique(np.concatenate([np.asarray(p, dtype=np.int64) for p in parts]))


def chunk_counts(codes: np.ndarray, bounds: np.ndarray, start: int) -> tuple[int, np.ndarray, np.ndarray]:
    """A chunk's counts: ``codes`` (claims, draws of the chunk) of draws [start, start + n),
    1 holds, 0 fails, -1 not evaluable. Returns the first stretch the chunk touches and, per
    claim and stretch it touches (its part of the stretch), the evaluable and holding draws."""
    stop = start + codes.shape[1]
    first = int(np.searchsorted(bounds, start, side="right")) - 1
    last = int(np.searchsorted(bounds, stop, side="left"))
    cuts = np.concatenate([[start], bounds[first + 1 : last]]) - start
    known = (
        np.stack([segment_counts(row >= 0, cuts) for row in codes])
        if len(codes)
        else np.zeros((0, len(cuts)), np.int64)
    )
    holds = (
        np.stack([segment_counts(row == 1, cuts) for row in codes])
        if len(codes)
        else np.zeros((0, len(cuts)), np.int64)
    )
    return first, known, holds


@dataclass
class ClaimCounts:
    """Per claim (rows) and stretch of draws (columns, from ``bounds[j]`` to ``bounds[j + 1]``):
    the evaluable draws (``known``) and the draws where the claim holds (``holds``)."""

    bounds: np.ndarray
    known: np.ndarray
    holds: np.ndarray

    @classmethod
    def empty(cls, claims: int, bounds: np.ndarray) -> ClaimCounts:
        shape = (claims, len(bounds) - 1)
        return cls(bounds, np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=np.int64))

    @classmethod
    def from_codes(cls, codes: np.ndarray, bounds: np.ndarray) -> ClaimCounts:
        """The counts of every draw's outcome codes (claims, draws) at ``bounds``."""
        out = cls.empty(len(codes), bounds)
        out.add(*chunk_counts(codes, bounds, 0))
        return out

    def add(self, first: int, known: np.ndarray, holds: np.ndarray) -> None:
        """Add a chunk's counts (:func:`chunk_counts`) in place."""
        self.known[:, first : first + known.shape[1]] += known
        self.holds[:, first : first + holds.shape[1]] += holds

    @property
    def draws(self) -> int:
        return int(self.bounds[-1])

    def equals(self, other: ClaimCounts) -> bool:
        """The same bounds and the same counts."""
        return all(
            np.array_equal(x, y)
            for x, y in ((self.bounds, other.bounds), (self.known, other.known), (self.holds, other.holds))
        )

    def on_bounds(self, marks: list[int] | np.ndarray) -> bool:
        """True when every mark is one of the bounds (the counts can answer it)."""
        idx = np.searchsorted(self.bounds, marks)
        return bool(
            np.all(idx < len(self.bounds)) and np.array_equal(self.bounds[np.minimum(idx, len(self.bounds) - 1)], marks)
        )

    def upto(self, claim: int, marks: list[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(evaluable, holding) draws among the first m draws for each m in ``marks``, each one
        of the bounds."""
        if not self.on_bounds(marks):
            raise ValueError(f"claim counts are kept at {len(self.bounds):,} fixed draw counts; not at {list(marks)}")
        idx = np.searchsorted(self.bounds, marks)
        n = np.concatenate([[0], np.cumsum(self.known[claim])])
        k = np.concatenate([[0], np.cumsum(self.holds[claim])])
        return n[idx], k[idx]

    def between(self, claim: int, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(evaluable, holding) draws in each stretch from one start to the next (the last to
        the end of the run), each start one of the bounds."""
        n, k = self.upto(claim, [*starts, self.draws])
        return np.diff(n), np.diff(k)

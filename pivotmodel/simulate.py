"""Monte Carlo runs: the engine, unchanged, over chunks of draws, reduced as chunks finish.

Each chunk of draws is sampled (:mod:`pivotmodel.sampling`), projected
(:func:`pivotmodel.model.project`), and reduced to what outputs need: each claim's evaluable
and holding draws counted per fixed stretch of draws (:mod:`pivotmodel.claim_counts`); for the draws of a fixed
sample (all draws up to :data:`SAMPLE_DRAWS`), inputs, claim metrics and the kept series' totals by quarter, fiscal and
calendar year; and, when those totals are not every draw in float64, block sums of the totals
for exact means over every draw. Chunks may run in worker processes (``jobs``);
every per-draw number depends only on the seed, the inputs and the draw index, and every sum
on fixed blocks of draws, so results are bit-identical whatever the chunk size or the number
of processes, and memory stays flat however many draws a run makes.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import special

from . import __version__
from .assumptions import Assumptions
from .claim_counts import CONVERGENCE_POINTS, COUNT_BLOCK, ClaimCounts, chunk_counts, convergence_marks, count_bounds
from .claim_counts import segment_counts as segment_counts  # re-exported: its home was here
from .claims import Claim, check_claims, evaluate, find_claim, series_in
from .earnings_series import EARNINGS_NOT_SUMMED
from .engine_setting import engine_setting, kernels_for_run
from .lazy import lazy
from .model import SERIES, prepare, run
from .model.projection import HISTORY_START, NOT_SUMMED, Projection
from .periods import Period, Timeline
from .runner import run_chunks
from .sampling import REPLICATES, Design, make_design
from .schema import child_series
from .threads import in_threads

if TYPE_CHECKING:  # the real module for the type checker; a lazy stand-in at run time
    import pandas as pd
else:
    pd = lazy("pandas")  # for the output tables only: imported while the workers run the first chunks

__all__ = ["simulate", "Results", "HEADLINE_SERIES", "wilson", "column_quantiles", "sorted_quantiles", "segment_counts"]

QUANTILES = (0.05, 0.10, 0.50, 0.90, 0.95)
HEADLINE_SERIES = (
    "group.revenue",
    "group.adjusted_ebita",
    "group.capex",
    "group.fcf",
    "cloud.revenue",
    "cloud.ai_revenue",
    "cloud.adjusted_ebita",
    "china_ecommerce.quick_commerce_ebita",
    "cloud.utilisation",
    "cloud.backlog",
    "cloud.lost_demand",
    "group.net_cash",
)
# Up to this many draws every series is kept per draw, by quarter, fiscal and calendar year,
# in float64. Larger runs keep the headline series by fiscal and calendar year only, in
# float32 (quantiles to ~7 significant digits), and inputs and claim metrics in float32.
FULL_TABLES_UP_TO = 50_000
# Per-draw inputs, claim metrics and series totals are kept for at most this many draws: all
# of them up to here, above it a fixed sample of draws (draw 0, the base case, and draws
# chosen from the seed alone, whatever the chunking). Claim outcomes over every draw are
# counted per stretch of draws and, in large runs, the series are summed over every draw as
# chunks finish (exact means), so memory stays flat however many draws a run makes.
SAMPLE_DRAWS = 200_000
# Means are sums over fixed blocks of draws, each summed whole, then summed in block order:
# the same numbers whatever the chunk size or number of processes.
MEAN_BLOCK = 4096
# Bytes a draw of heap a process populates before its first chunk. The bundled model's first
# 24,576-draw chunk faulted ~28,000 fresh pages (~4.6 KB a draw); with 160 MB populated first
# ~5,600 pages still faulted, with 256 MB ~2,300, so the heap a chunk reuses is ~7-8 KB a draw.
PREFAULT_PER_DRAW = 8 * 1024
_BASES = ("quarter", "fy", "cy")

# Worker state, set before a fork so the children see it without pickling.
_STATE: dict[str, Any] = {}


def wilson(k: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials, without continuity correction
    (Newcombe 1998, method 3; the arithmetic of scipy's ``binomtest(...).proportion_ci``, without
    the p-value it also computes). The bounds are 0 and 1 exactly when k is 0 or n."""
    if n == 0:
        return (math.nan, math.nan)
    k, n = int(round(k)), int(n)
    z = float(special.ndtri(0.5 + 0.5 * confidence))
    p = k / n
    denom = 2 * (n + z**2)
    center = (2 * n * p + z**2) / denom
    delta = z / denom * math.sqrt(4 * n * p * (1 - p) + z**2)
    lo = 0.0 if k == 0 else center - delta
    hi = 1.0 if k == n else center + delta
    return (max(0.0, lo), min(1.0, hi))


def sample_draws(draws: int, seed: int, size: int = SAMPLE_DRAWS) -> np.ndarray:
    """Sorted draw indices whose per-draw values a run keeps: every draw when ``draws <= size``,
    else draw 0 and ``size - 1`` others chosen without replacement from a stream of the seed
    (independent of chunk size and process count)."""
    if draws <= size:
        return np.arange(draws)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 0x5A3B1E])))
    picked = np.sort(rng.choice(draws - 1, size - 1, replace=False, shuffle=False)) + 1
    return np.concatenate([[0], picked])


def _block_sum(rows: np.ndarray) -> np.ndarray:
    """Column sums of one whole block of draws (a C-contiguous float64 array): the one
    reduction every block goes through, so its rounding never depends on the chunking."""
    return rows.sum(axis=0)


def _block_parts(arr: np.ndarray, start: int, stop: int, draws: int) -> list[tuple[int, int, np.ndarray, bool]]:
    """Draws [start, stop) of ``arr`` cut at :data:`MEAN_BLOCK` boundaries: (block, offset,
    sums of a block wholly inside the chunk or the rows of a partial one, whole?)."""
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    out = []
    for b in range(start // MEAN_BLOCK, (stop - 1) // MEAN_BLOCK + 1):
        blo, bhi = b * MEAN_BLOCK, min((b + 1) * MEAN_BLOCK, draws)
        lo, hi = max(start, blo), min(stop, bhi)
        rows = arr[lo - start : hi - start]
        whole = lo == blo and hi == bhi
        out.append((b, lo - blo, _block_sum(rows) if whole else rows.copy(), whole))
    return out


def _outcome_codes(holds: np.ndarray) -> np.ndarray:
    """Claim outcomes as one byte a draw: 1 holds, 0 fails, -1 not evaluable."""
    return np.where(np.isnan(holds), -1, holds).astype(np.int8)


def _chunk(start: int, stop: int) -> dict[str, Any]:
    design: Design = _STATE["design"]
    claims: list[Claim] = _STATE["claims"]
    keep: tuple[str, ...] = _STATE["keep"]
    sample: np.ndarray = _STATE["sample"]
    values = design.values(start, stop)
    needed = set(keep) | {"group.fx_usd_rmb"} | _STATE["claim_series"]
    p = run(_STATE["engine"], values, keep=needed, kernels=_STATE.get("kernels"))
    compact = _STATE["compact"]
    small = (lambda x: x.astype(np.float32)) if compact else (lambda x: x)  # noqa: E731
    # the kept draws of this chunk, as positions in the chunk and in the run's sample
    first, last = (int(i) for i in np.searchsorted(sample, [start, stop]))
    rows = slice(None) if last - first == stop - start else sample[first:last] - start
    out: dict[str, Any] = {"sample": (first, last), "inputs": {k: small(values[k][rows]) for k in design.dists}}
    out["claims"] = {}
    codes = np.empty((len(claims), stop - start), dtype=np.int8)
    for i, c in enumerate(claims):
        cv = evaluate(c, p)
        codes[i] = _outcome_codes(cv.holds)
        out["claims"][c.id] = (small(cv.metric[rows]), codes[i][rows])
    out["counts"] = chunk_counts(codes, _STATE["count_bounds"], start)
    out["totals"], out["sums"] = _kept_totals(p, keep, compact, rows, start, stop, design.draws)
    return out


def _kept_totals(
    p: Projection, keep: tuple[str, ...], compact: bool, rows: slice | np.ndarray, start: int, stop: int, draws: int
) -> tuple[dict, dict]:
    """The kept series' totals of a chunk (draws [start, stop) of a run of ``draws``): for each
    (basis, name), the sampled ``rows`` (float32 when ``compact``) and, when means are
    streamed, the block parts of :func:`_block_parts`. Fiscal and calendar years of every
    kept series are copied side by side into one wide C-ordered (draws, columns) array, so
    sampling its rows, converting them and summing its blocks are one pass each rather than
    one short-rowed pass per series. A column's block sum is the same row-by-row addition
    whatever the width of a C-ordered array of two or more columns; numpy sums a one-column
    array pairwise, so such a total is summed on its own, as it always was."""
    tl = p.timeline
    bases = {"fy": tl.year_periods("fy"), "cy": tl.year_periods("cy")}
    spans, width = {}, 0
    for name in keep:
        for basis, periods in bases.items():
            spans[basis, name] = (width, width + len(periods))
            width += len(periods)
    wide = np.empty((p.draws, width))
    alone = {}
    for (basis, name), (a, b) in spans.items():
        arr = _year_totals(p, name, bases[basis])
        wide[:, a:b] = arr
        if b - a == 1:
            alone[basis, name] = arr
    kept = wide[rows].astype(np.float32) if compact else wide[rows]
    # each piece contiguous: a worker pickles a contiguous array several times faster than a view
    totals: dict[tuple[str, str], np.ndarray] = {
        key: np.ascontiguousarray(kept[:, a:b]) for key, (a, b) in spans.items()
    }
    sums: dict[tuple[str, str], list] = {}
    stream = _STATE["stream_means"]
    if stream:
        parts = _block_parts(wide, start, stop, draws)
        for key, (a, b) in spans.items():
            if key in alone:
                sums[key] = _block_parts(alone[key], start, stop, draws)
            else:
                sums[key] = [
                    (blk, offset, np.ascontiguousarray(arr[..., a:b]), whole) for blk, offset, arr, whole in parts
                ]
    if not compact:
        for name in keep:
            totals["quarter", name] = p[name][rows]
            if stream:
                sums["quarter", name] = _block_parts(p[name], start, stop, draws)
    return totals, sums


def _year_totals(p: Projection, name: str, periods: list[Period]) -> np.ndarray:
    """(draws, periods), laid out as the series is (each period's draws contiguous when each
    quarter's are, so every addition runs along contiguous draws): each period's
    :meth:`Projection.total` of ``name`` (for a rate or stock, :data:`NOT_SUMMED`, its
    quarters' mean; for a level such as net cash, ``EARNINGS_NOT_SUMMED``, its last quarter,
    as ``total`` and ``pivotmodel project`` read it). Consecutive four-quarter periods are
    summed all at once, quarter by
    quarter in quarter order (the additions ``total`` makes one period at a time, so the same
    numbers); reported fiscal years, where the annual figure may replace the sum, and any
    other periods come from ``total`` itself."""
    q, tl = p[name], p.timeline
    cols = [tl.columns(y) for y in periods]
    draws_major = q.ndim == 2 and q.shape[1] > 1 and q.strides[0] < q.strides[1]
    out = np.empty((len(periods), p.draws)).T if draws_major else np.empty((p.draws, len(periods)))
    start = cols[0].start if cols else 0
    if not all(c.start == start + 4 * j and c.stop == c.start + 4 for j, c in enumerate(cols)):
        for j, y in enumerate(periods):
            averaged = name in NOT_SUMMED and name not in EARNINGS_NOT_SUMMED
            out[:, j] = q[:, tl.columns(y)].mean(axis=1) if averaged else p.total(name, y)
        return out
    span = q[:, start : start + 4 * len(cols)]
    if name in EARNINGS_NOT_SUMMED:  # a level: the year's last quarter
        np.copyto(out, span[:, 3::4])
        return out
    np.copyto(out, span[:, 0::4])
    for k in (1, 2, 3):
        out += span[:, k::4]
    if name in NOT_SUMMED:
        out /= 4.0  # the mean over the four quarters (numpy's mean: the sum, then / count)
        return out
    for j, y in enumerate(periods):
        if y.kind == "fy" and y.last < p.first_projected:
            out[:, j] = p.total(name, y)
    return out


def _init_worker(state: dict[str, Any]) -> None:
    """A local pool worker's state (it already ends with its parent: :func:`pivotmodel.runner._pool_worker`)."""
    from .allocator import retain_freed_memory

    retain_freed_memory()  # a worker only runs chunks: keep freed arrays for the next one
    _STATE.update(state)
    _prefault_chunk()
    if (
        _STATE.get("engine_setting") is not None and "kernels" not in _STATE
    ):  # spawned: load the kernels if the run uses them
        _STATE["kernels"] = kernels_for_run(_STATE["design"].draws, _STATE["engine_setting"])  # (forked: inherited)


def _install_remote(state: dict[str, Any]) -> None:
    """A run's state on an executor's worker process (:mod:`pivotmodel.runner`), the previous
    run's state replaced. The worker keeps freed arrays for the next chunk as a pool worker does
    (:mod:`pivotmodel.allocator`; dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_``
    at 64 KiB, which hands every chunk's arrays back to the kernel); no heap is prefaulted, as
    the worker may serve other work."""
    from .allocator import retain_freed_memory

    retain_freed_memory()
    _STATE.clear()
    _STATE.update(state)
    if _STATE.get("engine_setting") is not None:  # load the kernels if the run uses them
        _STATE["kernels"] = kernels_for_run(_STATE["design"].draws, _STATE["engine_setting"])


def _prefault_chunk() -> None:
    """Make a chunk's working memory resident before the first chunk (see
    :mod:`pivotmodel.allocator`): :data:`PREFAULT_PER_DRAW` bytes a draw of the run's chunk."""
    from .allocator import prefault_heap

    prefault_heap(PREFAULT_PER_DRAW * int(_STATE["chunk"]))


class _Sink:
    """What a run keeps, allocated once and filled chunk by chunk as chunks finish, so memory
    holds the results plus the chunks in flight: the claims' counts per stretch of draws
    (:mod:`pivotmodel.claim_counts`), the sampled draws' inputs, claim metrics, outcomes and
    series totals, and block sums of the totals for exact means. Inputs, claim metrics and
    outcomes each go in one (columns, sampled draws) block that the run's tables wrap without a copy."""

    GROUPS = ("inputs", "metric")

    def __init__(self, draws: int, sample: np.ndarray, columns: dict[str, list[str]], bounds: np.ndarray):
        self.draws = draws
        self.sample = sample
        self.columns = {**columns, "codes": columns["metric"]}
        self.counts = ClaimCounts.empty(len(columns["metric"]), bounds)
        self.blocks: dict[str, np.ndarray] = {}
        self.arrays: dict[tuple[str, str], np.ndarray] = {}
        self.sums: dict[tuple[str, str], np.ndarray] = {}
        self.partial: dict[tuple[str, str, int], tuple[np.ndarray, int]] = {}
        self.blocks_n = -(-draws // MEAN_BLOCK)

    def _group(self, kind: str, name: str, part: np.ndarray) -> np.ndarray:
        if kind not in self.blocks:
            self.blocks[kind] = np.empty((len(self.columns[kind]), len(self.sample)), dtype=part.dtype)
        return self.blocks[kind][self.columns[kind].index(name)]

    def _add_sums(self, key: tuple[str, str], parts: list[tuple[int, int, np.ndarray, bool]]) -> None:
        for b, offset, arr, whole in parts:
            if key not in self.sums:
                self.sums[key] = np.empty((self.blocks_n, *(arr.shape if whole else arr.shape[1:])))
            if whole:
                self.sums[key][b] = arr
                continue
            length = min(MEAN_BLOCK, self.draws - b * MEAN_BLOCK)
            buf, filled = self.partial.get((*key, b)) or (np.empty((length, *arr.shape[1:])), 0)
            buf[offset : offset + len(arr)] = arr
            filled += len(arr)
            if filled == length:  # the block is complete: sum it as if it had come whole
                self.sums[key][b] = _block_sum(buf)
                self.partial.pop((*key, b), None)
            else:
                self.partial[(*key, b)] = (buf, filled)

    def put(self, lo: int, hi: int, part: dict[str, Any]) -> None:
        first, last = part["sample"]
        for k, v in part["inputs"].items():
            self._group("inputs", k, v)[first:last] = v
        for k, (metric, codes) in part["claims"].items():
            self._group("metric", k, metric)[first:last] = metric
            self._group("codes", k, codes)[first:last] = codes
        self.counts.add(*part["counts"])
        for key, arr in part["totals"].items():
            if key not in self.arrays:
                self.arrays[key] = np.empty((len(self.sample), *arr.shape[1:]), dtype=arr.dtype)
            self.arrays[key][first:last] = arr
        for key, parts in part["sums"].items():
            self._add_sums(key, parts)

    def frame(self, kind: str) -> pd.DataFrame:
        """One group as a sampled draws x columns table over the block itself (no copy),
        indexed by draw number."""
        names = self.columns[kind]
        block = self.blocks.get(kind, np.empty((len(names), len(self.sample))))
        return pd.DataFrame(block.T, columns=names, index=self._index(), copy=False)

    def _index(self) -> pd.Index:
        return pd.RangeIndex(self.draws) if len(self.sample) == self.draws else pd.Index(self.sample, name="draw")

    def codes(self) -> np.ndarray:
        """The sampled draws' outcome codes, (claims, sampled draws), int8."""
        return self.blocks.get("codes", np.empty((len(self.columns["codes"]), len(self.sample)), dtype=np.int8))

    def holds(self) -> pd.DataFrame:
        """The sampled draws' outcomes as 1.0, 0.0 or NaN (not evaluable)."""
        codes = self.codes()
        table = np.where(codes < 0, np.nan, codes.astype(np.float64))
        return pd.DataFrame(table.T, columns=self.columns["metric"], index=self._index(), copy=False)

    def means(self) -> dict[str, dict[str, np.ndarray]]:
        """Means over every draw: from the block sums summed in block order when they were
        streamed, else (every draw kept in float64) from the kept totals themselves."""
        out: dict[str, dict[str, np.ndarray]] = {b: {} for b in _BASES}
        for (basis, name), arr in self.arrays.items():
            sums = self.sums.get((basis, name))
            out[basis][name] = _block_sum(sums) / self.draws if sums is not None else arr.mean(axis=0, dtype=np.float64)
        return out


@dataclass
class Results:
    """A run. Over every draw: each claim's evaluable and holding draws per stretch of draws
    (``counts``, :class:`~pivotmodel.claim_counts.ClaimCounts`). Per sampled draw (every draw
    up to :data:`SAMPLE_DRAWS`, else a fixed sample that includes draw 0, see
    :func:`sample_draws`): inputs, claim metrics and outcomes and series totals, aligned on one
    draw index. Series means are over every draw."""

    assumptions: Assumptions
    design: Design
    claims: list[Claim]
    inputs: pd.DataFrame  # sampled draws x uncertain inputs (model units)
    claim_metric: pd.DataFrame  # sampled draws x claim id
    claim_holds: pd.DataFrame  # sampled draws x claim id: 1, 0 or NaN (not evaluable)
    totals: dict[str, dict[str, np.ndarray]]  # basis -> series -> (sampled draws, periods)
    periods: dict[str, list[str]]  # basis -> period labels
    first_projected: str
    counts: ClaimCounts  # claims x stretches of draws: evaluable and holding draws, over every draw
    means: dict[str, dict[str, np.ndarray]]  # basis -> series -> (periods,), over every draw
    sample: np.ndarray  # the draw numbers of the sampled rows, sorted (0 first)
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def draws(self) -> int:
        return self.counts.draws

    @property
    def outcomes(self) -> np.ndarray:
        """Every draw's outcome codes, (claims, draws), int8: 1 holds, 0 fails, -1 not
        evaluable; only a run that keeps every draw has them (a sampled run keeps counts)."""
        if self.sampled:
            raise ValueError(
                f"a run of {self.draws:,} draws keeps {len(self.sample):,} draws' outcomes and counts "
                "over every draw, not every draw's outcome"
            )
        holds = self.claim_holds[[c.id for c in self.claims]].to_numpy()
        return np.where(np.isnan(holds), -1, holds).astype(np.int8).T

    @property
    def sampled(self) -> bool:
        """True when per-draw tables hold a sample of the draws rather than all of them."""
        return len(self.sample) < self.draws

    def claim(self, claim_id: str) -> Claim:
        """The run's claim with this id (an unknown id: an input error listing the valid ones)."""
        return find_claim(self.claims, claim_id, self.assumptions.claims_label)

    def _estimates(self, claim_id: str, marks: list[int]) -> list[tuple[float, float, float, int]]:
        """(estimate, low, high, draws used) over the first m draws for each m in ``marks``
        (increasing), from the claim's counts (every draw), and for replicated designs the
        counts of each replicate. A mark off the counts' bounds is counted from the outcomes
        of a run that keeps every draw; a sampled run refuses it."""
        i = self.claims.index(self.claim(claim_id))
        counts = self.counts
        size = self.design.replicate_size
        rep_starts = np.arange(0, self.draws, size)
        if not counts.on_bounds(marks):
            if self.sampled:
                counts.upto(i, marks)  # raises: the counts have no stretch ending there
            bounds = np.unique(np.concatenate([counts.bounds, np.asarray(marks, dtype=np.int64)]))
            counts = ClaimCounts.from_codes(self.outcomes[i : i + 1], bounds)
            i = 0
        n_at, k_at = counts.upto(i, marks) if marks else (np.zeros(0, int), np.zeros(0, int))
        if self.design.method != "mc":
            rep_n, rep_k = counts.between(i, rep_starts)
        out = []
        for m, n, k in zip(marks, n_at, k_at):
            n, k = int(n), int(k)
            if n == 0:
                out.append((math.nan, math.nan, math.nan, 0))
                continue
            est = k / n
            if self.design.method == "mc":
                out.append((est, *wilson(float(k), n), n))
                continue
            # replicates wholly inside the first m draws, each with at least one evaluable draw
            whole = m // size
            rn, rk = rep_n[:whole], rep_k[:whole]
            means = rk[rn > 0] / rn[rn > 0]
            if len(means) < 2:
                out.append((est, *wilson(float(k), n), n))
                continue
            # the t quantile by the function scipy.stats.t.ppf calls (importing scipy.stats costs ~0.5 s)
            half = special.stdtrit(len(means) - 1, 0.975) * means.std(ddof=1) / math.sqrt(len(means))
            # A replicate resolves a probability only to its stratum width: when every replicate
            # lands on the same count (a threshold on one stratified input) the spread is zero,
            # yet the estimate is still only known to within half a stratum.
            half = max(half, 0.5 / size)
            out.append((est, max(0.0, est - half), min(1.0, est + half), n))
        return out

    def probability(self, claim_id: str, upto: int | None = None) -> tuple[float, float, float, int]:
        """(estimate, low, high, draws used) with a 95% interval: Wilson for plain Monte
        Carlo; for Latin hypercube and Sobol, a t interval over the independent replicates."""
        m = self.draws if upto is None else max(0, min(int(upto), self.draws))
        return self._estimates(claim_id, [m])[0]

    @property
    def interval_method(self) -> str:
        if self.design.method == "mc":
            return "Wilson 95%"
        return f"t 95% over {REPLICATES} independent {self.design.method} replicates"

    def claims_table(self) -> pd.DataFrame:
        """One row a claim: probability with its interval, the metric's spread (a year metric,
        ``first_fy``: quantiles over every evaluable draw with "never" as +inf, and the share
        of draws that never reach it) and its status with the reason
        (:func:`pivotmodel.claim_status.run_statuses`)."""
        from .claim_status import run_statuses

        statuses = run_statuses(self)
        spreads: list[Any] = [[math.nan] * 4] * len(self.claims)

        def spread(i: int) -> None:  # the metric's P5, P50, P95 (and share never reached) over its draws
            c = self.claims[i]
            metric = self.claim_metric[c.id].to_numpy()
            if c.threshold is None:
                return
            if c.measure.unit == "year":  # +inf: the condition never holds; a value like any other
                years = np.sort(metric[~np.isnan(metric)])
                if years.size:
                    q = np.quantile(years, [0.05, 0.5, 0.95], method="inverted_cdf")
                    spreads[i] = [*q, float(np.isinf(years).mean())]
                return
            finite = metric[np.isfinite(metric)]
            if finite.size:
                spreads[i] = [*sorted_quantiles(finite, [0.05, 0.5, 0.95], finite.dtype), math.nan]

        in_threads(len(self.claims), spread)
        rows = []
        for c, q in zip(self.claims, spreads):
            est, lo, hi, n = self.probability(c.id)
            st = statuses[c.id]
            rows.append(
                {
                    "id": c.id,
                    "headline": c.headline,
                    "test": c.test,
                    "probability": est,
                    "ci_low": lo,
                    "ci_high": hi,
                    "draws": n,
                    "base_case": self.claim_holds[c.id].iloc[0],
                    "metric_p5": q[0],
                    "metric_p50": q[1],
                    "metric_p95": q[2],
                    "metric_never": q[3],
                    "threshold": c.threshold,
                    "interval": self.interval_method,
                    "words": c.words,
                    "reading": c.reading,
                    "source": f"{c.source['publication']}, {c.source['date']}, {c.source['url']}",
                    "status": st.label,
                    "status_reason": st.full_reason,
                    "probability_on_demand": st.on_demand,
                }
            )
        return pd.DataFrame(rows).set_index("id")

    def quantiles(self, basis: str = "fy", series: Iterable[str] | None = None) -> pd.DataFrame:
        """P5, P10, P50, P90, P95 and mean of every kept series by period (RMB bn; orders in
        millions; FX in RMB per US$). ``basis``: quarter | fy | cy. Quantiles are exact over
        the sampled draws (every draw up to :data:`SAMPLE_DRAWS`); means over every draw."""
        if not self.totals[basis]:
            raise ValueError(
                f"no {basis} totals were kept: runs over {FULL_TABLES_UP_TO:,} draws keep fiscal and "
                "calendar years of the headline series only"
            )
        names = list(series or self.totals[basis])
        labels = self.periods[basis]
        qs = column_quantiles([self.totals[basis][name][:, j] for name in names for j in range(len(labels))])
        known = {**SERIES, **child_series(tuple(self.assumptions.children))}  # the registry's, and declared children's
        scale = np.repeat(
            [1.0 if known[n][0] in ("count_mn", "RMB_per_USD", "ratio") else 1000.0 for n in names], len(labels)
        )
        units = {"count_mn": "mn orders", "RMB_per_USD": "RMB per US$", "ratio": "ratio"}
        index = pd.MultiIndex.from_product([names, labels], names=["series", "period"])
        df = pd.DataFrame(
            {"unit": np.repeat([units.get(known[n][0], "RMB bn") for n in names], len(labels))}, index=index
        )
        for k, q in enumerate(QUANTILES):
            df[f"P{int(q * 100)}"] = qs[:, k] / scale
        df["mean"] = np.concatenate([self.means[basis][n] for n in names]) / scale
        return df

    def available_bases(self) -> list[str]:
        return [b for b in _BASES if self.totals[b]]

    def convergence(self, points: int = CONVERGENCE_POINTS) -> pd.DataFrame:
        """Each claim's estimate and interval after growing numbers of draws (every draw
        counts, sampled or not)."""
        marks = convergence_marks(self.draws, self.design.replicate_size if self.design.method != "mc" else 1, points)
        frames = []
        for c in self.claims:
            est = np.array(self._estimates(c.id, marks), dtype=float).reshape(len(marks), 4)
            frames.append(
                pd.DataFrame(
                    {"claim": c.id, "draws": marks, "probability": est[:, 0], "ci_low": est[:, 1], "ci_high": est[:, 2]}
                )
            )
        if not frames:
            return pd.DataFrame(columns=["claim", "draws", "probability", "ci_low", "ci_high"])
        return pd.concat(frames, ignore_index=True)


def sorted_quantiles(values: np.ndarray, probs: Any, dtype: Any) -> np.ndarray:
    """``np.quantile(values.astype(dtype), probs)``, computed on a sorted copy: numpy's
    vectorised sort (float32 above all) then leaves np.quantile nothing to search, two to
    four times faster than partitioning for each quantile. The quantiles depend only on
    which values lie at which ranks, not on their order, except where equal values differ:
    zeros of both signs. A column holding a zero takes numpy's plain path, so the numbers,
    the sign of a zero included, are always those of np.quantile on the values as given."""
    ordered = np.sort(values)
    first_zero = int(np.searchsorted(ordered, 0.0))
    if first_zero < len(ordered) and ordered[first_zero] == 0:
        ordered = np.array(values, dtype=dtype)
    elif ordered.dtype != dtype:
        ordered = ordered.astype(dtype)
    with np.errstate(all="ignore"):
        return np.quantile(ordered, probs, overwrite_input=True)


def column_quantiles(columns: list[np.ndarray], threads: int | None = None) -> np.ndarray:
    """:data:`QUANTILES` of each column as float64, (columns, quantiles), by
    :func:`sorted_quantiles`, columns in threads (:func:`pivotmodel.threads.in_threads`)."""
    out = np.empty((len(columns), len(QUANTILES)))

    def one(i: int) -> None:
        out[i] = sorted_quantiles(columns[i], QUANTILES, np.float64)

    in_threads(len(columns), one, threads)
    return out


def inputs_hash(a: Assumptions) -> str:
    """SHA-256 over the names and digests of every file the loader read (``Assumptions.files``:
    the folder's YAML, the history CSVs, the scenario chain), as they were when loaded: a file
    edited during a run does not change the hash the run reports."""
    h = hashlib.sha256()
    for name, digest in a.files.items():
        h.update(name.encode() + b"\0")
        h.update(digest)
    return h.hexdigest()


def run_key(a: Assumptions, options: dict[str, Any]) -> str:
    """What a run's numbers depend on: the input files, every option that changes the numbers
    (draws, seed, method, stop rule, correlation repair) and the model version. Chunk size and
    process count are left out: results are bit-identical across them."""
    h = hashlib.sha256()
    h.update(inputs_hash(a).encode())
    h.update(json.dumps(options, sort_keys=True).encode())
    h.update(__version__.encode())
    return h.hexdigest()


def physical_memory() -> int | None:
    """Bytes of RAM on this machine, where the OS says."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return None


def estimate_memory(a: Assumptions, draws: int, claims: int | None = None) -> int:
    """Peak bytes a run of ``draws`` is expected to hold: the claims' counts (two int64 a claim
    per stretch of draws, :mod:`pivotmodel.claim_counts`), the sampled draws' inputs, claim
    metrics and outcomes and series totals counted twice over (a margin for the output tables,
    which work one column at a time, and the chunks in flight), plus one chunk of the model per
    worker. Beyond :data:`SAMPLE_DRAWS` draws only the counts grow, 16 bytes a claim per
    :data:`~pivotmodel.claim_counts.COUNT_BLOCK` draws."""
    n_inputs = len(a.uncertain_keys)
    n_claims = len(a.claims) if claims is None else claims
    years = 2 * (a.horizon.fiscal_year - 2024 + 2)  # fiscal and calendar years kept
    if draws > FULL_TABLES_UP_TO:
        kept = n_inputs * 4 + n_claims * (4 + 8) + len(HEADLINE_SERIES) * years * 4
    else:
        quarters = 4 * (a.horizon.fiscal_year - 2024 + 1)
        kept = n_inputs * 8 + n_claims * 16 + len(SERIES) * (quarters + years) * 8
    chunk = min(draws, int(a.settings.get("chunk_size", 50_000))) * len(SERIES) * 64 * 8
    stretches = -(-draws // COUNT_BLOCK) + 2 * (CONVERGENCE_POINTS + REPLICATES)
    return int(16 * n_claims * stretches + 2 * min(draws, SAMPLE_DRAWS) * kept + chunk + 300e6)


def check_memory(a: Assumptions, draws: int, max_gb: float | None = None) -> None:
    """Refuse, before any work, a run expected to need more memory than the cap: ``max_gb``
    when given, else half this machine's RAM."""
    need = estimate_memory(a, draws)
    ram = physical_memory()
    cap = max_gb * 1e9 if max_gb is not None else (ram / 2 if ram else None)
    if cap is not None and need > cap:
        from .errors import InputError

        how = (
            f"the cap you set ({max_gb:g} GB)"
            if max_gb is not None
            else f"half this machine's RAM ({cap / 1e9:.1f} GB)"
        )
        raise InputError.single(
            "--draws",
            "draws",
            f"{draws:,} draws need about {need / 1e9:.1f} GB, more than {how}; "
            "use fewer draws or raise the cap with --max-memory GB",
        )


def _progress(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="draw", unit_scale=True, file=sys.stderr, mininterval=0.5, leave=False)


def _prepare_run(
    a: Assumptions,
    draws: int,
    seed: int,
    method: str,
    chunk_size: int,
    keep: Iterable[str] | None,
    nearest_correlation: bool | None,
    sample_size: int | None,
) -> tuple:
    """Build the design, engine inputs and sample of a run and install them as the chunks' shared state."""
    design = make_design(a, draws, seed, method, nearest_correlation)
    design.build_tables()  # once, here: forked workers inherit the tables
    setting = engine_setting()  # PIVOTMODEL_ENGINE, read once a run
    kernels = kernels_for_run(
        draws, setting
    )  # the compiled kernels, if a run this size uses them; inherited as the tables
    engine = prepare(a)  # the engine's inputs, built once for every chunk (and pickled once to spawned workers)
    claims = list(a.claims)
    check_claims(claims, run(engine), a.claims_label)
    if keep is None:
        keep = (*SERIES, *child_series(tuple(a.children))) if draws <= FULL_TABLES_UP_TO else HEADLINE_SERIES
    keep = tuple(dict.fromkeys(keep))
    claim_series = set()
    for c in claims:
        claim_series |= series_in(c.tree)
    compact = draws > FULL_TABLES_UP_TO
    sample = sample_draws(draws, seed, SAMPLE_DRAWS if sample_size is None else int(sample_size))
    # means from block sums whenever the kept totals are not every draw in float64
    stream_means = compact or len(sample) < draws
    if chunk_size >= MEAN_BLOCK:
        # chunks of whole mean blocks: a worker then sends each block's sums, never the rows
        # of a block split with the next chunk (half of what it sent at 25,000)
        chunk_size -= chunk_size % MEAN_BLOCK
    bounds_counts = count_bounds(draws, design.replicate_size, design.method != "mc")
    _STATE.update(
        engine=engine,
        design=design,
        claims=claims,
        keep=keep,
        claim_series=claim_series,
        compact=compact,
        sample=sample,
        stream_means=stream_means,
        chunk=min(chunk_size, draws),
        engine_setting=setting,
        kernels=kernels,
        count_bounds=bounds_counts,
    )
    return design, claims, sample, chunk_size, bounds_counts


def _run_all_chunks(
    draws: int,
    chunk_size: int,
    design: Any,
    claims: list,
    sample: Any,
    bounds_counts: Any,
    jobs: int,
    executor: Any,
    start_method: str | None,
    progress: bool | None,
) -> tuple:
    """Run every chunk (locally or on the executor) into a sink, with a progress bar on a terminal."""
    bounds = [(i, min(i + chunk_size, draws)) for i in range(0, draws, chunk_size)]
    show = (sys.stderr.isatty() if progress is None else progress) and draws >= 20_000
    bar = _progress(draws, show)
    sink = _Sink(draws, sample, {"inputs": list(design.dists), "metric": [c.id for c in claims]}, bounds_counts)

    def store(lo: int, hi: int, part: dict[str, Any]) -> None:
        sink.put(lo, hi, part)
        if bar:
            bar.update(hi - lo)

    try:
        # a module does not pickle: spawned and remote workers load the kernels themselves
        state = {k: x for k, x in _STATE.items() if k != "kernels"}
        # the output tables' library, loaded while the workers compute the first chunks
        ran_on = run_chunks(
            bounds,
            _chunk,
            _install_remote,
            state,
            store,
            jobs=jobs,
            executor=executor,
            start_method=start_method,
            local_install=_init_worker,
            serial_setup=_prefault_chunk,
            after_submit=lambda: importlib.import_module("pandas"),
        )
    finally:
        if bar:
            bar.close()
        _STATE.clear()
    return sink, ran_on


def _collect(sink: Any, a: Assumptions) -> tuple:
    """Gather the sink's sampled frames, holding flags, kept totals and the period labels."""
    inputs, metric = (sink.frame(kind) for kind in _Sink.GROUPS)
    holds = sink.holds()
    totals: dict[str, dict[str, np.ndarray]] = {b: {} for b in _BASES}
    for (kind, name), arr in sink.arrays.items():
        if kind in totals:
            totals[kind][name] = arr
    tl = Timeline.between(HISTORY_START, a.horizon)  # the engine's quarter axis
    periods = {
        "quarter": tl.labels,
        "fy": [p.label for p in tl.year_periods("fy")],
        "cy": [p.label for p in tl.year_periods("cy")],
    }
    return inputs, metric, holds, totals, periods


def _manifest(
    a: Assumptions,
    design: Any,
    seed: int,
    method: str,
    draws: int,
    chunk_size: int,
    jobs: int,
    ran_on: Any,
    sample: Any,
    started: float,
) -> dict[str, Any]:
    """The run manifest: what ran, on what inputs, and how long it took."""
    return {
        "pivotmodel_version": __version__,
        "scenario": a.scenario.name,
        "scenario_chain": list(a.scenario.chain),
        "inputs_sha256": inputs_hash(a),
        "seed": seed,
        "method": method,
        "draws": draws,
        "uncertain_inputs": len(design.dists),
        "correlated_inputs": list(design.correlation.keys) if design.correlation else [],
        "correlation_adjusted_to_nearest": bool(design.correlation and design.correlation.adjusted),
        "last_reported_quarter": a.history.last_quarter.label,
        "horizon": a.horizon.label,
        "chunk_size": chunk_size,
        "jobs": jobs,
        "executor": ran_on,
        "sampled_draws": len(sample),
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": round(time.time() - started, 2),
    }


def simulate(
    assumptions: Assumptions,
    draws: int | None = None,
    seed: int | None = None,
    method: str | None = None,
    chunk_size: int | None = None,
    jobs: int | None = 1,
    keep: Iterable[str] | None = None,
    progress: bool | None = None,
    nearest_correlation: bool | None = None,
    start_method: str | None = None,
    sample_size: int | None = None,
    executor: Any = None,
) -> Results:
    """Run the model over ``draws`` input draws; defaults come from ``simulation.yaml``.
    ``sample_size``: how many draws keep their per-draw values (default :data:`SAMPLE_DRAWS`).
    ``executor``: run the chunks on this ``concurrent.futures``-style executor (a
    ``dask.distributed`` Client included; see :mod:`pivotmodel.runner`) instead of a local
    pool of ``jobs`` processes; the numbers are the same bits either way."""
    a = assumptions
    s = a.settings
    draws = int(draws or s["draws"])
    seed = int(s["seed"] if seed is None else seed)
    method = method or s["method"]
    chunk_size = int(chunk_size or s.get("chunk_size", 25_000))
    jobs = os.cpu_count() or 1 if jobs in (None, 0) else int(jobs)
    started = time.time()
    design, claims, sample, chunk_size, bounds_counts = _prepare_run(
        a, draws, seed, method, chunk_size, keep, nearest_correlation, sample_size
    )
    sink, ran_on = _run_all_chunks(
        draws, chunk_size, design, claims, sample, bounds_counts, jobs, executor, start_method, progress
    )
    inputs, metric, holds, totals, periods = _collect(sink, a)
    manifest = _manifest(a, design, seed, method, draws, chunk_size, jobs, ran_on, sample, started)
    return Results(
        a,
        design,
        claims,
        inputs,
        metric,
        holds,
        totals,
        periods,
        (a.history.last_quarter + 1).label,
        sink.counts,
        sink.means(),
        sample,
        manifest,
    )


def manifest_json(results: Results, deterministic: bool = False) -> str:
    """The run manifest as JSON; ``deterministic`` drops time and machine fields."""
    m = dict(results.manifest)
    if deterministic:
        for k in ("started_utc", "seconds", "jobs", "chunk_size", "executor"):
            m.pop(k, None)
    return json.dumps(m, indent=2, sort_keys=True)

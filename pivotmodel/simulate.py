"""Monte Carlo runs: the engine, unchanged, over chunks of draws, reduced as chunks finish.

Each chunk of draws is sampled (:mod:`pivotmodel.sampling`), projected
(:func:`pivotmodel.model.project`), and reduced to what outputs need: each claim's metric and
outcome per draw, and the totals of the kept series by quarter, fiscal year and calendar
year. Chunks may run in worker processes (``jobs``); every per-draw number depends only
on the seed, the inputs and the draw index, so results are bit-identical whatever the
chunk size or the number of processes.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing as mp
import os
import sys
import time
from collections import deque
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from . import __version__
from .assumptions import Assumptions
from .claims import Claim, check_claims, evaluate, series_in
from .model import SERIES, prepare, run
from .model.projection import NOT_SUMMED
from .periods import Timeline
from .sampling import REPLICATES, Design, make_design

__all__ = ["simulate", "Results", "HEADLINE_SERIES", "wilson"]

QUANTILES = (0.05, 0.10, 0.50, 0.90, 0.95)
HEADLINE_SERIES = (
    "group.revenue", "group.adjusted_ebita", "group.capex", "group.fcf",
    "cloud.revenue", "cloud.ai_revenue", "cloud.adjusted_ebita", "china_ecommerce.quick_commerce_ebita",
    "cloud.utilisation", "cloud.backlog",
)
# Up to this many draws every series is kept per draw, by quarter, fiscal and calendar year,
# in float64. Larger runs keep the headline series by fiscal and calendar year only, in
# float32 (quantiles to ~7 significant digits), and inputs and claim metrics in float32,
# so a million draws stay well under 2 GB.
FULL_TABLES_UP_TO = 50_000

# Worker state, set before a fork so the children see it without pickling.
_STATE: dict[str, Any] = {}


def wilson(k: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials (scipy's, without continuity correction)."""
    if n == 0:
        return (math.nan, math.nan)
    ci = stats.binomtest(int(round(k)), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return (max(0.0, float(ci.low)), min(1.0, float(ci.high)))


def _chunk(start: int, stop: int) -> dict[str, Any]:
    design: Design = _STATE["design"]
    claims: list[Claim] = _STATE["claims"]
    keep: tuple[str, ...] = _STATE["keep"]
    values = design.values(start, stop)
    needed = set(keep) | {"group.fx_usd_rmb"} | _STATE["claim_series"]
    p = run(_STATE["engine"], values, keep=needed)
    compact = _STATE["compact"]
    small = (lambda x: x.astype(np.float32)) if compact else (lambda x: x)  # noqa: E731
    out: dict[str, Any] = {"inputs": {k: small(values[k]) for k in design.dists}}
    out["claims"] = {}
    for c in claims:
        cv = evaluate(c, p)
        # 0/1/NaN are exact in float16
        out["claims"][c.id] = (small(cv.metric), cv.holds.astype(np.float16) if compact else cv.holds)
    tl = p.timeline
    fy, cy = tl.year_periods("fy"), tl.year_periods("cy")
    totals = {}
    for name in keep:
        q = p[name]
        if name in NOT_SUMMED:
            per_year = lambda y, q=q: q[:, tl.columns(y)].mean(axis=1)  # noqa: E731
        else:
            per_year = lambda y, name=name: p.total(name, y)  # noqa: E731
        totals[name] = (
            None if compact else q,
            small(np.stack([per_year(y) for y in fy], 1)),
            small(np.stack([per_year(y) for y in cy], 1)),
        )
    out["totals"] = totals
    return out


def _init_worker(state: dict[str, Any]) -> None:
    _STATE.update(state)


class _Sink:
    """Final per-draw arrays, allocated once and filled chunk by chunk as chunks finish, so
    memory holds the results plus one chunk, never every chunk at once. Inputs, claim metrics
    and claim outcomes each go in one (columns, draws) block that the run's tables wrap
    without a copy."""

    GROUPS = ("inputs", "metric", "holds")

    def __init__(self, draws: int, columns: dict[str, list[str]]):
        self.draws = draws
        self.columns = columns
        self.blocks: dict[str, np.ndarray] = {}
        self.arrays: dict[tuple[str, str], np.ndarray] = {}

    def _slot(self, key: tuple[str, str], part: np.ndarray) -> np.ndarray:
        kind, name = key
        if kind in self.GROUPS:
            if kind not in self.blocks:
                self.blocks[kind] = np.empty((len(self.columns[kind]), self.draws), dtype=part.dtype)
            return self.blocks[kind][self.columns[kind].index(name)]
        if key not in self.arrays:
            self.arrays[key] = np.empty((self.draws, *part.shape[1:]), dtype=part.dtype)
        return self.arrays[key]

    def put(self, lo: int, hi: int, part: dict[str, Any]) -> None:
        items = [(("inputs", k), v) for k, v in part["inputs"].items()]
        items += [(("metric", k), v[0]) for k, v in part["claims"].items()]
        items += [(("holds", k), v[1]) for k, v in part["claims"].items()]
        for name, per_basis in part["totals"].items():
            items += [((basis, name), arr) for basis, arr in zip(("quarter", "fy", "cy"), per_basis) if arr is not None]
        for key, arr in items:
            self._slot(key, arr)[lo:hi] = arr

    def frame(self, kind: str) -> pd.DataFrame:
        """One group as a draws x columns table over the block itself (no copy)."""
        names = self.columns[kind]
        block = self.blocks.get(kind, np.empty((len(names), self.draws)))
        return pd.DataFrame(block.T, columns=names, copy=False)


@dataclass
class Results:
    """A run: per-draw inputs, claim outcomes and series totals, aligned on one draw index."""

    assumptions: Assumptions
    design: Design
    claims: list[Claim]
    inputs: pd.DataFrame  # draws x uncertain inputs (model units)
    claim_metric: pd.DataFrame  # draws x claim id
    claim_holds: pd.DataFrame  # draws x claim id: 1, 0 or NaN (not evaluable)
    totals: dict[str, dict[str, np.ndarray]]  # basis -> series -> (draws, periods)
    periods: dict[str, list[str]]  # basis -> period labels
    first_projected: str
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def draws(self) -> int:
        return len(self.inputs)

    def claim(self, claim_id: str) -> Claim:
        for c in self.claims:
            if c.id == claim_id:
                return c
        raise KeyError(f"unknown claim {claim_id!r}; valid: {', '.join(c.id for c in self.claims)}")

    def _outcomes(self, claim_id: str) -> tuple[np.ndarray, np.ndarray]:
        """Which draws are evaluable and which hold, as booleans (one byte a draw each), kept
        per claim. Outcomes are 0, 1 or NaN, so every estimate is an exact count k / n."""
        cache = self.__dict__.setdefault("_outcome_cache", {})
        if claim_id not in cache:
            holds = self.claim_holds[claim_id].to_numpy()
            cache[claim_id] = (~np.isnan(holds), holds == 1)
        return cache[claim_id]

    def probability(self, claim_id: str, upto: int | None = None) -> tuple[float, float, float, int]:
        """(estimate, low, high, draws used) with a 95% interval: Wilson for plain Monte
        Carlo; for Latin hypercube and Sobol, a t interval over the independent replicates."""
        ok, hit = self._outcomes(claim_id)
        m = len(ok) if upto is None else min(int(upto), len(ok))
        n = int(np.count_nonzero(ok[:m]))
        if n == 0:
            return (math.nan, math.nan, math.nan, 0)
        k = int(np.count_nonzero(hit[:m]))
        est = k / n
        if self.design.method == "mc":
            lo, hi = wilson(float(k), n)
            return (est, lo, hi, n)
        size = self.design.replicate_size
        # replicates wholly inside the first m draws, each with at least one evaluable draw
        whole = (m // size) * size
        rep_n = np.count_nonzero(ok[:whole].reshape(-1, size), axis=1)
        rep_k = np.count_nonzero(hit[:whole].reshape(-1, size), axis=1)
        means = rep_k[rep_n > 0] / rep_n[rep_n > 0]
        if len(means) < 2:
            lo, hi = wilson(float(k), n)
            return (est, lo, hi, n)
        half = stats.t.ppf(0.975, len(means) - 1) * means.std(ddof=1) / math.sqrt(len(means))
        # A replicate resolves a probability only to its stratum width: when every replicate
        # lands on the same count (a threshold on one stratified input) the spread is zero,
        # yet the estimate is still only known to within half a stratum.
        half = max(half, 0.5 / size)
        return (est, max(0.0, est - half), min(1.0, est + half), n)

    @property
    def interval_method(self) -> str:
        if self.design.method == "mc":
            return "Wilson 95%"
        return f"t 95% over {REPLICATES} independent {self.design.method} replicates"

    def claims_table(self) -> pd.DataFrame:
        from .claim_status import claim_statuses

        statuses = claim_statuses(self.assumptions, self.claims)
        rows = []
        for c in self.claims:
            est, lo, hi, n = self.probability(c.id)
            metric = self.claim_metric[c.id].to_numpy()
            finite = metric[np.isfinite(metric)]
            q = np.quantile(finite, [0.05, 0.5, 0.95]) if finite.size and c.threshold is not None else [math.nan] * 3
            rows.append({
                "id": c.id, "headline": c.headline, "test": c.test, "probability": est,
                "ci_low": lo, "ci_high": hi, "draws": n, "base_case": self.claim_holds[c.id].iloc[0],
                "metric_p5": q[0], "metric_p50": q[1], "metric_p95": q[2], "threshold": c.threshold,
                "interval": self.interval_method, "words": c.words, "reading": c.reading,
                "source": f"{c.source['publication']}, {c.source['date']}, {c.source['url']}",
                "status": f"not evaluable: {c.not_evaluable}" if c.not_evaluable else ", ".join(statuses[c.id].labels),
            })
        return pd.DataFrame(rows).set_index("id")

    def quantiles(self, basis: str = "fy", series: Iterable[str] | None = None) -> pd.DataFrame:
        """P5, P10, P50, P90, P95 and mean of every kept series by period (RMB bn; orders in
        millions; FX in RMB per US$). ``basis``: quarter | fy | cy."""
        if not self.totals[basis]:
            raise ValueError(
                f"no {basis} totals were kept: runs over {FULL_TABLES_UP_TO:,} draws keep fiscal and "
                "calendar years of the headline series only"
            )
        frames = []
        for name in series or self.totals[basis]:
            arr = self.totals[basis][name]
            scale = 1.0 if SERIES[name][0] in ("count_mn", "RMB_per_USD", "ratio") else 1000.0
            unit = {"count_mn": "mn orders", "RMB_per_USD": "RMB per US$", "ratio": "ratio"}.get(SERIES[name][0], "RMB bn")
            # one period at a time: a contiguous float64 copy of one column, partitioned in
            # place (3x faster than the whole table along axis 0, a column's memory at a time)
            qs = np.empty((len(QUANTILES), arr.shape[1]))
            mean = np.empty(arr.shape[1])
            with np.errstate(all="ignore"):
                for j in range(arr.shape[1]):
                    col = np.array(arr[:, j], dtype=float)
                    mean[j] = col.mean()
                    qs[:, j] = np.quantile(col, QUANTILES, overwrite_input=True)
                qs, mean = qs / scale, mean / scale
            df = pd.DataFrame({f"P{int(q * 100)}": qs[i] for i, q in enumerate(QUANTILES)}, index=self.periods[basis])
            df["mean"] = mean
            df.insert(0, "unit", unit)
            df.insert(0, "series", name)
            frames.append(df.rename_axis("period").reset_index())
        return pd.concat(frames).set_index(["series", "period"])

    def available_bases(self) -> list[str]:
        return [b for b in ("quarter", "fy", "cy") if self.totals[b]]

    def convergence(self, points: int = 20) -> pd.DataFrame:
        """Each claim's estimate and interval after growing numbers of draws."""
        n = self.draws
        size = self.design.replicate_size if self.design.method != "mc" else 1
        marks = sorted({max(size * 2, int(n * k / points)) for k in range(1, points + 1)} | {n})
        marks = [m for m in marks if m <= n]
        rows = []
        for c in self.claims:
            for m in marks:
                est, lo, hi, used = self.probability(c.id, upto=m)
                rows.append({"claim": c.id, "draws": m, "probability": est, "ci_low": lo, "ci_high": hi})
        return pd.DataFrame(rows)


def input_files(a: Assumptions) -> list[Path]:
    """Every file a run's numbers can depend on: the folder's YAML files, the history CSVs
    and each scenario file in the chain (which may live outside the folder)."""
    files = sorted(a.directory.glob("*.yaml")) + sorted(a.directory.glob("*.yml"))
    files += sorted((a.directory / "history").glob("*.csv"))
    return files + [p for p in a.scenario.paths if p not in files]


def inputs_hash(a: Assumptions) -> str:
    """SHA-256 over the names and bytes of :func:`input_files`."""
    h = hashlib.sha256()
    for path in input_files(a):
        name = path.relative_to(a.directory) if path.is_relative_to(a.directory) else path.resolve()
        h.update(str(name).encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
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
    """Peak bytes a run of ``draws`` is expected to hold: the per-draw results it keeps (inputs,
    claim metrics and outcomes, series totals), counted twice over as a margin for the
    output tables (which work one column at a time) and the chunks in flight, plus one chunk
    of the model per worker. Sampling builds nothing for the whole run."""
    n_inputs = len(a.uncertain_keys)
    n_claims = len(a.claims) if claims is None else claims
    years = 2 * (a.horizon.fiscal_year - 2024 + 2)  # fiscal and calendar years kept
    compact = draws > FULL_TABLES_UP_TO
    if compact:
        kept = n_inputs * 4 + n_claims * (4 + 2) + len(HEADLINE_SERIES) * years * 4
    else:
        quarters = 4 * (a.horizon.fiscal_year - 2024 + 1)
        kept = n_inputs * 8 + n_claims * 16 + len(SERIES) * (quarters + years) * 8
    chunk = min(draws, int(a.settings.get("chunk_size", 50_000))) * len(SERIES) * 64 * 8
    return int(draws * 2 * kept + chunk + 300e6)


def check_memory(a: Assumptions, draws: int, max_gb: float | None = None) -> None:
    """Refuse, before any work, a run expected to need more memory than the cap: ``max_gb``
    when given, else half this machine's RAM."""
    need = estimate_memory(a, draws)
    ram = physical_memory()
    cap = max_gb * 1e9 if max_gb is not None else (ram / 2 if ram else None)
    if cap is not None and need > cap:
        from .errors import InputError

        how = f"the cap you set ({max_gb:g} GB)" if max_gb is not None else f"half this machine's RAM ({cap / 1e9:.1f} GB)"
        raise InputError.single("--draws", "draws", f"{draws:,} draws need about {need / 1e9:.1f} GB, more than {how}; "
                                "use fewer draws or raise the cap with --max-memory GB")


def _progress(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="draw", unit_scale=True, file=sys.stderr, mininterval=0.5, leave=False)


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
) -> Results:
    """Run the model over ``draws`` input draws; defaults come from ``simulation.yaml``."""
    a = assumptions
    s = a.settings
    draws = int(draws or s["draws"])
    seed = int(s["seed"] if seed is None else seed)
    method = method or s["method"]
    chunk_size = int(chunk_size or s.get("chunk_size", 25_000))
    jobs = os.cpu_count() or 1 if jobs in (None, 0) else int(jobs)
    started = time.time()
    design = make_design(a, draws, seed, method, nearest_correlation)
    engine = prepare(a)  # the engine's inputs, built once for every chunk (and pickled once to spawned workers)
    claims = list(a.claims)
    check_claims(claims, run(engine), a.claims_label)
    if keep is None:
        keep = SERIES if draws <= FULL_TABLES_UP_TO else HEADLINE_SERIES
    keep = tuple(dict.fromkeys(keep))
    claim_series = set()
    for c in claims:
        claim_series |= series_in(c.tree)
    compact = draws > FULL_TABLES_UP_TO
    _STATE.update(engine=engine, design=design, claims=claims, keep=keep, claim_series=claim_series, compact=compact)
    bounds = [(i, min(i + chunk_size, draws)) for i in range(0, draws, chunk_size)]
    show = (sys.stderr.isatty() if progress is None else progress) and draws >= 20_000
    bar = _progress(draws, show)
    sink = _Sink(draws, {"inputs": list(design.dists), "metric": [c.id for c in claims], "holds": [c.id for c in claims]})
    try:
        if jobs > 1 and len(bounds) > 1:
            method_name = start_method or ("fork" if "fork" in mp.get_all_start_methods() else "spawn")
            ctx = mp.get_context(method_name)
            # fork: the workers inherit _STATE; spawn: each worker gets it pickled, once
            init: dict[str, Any] = {} if method_name == "fork" else {"initializer": _init_worker, "initargs": (dict(_STATE),)}
            workers = min(jobs, len(bounds))
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, **init) as pool:
                # at most two chunks per worker in flight, so finished chunks waiting to be
                # stored never pile up in memory
                pending: deque = deque()
                todo = iter(bounds)
                for lo, hi in todo:
                    pending.append((lo, hi, pool.submit(_chunk, lo, hi)))
                    if len(pending) >= 2 * workers:
                        break
                while pending:
                    lo, hi, future = pending.popleft()
                    sink.put(lo, hi, future.result())
                    nxt = next(todo, None)
                    if nxt is not None:
                        pending.append((*nxt, pool.submit(_chunk, *nxt)))
                    if bar:
                        bar.update(hi - lo)
        else:
            for lo, hi in bounds:
                sink.put(lo, hi, _chunk(lo, hi))
                if bar:
                    bar.update(hi - lo)
    finally:
        if bar:
            bar.close()
        _STATE.clear()
    inputs, metric, holds = (sink.frame(kind) for kind in _Sink.GROUPS)
    totals: dict[str, dict[str, np.ndarray]] = {"quarter": {}, "fy": {}, "cy": {}}
    for (kind, name), arr in sink.arrays.items():
        if kind in totals:
            totals[kind][name] = arr
    tl = Timeline.between("FY2024Q1", a.horizon)
    periods = {"quarter": tl.labels, "fy": [p.label for p in tl.year_periods("fy")], "cy": [p.label for p in tl.year_periods("cy")]}
    manifest = {
        "pivotmodel_version": __version__, "scenario": a.scenario.name, "scenario_chain": list(a.scenario.chain),
        "inputs_sha256": inputs_hash(a), "seed": seed, "method": method, "draws": draws,
        "uncertain_inputs": len(design.dists), "correlated_inputs": list(design.correlation.keys) if design.correlation else [],
        "correlation_adjusted_to_nearest": bool(design.correlation and design.correlation.adjusted),
        "last_reported_quarter": a.history.last_quarter.label, "horizon": a.horizon.label,
        "chunk_size": chunk_size, "jobs": jobs,
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": round(time.time() - started, 2),
    }
    return Results(a, design, claims, inputs, metric, holds, totals, periods, (a.history.last_quarter + 1).label, manifest)


def manifest_json(results: Results, deterministic: bool = False) -> str:
    """The run manifest as JSON; ``deterministic`` drops time and machine fields."""
    m = dict(results.manifest)
    if deterministic:
        for k in ("started_utc", "seconds", "jobs", "chunk_size"):
            m.pop(k, None)
    return json.dumps(m, indent=2, sort_keys=True)

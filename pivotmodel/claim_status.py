"""What decides each claim: one status per claim, with its reason.

* ``reported``: every quarter the test reads is reported history (settled by history).
* ``on estimates``: a quarter the test reads, explicitly or through ``yoy`` (the year
  before), ``all``/``any`` (each quarter of the range) or ``first_fy``/``first_cy`` (every
  year of the timeline), was not reported in RMB and holds a sourced estimate: a seed
  estimate, or a past figure that moves when an uncertain input moves (e.g. external cloud
  revenue = segment revenue - estimated AI and internal revenue).
* ``decided by input KEY``: the answer is, within a tolerance, a function of one input:
  the metric's |Spearman rank correlation| with it is at least ``status_rank_correlation``,
  or a cut on it separates the draws where the claim holds from those where it fails (the
  Kolmogorov-Smirnov distance between the two is at least ``status_separation``); or the
  threshold lies outside (or on the bound of) the range of the metric the inputs allow
  (KEY: the input that swings it most). Thresholds in ``simulation.yaml``.
* ``decided by construction``: a mechanism settles it: cloud capacity binds (utilisation at
  least 99.9%, a backlog, or lost demand; whichever of those series the model has) in at
  least ``status_binding_share`` of the draws, on average over the projected quarters the
  test reads, for a test on a cloud series. For a test on ``cloud.revenue`` the probability
  on demand (``cloud.demand`` in place of served revenue, group revenue raised by the
  same gap) is shown beside it.
* ``model``: none of these; the model answers it.

One status a claim, in this order of precedence: not evaluable, reported, on estimates,
decided by input, decided by construction, model; the reason names what else was found.
:func:`claim_statuses` needs no draws (what ``validate`` shows: reported, on estimates,
the range test); :func:`run_statuses` adds what the run's kept draws tell.

The range is found on the engine: every uncertain input (and seed estimate) one at a time
at each end of its support, then two corners with every input at the end that moved the
metric up (or down); the lowest and highest metric seen bound what the inputs allow (exact
for a metric monotone in each input, never narrower than the values actually reachable).
"On the bound" means within half a percent of that range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .assumptions import Assumptions
from .claims import Claim, evaluate
from .history import GAP_ESTIMATED_SERIES
from .model import Projection, base_values, prepare, run
from .periods import Period, Quarter, parse_period
from .schema import SERIES, seed_key

__all__ = ["ClaimStatus", "claim_statuses", "run_statuses", "metric_range", "claim_reads", "STATUS_DEFAULTS"]

MODEL, INPUT, CONSTRUCTION = "model", "decided by input", "decided by construction"
REPORTED, ESTIMATES, NOT_EVALUABLE = "reported", "on estimates", "not evaluable"
# simulation.yaml settings -> default (the loader checks their ranges: schema.STATUS_RANGES)
STATUS_DEFAULTS = {
    "status_rank_correlation": 0.9,
    "status_separation": 0.95,
    "status_binding_share": 0.5,
    "status_demand_shift": 0.02,
}
# what says that cloud capacity binds in a quarter, by series (whichever the model has)
BINDING = {
    "cloud.utilisation": lambda x: x >= 0.999,
    "cloud.backlog": lambda x: x > 0,
    "cloud.lost_demand": lambda x: x > 0,
}
MECHANISM_PREFIX = "cloud."  # the block whose series the binding capacity decides
# why capacity binds after the capex plan: the funding rule cut the capex the policy wanted
FUNDING, FUNDING_KEY = "cloud.capex_funding_bound", "capex.after_plan.max_capex_to_revenue"
SERVED, DEMAND = "cloud.revenue", "cloud.demand"
DEMAND_DRAWS = 20_000
# kept draws the "decided by input" tests read (the first ones, the same whatever the chunking):
# ranks and KS distances of every input cost O(draws x inputs log draws); 20,000 draws put a
# rank correlation within about +-0.01 and a KS distance within about +-0.01, against thresholds of 0.9 / 0.95
STATUS_DRAWS = 20_000
# Fewest holding and failing draws for the KS test: with m draws on the rarer side, a cut on an
# unrelated input puts them all beyond 95% of the others with chance about 0.05**m (1e-13 at 10).
MIN_SPLIT = 10  # kept draws re-projected for the mechanism when the run kept no quarters


@dataclass(frozen=True)
class ClaimStatus:
    claim: str
    status: str  # MODEL, INPUT, CONSTRUCTION, REPORTED, ESTIMATES or NOT_EVALUABLE
    reason: str = ""
    key: str = ""  # the input, for "decided by input"
    low: float = math.nan  # range of the metric the inputs allow
    high: float = math.nan
    drivers: tuple[str, ...] = ()  # inputs that move the metric most, one at a time
    on_demand: float = math.nan  # probability with cloud demand in place of served revenue
    notes: tuple[str, ...] = field(default=())  # what else was found (below the status in precedence)

    @property
    def label(self) -> str:
        """The status as printed: ``decided by input capex.plan.total``, ``model``..."""
        return f"{INPUT} {self.key}" if self.status == INPUT else self.status

    @property
    def labels(self) -> tuple[str, ...]:
        return (self.label,)

    @property
    def decided(self) -> bool:
        return self.status in (INPUT, CONSTRUCTION)

    @property
    def full_reason(self) -> str:
        return "; ".join([self.reason, *(f"also {n}" for n in self.notes)])

    def message(self, claim: Claim | None = None) -> str:
        return f"{self.label}: {self.full_reason}"


# --- what a test reads ------------------------------------------------------------------------


class _Reads:
    """A projection that records the (series, quarter) cells a claim's evaluation reads;
    a past fiscal year with a reported annual total reads that total, not its quarters."""

    def __init__(self, p: Projection):
        self.p = p
        self.cells: set[tuple[str, Quarter]] = set()
        self.annual: set[tuple[str, Quarter]] = set()  # read through a reported annual total

    def __getattr__(self, name: str) -> Any:
        return getattr(self.p, name)

    def _note(self, name: str, period: Period | str) -> None:
        per = parse_period(period) if isinstance(period, str) else period
        cells = {(name, q) for q in per.quarters()}
        self.cells |= cells
        past_year = per.kind == "fy" and per.last < self.p.first_projected and name != "group.capex"
        if past_year and (name, per.first.fiscal_year) in self.p.annual:
            self.annual |= cells

    def total(self, name: str, period):
        self._note(name, period)
        return self.p.total(name, period)

    def total_usd(self, name: str, period):
        self._note(name, period)
        return self.p.total_usd(name, period)

    def share_draws(self, a: str, b: str, period):
        self._note(a, period)
        self._note(b, period)
        return self.p.share_draws(a, b, period)

    def yoy(self, name: str, period):
        per = parse_period(period) if isinstance(period, str) else period
        self._note(name, per)
        self._note(name, per.shifted_years(-1))
        return self.p.yoy(name, per)


def claim_reads(claim: Claim, p: Projection) -> tuple[set[tuple[str, Quarter]], set[tuple[str, Quarter]]]:
    """(the (series, quarter) cells the claim's test reads, those of them it reads through a
    reported annual total), found by evaluating it on ``p``."""
    rec = _Reads(p)
    evaluate(claim, rec)  # type: ignore[arg-type]  # duck-typed: the evaluator reads totals only
    return rec.cells, rec.annual


@dataclass
class _Context:
    """The engine runs every status needs: the base case, and each uncertain input at each end."""

    a: Assumptions
    e: Any
    keys: list[str]
    specs: dict
    values: dict[str, np.ndarray]
    oat: Projection  # row 0 the base case, rows 1..k each input at its low end, k+1..2k its high end
    estimated: set[tuple[str, Quarter]]
    base: Projection  # the deterministic base case (one draw)

    @classmethod
    def build(cls, a: Assumptions) -> _Context:
        specs = {k: inp for k, inp in a.inputs.items() if inp.uncertain}
        specs.update({seed_key(s, q): inp for (s, q), inp in a.seeds.items() if inp.uncertain})
        keys = sorted(specs)
        k = len(keys)
        values = {key: np.repeat(np.asarray(v, dtype=float), 1 + 2 * k) for key, v in base_values(a).items()}
        for i, key in enumerate(keys):
            values[key][1 + i], values[key][1 + k + i] = _support(specs[key])
        e = prepare(a)
        oat = run(e, values)
        past = e.timeline.position(e.first_projected)
        # a past figure that moves with an input is an estimate, as is every seed estimate
        estimated = {(s, q) for (s, q) in a.seeds if math.isnan(a.history.value(s, q))}
        estimated |= set(a.history.estimated_cells())  # past quarters the history takes from estimates.csv
        for child in getattr(a, "children", ()):  # a declared child's estimated history, and its parent's residual
            for line in child.lines:
                residual = f"{child.parent}.residual_{'revenue' if line == 'revenue' else 'ebita'}"
                for q in getattr(a, "estimates", {}).get(f"{child.id}.{line}", {}):
                    estimated |= {(f"{child.id}.{line}", q), (residual, q)}
        for name, arr in oat.series.items():
            with np.errstate(invalid="ignore"):
                moves = np.flatnonzero((np.abs(arr[:, :past] - arr[:1, :past]) > 0).any(axis=0))
            estimated |= {(name, e.timeline.quarters[j]) for j in moves}
        return cls(a, e, keys, specs, values, oat, estimated, run(e))


def _support(inp) -> tuple[float, float]:
    lo, hi = inp.dist.support
    if not math.isfinite(lo):
        lo = inp.dist.quantile(1e-7)
    if not math.isfinite(hi):
        hi = inp.dist.quantile(1 - 1e-7)
    return lo, hi


def _span(cells) -> str:
    """``cloud.ai_revenue FY2026Q1-FY2026Q3`` for the cells of each series."""
    by: dict[str, list[Quarter]] = {}
    for s, q in cells:
        by.setdefault(s, []).append(q)
    parts = []
    for s in sorted(by):
        qs = sorted(by[s])
        parts.append(f"{s} {qs[0].label}" + (f"-{qs[-1].label}" if len(qs) > 1 else ""))
    return ", ".join(parts)


# --- the range the inputs allow -----------------------------------------------------------------


def _metric(claim: Claim, p) -> np.ndarray:
    return evaluate(claim, p).metric


def metric_range(
    a: Assumptions, claims: list[Claim], ctx: _Context | None = None
) -> dict[str, tuple[float, float, tuple[str, ...]]]:
    """claim id -> (lowest, highest metric the inputs allow, top inputs by one-at-a-time swing)."""
    ctx = ctx or _Context.build(a)
    keys, k, p = ctx.keys, len(ctx.keys), ctx.oat
    # one-at-a-time swings per claim, then every claim's two corners in one engine call
    oat: dict = {}
    corners: dict[str, list] = {key: [] for key in ctx.values}
    for c in claims:
        if c.threshold is None or c.not_evaluable:
            continue
        m = _metric(c, p)
        if not np.isfinite(m).all():
            continue
        low_end, high_end = m[1 : 1 + k], m[1 + k :]
        rises = high_end >= low_end
        oat[c.id] = (m, np.abs(high_end - low_end))
        for key, v in ctx.values.items():
            if key in ctx.specs:
                i = keys.index(key)
                lo, hi = v[1 + i], v[1 + k + i]
                corners[key] += [hi if rises[i] else lo, lo if rises[i] else hi]
            else:
                corners[key] += [float(v[0])] * 2
    out: dict[str, tuple[float, float, tuple[str, ...]]] = {}
    if not oat:
        return out
    pc = run(ctx.e, {key: np.array(v) for key, v in corners.items()})
    for j, c in enumerate(c for c in claims if c.id in oat):
        m, swing = oat[c.id]
        mc = _metric(c, pc)[2 * j : 2 * j + 2]
        seen = np.concatenate([m, mc])
        top = tuple(keys[i] for i in np.argsort(-swing, kind="stable")[:3] if swing[i] > 0)
        out[c.id] = (float(np.nanmin(seen)), float(np.nanmax(seen)), top)
    return out


# --- statuses without draws ---------------------------------------------------------------------

ORDER = (NOT_EVALUABLE, REPORTED, ESTIMATES, INPUT, CONSTRUCTION)  # precedence; MODEL when none is found
Finding = tuple[str, str, str]  # (status, input key or "", reason)


def _status_of(c: Claim, found: list[Finding], rng: tuple, on_demand: float = math.nan) -> ClaimStatus:
    """The finding first in precedence is the status; the others are noted in its reason."""
    lo, hi, drivers = rng
    if not found:
        return ClaimStatus(
            c.id, MODEL, "no input or mechanism decides it, and it reads no estimate", "", lo, hi, drivers, on_demand
        )
    found = sorted(found, key=lambda f: ORDER.index(f[0]))
    status, key, reason = found[0]
    notes = tuple(f"{s}{' ' + k if k else ''} ({r})" for s, k, r in found[1:] if (s, k) != (status, key))
    return ClaimStatus(c.id, status, reason, key, lo, hi, drivers, on_demand, notes)


def _static_findings(c: Claim, ctx: _Context, ranges: dict) -> list[Finding]:
    if c.not_evaluable:
        return [(NOT_EVALUABLE, "", c.not_evaluable)]
    if np.isnan(evaluate(c, ctx.base).holds).all():  # a gap in reported history: the same in every draw
        return [(NOT_EVALUABLE, "", "the test needs a figure Alibaba did not report")]
    found: list[Finding] = []
    cells, annual = claim_reads(c, ctx.base)
    estimated = sorted((cells - annual) & ctx.estimated)
    if _settled(c, ctx):
        quarters = sorted({q for _, q in cells})
        found.append(
            (
                REPORTED,
                "",
                f"reads only reported quarters ({quarters[0].label}-{quarters[-1].label}): settled by history",
            )
        )
    if estimated:
        gap = any(s in GAP_ESTIMATED_SERIES for s, _ in estimated)
        what = "Alibaba did not report in RMB" + (" or whose release figure is not in the history" if gap else "")
        found.append((ESTIMATES, "", f"reads quarters {what}, filled by sourced estimates ({_span(estimated)})"))
    lo, hi, drivers = ranges.get(c.id, (math.nan, math.nan, ()))
    if c.threshold is not None and math.isfinite(lo) and hi - lo > 1e-9 * max(1.0, abs(c.threshold)):
        tol = 0.005 * (hi - lo)  # "on the bound": within half a percent of the range
        if c.threshold <= lo + tol or c.threshold >= hi - tol:
            found.append(
                (
                    INPUT,
                    drivers[0] if drivers else "",
                    f"threshold {c.threshold:g} lies outside or on the bound of [{lo:.4g}, {hi:.4g}], the range "
                    f"of its metric the inputs allow (largest swing: {', '.join(drivers) or 'none'})",
                )
            )
    return found


def claim_statuses(a: Assumptions, claims: list[Claim], ctx: _Context | None = None) -> dict[str, ClaimStatus]:
    """Each claim's status from the engine alone (no draws): not evaluable, reported, on
    estimates, decided by input (the threshold outside the range the inputs allow) or model."""
    ctx = ctx or _Context.build(a)
    ranges = metric_range(a, claims, ctx)
    return {
        c.id: _status_of(c, _static_findings(c, ctx, ranges), ranges.get(c.id, (math.nan, math.nan, ())))
        for c in claims
    }


# --- statuses from a run's kept draws -------------------------------------------------------------


def _settings(a: Assumptions) -> dict[str, float]:
    return {k: float(a.settings.get(k, v)) for k, v in STATUS_DEFAULTS.items()}


def _dependence(r, claims: list[Claim], rho_min: float, ks_min: float) -> dict[str, tuple[Finding | None, str]]:
    """claim id -> (a "decided by input" finding or None, the strongest one-input link in words),
    from the run's kept draws: Spearman rank correlation of the metric with each input, and
    the KS distance between the input's draws where the claim holds and where it fails (on the
    first :data:`STATUS_DRAWS` kept draws)."""
    from .separation import average_ranks, ks_matrix

    rows = min(len(r.inputs), STATUS_DRAWS)
    x = r.inputs.to_numpy(dtype=float)[:rows]
    out: dict[str, tuple[Finding | None, str]] = {}
    if x.shape[1] == 0 or len(x) < 3:
        return out
    keys = list(r.inputs.columns)
    order = np.argsort(x, axis=0, kind="stable")  # once, for the ranks and the KS distances
    zx = _centred(average_ranks(x, order))
    norms = np.einsum("ij,ij->j", zx, zx)
    n = f"{len(x):,} draws"
    links: dict[str, list[str]] = {c.id: [] for c in claims}
    found: dict[str, Finding | None] = dict.fromkeys(links)
    for c in claims:
        m = r.claim_metric[c.id].to_numpy(dtype=float)[:rows]
        ok = ~np.isnan(m)
        if c.threshold is not None and ok.sum() > 2 and np.nanmin(m) != np.nanmax(m):
            zs = zx if ok.all() else _centred(average_ranks(x[ok]))
            rho = _spearman(zs, norms if ok.all() else np.einsum("ij,ij->j", zs, zs), _centred(average_ranks(m[ok])))
            j = int(np.nanargmax(np.abs(rho)))
            links[c.id].append(f"rank correlation {rho[j]:+.3f} with {keys[j]}")
            if abs(rho[j]) >= rho_min:
                found[c.id] = (
                    INPUT,
                    keys[j],
                    f"its metric moves with {keys[j]} alone (rank correlation {rho[j]:+.3f} "
                    f"over {n}; threshold {rho_min:g})",
                )
    # the KS test for the rest, when each side has MIN_SPLIT draws: a few holding (or failing)
    # draws can sit at one end of some input by chance
    outcome = r.claim_holds[[c.id for c in claims]].to_numpy(dtype=float)[:rows]
    hold, fail = outcome == 1.0, outcome == 0.0
    rest = [
        i for i, c in enumerate(claims) if found[c.id] is None and min(hold[:, i].sum(), fail[:, i].sum()) >= MIN_SPLIT
    ]
    ks = ks_matrix(x, hold[:, rest], fail[:, rest], order=order)[0]
    for col, i in enumerate(rest):
        cid, j = claims[i].id, int(np.argmax(ks[:, col]))
        links[cid].append(f"KS {ks[j, col]:.3f} on {keys[j]}")
        if ks[j, col] >= ks_min:
            found[cid] = (
                INPUT,
                keys[j],
                f"a cut on {keys[j]} separates the draws where it holds from those where it "
                f"fails (KS distance {ks[j, col]:.3f} over {n}; threshold {ks_min:g})",
            )
    return {cid: (found[cid], "; ".join(links[cid])) for cid in links}


def _centred(ranks: np.ndarray) -> np.ndarray:
    return ranks - ranks.mean(axis=0)


def _spearman(zx: np.ndarray, norms: np.ndarray, zm: np.ndarray) -> np.ndarray:
    """Correlation of centred metric ranks with each column of centred input ranks (their
    squared norms ``norms``; NaN for a constant input)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return (zm @ zx) / np.sqrt(norms * (zm @ zm))


def _kept_projection(r, ctx: _Context, names: set[str]) -> Projection:
    """The named series of the run's kept draws: from its quarterly totals when it kept them,
    else the first :data:`DEMAND_DRAWS` kept draws projected again from their inputs."""
    q = r.totals.get("quarter", {})
    if all(n in q for n in names):
        return Projection(
            ctx.e.timeline, ctx.e.first_projected, {n: q[n] for n in names}, ctx.e.annual, len(next(iter(q.values())))
        )
    rows = min(len(r.inputs), DEMAND_DRAWS)
    values = {k: np.repeat(v[:1], rows) for k, v in ctx.values.items()}
    for key in r.inputs.columns:
        values[key] = r.inputs[key].to_numpy(dtype=float)[:rows]
    return run(ctx.e, values, keep=names)


def _revenue_stream(name: str) -> bool:
    return (
        name.startswith(MECHANISM_PREFIX)
        and name.endswith("revenue")
        and name not in (DEMAND, "cloud.capacity_revenue")
    )


def _on_demand(p: Projection) -> Projection:
    """``p`` with every cloud revenue stream scaled by demand / served revenue in the projected
    quarters (the supply limit cuts the streams pro rata) and group revenue raised by the gap."""
    series = dict(p.series)
    served = series[SERVED]
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(np.isfinite(series[DEMAND]) & (served > 0), series[DEMAND] / served, 1.0)
    for name in [n for n in series if _revenue_stream(n)]:
        series[name] = series[name] * scale
    if "group.revenue" in series:
        series["group.revenue"] = series["group.revenue"] + (series[SERVED] - served)
    return replace(p, series=series, _totals={})


def _probability(holds: np.ndarray) -> float:
    """Share of the evaluable draws where the claim holds (NaN when none is evaluable)."""
    ok = ~np.isnan(holds)
    return float(holds[ok].mean()) if ok.any() else math.nan


def _construction(
    r, claims: list[Claim], ctx: _Context, cells: dict, s: dict[str, float]
) -> dict[str, tuple[Finding | None, float]]:
    """claim id -> (a "decided by construction" finding or None, probability on demand; NaN
    where the claim reads a cloud series other than revenue, which demand cannot stand in for)."""
    signals = [n for n in BINDING if n in SERIES]
    out: dict[str, tuple[Finding | None, float]] = {}
    if not signals:
        return out
    names = {n for cs in cells.values() for n, _ in cs} | set(signals) | {"group.fx_usd_rmb"}
    names |= {FUNDING} & set(SERIES)
    if DEMAND in SERIES:
        names |= {DEMAND, SERVED} | {n for n in SERIES if _revenue_stream(n)}
    kp = _kept_projection(r, ctx, {n for n in names if n in SERIES})
    with np.errstate(invalid="ignore"):
        binding = np.logical_or.reduce([BINDING[n](kp[n]) for n in signals]).mean(axis=0)
    funded = kp[FUNDING].mean(axis=0) if FUNDING in kp.series else None
    plan_last = Quarter.from_index(int(ctx.values["capex.plan.last_quarter"][0]))
    first, tl = ctx.e.first_projected, ctx.e.timeline
    demand_p = _on_demand(kp) if DEMAND in SERIES else None
    what = ", ".join(
        {"cloud.utilisation": "utilisation >= 99.9%", "cloud.backlog": "a backlog", "cloud.lost_demand": "lost demand"}[
            n
        ]
        for n in signals
    )
    for c in claims:
        read = {n for n, q in cells.get(c.id, ()) if n.startswith(MECHANISM_PREFIX) and q >= first}
        quarters = sorted(
            {q for n, q in cells.get(c.id, ()) if n in read and n not in BINDING and n != DEMAND and q >= first}
        )
        if not quarters:
            continue
        share = float(binding[[tl.position(q) for q in quarters]].mean())
        if share < s["status_binding_share"]:
            continue
        where = (
            f"served cloud revenue is capped by capacity: it binds ({what}) in {share:.0%} of draws over the "
            f"projected quarters read ({quarters[0].label}-{quarters[-1].label}; threshold "
            f"{s['status_binding_share']:g})"
        )
        where += _funding_reason(funded, [tl.position(q) for q in quarters if q > plan_last])
        p_demand = math.nan
        if demand_p is not None and all(_revenue_stream(n) for n in read):
            p_served, p_demand = _probability(evaluate(c, kp).holds), _probability(evaluate(c, demand_p).holds)
            if abs(p_demand - p_served) < s["status_demand_shift"]:
                out[c.id] = (None, p_demand)  # the limit binds, but the answer is the same on demand
                continue
            where += (
                f"; on demand P = {p_demand:.3f} against {p_served:.3f} served (shift threshold "
                f"{s['status_demand_shift']:g})"
            )
        out[c.id] = ((CONSTRUCTION, "", where), p_demand)
    return out


def _funding_reason(funded: np.ndarray | None, after: list[int]) -> str:
    """Why capacity binds in those quarters: the share of draw-quarters where the capex funding
    rule cut the capex the policy wanted, over the columns ``after`` the capex plan (the rule
    governs only those; none read: the plan's capex decides capacity there)."""
    if funded is None:
        return ""
    if not after:
        return "; every quarter read is inside the capex plan (capex.plan.total sets the capacity there)"
    share = float(funded[after].mean())
    return (
        f"; the capex funding rule ({FUNDING_KEY}) cut the capex the target-utilisation policy wanted in "
        f"{share:.0%} of draws over the {len(after)} quarters read after the capex plan"
    )


def _settled(c: Claim, ctx: _Context) -> bool:
    """True when history alone settles the claim (no draw can tell more)."""
    cells, annual = claim_reads(c, ctx.base)
    return bool(cells) and all(q < ctx.e.first_projected for _, q in cells) and not (cells - annual) & ctx.estimated


def run_statuses(r) -> dict[str, ClaimStatus]:
    """Each claim's status after a run (:class:`pivotmodel.simulate.Results`): the engine's
    findings (:func:`claim_statuses`) with what the kept draws tell: one input that decides
    it, and the capacity mechanism. Computed once a run."""
    cached = r.__dict__.get("_claim_statuses")
    if cached is not None:
        return cached
    a, claims = r.assumptions, list(r.claims)
    ctx = _Context.build(a)
    ranges = metric_range(a, claims, ctx)
    s = _settings(a)
    live = [c for c in claims if not c.not_evaluable]
    cells = {c.id: claim_reads(c, ctx.base)[0] for c in live}
    dep = _dependence(
        r, [c for c in live if not _settled(c, ctx)], s["status_rank_correlation"], s["status_separation"]
    )
    built = _construction(r, live, ctx, cells, s)
    out = {}
    for c in claims:
        found = _static_findings(c, ctx, ranges)
        finding, links = dep.get(c.id, (None, ""))
        mech, p_demand = built.get(c.id, (None, math.nan))
        found += [f for f in (finding, mech) if f is not None]
        st = _status_of(c, found, ranges.get(c.id, (math.nan, math.nan, ())), p_demand)
        if st.status == MODEL and links:
            st = replace(st, reason=f"no single input or mechanism decides it ({links})")
        out[c.id] = st
    r.__dict__["_claim_statuses"] = out
    return out

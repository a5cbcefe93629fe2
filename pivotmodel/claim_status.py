"""Whether a claim's answer comes from the model, or is fixed before the model runs.

Three labels, shown in the claims table and by ``pivotmodel validate``:

* ``decided by inputs``: the claim's threshold lies outside, or on the bound of, the range
  of the metric that the inputs allow. Then 0% or 100% describes how an input was written
  (e.g. a plan total whose lowest value is the claimed figure), not the business. The range
  is found on the engine: every uncertain input (and seed estimate) one at a time at each
  end of its support, then two corners with every input at the end that moved the metric
  up (or down); the lowest and highest metric seen bound what the inputs allow (exact for a
  metric monotone in each input, and never narrower than the values actually reachable).
  "On the bound" means within half a percent of that range.
* ``reported``: the metric is the same whatever the inputs (a test on reported history).
* ``on estimates``: the test reads a past quarter Alibaba did not report in RMB, filled by a
  sourced estimate (a seed estimate with basis ``estimate``).

Only claims with a threshold (``metric > 0.3``) are checked for the first two labels.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass

import numpy as np

from .assumptions import Assumptions
from .claims import ALIASES, Claim, evaluate, series_in
from .model import base_values, prepare, run
from .periods import PeriodError, parse_period
from .schema import DERIVED_FROM_SEEDS, seed_key

__all__ = ["ClaimStatus", "claim_statuses", "metric_range"]

DECIDED, REPORTED, ESTIMATES = "decided by inputs", "reported", "on estimates"


@dataclass(frozen=True)
class ClaimStatus:
    claim: str
    labels: tuple[str, ...]
    low: float = math.nan  # range of the metric the inputs allow
    high: float = math.nan
    drivers: tuple[str, ...] = ()  # inputs that move the metric most, one at a time

    @property
    def decided(self) -> bool:
        return DECIDED in self.labels

    def message(self, claim: Claim) -> str:
        parts = []
        if self.decided:
            parts.append(
                f"threshold {claim.threshold:g} lies outside or on the bound of [{self.low:.4g}, {self.high:.4g}], the "
                f"range of its metric that the inputs allow: the answer is decided by inputs"
                + (f" ({', '.join(self.drivers)})" if self.drivers else "")
                + "; widen the input range or check the reading")
        if ESTIMATES in self.labels:
            parts.append("reads past quarters Alibaba did not report, filled by sourced estimates: on estimates")
        return "; ".join(parts)


def _support(inp) -> tuple[float, float]:
    lo, hi = inp.dist.support
    if not math.isfinite(lo):
        lo = inp.dist.quantile(1e-7)
    if not math.isfinite(hi):
        hi = inp.dist.quantile(1 - 1e-7)
    return lo, hi


def _metric(claim: Claim, p) -> np.ndarray:
    return evaluate(claim, p).metric


def metric_range(a: Assumptions, claims: list[Claim]) -> dict[str, tuple[float, float, tuple[str, ...]]]:
    """claim id -> (lowest, highest metric the inputs allow, top inputs by one-at-a-time swing)."""
    base = base_values(a)
    specs = {k: inp for k, inp in a.inputs.items() if inp.uncertain}
    specs.update({seed_key(s, q): inp for (s, q), inp in a.seeds.items() if inp.uncertain})
    keys = sorted(specs)
    k = len(keys)
    rows = 1 + 2 * k
    values = {key: np.repeat(np.asarray(v, dtype=float), rows) for key, v in base.items()}
    for i, key in enumerate(keys):
        lo, hi = _support(specs[key])
        values[key][1 + i] = lo
        values[key][1 + k + i] = hi
    e = prepare(a)  # once: both engine calls below share it
    p = run(e, values)
    # one-at-a-time swings per claim, then every claim's two corners in one engine call
    oat: dict = {}
    corners: dict[str, list] = {key: [] for key in base}
    for c in claims:
        if c.threshold is None:
            continue
        m = _metric(c, p)
        if not np.isfinite(m).all():
            continue
        low_end, high_end = m[1 : 1 + k], m[1 + k :]
        rises = high_end >= low_end
        oat[c.id] = (m, np.abs(high_end - low_end))
        for key, v in base.items():
            if key in specs:
                i = keys.index(key)
                lo, hi = values[key][1 + i], values[key][1 + k + i]
                corners[key] += [hi if rises[i] else lo, lo if rises[i] else hi]
            else:
                corners[key] += [float(np.asarray(v).reshape(-1)[0])] * 2
    out: dict[str, tuple[float, float, tuple[str, ...]]] = {}
    if not oat:
        return out
    pc = run(e, {key: np.array(v) for key, v in corners.items()})
    for j, c in enumerate(c for c in claims if c.id in oat):
        m, swing = oat[c.id]
        mc = _metric(c, pc)[2 * j : 2 * j + 2]
        seen = np.concatenate([m, mc])
        top = tuple(keys[i] for i in np.argsort(-swing)[:3] if swing[i] > 0)
        out[c.id] = (float(np.nanmin(seen)), float(np.nanmax(seen)), top)
    return out


def _reads_estimates(a: Assumptions, claim: Claim) -> bool:
    """True when the test reads, for a quarter Alibaba did not report in RMB, a series that a
    seed estimate fills there, or a declared child's estimated history (or its parent's
    residual) in a quarter it covers."""
    seeded = {(s, q) for (s, q) in a.seeds if math.isnan(a.history.value(s, q))}
    for child in getattr(a, "children", ()):
        for line in child.lines:
            for q in getattr(a, "estimates", {}).get(f"{child.id}.{line}", {}):
                residual = f"{child.parent}.residual_{'revenue' if line == 'revenue' else 'ebita'}"
                seeded |= {(f"{child.id}.{line}", q), (residual, q)}
    if not seeded:
        return False
    series = {ALIASES.get(s, s) for s in series_in(claim.tree)}
    periods = []
    for node in ast.walk(claim.tree):
        label = node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else (
            node.id if isinstance(node, ast.Name) else None)
        if label:
            try:
                periods.append(parse_period(label))
            except PeriodError:
                continue
    quarters = {q for p in periods for q in p.quarters()}
    return any(q in quarters and (s in series or any(s in DERIVED_FROM_SEEDS[d] for d in series & set(DERIVED_FROM_SEEDS)))
               for s, q in seeded)


def claim_statuses(a: Assumptions, claims: list[Claim]) -> dict[str, ClaimStatus]:
    ranges = metric_range(a, claims)
    out = {}
    for c in claims:
        labels = []
        lo = hi = math.nan
        drivers: tuple[str, ...] = ()
        if c.id in ranges and c.threshold is not None:
            lo, hi, drivers = ranges[c.id]
            # "on the bound": within half a percent of the range the inputs allow
            tol = max(1e-9 * max(1.0, abs(c.threshold)), 0.005 * (hi - lo))
            if hi - lo <= 1e-9 * max(1.0, abs(c.threshold)):
                labels.append(REPORTED)
            elif c.threshold <= lo + tol or c.threshold >= hi - tol:
                labels.append(DECIDED)
        if _reads_estimates(a, c):
            labels.append(ESTIMATES)
        out[c.id] = ClaimStatus(c.id, tuple(labels), lo, hi, drivers)
    return out

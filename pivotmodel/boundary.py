"""The boundary report: does the first projected quarter continue the last reported one?

For each segment (and the group) it compares, in the deterministic base case, the last
reported quarter with the first projected one: YoY growth (each on its quarter a year
earlier), QoQ growth and adjusted-EBITA margin. The first projected YoY is compared with the
last reported YoY; QoQ with the QoQ that would keep YoY growth at that exit rate (so that
seasonality is not read as a step; n/a where the year-earlier quarter is not reported on
the segment's basis); the margin with the nearer of the exit margin of the last two
reported quarters (ratio of sums, as the anchored starts read it) and the margin of the same
quarter a year earlier (seasonality: China E-commerce's December quarter). A difference beyond the tolerances in ``simulation.yaml``
(``boundary_yoy``, ``boundary_qoq``, ``boundary_margin``) is a warning naming the inputs
that set the segment's first projected quarter, unless one of those inputs' notes declares
the step (the words "known step", e.g. a one-off the analyst expects).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .assumptions import Assumptions
from .model import Projection, project
from .schema import SEGMENTS

__all__ = ["BoundaryRow", "boundary_report", "format_boundary", "boundary_warnings", "DEFAULT_TOLERANCE"]

DEFAULT_TOLERANCE = {"yoy": 0.05, "qoq": 0.05, "margin": 0.03}

# inputs that set each segment's first projected quarter, by metric (the registry's segments)
_GROWTH = {s.id: s.growth_inputs for s in SEGMENTS}
_MARGIN = {s.id: s.margin_inputs for s in SEGMENTS}


@dataclass(frozen=True)
class BoundaryRow:
    segment: str
    metric: str  # yoy | qoq | margin
    last: float  # last reported quarter
    first: float  # first projected quarter
    reference: float  # what ``first`` is compared with
    step: float  # first - reference
    tolerance: float
    inputs: tuple[str, ...]
    declared: bool

    @property
    def flagged(self) -> bool:
        return self.segment != "group" and math.isfinite(self.step) and abs(self.step) > self.tolerance and not self.declared


def _at(p: Projection, name: str, q) -> float:
    return float(p[name][0, p.timeline.position(q)]) if q >= p.timeline.quarters[0] else math.nan


def boundary_report(a: Assumptions, p: Projection | None = None) -> list[BoundaryRow]:
    p = project(a) if p is None else p
    tol = {k: float(a.settings.get(f"boundary_{k}", v)) for k, v in DEFAULT_TOLERANCE.items()}
    first = p.first_projected
    last = first + (-1)
    rows = []
    for seg in (*_GROWTH, "group"):
        rev = lambda q, s=seg: _at(p, f"{s}.revenue", q)  # noqa: E731
        ebita = lambda q, s=seg: _at(p, f"{s}.adjusted_ebita", q)  # noqa: E731
        growth = lambda q, rev=rev: rev(q) / rev(q + (-4)) - 1.0  # noqa: E731
        qoq = lambda q, rev=rev: rev(q) / rev(q + (-1)) - 1.0  # noqa: E731
        margin = lambda q, rev=rev, ebita=ebita: ebita(q) / rev(q)  # noqa: E731
        for metric, fn, keys in (("yoy", growth, _GROWTH), ("qoq", qoq, _GROWTH), ("margin", margin, _MARGIN)):
            lo, hi = fn(last), fn(first)
            if metric == "yoy":
                ref = lo
            elif metric == "qoq":  # the QoQ that keeps YoY growth at the exit rate (n/a without it)
                ref = rev(first + (-4)) * (1.0 + growth(last)) / rev(last) - 1.0
            else:  # the exit margin as the anchors read it (the last two quarters' ratio of
                # sums) or, for a seasonal segment, the same quarter a year earlier: a step is
                # a distance from both, so the nearer one is the reference
                refs = [(ebita(last) + ebita(last + (-1))) / (rev(last) + rev(last + (-1))), fn(first + (-4))]
                refs = [r for r in refs if math.isfinite(r)] or [math.nan]
                ref = min(refs, key=lambda r: abs(hi - r))
            names = tuple(k for k in keys.get(seg, ()) if k in a.inputs)
            declared = any("known step" in a.inputs[k].note.lower() for k in names)
            rows.append(BoundaryRow(seg, metric, lo, hi, ref, hi - ref, tol[metric], names, declared))
    return rows


def format_boundary(rows: list[BoundaryRow], last: str, first: str) -> list[str]:
    """Lines for ``pivotmodel validate``: a table, then one warning per flagged step."""
    out = [f"boundary {last} (last reported) -> {first} (first projected), base case:",
           f"  {'segment':16s} {'metric':6s} {last:>9s} {first:>9s} {'expected':>9s} {'step':>7s}"]
    for r in rows:
        pct = lambda x: f"{x:9.1%}" if math.isfinite(x) else f"{'n/a':>9s}"  # noqa: E731
        step = f"{r.step * 100:+6.1f}pt" if math.isfinite(r.step) else f"{'n/a':>8s}"
        flag = "  (declared)" if r.declared and abs(r.step) > r.tolerance else ("  <- step" if r.flagged else "")
        out.append(f"  {r.segment:16s} {r.metric:6s} {pct(r.last)} {pct(r.first)} {pct(r.reference)} {step}{flag}")
    out.append("  expected: yoy = the last reported YoY; qoq = the QoQ that keeps YoY at that rate; margin = the "
               "nearer of the last two reported quarters' margin and the same quarter's a year earlier "
               "(n/a: not reported on the segment's basis)")
    return out


def boundary_warnings(rows: list[BoundaryRow]) -> list[str]:
    """One warning per step beyond its tolerance, naming the inputs that set it."""
    return [
        f"boundary: {r.segment} {r.metric} steps to {r.first:.1%} in the first projected quarter against "
        f"{r.reference:.1%} expected ({r.step * 100:+.1f}pt, tolerance {r.tolerance * 100:.1f}pt); inputs responsible: "
        f"{', '.join(r.inputs) or '(none: the segment follows from others)'}; write 'known step' in one's note "
        "if the step is a one-off you expect"
        for r in rows if r.flagged
    ]

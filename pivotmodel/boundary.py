"""The boundary report: does the first projected year continue the last reported one?

In the deterministic base case, for each of the first four projected quarters, and for each
subject (every segment, capex, CMR, quick commerce and the group), it compares:

* YoY growth with the exit YoY (the last reported quarter's, each on its quarter a year
  earlier; where the year-earlier quarter is not reported on the segments' basis, the YoY
  Alibaba printed for the exit quarter, a ``*_yoy_pct`` row of ``reported.csv``: e.g. CMR +1%
  in FY2026Q4, whose RMB level a year earlier is not on the basis);
* QoQ growth with the QoQ that would keep YoY growth at that exit rate (so that seasonality
  is not read as a step; n/a where the year-earlier quarter is not reported on the basis);
* the adjusted-EBITA margin (quick commerce: its EBITA over its revenue) with the nearer of
  the exit margin of the last two reported quarters (ratio of sums, as the anchored starts
  read it) and the margin of the same quarter a year earlier (seasonality).

A difference beyond the tolerances in ``simulation.yaml`` (``boundary_yoy``, ``boundary_qoq``,
``boundary_margin``) is a warning naming the inputs that set that subject's path, unless it
is explained: a one-off declared once in ``simulation.yaml``'s ``boundary_one_offs`` (the
quarters, the subject, the metric, the reason and its source; e.g. a base effect of a
reported step a year earlier, or a programme such as CMR contra revenue), or an input note
with the words "known step". An explained row prints its reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .assumptions import Assumptions
from .model import Projection, project
from .periods import Quarter, parse_period
from .schema import SEGMENTS

__all__ = [
    "BoundaryRow",
    "Subject",
    "SUBJECTS",
    "boundary_report",
    "format_boundary",
    "boundary_warnings",
    "DEFAULT_TOLERANCE",
    "FIRST_YEAR",
    "one_off_quarters",
]

DEFAULT_TOLERANCE = {"yoy": 0.05, "qoq": 0.05, "margin": 0.03}
FIRST_YEAR = 4  # projected quarters the report covers


@dataclass(frozen=True)
class Subject:
    """What the report follows: a revenue-like series, optionally a profit series for the
    margin, and the inputs that set its growth and its margin."""

    name: str
    series: str
    profit: str | None
    growth_inputs: tuple[str, ...]
    margin_inputs: tuple[str, ...] = ()
    reported_yoy: str = ""  # the reported.csv row (prefix.metric) that prints its YoY in percent


_QC = "china_ecommerce.quick_commerce"
SUBJECTS: tuple[Subject, ...] = (
    *(
        Subject(
            s.id,
            f"{s.id}.revenue",
            f"{s.id}.adjusted_ebita",
            s.growth_inputs,
            s.margin_inputs,
            f"{s.id}.revenue_yoy_pct",
        )
        for s in SEGMENTS
    ),
    Subject("capex", "group.capex", None, ("capex.plan.total", "capex.plan.phasing_tilt", "capex.plan.last_quarter")),
    Subject(
        "cmr",
        "china_ecommerce.cmr",
        None,
        (
            "china_ecommerce.gmv.growth.start",
            "china_ecommerce.take_rate.growth.start",
            "china_ecommerce.regulatory_shock",
        ),
        reported_yoy="china_ecommerce.cmr_yoy_pct",
    ),
    Subject(
        "quick_commerce",
        f"{_QC}_revenue",
        f"{_QC}_ebita",
        (f"{_QC}.orders.growth.start", f"{_QC}.monetisation.start", f"{_QC}.order_value.growth"),
        (f"{_QC}.loss_per_order.start", f"{_QC}.quarters_to_breakeven"),
        "china_ecommerce.quick_commerce_yoy_pct",
    ),
    Subject("group", "group.revenue", "group.adjusted_ebita", (), reported_yoy="group.revenue_yoy_pct"),
)


@dataclass(frozen=True)
class BoundaryRow:
    segment: str  # the subject (a segment, capex, cmr, quick_commerce or group)
    metric: str  # yoy | qoq | margin
    last: float  # last reported quarter
    first: float  # this projected quarter
    reference: float  # what ``first`` is compared with
    step: float  # first - reference
    tolerance: float
    inputs: tuple[str, ...]
    declared: bool  # explained: a declared one-off or a "known step" note
    quarter: str = ""  # the projected quarter
    reason: str = ""  # why the step is explained (declared one-off: reason and source)

    @property
    def beyond(self) -> bool:
        return math.isfinite(self.step) and abs(self.step) > self.tolerance

    @property
    def flagged(self) -> bool:
        return self.segment != "group" and self.beyond and not self.declared


def _at(p: Projection, name: str, q: Quarter) -> float:
    return float(p[name][0, p.timeline.position(q)]) if q >= p.timeline.quarters[0] else math.nan


def one_off_quarters(entry: Mapping[str, Any]) -> tuple[str, ...]:
    """The quarter labels a declared one-off covers (``quarters``: one quarter or a range)."""
    period = parse_period(str(entry["quarters"]))
    return tuple(Quarter.from_index(i).label for i in range(period.first.index, period.last.index + 1))


def _declared(one_offs: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str, str], str]:
    out = {}
    for entry in one_offs:
        for q in one_off_quarters(entry):
            reason = f"declared one-off: {entry['reason']} (source {entry['source']})"
            out[(q, entry["subject"], entry["metric"])] = reason
    return out


def boundary_report(a: Assumptions, p: Projection | None = None, quarters: int = FIRST_YEAR) -> list[BoundaryRow]:
    """Rows for each of the first ``quarters`` projected quarters, subject and metric."""
    p = project(a) if p is None else p
    tol = {k: float(a.settings.get(f"boundary_{k}", v)) for k, v in DEFAULT_TOLERANCE.items()}
    declared = _declared(a.settings.get("boundary_one_offs", ()))
    last = p.first_projected + (-1)
    rows = []
    for subject in SUBJECTS:
        if subject.series not in p.series:
            continue
        for k in range(min(quarters, len(p.timeline.quarters) - p.timeline.position(p.first_projected))):
            rows += _subject_rows(a, p, subject, last, p.first_projected + k, tol, declared)
    return rows


def _subject_rows(
    a: Assumptions,
    p: Projection,
    subject: Subject,
    last: Quarter,
    q: Quarter,
    tol: Mapping[str, float],
    declared: Mapping[tuple[str, str, str], str],
) -> list[BoundaryRow]:
    rev = lambda x: _at(p, subject.series, x)  # noqa: E731
    growth = lambda x: _ratio(rev(x), rev(x + (-4))) - 1.0  # noqa: E731
    qoq = lambda x: _ratio(rev(x), rev(x + (-1))) - 1.0  # noqa: E731
    metrics = [("yoy", growth, subject.growth_inputs), ("qoq", qoq, subject.growth_inputs)]
    if subject.profit is not None and subject.profit in p.series:
        ebita = lambda x: _at(p, subject.profit, x)  # noqa: E731
        metrics.append(("margin", lambda x: _ratio(ebita(x), rev(x)), subject.margin_inputs))
    rows = []
    for metric, fn, keys in metrics:
        lo, hi = fn(last), fn(q)
        if metric == "yoy" and not math.isfinite(lo):
            lo = _printed_yoy(a, subject.reported_yoy, last)
        if metric == "yoy":
            ref = lo
        elif metric == "qoq":  # the QoQ that keeps YoY growth at the exit rate (n/a without it)
            ref = _ratio(rev(q + (-4)) * (1.0 + growth(last)), rev(q + (-1))) - 1.0
        else:  # the exit margin as the anchors read it (the last two quarters' ratio of sums)
            # or the same quarter a year earlier (seasonality): a step is a distance from both
            refs = [_ratio(ebita(last) + ebita(last + (-1)), rev(last) + rev(last + (-1))), fn(q + (-4))]
            refs = [r for r in refs if math.isfinite(r)] or [math.nan]
            ref = min(refs, key=lambda r: abs(hi - r))
        names = tuple(k for k in keys if k in a.inputs)
        reason = declared.get((q.label, subject.name, metric), "")
        if not reason:
            noted = [k for k in names if "known step" in a.inputs[k].note.lower()]
            reason = f"known step in the note of {noted[0]}" if noted else ""
        rows.append(
            BoundaryRow(subject.name, metric, lo, hi, ref, hi - ref, tol[metric], names, bool(reason), q.label, reason)
        )
    return rows


def _printed_yoy(a: Assumptions, key: str, q: Quarter) -> float:
    """The YoY growth Alibaba printed for quarter ``q`` (a ``prefix.metric`` row of reported.csv in
    percent, on a segment that equals the model's), as a ratio; NaN without one."""
    if not key:
        return math.nan
    rel = a.history.segment_relation
    for r in a.history.rows:
        prefix, relation = rel.get(r.segment, ("", ""))
        if r.period == q.label and relation == "equals" and f"{prefix}.{r.metric}" == key:
            return r.value / 100.0
    return math.nan


def _ratio(a: float, b: float) -> float:
    """a / b, NaN where b is 0 (a figure typed as 0 is a warning of its own, not a step)."""
    return a / b if b != 0 else math.nan


def format_boundary(rows: list[BoundaryRow], last: str, first: str) -> list[str]:
    """Lines for ``pivotmodel validate``: a table, then the explained steps with their reasons."""
    quarters = list(dict.fromkeys(r.quarter for r in rows))
    span = f"{quarters[0]}..{quarters[-1]}" if quarters else first
    out = [
        f"boundary {last} (last reported) -> {span} (first projected year), base case:",
        f"  {'subject':16s} {'metric':6s} {'quarter':8s} {last:>9s} {'projected':>9s} {'expected':>9s} {'step':>7s}",
    ]
    explained = []
    for r in rows:
        pct = lambda x: f"{x:9.1%}" if math.isfinite(x) else f"{'n/a':>9s}"  # noqa: E731
        step = f"{r.step * 100:+6.1f}pt" if math.isfinite(r.step) else f"{'n/a':>8s}"
        flag = "  (explained)" if r.declared and r.beyond else ("  <- step" if r.flagged else "")
        if r.declared and r.beyond:
            explained.append(f"  explained: {r.segment} {r.metric} {r.quarter}: {r.reason}")
        values = f"{pct(r.last)} {pct(r.first)} {pct(r.reference)} {step}"
        out.append(f"  {r.segment:16s} {r.metric:6s} {r.quarter:8s} {values}{flag}")
    out.append(
        "  expected: yoy = the last reported YoY; qoq = the QoQ that keeps YoY at that rate; margin = the "
        "nearer of the last two reported quarters' margin and the same quarter's a year earlier "
        "(n/a: not reported on the basis)"
    )
    return out + explained


def boundary_warnings(rows: list[BoundaryRow]) -> list[str]:
    """One warning per unexplained step beyond its tolerance, naming the inputs that set it."""
    return [
        f"boundary: {r.segment} {r.metric} steps to {r.first:.1%} in {r.quarter or 'the first projected quarter'} "
        "against "
        f"{r.reference:.1%} expected ({r.step * 100:+.1f}pt, tolerance {r.tolerance * 100:.1f}pt); inputs responsible: "
        f"{', '.join(r.inputs) or '(none: it follows from others)'}; declare it in simulation.yaml's boundary_one_offs "
        "(quarters, subject, metric, reason, source) if it is a one-off you expect"
        for r in rows
        if r.flagged
    ]

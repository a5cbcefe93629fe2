"""The engine: every segment driver composed into the group, on arrays (draws, quarters).

:func:`run` is the engine: it takes the run's prepared :class:`~pivotmodel.model.inputs.EngineInputs`
(:func:`prepare`, once per run) and, optionally, input draws (key -> array of draws); without draws it runs the deterministic base case as
one draw at each input's median. It returns a :class:`~pivotmodel.model.projection.Projection`
whose series hold reported history where it exists, then the projection from the quarter
after the last reported one. Nothing here reads files, prints or plots. :func:`project`
takes loaded assumptions and prepares them first (one projection).

Units: RMB million a quarter inside the engine; tables convert to RMB bn or US$ bn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..schema import SEGMENTS as REGISTERED
from .capex import CapexResult, project_capex
from .china_ecommerce import project_china_ecommerce
from .cloud import project_cloud, project_cloud_demand, total_of
from .earnings import project_earnings
from .group import GROUP_READS, SEGMENTS, project_group
from .growth_segments import project_growth_segment
from .inputs import BaseQuarters, EngineInputs, Values
from .prepare import base_values, prepare
from .projection import SERIES, Projection

if TYPE_CHECKING:
    from ..assumptions import Assumptions

__all__ = ["project", "run", "prepare", "EngineInputs", "Projection", "SERIES", "SEGMENTS", "DRIVERS", "base_values", "Values"]


def _base_quarter_estimates(e: EngineInputs, v: Values, names: Iterable[str]) -> dict[str, np.ndarray]:
    """Sub-lines of the four base quarters that Alibaba does not report in RMB, as the model
    reconstructs them from the seed estimates; they fill history gaps so that growth on the
    base year (e.g. AI revenue in FY2027Q1 on FY2026Q1) can be tested. (draws or 1, 4) each,
    for those of ``names`` that have an estimate (only those are computed)."""
    s = lambda name: e.base.series(v, name)  # noqa: E731
    internal = lambda: v("cloud.internal_share") * s("cloud.revenue")  # noqa: E731
    estimates: dict[str, Callable[[], np.ndarray]] = {
        "cloud.internal_revenue": internal,
        "cloud.ai_revenue": lambda: s("cloud.ai_revenue"),
        "cloud.external_revenue": lambda: s("cloud.revenue") - internal(),
        "cloud.other_external_revenue": lambda: s("cloud.revenue") - internal() - s("cloud.ai_revenue"),
        "china_ecommerce.cmr": lambda: s("china_ecommerce.cmr"),
        "china_ecommerce.quick_commerce_revenue": lambda: s("china_ecommerce.quick_commerce_revenue"),
        "china_ecommerce.other_revenue": lambda: (
            s("china_ecommerce.revenue") - s("china_ecommerce.cmr") - s("china_ecommerce.quick_commerce_revenue")),
        "china_ecommerce.quick_commerce_ebita": lambda: s("china_ecommerce.quick_commerce_ebita"),
        # orders as the engine sizes them from revenue (order value x starting monetisation)
        "china_ecommerce.quick_commerce_orders": lambda: s("china_ecommerce.quick_commerce_revenue") / (
            v("china_ecommerce.quick_commerce.order_value.base") * v("china_ecommerce.quick_commerce.monetisation.start")),
    }
    return {name: estimates[name]() for name in names if name in estimates}


@dataclass(frozen=True)
class _Step:
    """What a segment driver may read in one run: prepared inputs, draws, base quarters, the
    number of projected quarters, and the group blocks computed before the segments (capex
    and its depreciation; cloud demand)."""

    e: EngineInputs
    v: Values
    base: BaseQuarters
    quarters: int
    capex: CapexResult
    demand: dict[str, np.ndarray]
    demand_total: np.ndarray
    into: Mapping[str, np.ndarray]  # kept series -> where their projected quarters go (see _Outputs)


# driver named in the registry (schema.Segment.driver) -> how the engine calls it
DRIVERS: dict[str, Callable[[_Step, str], dict[str, np.ndarray]]] = {
    "china_ecommerce": lambda s, _id: project_china_ecommerce(s.v, s.base, s.quarters, s.into),
    "cloud": lambda s, _id: project_cloud(s.e, s.v, s.base, s.quarters, s.capex, s.demand, s.demand_total),
    "growth_segments": lambda s, seg_id: project_growth_segment(s.e, s.v, s.base, s.quarters, seg_id, s.capex),
}


def project(
    assumptions: Assumptions,
    values: Mapping[str, np.ndarray] | None = None,
    keep: Iterable[str] | None = None,
    values_read: set[str] | None = None,
) -> Projection:
    """:func:`run` on freshly prepared inputs: a convenience for one projection. A loop over
    many value sets should :func:`prepare` once and call :func:`run`."""
    return run(prepare(assumptions), values, keep, values_read)


def run(
    inputs: EngineInputs,
    values: Mapping[str, np.ndarray] | None = None,
    keep: Iterable[str] | None = None,
    values_read: set[str] | None = None,
) -> Projection:
    """Project every series; ``keep`` limits the series returned (to save memory and time:
    series nobody kept and no later block reads are dropped as soon as their block has run)."""
    e = inputs
    wanted = frozenset(SERIES) if keep is None else frozenset(keep)
    unknown = wanted - set(SERIES)
    if unknown:
        raise KeyError(f"unknown series {sorted(unknown)}; valid: {', '.join(SERIES)}")
    data = {k: np.array([x]) for k, x in e.base_values.items()} if values is None else values
    draws = max(np.asarray(x).size for x in data.values())
    v = Values(data, draws)
    outputs = _Outputs(draws, len(e.timeline), e.timeline.position(e.first_projected), wanted)
    seg = _project(e, v, outputs)
    series = _assemble(e, v, seg, outputs)
    if values_read is not None:
        values_read.update(v.read)
    return Projection(timeline=e.timeline, first_projected=e.first_projected, series=series, history=e.history, draws=draws)


# The series the earnings block reads (a test checks it reads no other).
_EARNINGS_READS = frozenset({"group.revenue", "group.adjusted_ebita", "group.fcf"})


def _kept(results: dict[str, np.ndarray], names: frozenset[str]) -> dict[str, np.ndarray]:
    return {k: x for k, x in results.items() if k in names}


class _Outputs(Mapping[str, np.ndarray]):
    """The arrays :func:`run` returns, (draws, timeline) each with quarter columns contiguous,
    each made when first asked for. As a mapping: kept series -> the (draws, quarters) view of
    its array where the projected quarters go, so a block can write a kept series there
    directly rather than into an array that would then be copied."""

    def __init__(self, draws: int, width: int, split: int, names: frozenset[str]):
        self.draws, self.width, self.split, self.names = draws, width, split, names
        self.arrays: dict[str, np.ndarray] = {}
        self._projected: dict[str, np.ndarray] = {}

    def full(self, name: str) -> np.ndarray:
        if name not in self.arrays:
            self.arrays[name] = np.empty((self.draws, self.width), order="F")
        return self.arrays[name]

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.names:
            raise KeyError(name)
        if name not in self._projected:
            self._projected[name] = self.full(name)[:, self.split :]
        return self._projected[name]

    def written(self, name: str, result: np.ndarray) -> bool:
        """Whether ``result`` is the view a block wrote series ``name`` into."""
        return self._projected.get(name) is result

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


def _project(e: EngineInputs, v: Values, outputs: _Outputs) -> dict[str, np.ndarray]:
    """The projected quarters of the kept series (``outputs.names``), (draws, quarters) each.
    Each block's results that no later block reads and nobody kept are dropped when the
    block returns, so the next block reuses their memory rather than touching fresh pages."""
    keep = outputs.names
    first, quarters, base = e.first_projected, e.quarters, e.base
    demand = project_cloud_demand(v, base, quarters)
    demand_total = total_of(demand)
    capex = project_capex(e, v, first, quarters, demand_total)
    step = _Step(e, v, base, quarters, capex, demand, demand_total, outputs)
    later = keep | GROUP_READS | _EARNINGS_READS
    seg: dict[str, np.ndarray] = {}
    for segment in REGISTERED:  # the registry's segments, each by the driver it names
        seg.update(_kept(DRIVERS[segment.driver](step, segment.id), later))
    del step, demand, demand_total
    seg.update(project_group(v, seg, capex, quarters, outputs))
    del capex
    seg = _kept(seg, keep | _EARNINGS_READS)
    seg.update(project_earnings(v, seg, first, quarters))
    return _kept(seg, keep)


def _history_fcf_proxy(e: EngineInputs, v: Values, out: np.ndarray) -> None:
    """The FCF proxy on reported quarters, into ``out`` (draws, reported quarters), so
    reported years can show it beside reported FCF: reported adjusted EBITA + a quarter of
    the year's reported D&A - capex (reported, stated, or the year's remainder spread; see
    :meth:`pivotmodel.history.History.capex`) - cash tax. NaN where a figure is missing."""
    before_tax, taxed = e.fcf_proxy_parts
    np.multiply(v("group.tax.cash_tax_rate"), taxed, out=out)
    np.subtract(before_tax, out, out=out)


def _assemble(e: EngineInputs, v: Values, seg: Mapping[str, np.ndarray], outputs: _Outputs) -> dict[str, np.ndarray]:
    """Each kept series over the whole timeline: the prepared reported row in every draw, its
    gaps filled where the model has a per-draw figure (the FX assumption; the base quarters'
    estimates), then the projected quarters (unless a block wrote them there already)."""
    split = outputs.split
    base_first = split - len(e.base.quarters)
    estimates = _base_quarter_estimates(e, v, outputs.names)
    series: dict[str, np.ndarray] = {}
    for name in sorted(outputs.names):
        full = outputs.full(name)
        history = full[:, :split]
        if name == "group.fcf_proxy":
            _history_fcf_proxy(e, v, history)
        else:
            history[...] = e.history_rows[name]
            gaps = e.history_gaps[name]
            if name == "group.fx_usd_rmb" and gaps:
                # A reported quarter without a stated or implied rate is translated at the FX
                # assumption rather than left untranslated.
                fx = v("group.fx.usd_rmb")[:, 0]
                for c in gaps:
                    history[:, c] = fx
            if name in estimates:
                estimate = estimates[name]
                for c in gaps:
                    if c >= base_first:
                        history[:, c] = estimate[:, c - base_first]
        if not outputs.written(name, seg[name]):
            full[:, split:] = seg[name]
        series[name] = full
    return series

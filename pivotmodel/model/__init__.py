"""The engine: every segment driver composed into the group, on arrays (draws, quarters).

:func:`run` is the engine: it takes the run's prepared :class:`~pivotmodel.model.inputs.EngineInputs`
(:func:`prepare`, once per run) and, optionally, input draws (key -> array of draws); without draws it runs the
deterministic base case as one draw at each input's median. It returns a
:class:`~pivotmodel.model.projection.Projection` whose series hold reported history where it exists, then the
projection from the quarter after the last reported one. Nothing here reads files, prints or
plots. :func:`project` takes loaded assumptions and prepares them first (one projection).

Units: RMB million a quarter inside the engine; tables convert to RMB bn or US$ bn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from ..schema import SEGMENTS as REGISTERED
from .assembly import Outputs, assemble
from .capex import CapexResult
from .charges import charge_segments
from .china_ecommerce import project_china_ecommerce
from .cloud import exit_streams, project_cloud, project_cloud_demand, total_of
from .earnings import TAXED_SEGMENTS, project_earnings
from .engine_choice import running_with
from .equity_method import ant_split
from .group import GROUP_READS, SEGMENTS, project_group
from .growth_segments import growth_segment_revenue, project_growth_segment
from .inputs import BaseQuarters, EngineInputs, Values
from .prepare import base_values, prepare
from .projection import SERIES, Projection
from .supply import Supply, project_supply

if TYPE_CHECKING:
    from ..assumptions import Assumptions

__all__ = [
    "project",
    "run",
    "prepare",
    "EngineInputs",
    "Projection",
    "SERIES",
    "SEGMENTS",
    "DRIVERS",
    "base_values",
    "Values",
]


@dataclass(frozen=True)
class _Step:
    """What a segment driver may read in one run: prepared inputs, draws, base quarters, the
    number of projected quarters, and the blocks computed before it (capex and its
    depreciation, the cloud's demand and supply: None for the segments that run before them)."""

    e: EngineInputs
    v: Values
    base: BaseQuarters
    quarters: int
    capex: CapexResult | None
    supply: Supply | None
    into: Mapping[str, np.ndarray]  # kept series -> where their projected quarters go (see assembly.Outputs)


def _ran(block):
    """A block computed before this driver (the cloud runs after the supply loop)."""
    if block is None:
        raise RuntimeError("the cloud driver runs after the supply loop")
    return block


# driver named in the registry (schema.Segment.driver) -> how the engine calls it
DRIVERS: dict[str, Callable[[_Step, str], dict[str, np.ndarray]]] = {
    "china_ecommerce": lambda s, _id: project_china_ecommerce(s.v, s.base, s.quarters, s.into),
    "cloud": lambda s, _id: project_cloud(s.e, s.v, s.quarters, _ran(s.capex), _ran(s.supply)),
    "growth_segments": lambda s, seg_id: project_growth_segment(s.e, s.v, s.base, s.quarters, seg_id, s.capex),
}


def project(
    assumptions: Assumptions,
    values: Mapping[str, np.ndarray] | None = None,
    keep: Iterable[str] | None = None,
    values_read: set[str] | None = None,
    kernels: ModuleType | None = None,
) -> Projection:
    """:func:`run` on freshly prepared inputs: a convenience for one projection. A loop over
    many value sets should :func:`prepare` once and call :func:`run`."""
    return run(prepare(assumptions), values, keep, values_read, kernels)


def run(
    inputs: EngineInputs,
    values: Mapping[str, np.ndarray] | None = None,
    keep: Iterable[str] | None = None,
    values_read: set[str] | None = None,
    kernels: ModuleType | None = None,
) -> Projection:
    """Project every series; ``keep`` limits the series returned (to save memory and time:
    series nobody kept and no later block reads are dropped as soon as their block has run).
    ``kernels``: the compiled kernels the blocks use in this run (None: numpy), chosen by the
    caller (:mod:`pivotmodel.engine_setting`); the numbers are the same either way."""
    e = inputs
    known = (*SERIES, *e.extra_series)  # the registry's series and those of declared children
    wanted = frozenset(known) if keep is None else frozenset(keep)
    unknown = wanted - set(known)
    if unknown:
        raise KeyError(f"unknown series {sorted(unknown)}; valid: {', '.join(known)}")
    data = {k: np.array([x]) for k, x in e.base_values.items()} if values is None else values
    draws = max(np.asarray(x).size for x in data.values())
    v = Values(data, draws)
    outputs = Outputs(draws, len(e.timeline), e.timeline.position(e.first_projected), wanted)
    with running_with(kernels):
        seg = _project(e, v, outputs)
    series = assemble(e, v, seg, outputs)
    if values_read is not None:
        values_read.update(v.read)
    return Projection(
        timeline=e.timeline, first_projected=e.first_projected, series=series, annual=e.annual, draws=draws
    )


# The series the earnings block reads (a test checks it reads no other).
_EARNINGS_READS = frozenset({"group.revenue", "group.adjusted_ebita", "group.fcf", *TAXED_SEGMENTS})


def _kept(results: dict[str, np.ndarray], names: frozenset[str]) -> dict[str, np.ndarray]:
    return {k: x for k, x in results.items() if k in names}


# segments whose driver reads capex or the cloud's supply: they run after the supply loop
_AFTER_SUPPLY = frozenset({"cloud", "all_others"})


def _funding(e: EngineInputs, v: Values, seg: dict[str, np.ndarray], base: BaseQuarters, quarters: int) -> np.ndarray:
    """The other segments' revenue after their inter-segment elimination, (draws, quarters):
    what the capex funding rule reads besides the cloud's external revenue."""
    others = [seg[f"{s.id}.revenue"] for s in REGISTERED if s.id not in _AFTER_SUPPLY]
    others += [
        growth_segment_revenue(e, v, base, quarters, s.id)
        for s in REGISTERED
        if s.id in _AFTER_SUPPLY and s.id != "cloud"
    ]
    return (1.0 - v("group.elimination.other_share")) * total_of({str(i): x for i, x in enumerate(others)})


def _project(e: EngineInputs, v: Values, outputs: Outputs) -> dict[str, np.ndarray]:
    """The projected quarters of the kept series (``outputs.names``), (draws, quarters) each.
    Each block's results that no later block reads and nobody kept are dropped when the
    block returns, so the next block reuses their memory rather than touching fresh pages.
    Order: the segments that read no capex; the cloud's demand and the supply loop (capex
    and capacity, quarter by quarter, funded by the group's revenue); the other segments."""
    keep = outputs.names
    first, quarters, base = e.first_projected, e.quarters, e.base
    later = keep | GROUP_READS | _EARNINGS_READS
    seg: dict[str, np.ndarray] = {}
    early = _Step(e, v, base, quarters, None, None, outputs)
    for segment in REGISTERED:
        if segment.id not in _AFTER_SUPPLY:
            seg.update(_kept(DRIVERS[segment.driver](early, segment.id), later | GROUP_READS))
    demand = project_cloud_demand(v, base, quarters)
    external_exit = exit_streams(v, base)
    external_exit = external_exit["ai_revenue"] + external_exit["other_external_revenue"]
    capex, supply = project_supply(e, v, first, quarters, demand, _funding(e, v, seg, base, quarters), external_exit)
    step = _Step(e, v, base, quarters, capex, supply, outputs)
    for segment in REGISTERED:  # the registry's segments, each by the driver it names
        if segment.id in _AFTER_SUPPLY:
            seg.update(_kept(DRIVERS[segment.driver](step, segment.id), later))
    seg.update(_kept(charge_segments(e, v, seg, capex), later))
    del step, demand, supply
    seg.update(project_group(v, seg, capex, quarters, outputs))
    del capex
    seg = _kept(seg, keep | _EARNINGS_READS)
    seg.update(project_earnings(v, seg, first, quarters))
    seg.update(ant_split(v, seg["group.equity_method"]))  # Ant Group's part of the equity-method line
    return _kept(seg, keep)

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

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..schema import SEGMENTS as REGISTERED
from .capex import CapexResult, project_capex
from .china_ecommerce import project_china_ecommerce
from .cloud import project_cloud, project_cloud_demand, total_of
from .earnings import project_earnings
from .group import SEGMENTS, project_group
from .growth_segments import project_growth_segment
from .inputs import BaseQuarters, EngineInputs, Values
from .prepare import base_values, prepare
from .projection import SERIES, Projection

if TYPE_CHECKING:
    from ..assumptions import Assumptions

__all__ = ["project", "run", "prepare", "EngineInputs", "Projection", "SERIES", "SEGMENTS", "DRIVERS", "base_values", "Values"]


def _base_quarter_estimates(e: EngineInputs, v: Values) -> dict[str, np.ndarray]:
    """Sub-lines of the four base quarters that Alibaba does not report in RMB, as the model
    reconstructs them from the seed estimates; they fill history gaps so that growth on the
    base year (e.g. AI revenue in FY2027Q1 on FY2026Q1) can be tested. (draws or 1, 4) each."""
    s = lambda name: e.base.series(v, name)  # noqa: E731
    cloud, ai = s("cloud.revenue"), s("cloud.ai_revenue")
    internal = v("cloud.internal_share") * cloud
    ecom, cmr, qc = s("china_ecommerce.revenue"), s("china_ecommerce.cmr"), s("china_ecommerce.quick_commerce_revenue")
    return {
        "cloud.internal_revenue": internal,
        "cloud.ai_revenue": ai,
        "cloud.external_revenue": cloud - internal,
        "cloud.other_external_revenue": cloud - internal - ai,
        "china_ecommerce.cmr": cmr,
        "china_ecommerce.quick_commerce_revenue": qc,
        "china_ecommerce.other_revenue": ecom - cmr - qc,
        "china_ecommerce.quick_commerce_ebita": s("china_ecommerce.quick_commerce_ebita"),
        # orders as the engine sizes them from revenue (order value x starting monetisation)
        "china_ecommerce.quick_commerce_orders": qc / (
            v("china_ecommerce.quick_commerce.order_value.base") * v("china_ecommerce.quick_commerce.monetisation.start")),
    }


def _history_fcf_proxy(e: EngineInputs, v: Values) -> np.ndarray:
    """The FCF proxy on reported quarters, so reported years can show it beside reported FCF:
    reported adjusted EBITA + a quarter of the year's reported D&A - capex (reported, stated,
    or the year's remainder spread; see :meth:`pivotmodel.history.History.capex`) - cash tax.
    NaN where a figure is missing."""
    ebita, da, capex = e.fcf_proxy_parts
    return ebita + da - capex - v("group.tax.cash_tax_rate") * np.maximum(ebita, 0.0)


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


# driver named in the registry (schema.Segment.driver) -> how the engine calls it
DRIVERS: dict[str, Callable[[_Step, str], dict[str, np.ndarray]]] = {
    "china_ecommerce": lambda s, _id: project_china_ecommerce(s.v, s.base, s.quarters),
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
    """Project every series; ``keep`` limits the series returned (to save memory)."""
    e = inputs
    data = {k: np.array([x]) for k, x in e.base_values.items()} if values is None else values
    draws = max(np.asarray(x).size for x in data.values())
    v = Values(data, draws)
    first, quarters, base = e.first_projected, e.quarters, e.base

    demand = project_cloud_demand(v, base, quarters)
    demand_total = total_of(demand)
    capex = project_capex(e, v, first, quarters, demand_total)
    seg: dict[str, np.ndarray] = {}
    step = _Step(e, v, base, quarters, capex, demand, demand_total)
    for segment in REGISTERED:  # the registry's segments, each by the driver it names
        seg.update(DRIVERS[segment.driver](step, segment.id))
    seg.update(project_group(v, seg, capex, quarters))
    seg.update(project_earnings(v, seg, first, quarters))

    timeline = e.timeline
    wanted = set(SERIES) if keep is None else set(keep)
    unknown = wanted - set(SERIES)
    if unknown:
        raise KeyError(f"unknown series {sorted(unknown)}; valid: {', '.join(SERIES)}")
    split = timeline.position(first)
    estimated = _base_quarter_estimates(e, v)
    if values_read is not None:
        values_read.update(v.read)
    series: dict[str, np.ndarray] = {}
    for name in sorted(wanted):
        full = np.empty((draws, len(timeline)), order="F")
        full[:, :split] = e.history_rows[name]
        if name == "group.fx_usd_rmb":
            # A reported quarter without a stated or implied rate is translated at the FX
            # assumption rather than left untranslated.
            full[:, :split] = np.where(np.isnan(full[:, :split]), v("group.fx.usd_rmb"), full[:, :split])
        if name == "group.capex":  # a quarter without the FCF-table figure: a stated total
            stated = e.history_rows["group.capex_stated"]
            full[:, :split] = np.where(np.isnan(full[:, :split]), stated, full[:, :split])
        if name == "group.fcf_proxy":
            full[:, :split] = _history_fcf_proxy(e, v)
        if name in estimated:
            cols = slice(split - 4, split)
            full[:, cols] = np.where(np.isnan(full[:, cols]), estimated[name], full[:, cols])
        full[:, split:] = seg[name]
        series[name] = full
    return Projection(timeline=timeline, first_projected=first, series=series, history=e.history, draws=draws)

"""AIDC (``international``) and All others: revenue by a growth path, EBITA by a margin path.

Units: RMB million a quarter; losses negative. Revenue grows YoY on the same quarter a
year earlier; adjusted EBITA = margin path x revenue. The segment the registry charges with it
(``Segment.charges_own_ai``: All others) also bears the depreciation of the new assets used for
the group's own AI work (``capex.own_ai_share``: Qwen training, consumer AI apps) and its part
of the rest (:func:`pivotmodel.model.capex.segment_shares`): its margin path is before that
depreciation, and an anchored start adds back that depreciation over the exit quarters. AIDC's
share is charged in :mod:`pivotmodel.model.charges`.

A segment with declared children (``e.children``, :class:`pivotmodel.schema.Child`) is their
sum plus a residual: the residual grows from the segment's base revenue less the children's
(their estimates) along the segment's own paths and bears the segment's depreciation; each
child grows along its own paths from its estimates.
"""

from __future__ import annotations

import numpy as np

from ..schema import OWN_AI_SEGMENTS, SEGMENTS
from .capex import segment_shares, use_shares
from .inputs import BaseQuarters, EngineInputs, Values, exit_add_back
from .paths import compound_yoy, converging_path

__all__ = ["project_growth_segment", "growth_segment_revenue", "GROWTH_SEGMENTS"]

GROWTH_SEGMENTS = tuple(s.id for s in SEGMENTS if s.driver == "growth_segments")  # the registry says which


def _revenue(v: Values, base_revenue: np.ndarray, prefix: str, quarters: int) -> np.ndarray:
    """Revenue grown YoY from ``base_revenue`` along ``<prefix>.revenue.growth``."""
    growth = converging_path(
        v(f"{prefix}.revenue.growth.start"), v(f"{prefix}.revenue.growth.long_run"),
        v(f"{prefix}.revenue.growth.half_life"), quarters,
    )
    return compound_yoy(base_revenue, growth)


def _ebita(v: Values, revenue: np.ndarray, prefix: str, quarters: int, start_add: np.ndarray | float | None = None,
           depreciation: np.ndarray | float = 0.0) -> np.ndarray:
    """Adjusted EBITA = the ``<prefix>.margin`` path (its start plus ``start_add``) x revenue - ``depreciation``."""
    start = v(f"{prefix}.margin.start") if start_add is None else v(f"{prefix}.margin.start") + start_add
    margin = converging_path(start, v(f"{prefix}.margin.long_run"), v(f"{prefix}.margin.half_life"), quarters)
    shape = np.broadcast_shapes(margin.shape, revenue.shape, np.shape(depreciation))
    ebita = np.multiply(margin, revenue, out=np.empty(shape, order="F"))
    ebita -= depreciation
    return ebita


def _children(e: EngineInputs, segment: str) -> tuple:
    return tuple(c for c in getattr(e, "children", ()) if c.parent == segment)


def _residual_base(e: EngineInputs, v: Values, base: BaseQuarters, segment: str) -> np.ndarray:
    """The segment's base revenue less its declared children's estimates."""
    base_revenue = base.series(v, f"{segment}.revenue")
    for c in _children(e, segment):
        base_revenue = base_revenue - base.series(v, f"{c.id}.revenue")
    return base_revenue


def growth_segment_revenue(e: EngineInputs, v: Values, base: BaseQuarters, quarters: int, segment: str) -> np.ndarray:
    """The segment's revenue alone (what the capex funding rule reads before the segment's
    EBITA can be computed): its residual and its children grown along their paths, summed."""
    revenue = _revenue(v, _residual_base(e, v, base, segment), segment, quarters)
    for c in _children(e, segment):
        revenue = revenue + _revenue(v, base.series(v, f"{c.id}.revenue"), c.id, quarters)
    return revenue


def project_growth_segment(
    e: EngineInputs, v: Values, base: BaseQuarters, quarters: int, segment: str, capex=None
) -> dict[str, np.ndarray]:
    """``capex`` (a :class:`pivotmodel.model.capex.CapexResult`) is needed only by the segment the
    registry charges with the own-AI depreciation (``Segment.charges_own_ai``)."""
    children = _children(e, segment)
    own_ai = segment in OWN_AI_SEGMENTS
    add_back: np.ndarray | float | None = None
    depreciation: np.ndarray | float = 0.0
    if own_ai:
        share = segment_shares(v)[segment]  # own AI work and its part of the rest
        add_back = exit_add_back(e, v, f"{segment}.margin.start", capex, share)
        depreciation = share * capex.depreciation_new
    revenue = _revenue(v, _residual_base(e, v, base, segment), segment, quarters)
    ebita = _ebita(v, revenue, segment, quarters, add_back, depreciation)
    out = {f"{segment}.revenue": revenue, f"{segment}.adjusted_ebita": ebita}
    if own_ai:
        out[f"{segment}.ai_depreciation"] = use_shares(v)[1] * capex.depreciation_new
        out[f"{segment}.new_depreciation"] = np.broadcast_to(depreciation, revenue.shape)
    if children:
        out[f"{segment}.residual_revenue"], out[f"{segment}.residual_ebita"] = revenue, ebita
        total_revenue, total_ebita = revenue.copy(order="F"), ebita.copy(order="F")
        for c in children:
            r = _revenue(v, base.series(v, f"{c.id}.revenue"), c.id, quarters)
            eb = _ebita(v, r, c.id, quarters)
            out[f"{c.id}.revenue"], out[f"{c.id}.adjusted_ebita"] = r, eb
            total_revenue += r
            total_ebita += eb
        out[f"{segment}.revenue"], out[f"{segment}.adjusted_ebita"] = total_revenue, total_ebita
    return out

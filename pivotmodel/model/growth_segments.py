"""AIDC (``international``) and All others: revenue by a growth path, EBITA by a margin path.

Units: RMB million a quarter; losses negative. Revenue grows YoY on the same quarter a
year earlier; adjusted EBITA = margin path x revenue. The segment the registry charges with it
(``Segment.charges_own_ai``: All others) also bears the depreciation
of the new assets used for the group's own AI work (``capex.own_ai_share``: Qwen training,
consumer AI apps) and its part of the rest (:func:`pivotmodel.model.capex.segment_shares`):
its margin path is before that depreciation, and an anchored start adds back that depreciation
over the exit quarters. AIDC's share is charged in :mod:`pivotmodel.model.charges`.
"""

from __future__ import annotations

import numpy as np

from ..schema import OWN_AI_SEGMENTS, SEGMENTS
from .capex import segment_shares, use_shares
from .inputs import BaseQuarters, EngineInputs, Values, exit_add_back
from .paths import compound_yoy, converging_path

__all__ = ["project_growth_segment", "growth_segment_revenue", "GROWTH_SEGMENTS"]

GROWTH_SEGMENTS = tuple(s.id for s in SEGMENTS if s.driver == "growth_segments")  # the registry says which


def _grow(
    v: Values,
    base_revenue: np.ndarray,
    prefix: str,
    quarters: int,
    start_add: np.ndarray | float | None = None,
    depreciation: np.ndarray | float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Revenue grown YoY from ``base_revenue`` along ``<prefix>.revenue.growth``, and adjusted
    EBITA = the ``<prefix>.margin`` path (its start plus ``start_add``) x revenue - ``depreciation``."""
    growth = converging_path(
        v(f"{prefix}.revenue.growth.start"),
        v(f"{prefix}.revenue.growth.long_run"),
        v(f"{prefix}.revenue.growth.half_life"),
        quarters,
    )
    start = v(f"{prefix}.margin.start") if start_add is None else v(f"{prefix}.margin.start") + start_add
    margin = converging_path(start, v(f"{prefix}.margin.long_run"), v(f"{prefix}.margin.half_life"), quarters)
    revenue = compound_yoy(base_revenue, growth)
    ebita = np.multiply(
        margin,
        revenue,
        out=np.empty(np.broadcast_shapes(margin.shape, revenue.shape, np.shape(depreciation)), order="F"),
    )
    ebita -= depreciation
    return revenue, ebita


def growth_segment_revenue(e: EngineInputs, v: Values, base: BaseQuarters, quarters: int, segment: str) -> np.ndarray:
    """The segment's revenue alone (what the capex funding rule reads before the segment's EBITA
    can be computed): its residual and its children with revenue, grown along their paths, summed."""
    children = [c for c in getattr(e, "children", ()) if c.parent == segment and "revenue" in c.lines]
    base_revenue = base.series(v, f"{segment}.revenue")
    for c in children:
        base_revenue = base_revenue - base.series(v, f"{c.id}.revenue")
    revenue = _grow(v, base_revenue, segment, quarters)[0]
    for c in children:
        revenue = revenue + _grow(v, base.series(v, f"{c.id}.revenue"), c.id, quarters)[0]
    return revenue


def _loss(
    v: Values, prefix: str, quarters: int, start_add: np.ndarray | float = 0.0, depreciation: np.ndarray | float = 0.0
) -> np.ndarray:
    """A ``loss_path`` child's adjusted EBITA: the ``<prefix>.loss`` level path (RMB million a
    quarter; its start plus ``start_add``) less ``depreciation``."""
    level = converging_path(
        v(f"{prefix}.loss.start") + start_add, v(f"{prefix}.loss.long_run"), v(f"{prefix}.loss.half_life"), quarters
    )
    return level - depreciation


def _exit_depreciation(base: BaseQuarters, capex, own: np.ndarray) -> np.ndarray:
    """The own-AI share of new-asset depreciation a quarter over the last two base quarters (the
    exit quarters a child's loss start is written for), per draw: what its start adds back."""
    cols = [q.index - capex.history_first.index for q in base.quarters[-2:]]
    return own * sum(capex.depreciation_new_history[:, c : c + 1] for c in cols) / len(cols)


def project_growth_segment(
    e: EngineInputs, v: Values, base: BaseQuarters, quarters: int, segment: str, capex=None
) -> dict[str, np.ndarray]:
    """``capex`` (a :class:`pivotmodel.model.capex.CapexResult`) is needed only by the segment the
    registry charges with the own-AI depreciation (``Segment.charges_own_ai``).

    A segment with declared children (``e.children``, :class:`pivotmodel.schema.Child`) is their
    sum plus a residual: the residual grows from the segment's base revenue less the children's
    (their estimates) along the segment's own paths and bears the own-AI depreciation unless a
    child declares ``own_ai`` (then that child bears it, its start adding back the exit quarters'
    charge); each child grows along its own paths from its estimates (a ``loss_path`` child: no
    revenue, an EBITA level path)."""
    children = tuple(c for c in getattr(e, "children", ()) if c.parent == segment)
    own_ai = segment in OWN_AI_SEGMENTS
    bearer = next((c.id for c in children if c.own_ai), None)
    add_back: np.ndarray | float | None = None
    depreciation: np.ndarray | float = 0.0
    own = use_shares(v)[1] if own_ai else None
    residual_charge: np.ndarray | float = (
        0.0  # what the residual bears: its part of the rest, and own AI without a bearer
    )
    if own is not None:
        depreciation = own * capex.depreciation_new
        share = segment_shares(v)[segment] - (own if bearer else 0.0)
        add_back = exit_add_back(e, v, f"{segment}.margin.start", capex, share)
        residual_charge = share * capex.depreciation_new
    base_revenue = base.series(v, f"{segment}.revenue")
    for c in children:
        if "revenue" in c.lines:
            base_revenue = base_revenue - base.series(v, f"{c.id}.revenue")
    revenue, ebita = _grow(v, base_revenue, segment, quarters, add_back, residual_charge)
    out = {f"{segment}.revenue": revenue, f"{segment}.adjusted_ebita": ebita}
    if own_ai:
        out[f"{segment}.ai_depreciation"] = np.broadcast_to(depreciation, revenue.shape)
        out[f"{segment}.new_depreciation"] = np.broadcast_to(
            segment_shares(v)[segment] * capex.depreciation_new, revenue.shape
        )
    if children:
        out[f"{segment}.residual_revenue"], out[f"{segment}.residual_ebita"] = revenue, ebita
        total_revenue, total_ebita = revenue.copy(order="F"), ebita.copy(order="F")
        for c in children:
            if c.driver == "loss_path":
                add, charge = (
                    (_exit_depreciation(base, capex, own), depreciation) if c.own_ai and own is not None else (0.0, 0.0)
                )
                eb = _loss(v, c.id, quarters, add, charge)
            else:
                r, eb = _grow(
                    v, base.series(v, f"{c.id}.revenue"), c.id, quarters, *((None, depreciation) if c.own_ai else ())
                )
                out[f"{c.id}.revenue"] = r
                total_revenue = total_revenue + r
            out[f"{c.id}.adjusted_ebita"] = eb
            total_ebita = total_ebita + eb
        out[f"{segment}.revenue"], out[f"{segment}.adjusted_ebita"] = total_revenue, total_ebita
    return out

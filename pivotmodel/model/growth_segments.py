"""AIDC (``international``) and All others: revenue by a growth path, EBITA by a margin path.

Units: RMB million a quarter; losses negative. Revenue grows YoY on the same quarter a
year earlier; adjusted EBITA = margin path x revenue. All others also bears the depreciation
of the new assets used for the group's own AI work (``capex.own_ai_share``: Qwen training,
consumer AI apps) and its part of the rest (:func:`pivotmodel.model.capex.segment_shares`):
its margin path is before that depreciation, and an anchored start adds back that
depreciation over the exit quarters. AIDC's share is charged in :mod:`pivotmodel.model.charges`.
"""

from __future__ import annotations

import numpy as np

from ..schema import SEGMENTS
from .capex import segment_shares, use_shares
from .inputs import BaseQuarters, EngineInputs, Values, exit_add_back
from .paths import compound_yoy, converging_path

__all__ = ["project_growth_segment", "growth_segment_revenue", "GROWTH_SEGMENTS"]

GROWTH_SEGMENTS = tuple(s.id for s in SEGMENTS if s.driver == "growth_segments")  # the registry says which


def growth_segment_revenue(v: Values, base: BaseQuarters, quarters: int, segment: str) -> np.ndarray:
    """Revenue: the base quarters compounded YoY along the segment's growth path."""
    growth = converging_path(
        v(f"{segment}.revenue.growth.start"), v(f"{segment}.revenue.growth.long_run"),
        v(f"{segment}.revenue.growth.half_life"), quarters,
    )
    return compound_yoy(base.series(v, f"{segment}.revenue"), growth)


def project_growth_segment(
    e: EngineInputs, v: Values, base: BaseQuarters, quarters: int, segment: str, capex=None
) -> dict[str, np.ndarray]:
    """``capex`` (a :class:`pivotmodel.model.capex.CapexResult`) is needed for All others only."""
    start = v(f"{segment}.margin.start")
    depreciation = 0.0
    if segment == "all_others":
        share = segment_shares(v)["all_others"]  # own AI work and its part of the rest
        start = start + exit_add_back(e, v, f"{segment}.margin.start", capex, share)
        depreciation = share * capex.depreciation_new
    margin = converging_path(start, v(f"{segment}.margin.long_run"), v(f"{segment}.margin.half_life"), quarters)
    revenue = growth_segment_revenue(v, base, quarters, segment)
    ebita = np.multiply(margin, revenue, out=np.empty(np.broadcast_shapes(margin.shape, revenue.shape, np.shape(depreciation)), order="F"))
    ebita -= depreciation
    out = {f"{segment}.revenue": revenue, f"{segment}.adjusted_ebita": ebita}
    if segment == "all_others":
        out[f"{segment}.ai_depreciation"] = use_shares(v)[1] * capex.depreciation_new
        out[f"{segment}.new_depreciation"] = np.broadcast_to(depreciation, revenue.shape)
    return out

"""AIDC (``international``) and All others: revenue by a growth path, EBITA by a margin path.

Units: RMB million a quarter; losses negative. Revenue grows YoY on the same quarter a
year earlier; adjusted EBITA = margin path x revenue.
"""

from __future__ import annotations

import numpy as np

from .inputs import BaseQuarters, Values
from .paths import compound_yoy, converging_path
from ..assumptions import Assumptions

__all__ = ["project_growth_segment", "GROWTH_SEGMENTS"]

GROWTH_SEGMENTS = ("international", "all_others")


def project_growth_segment(
    a: Assumptions, v: Values, base: BaseQuarters, quarters: int, segment: str
) -> dict[str, np.ndarray]:
    growth = converging_path(
        v(f"{segment}.revenue.growth.start"), v(f"{segment}.revenue.growth.long_run"),
        v(f"{segment}.revenue.growth.half_life"), quarters,
    )
    margin = converging_path(
        v(f"{segment}.margin.start"), v(f"{segment}.margin.long_run"), v(f"{segment}.margin.half_life"), quarters
    )
    revenue = compound_yoy(base.series(a, v, f"{segment}.revenue"), growth)
    return {f"{segment}.revenue": revenue, f"{segment}.adjusted_ebita": margin * revenue}

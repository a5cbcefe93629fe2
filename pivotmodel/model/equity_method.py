"""Ant Group inside the equity-method line (issue 23), ready for a sum-of-the-parts.

Alibaba books its share of Ant Group's net profit one quarter in arrears (``earnings.ant.stake``,
about 33%; ``earnings.ant.net_profit``, Ant's own quarterly net profit, RMB million). The lag
does not move a flat quarterly input, so the share is stake x profit in every quarter. The
equity-method line itself stays the input ``earnings.equity_method`` (net income is unchanged);
the rest of the line (other investees) is that line less Ant's share, a remainder.
"""

from __future__ import annotations

import numpy as np

from .inputs import Values

__all__ = ["ant_split"]


def ant_split(v: Values, equity: np.ndarray) -> dict[str, np.ndarray]:
    """Ant's share of the equity-method line and the rest, each shaped like ``equity``."""
    ant = np.broadcast_to(v("earnings.ant.stake") * v("earnings.ant.net_profit"), equity.shape)
    return {"group.equity_method_ant": ant, "group.equity_method_others": equity - ant}

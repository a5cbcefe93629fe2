"""New-asset depreciation charged to the segments whose drivers do not charge it themselves.

Cloud (:mod:`~pivotmodel.model.cloud`) and All others (:mod:`~pivotmodel.model.growth_segments`)
charge their shares of new-asset depreciation in their drivers. China E-commerce and AIDC run
before capex is known (their revenue funds the capex policy), so their shares
(:func:`pivotmodel.model.capex.segment_shares`) are charged here, after the supply loop::

    adjusted EBITA -= share x new depreciation_t - share x new depreciation_exit x revenue_t / revenue_exit

Their margin paths were read off reported quarters that already bore the exit quarter's
depreciation, so the exit quarter's depreciation rate (share x depreciation / revenue in the
last reported quarter) is added back on revenue, as the anchored cloud and All others
margin starts add it back: what the EBITA bears is the new depreciation beyond that rate.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .capex import CapexResult, segment_shares
from .inputs import EngineInputs, Values

__all__ = ["CHARGED_HERE", "charge_segments"]

CHARGED_HERE = ("china_ecommerce", "international")


def charge_segments(
    e: EngineInputs,
    v: Values,
    seg: Mapping[str, np.ndarray],
    capex: CapexResult,
) -> dict[str, np.ndarray]:
    """Each of :data:`CHARGED_HERE`'s adjusted EBITA after its share of new depreciation, and
    ``<segment>.new_depreciation`` (the full share charged), (draws, quarters) each. The EBITA
    array is updated in place where it is writable (a view a block wrote into)."""
    shares = segment_shares(v)
    exit_depreciation = capex.depreciation_new_history[:, -1:]
    out = {}
    for segment in CHARGED_HERE:
        revenue, ebita = seg[f"{segment}.revenue"], seg[f"{segment}.adjusted_ebita"]
        charged = shares[segment] * capex.depreciation_new
        exit_rate = shares[segment] * exit_depreciation / e.base.series(v, f"{segment}.revenue")[:, -1:]
        net = exit_rate * revenue - charged
        if ebita.flags.writeable and ebita.shape == net.shape:
            ebita += net
        else:
            ebita = ebita + net
        out[f"{segment}.adjusted_ebita"] = ebita
        out[f"{segment}.new_depreciation"] = charged
    return out

"""The arrays :func:`pivotmodel.model.run` returns: each kept series over the whole timeline,
(draws, quarters) with quarter columns contiguous, reported history first, then the projection.

The reported part is the same in every draw (prepared once: :func:`pivotmodel.model.prepare`)
except where the model has a per-draw figure for a gap: the FX assumption in a quarter without
a stated or implied rate, the seed estimates of sub-lines in the four base quarters, and the
FCF proxy (its cash tax is per draw). Blocks may write a kept series' projected quarters
straight into its array (:class:`Outputs`); the others are copied in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping

import numpy as np

from ..schema import base_estimated_lines
from .inputs import EngineInputs, Values

__all__ = ["Outputs", "assemble"]

ESTIMATED = frozenset(base_estimated_lines())  # the registry's seeded and derived lines


def base_quarter_estimates(e: EngineInputs, v: Values, names: Iterable[str]) -> dict[str, np.ndarray]:
    """Sub-lines of the four base quarters that Alibaba does not report in RMB, as the model
    reconstructs them from the seed estimates; they fill history gaps so that growth on the
    base year (e.g. AI revenue in FY2027Q1 on FY2026Q1) can be tested. (draws or 1, 4) each,
    for those of ``names`` that have an estimate (only those are computed). The lines are the
    registry's seeded and derived lines (:func:`pivotmodel.schema.base_estimated_lines`; a test
    checks this table holds exactly those)."""
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
            s("china_ecommerce.revenue") - s("china_ecommerce.cmr") - s("china_ecommerce.quick_commerce_revenue")
        ),
        "china_ecommerce.quick_commerce_ebita": lambda: s("china_ecommerce.quick_commerce_ebita"),
        # orders as the engine sizes them from revenue (order value x starting monetisation)
        "china_ecommerce.quick_commerce_orders": lambda: (
            s("china_ecommerce.quick_commerce_revenue")
            / (
                v("china_ecommerce.quick_commerce.order_value.base")
                * v("china_ecommerce.quick_commerce.monetisation.start")
            )
        ),
    }
    return {name: estimates[name]() for name in names if name in ESTIMATED and name in estimates}


class Outputs(Mapping[str, np.ndarray]):
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


def history_fcf_proxy(e: EngineInputs, v: Values, out: np.ndarray) -> None:
    """The FCF proxy on reported quarters, into ``out`` (draws, reported quarters), so
    reported years can show it beside reported FCF: reported adjusted EBITA + a quarter of
    the year's reported D&A - capex (reported, stated, or the year's remainder spread; see
    :meth:`pivotmodel.history.History.capex`) - cash tax. NaN where a figure is missing."""
    before_tax, taxed = e.fcf_proxy_parts
    np.multiply(v("group.tax.cash_tax_rate"), taxed, out=out)
    np.subtract(before_tax, out, out=out)


def assemble(e: EngineInputs, v: Values, seg: Mapping[str, np.ndarray], outputs: Outputs) -> dict[str, np.ndarray]:
    """Each kept series over the whole timeline: the prepared reported row in every draw, its
    gaps filled where the model has a per-draw figure (the FX assumption; the base quarters'
    estimates), then the projected quarters (unless a block wrote them there already)."""
    split = outputs.split
    base_first = split - len(e.base.quarters)
    estimates = base_quarter_estimates(e, v, outputs.names)
    series: dict[str, np.ndarray] = {}
    for name in sorted(outputs.names):
        full = outputs.full(name)
        history = full[:, :split]
        if name == "group.fcf_proxy":
            history_fcf_proxy(e, v, history)
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

"""A projection: named series on one quarterly timeline, history first, then the model.

Each series is an array (draws, quarters) in RMB million a quarter (orders: millions;
``group.fx_usd_rmb``: RMB per US$). Quarters before the first projected one hold reported
values (NaN where a figure was not reported or the segment structure differs), the same in
every draw. Exception: in the four base quarters, sub-lines Alibaba does not report in RMB
(cloud AI, internal and external revenue, CMR and quick commerce where missing, and
quick-commerce EBITA and orders) hold the model's seed estimates (see the segment files'
``seed`` blocks), per draw: claims on them are labelled "on estimates".

A reported fiscal year with a reported annual total takes that total (FY2024 and FY2025
segments are restated on the four-segment basis in the FY2026 20-F; quarterly figures may
be rounded or on the earlier perimeter). Ratios of a year are ratios of the year's sums.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..earnings_series import EARNINGS_NOT_SUMMED, QUARTER_SUMS
from ..periods import Period, Quarter, Timeline, parse_period, ratio_of_sums
from ..schema import SERIES  # every output series, in the registry

__all__ = ["Projection", "SERIES", "HISTORY_START"]

HISTORY_START = "FY2024Q1"

NOT_SUMMED = {
    "group.fx_usd_rmb",
    "cloud.backlog",
    "cloud.utilisation",
    "cloud.capex_funding_bound",
    "group.capex_to_revenue",
    *EARNINGS_NOT_SUMMED,
}


@dataclass(frozen=True)
class Projection:
    timeline: Timeline
    first_projected: Quarter
    series: Mapping[str, np.ndarray]
    annual: Mapping[tuple[str, int], float]  # (series, fiscal year) -> reported annual total (prepare())
    draws: int
    _totals: dict = field(default_factory=dict, compare=False, repr=False)  # memo of total()

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.series[name]
        except KeyError:
            raise KeyError(f"series {name!r} not kept; kept: {', '.join(sorted(self.series))}") from None

    def _period(self, period: str | Period) -> Period:
        return parse_period(period) if isinstance(period, str) else period

    def is_projected(self, period: str | Period) -> bool:
        return self._period(period).last >= self.first_projected

    def total(self, name: str, period: str | Period) -> np.ndarray:
        """Sum over a period, RMB million, shaped (draws,); reported annual fills gaps. For
        rates and stocks (``NOT_SUMMED``: FX, cloud utilisation and backlog) the average; for
        the earnings levels (net cash, shares) the level at the period's last quarter.
        Memoised (claims share many totals); the array returned is read-only."""
        p = self._period(period)
        key = (name, p.label)
        if key in self._totals:
            return self._totals[key]
        out = self._total(name, p)
        out.setflags(write=False)
        self._totals[key] = out
        return out

    def _total(self, name: str, p: Period) -> np.ndarray:
        if name in EARNINGS_NOT_SUMMED:  # a level (net cash, shares): the period's last quarter
            return self[name][:, self.timeline.position(p.last)].copy()
        if name in NOT_SUMMED:  # a rate or a stock: the period's average, not a sum
            return self[name][:, self.timeline.columns(p)].mean(axis=1)
        out = self.timeline.total(self[name], p)
        if name in QUARTER_SUMS and not np.isnan(out).any():
            return out  # the EPS basis: the sum of the quarters (the annual report's line is labelled apart)
        if p.kind == "fy" and p.last < self.first_projected and name not in NOT_SUMMED:
            # The reported annual figure is authoritative: FY2024-FY2025 segment totals are
            # restated on the four-segment basis, and quarterly sums carry rounding; capex of a
            # year without the FCF-table figure is the 20-F cash-flow line (prepare() says which).
            annual = self.annual.get((name, p.first.fiscal_year))
            if annual is not None:
                out = np.full_like(out, annual)
        return out

    def total_usd(self, name: str, period: str | Period) -> np.ndarray:
        """Sum over a period in US$ million, each quarter at its own exchange rate."""
        p = self._period(period)
        cols = self.timeline.columns(p)
        out = (self[name][:, cols] / self["group.fx_usd_rmb"][:, cols]).sum(axis=1)
        if p.kind == "fy" and p.last < self.first_projected:
            # A year known only as an annual total: translate at the year's average rate.
            annual = self.total(name, p) / self["group.fx_usd_rmb"][:, cols].mean(axis=1)
            out = np.where(np.isnan(out), annual, out)
        return out

    def share(self, numerator: str, denominator: str, period: str | Period) -> Any:
        """``numerator / denominator`` over the period (ratio of sums): a float for a
        deterministic projection (one draw), else one value a draw (see :meth:`share_draws`)."""
        out = self.share_draws(numerator, denominator, period)
        return float(out[0]) if self.draws == 1 else out

    def share_draws(self, numerator: str, denominator: str, period: str | Period) -> np.ndarray:
        """The share, always an array shaped (draws,) (what the claims engine reads)."""
        return ratio_of_sums(self.total(numerator, period), self.total(denominator, period))

    def yoy(self, name: str, period: str | Period) -> np.ndarray:
        p = self._period(period)
        return ratio_of_sums(self.total(name, p), self.total(name, p.shifted_years(-1))) - 1.0

    def year_labels(self, basis: str = "fy") -> list[str]:
        return [p.label for p in self.timeline.year_periods(basis)]

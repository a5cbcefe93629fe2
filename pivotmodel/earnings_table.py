"""Rows of the project table below adjusted EBITA: net income, non-GAAP net income, non-GAAP
diluted EPS per ADS and year-end net cash (each cell the median across draws).

Money in RMB bn (or US$ bn, each quarter at its own rate); EPS per ADS is the sum of the
quarters' EPS (RMB, or US$ at each quarter's rate); net cash is the level at the year's last
quarter, translated at that quarter's rate.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .model import Projection
from .periods import Period

__all__ = ["earnings_rows"]


def earnings_rows(p: Projection, currency: str = "rmb") -> list[tuple[str, Callable[[Period], float]]]:
    usd = currency == "usd"
    unit = "US$ bn" if usd else "RMB bn"
    med = lambda x: float(np.median(x))  # noqa: E731

    def money(name: str) -> Callable[[Period], float]:
        return lambda per: med(p.total_usd(name, per) if usd else p.total(name, per)) / 1000.0

    def year_end(per: Period) -> float:
        col = p.timeline.position(per.last)
        level = p["group.net_cash"][:, col]
        return med(level / p["group.fx_usd_rmb"][:, col] if usd else level) / 1000.0

    eps_name = "group.eps_non_gaap_ads_usd" if usd else "group.eps_non_gaap_ads"
    return [
        (f"Net income, GAAP ({unit})", money("group.net_income")),
        (f"Net income attributable, GAAP ({unit})", money("group.net_income_attributable")),
        (f"Non-GAAP net income ({unit})", money("group.non_gaap_net_income")),
        (f"Non-GAAP diluted EPS ({'US$' if usd else 'RMB'} per ADS)", lambda per: med(p.total(eps_name, per))),
        (f"Net cash at year end ({unit})", year_end),
    ]

"""What the engine reads: the run's fixed inputs (:class:`EngineInputs`, built once per run by
:func:`pivotmodel.model.prepare.prepare`) and the per-draw input values (:class:`Values`).

:class:`Values` maps each input key to an array of draws, shaped (draws,). A deterministic
run is one draw at each input's median. The engine reads values with ``v("key")``, which
returns a (draws, 1) column ready to broadcast against the quarter axis, and records which
keys were read (a test checks that the model reads every key in the files).

:class:`EngineInputs` holds everything else the drivers need from the loaded assumptions and
history, as plain numbers and arrays: the timeline, the base quarters' reported figures, the
capex history, the reported rows spliced in before the first projected quarter and the
anchored starts' add-back facts and the reported annual totals a projection's years take. It is
frozen and picklable (spawned workers receive it), and the drivers never see the loader's objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..periods import Quarter, Timeline
from ..schema import OPTIONAL_SEEDS, SEEDABLE, Child, seed_key

__all__ = ["Values", "seed_key", "BaseQuarters", "ExitAnchor", "EngineInputs", "exit_add_back"]


@dataclass
class Values:
    """Input draws by key; ``read`` collects the keys the engine used."""

    data: Mapping[str, np.ndarray]
    draws: int
    read: set[str] = field(default_factory=set)

    def __call__(self, key: str) -> np.ndarray:
        self.read.add(key)
        return np.asarray(self.data[key], dtype=float).reshape(-1, 1)

    def get(self, key: str) -> np.ndarray | None:
        return self(key) if key in self.data else None


@dataclass(frozen=True)
class BaseQuarters:
    """The last four reported quarters, oldest first, from which every path grows, with each
    series' reported values there (NaN where not reported)."""

    quarters: tuple[Quarter, ...]
    reported: Mapping[str, np.ndarray]  # series -> (4,)

    def series(self, v: Values, name: str) -> np.ndarray:
        """Reported values of ``name`` in the base quarters, shaped (draws or 1, 4).

        A quarter without a reported value takes the seed estimate from the segment's
        file (validated at load time to exist), which may be uncertain.
        """
        reported = self.reported.get(name, np.full(len(self.quarters), np.nan))
        cols = []
        for q, value in zip(self.quarters, reported, strict=True):
            if np.isnan(value) and name in OPTIONAL_SEEDS and seed_key(name, q) not in v.data:
                cols.append(np.full((1, 1), np.nan))  # an optional estimate not given: n/a
            elif np.isnan(value):
                if name not in SEEDABLE:
                    raise KeyError(f"{name} has no reported value for {q.label} and cannot be seeded")
                cols.append(np.broadcast_to(v(seed_key(name, q)), (v.draws, 1)))
            else:
                cols.append(np.full((1, 1), value))
        width = max(c.shape[0] for c in cols)
        return np.concatenate([np.broadcast_to(c, (width, 1)) for c in cols], axis=1)


@dataclass(frozen=True)
class ExitAnchor:
    """An anchored margin start with ``add_back: new_depreciation``: the quarters its rule read
    and the segment's reported revenue summed over them."""

    quarters: tuple[Quarter, ...]
    revenue: float


@dataclass(frozen=True)
class EngineInputs:
    """Everything the engine needs besides the per-draw values; built once per run."""

    horizon: Quarter
    last_reported: Quarter
    timeline: Timeline  # HISTORY_START .. horizon: the quarter axis of every series
    base: BaseQuarters
    history_rows: Mapping[
        str, np.ndarray
    ]  # series -> reported values before the first projected quarter (capex gaps: stated)
    history_gaps: Mapping[str, tuple[int, ...]]  # series -> the columns of its row that are NaN
    # on reported quarters: EBITA + a quarter of the year's D&A - capex, and max(EBITA, 0) (what cash tax is on)
    fcf_proxy_parts: tuple[np.ndarray, np.ndarray]
    capex_first: Quarter  # first quarter of capex_history
    capex_history: np.ndarray  # capex_first .. last reported (reported, stated or the year's remainder; NaN unknown)
    legacy_da: float  # reported D&A of the last complete reported fiscal year (NaN if not reported)
    legacy_fy: int  # that fiscal year
    anchors: Mapping[str, ExitAnchor]  # input key -> anchored start that adds back new depreciation
    base_values: Mapping[str, float]  # every input and seed estimate at its median (the base case)
    annual: Mapping[tuple[str, int], float]  # (series, fiscal year) -> reported annual total, handed to the Projection
    children: tuple[
        Child, ...
    ] = ()  # child segments declared as data (schema.Child), projected by their parent's driver
    extra_series: tuple[str, ...] = ()  # the series the children add (schema.child_series)

    @property
    def first_projected(self) -> Quarter:
        return self.last_reported + 1

    @property
    def quarters(self) -> int:
        """Projected quarters: the first projected one .. the horizon."""
        return self.horizon.index - self.first_projected.index + 1

    def capex_between(self, first: Quarter, last: Quarter) -> np.ndarray:
        """Capex history from ``first`` to ``last`` (read-only view)."""
        lo = first.index - self.capex_first.index
        if lo < 0 or last > self.last_reported:
            raise ValueError(
                f"capex history is prepared for {self.capex_first.label}..{self.last_reported.label}, not "
                f"{first.label}..{last.label}"
            )
        return self.capex_history[lo : last.index - self.capex_first.index + 1]


def exit_add_back(e: EngineInputs, v: Values, key: str, capex, share: np.ndarray) -> np.ndarray | float:
    """What an anchored margin start with ``add_back: new_depreciation`` adds, per draw: the
    segment's ``share`` of modelled new-asset depreciation over the anchor's quarters divided
    by the segment's reported revenue there (0 for an explicit start). ``capex`` is a
    :class:`pivotmodel.model.capex.CapexResult`."""
    anchor = e.anchors.get(key)
    if anchor is None:
        return 0.0
    cols = [q.index - capex.history_first.index for q in anchor.quarters]
    depreciation = share * sum(capex.depreciation_new_history[:, c : c + 1] for c in cols)
    return depreciation / anchor.revenue

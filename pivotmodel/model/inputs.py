"""Per-draw input values handed to the engine, and the base quarters it grows from.

:class:`Values` maps each input key to an array of draws, shaped (draws,). A deterministic
run is one draw at each input's median. The engine reads values with ``v("key")``, which
returns a (draws, 1) column ready to broadcast against the quarter axis, and records which
keys were read (a test checks that the model reads every key in the files).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..assumptions import Assumptions
from ..periods import Quarter
from ..schema import OPTIONAL_SEEDS, SEEDABLE, seed_key

__all__ = ["Values", "base_values", "seed_key", "BaseQuarters", "exit_add_back"]


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


def base_values(assumptions: Assumptions) -> dict[str, np.ndarray]:
    """Every input (and seed estimate) at its median: the deterministic base case."""
    out = {key: np.array([inp.base_value]) for key, inp in assumptions.inputs.items()}
    for (series, q), inp in assumptions.seeds.items():
        out[seed_key(series, q)] = np.array([inp.base_value])
    return out


@dataclass(frozen=True)
class BaseQuarters:
    """The last four reported quarters, oldest first, from which every path grows."""

    quarters: tuple[Quarter, ...]

    def series(self, assumptions: Assumptions, v: Values, name: str) -> np.ndarray:
        """Reported values of ``name`` in the base quarters, shaped (draws or 1, 4).

        A quarter without a reported value takes the seed estimate from the segment's
        file (validated at load time to exist), which may be uncertain.
        """
        cols = []
        for q in self.quarters:
            reported = assumptions.history.value(name, q)
            if np.isnan(reported) and name in OPTIONAL_SEEDS and seed_key(name, q) not in v.data:
                cols.append(np.full((1, 1), np.nan))  # an optional estimate not given: n/a
            elif np.isnan(reported):
                if name not in SEEDABLE:
                    raise KeyError(f"{name} has no reported value for {q.label} and cannot be seeded")
                cols.append(np.broadcast_to(v(seed_key(name, q)), (v.draws, 1)))
            else:
                cols.append(np.full((1, 1), reported))
        width = max(c.shape[0] for c in cols)
        return np.concatenate([np.broadcast_to(c, (width, 1)) for c in cols], axis=1)


def exit_add_back(a: Assumptions, v: Values, key: str, capex, share: np.ndarray, revenue_series: str) -> np.ndarray | float:
    """What an anchored margin start with ``add_back: new_depreciation`` adds, per draw: the
    segment's ``share`` of modelled new-asset depreciation over the anchor's quarters divided
    by the segment's reported revenue there (0 for an explicit start). ``capex`` is a
    :class:`pivotmodel.model.capex.CapexResult`."""
    anchor = getattr(a.inputs.get(key), "anchor", None)
    if anchor is None or anchor.add_back != "new_depreciation":
        return 0.0
    cols = [q.index - capex.history_first.index for q in anchor.quarters]
    depreciation = share * sum(capex.depreciation_new_history[:, c : c + 1] for c in cols)
    revenue = sum(a.history.value(revenue_series, q) for q in anchor.quarters)
    return depreciation / revenue

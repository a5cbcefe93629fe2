"""The engine's edge: :func:`prepare` turns loaded assumptions into the frozen
:class:`~pivotmodel.model.inputs.EngineInputs` the engine runs on, once per run.

This is the only module under ``model/`` that reads the loader's objects (duck-typed:
``Assumptions`` and ``History`` are imported for type checking only). Everything the drivers
need from history (base-quarter figures, capex history, the reported rows spliced in before
the first projected quarter, anchored starts' revenue) is read here, so the drivers work on
plain arrays and the prepared object pickles cheaply to spawned workers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..earnings_series import REPORTED_ONLY
from ..periods import Quarter, Timeline
from ..schema import child_series
from .inputs import BaseQuarters, EngineInputs, ExitAnchor, seed_key
from .projection import HISTORY_START, SERIES

if TYPE_CHECKING:
    from ..assumptions import Assumptions
    from ..history import History

__all__ = ["prepare", "base_values", "capex_history"]


def base_values(assumptions: Assumptions) -> dict[str, np.ndarray]:
    """Every input (and seed estimate) at its median: the deterministic base case."""
    out = {key: np.array([inp.base_value]) for key, inp in assumptions.inputs.items()}
    for (series, q), inp in assumptions.seeds.items():
        out[seed_key(series, q)] = np.array([inp.base_value])
    return out


def capex_history(history: History, first: Quarter, last: Quarter) -> np.ndarray:
    """Quarterly capex from ``first`` to ``last`` (reported quarters), RMB million, as
    :meth:`pivotmodel.history.History.capex` prepares it at load (NaN where unknown; the loader
    refuses a run whose plan or depreciation needs such a quarter)."""
    return np.array([history.capex(first + i) for i in range(last.index - first.index + 1)])


def _frozen(x: Any) -> np.ndarray:
    x = np.array(x, dtype=float)
    x.setflags(write=False)
    return x


def _history_rows(history: History, quarters: tuple[Quarter, ...], a: Assumptions) -> dict[str, np.ndarray]:
    """Each series' reported values in ``quarters``, as every draw shows them; group capex in a
    quarter without the FCF-table figure takes the stated total; declared children show their
    estimates, and each parent's residual its reported figure less its children's."""
    rows = {n: np.array(history.row(n, quarters), dtype=float) for n in SERIES}
    capex, stated = rows["group.capex"], np.array(history.row("group.capex_stated", quarters), dtype=float)
    rows["group.capex"] = np.where(np.isnan(capex), stated, capex)
    rows.update(_child_rows(a, quarters, rows))
    rows["group.capex_to_revenue"] = rows["group.capex"] / rows["group.revenue"]
    return {n: _frozen(row) for n, row in rows.items()}


def _child_rows(a: Assumptions, quarters: tuple[Quarter, ...], rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The children's estimated history over ``quarters`` (NaN where none) and each parent's
    residual: the parent's reported row less the sum of its children's (NaN where one is missing)."""
    children = getattr(a, "children", ())
    estimates = getattr(a, "estimates", {})
    out = {}
    for c in children:
        for metric in c.lines:
            known = estimates.get(f"{c.id}.{metric}", {})
            out[f"{c.id}.{metric}"] = np.array([known.get(q, np.nan) for q in quarters], dtype=float)
    for parent in dict.fromkeys(c.parent for c in children):
        for metric, residual in (("revenue", "residual_revenue"), ("adjusted_ebita", "residual_ebita")):
            out[f"{parent}.{residual}"] = rows[f"{parent}.{metric}"] - sum(
                out[f"{c.id}.{metric}"] for c in children if c.parent == parent and metric in c.lines
            )
    return out


def _annual_totals(
    history: History, rows: dict[str, np.ndarray], quarters: tuple[Quarter, ...]
) -> dict[tuple[str, int], float]:
    """(series, fiscal year) -> the reported annual total a reported year shows instead of the sum
    of its quarters (segment years restated on the four-segment basis; quarterly rounding). Capex
    of a year with a quarter lacking the FCF-table figure and no annual one: the 20-F cash-flow
    line (purchase of PP&E and land-use rights), footnoted in tables."""
    last_fy = max((q.fiscal_year for q in quarters if q.q == 4), default=0)
    names = (*SERIES, *REPORTED_ONLY)  # reported-only lines: history rows the tables show for reported years
    out = {(name, y): row.value for name in names for y, row in history.annual.get(name, {}).items() if y <= last_fy}
    capex = rows["group.capex"]
    for y in sorted({q.fiscal_year for q in quarters if q.fiscal_year <= last_fy}):
        cols = [i for i, q in enumerate(quarters) if q.fiscal_year == y]
        cashflow = history.annual_value("group.capex_cashflow", y)
        if ("group.capex", y) not in out and np.isnan(capex[cols]).any() and not np.isnan(cashflow):
            out[("group.capex", y)] = abs(cashflow)
    return out


def prepare(assumptions: Assumptions) -> EngineInputs:
    """The engine's inputs for a run on ``assumptions`` (validated at load: nothing here
    raises an input error)."""
    a = assumptions
    h = a.history
    last = h.last_quarter
    first = last + 1
    timeline = Timeline.between(HISTORY_START, a.horizon)
    reported_quarters = tuple(timeline.quarters[: timeline.position(first)])
    base_q = tuple(last + k for k in (-3, -2, -1, 0))
    base_rows = {n: np.array([h.value(n, q) for q in base_q], dtype=float) for n in SERIES}
    base_rows.update(_child_rows(a, base_q, base_rows))
    base = BaseQuarters(base_q, {n: _frozen(row) for n, row in base_rows.items()})
    rows = _history_rows(h, reported_quarters, a)
    ebita = np.array([h.value("group.adjusted_ebita", q) for q in reported_quarters], dtype=float)
    da = np.array([h.annual_value("group.depreciation", q.fiscal_year) / 4.0 for q in reported_quarters], dtype=float)
    capex = np.array([h.capex(q) for q in reported_quarters], dtype=float)  # NaN in a year without any capex figure
    new_from = a.inputs.get("capex.new_assets_from")
    starts = [timeline.first, last + (-3)] + ([Quarter.from_index(int(new_from.base_value))] if new_from else [])
    capex_first = min(starts)
    anchors = {}
    for key, inp in a.inputs.items():
        anchor = getattr(inp, "anchor", None)
        if anchor is not None and anchor.add_back == "new_depreciation":
            revenue_series = f"{key.split('.')[0]}.revenue"
            anchors[key] = ExitAnchor(tuple(anchor.quarters), sum(h.value(revenue_series, q) for q in anchor.quarters))
    legacy_fy = last.fiscal_year if last.q == 4 else last.fiscal_year - 1
    fixed = {k: float(v[0]) for k, v in base_values(a).items()}
    return EngineInputs(
        horizon=a.horizon,
        last_reported=last,
        timeline=timeline,
        base=base,
        history_rows=rows,
        history_gaps={n: tuple(int(c) for c in np.flatnonzero(np.isnan(row))) for n, row in rows.items()},
        fcf_proxy_parts=(_frozen(ebita + da - capex), _frozen(np.maximum(ebita, 0.0))),
        capex_first=capex_first,
        capex_history=_frozen(capex_history(h, capex_first, last)),
        legacy_da=h.annual_value("group.depreciation", legacy_fy),
        legacy_fy=legacy_fy,
        anchors=anchors,
        base_values=fixed,
        annual=_annual_totals(h, rows, reported_quarters),
        children=tuple(getattr(a, "children", ())),
        extra_series=tuple(child_series(tuple(getattr(a, "children", ())))),
    )

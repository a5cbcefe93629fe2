"""Starts anchored to the last reported quarters, by a rule written in the assumption file.

A path's start (growth, margin) can be written as a rule instead of a number::

    start: {anchor: {rule: yoy, series: international.revenue, quarters: 1}, spread: 0.03,
            unit: ratio, basis: reported, source: release_mar2026, note: "..."}

The loader evaluates the rule on ``history/reported.csv`` and turns the spec into a
triangular distribution ``(value - spread, value, value + spread)`` (``spread_low`` /
``spread_high`` for an asymmetric one; ``offset`` shifts the centre, and the note must say
why). Appending a newly reported quarter therefore moves the start without editing a number.
An analyst who wants a different start writes an explicit distribution instead (an
override; the note says why).

Rules, each over the last ``quarters`` reported quarters (1-4) that have every figure the
rule needs (so a new quarter reported without, say, segment EBITA leaves a margin on the
quarters before it):

* ``yoy``: growth of ``series`` summed over those quarters against the same quarters a year
  earlier (``sum / sum_year_earlier - 1``);
* ``margin``: ``series`` summed over those quarters divided by ``over`` summed over them.
  With ``add_back: new_depreciation`` the engine adds, per draw, the segment's modelled
  depreciation of new assets over the same quarters divided by its revenue there: the start
  of a margin *before* that depreciation, consistent with the exit margin as reported.

One-offs: ``exclude`` lists costs or gains of the anchored series that will not recur, each
``{quarter: FY2026Q4, amount: -3000, source: <id or URL>, note: "..."}`` with ``amount`` in
the series' unit and sign (a cost negative). A margin rule removes those inside its quarters
from the numerator, so the start is the run-rate without them; one outside the quarters read
changes nothing (and is reported as such by :meth:`Anchor.describe`).

A figure Alibaba did not report in a base quarter takes that quarter's seed estimate (its
median), as the engine does; any other missing figure is an input error naming the quarter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import Problem
from .history import SERIES_OF_METRIC, History
from .periods import PeriodError, Quarter, parse_quarter

__all__ = ["Anchor", "resolve_anchor", "RULES"]

RULES = ("yoy", "margin")
ANCHOR_FIELDS = ("rule", "series", "over", "quarters", "add_back", "exclude")
ONE_OFF_FIELDS = ("quarter", "amount", "source", "note")
ADD_BACKS = ("new_depreciation",)
SPREAD_FIELDS = ("spread", "spread_low", "spread_high", "offset")


@dataclass(frozen=True)
class Anchor:
    """How an anchored start was set: the rule, the quarters it read and the value found."""

    rule: str
    series: str
    over: str
    quarters: tuple[Quarter, ...]
    value: float  # the rule's value on history, before offset
    add_back: str = ""  # "new_depreciation": the engine adds the segment's modelled new-asset
    # depreciation over the same quarters, per draw (a margin before that depreciation)
    one_offs: tuple[tuple[Quarter, float, str], ...] = ()  # (quarter, amount, source) declared
    excluded: float = 0.0  # the one-offs' amounts inside the quarters read, removed from the numerator

    def describe(self) -> str:
        span = (
            self.quarters[0].label if len(self.quarters) == 1 else f"{self.quarters[0].label}-{self.quarters[-1].label}"
        )
        if self.rule == "yoy":
            return f"YoY growth of {self.series} over {span} = {self.value:.4f}"
        extra = " (+ the modelled new-asset depreciation / revenue over the same quarters)" if self.add_back else ""
        if self.one_offs:
            extra += f"; one-offs removed from {self.series}: {self.excluded:,.0f}" + "".join(
                f" [{q.label} {x:,.0f}{'' if q in self.quarters else ', outside the quarters read'}]"
                for q, x, _ in self.one_offs
            )
        return f"{self.series} / {self.over} over {span} = {self.value:.4f}{extra}"


def _figure(history: History, seeds: Mapping[tuple[str, Quarter], Any], series: str, q: Quarter) -> float:
    value = history.value(series, q)
    if math.isnan(value) and (series, q) in seeds:
        value = seeds[(series, q)].base_value
    return value


def _anchor_spreads(key: str, spec: dict, err: Any) -> dict[str, float]:
    """Take the spread fields out of an anchored spec (reporting bad ones and any dist or value)."""
    if "dist" in spec or "value" in spec:
        err(key, "an anchored start takes spread (or spread_low/spread_high), not dist or value")
    spreads = {}
    for name in SPREAD_FIELDS:
        if name in spec:
            x = spec.pop(name)
            if (
                not isinstance(x, (int, float))
                or isinstance(x, bool)
                or not math.isfinite(x)
                or (name != "offset" and x < 0)
            ):
                err(f"{key}.{name}", f"must be a number{' >= 0' if name != 'offset' else ''}, got {x!r}")
            else:
                spreads[name] = float(x)
    return spreads


def resolve_anchor(
    key: str, spec: dict, history: History, seeds: Mapping[tuple[str, Quarter], Any], label: str, line: int | None
) -> tuple[dict | None, Anchor | None, list[Problem]]:
    """Turn an anchored spec into a plain distribution spec; problems name file, key, line."""
    problems: list[Problem] = []
    err = lambda k, m: problems.append(Problem(label, k, m, line))  # noqa: E731
    spec = dict(spec)
    rule = spec.pop("anchor")
    if not isinstance(rule, dict):
        err(f"{key}.anchor", "must be a mapping such as {rule: yoy, series: cloud.revenue, quarters: 1}")
        return None, None, problems
    for name in rule:
        if name not in ANCHOR_FIELDS:
            err(f"{key}.anchor.{name}", f"unknown field; valid: {', '.join(ANCHOR_FIELDS)}")
    kind = str(rule.get("rule"))
    if kind not in RULES:
        err(f"{key}.anchor.rule", f"{kind!r} is not a rule; valid: {', '.join(RULES)}")
    known = sorted(set(SERIES_OF_METRIC.values()))
    series, over = str(rule.get("series")), str(rule.get("over", ""))
    if series not in known:
        err(f"{key}.anchor.series", f"{series!r} is not a history series; valid: {', '.join(known)}")
    if kind == "margin" and over not in known:
        err(
            f"{key}.anchor.over",
            f"{over!r} is not a history series (the margin's denominator); valid: {', '.join(known)}",
        )
    if rule.get("add_back", "") not in ("", *ADD_BACKS):
        err(f"{key}.anchor.add_back", f"{rule['add_back']!r} is not valid; valid: {', '.join(ADD_BACKS)}")
    one_offs = _one_offs(f"{key}.anchor.exclude", rule.get("exclude", []), kind, err)
    n = rule.get("quarters", 1)
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 4:
        err(f"{key}.anchor.quarters", f"must be a whole number of quarters from 1 to 4, got {n!r}")
    spreads = _anchor_spreads(key, spec, err)
    if problems:
        return None, None, problems

    # the latest ``n`` of the last four reported quarters where every figure the rule needs
    # is known (a newly reported quarter without segment EBITA leaves the margin on the
    # quarters before it)
    last = history.last_quarter
    needs = (series, over) if kind == "margin" else (series,)
    shifts = (0,) if kind == "margin" else (0, -4)
    usable = [
        q
        for q in (last + k for k in range(-3, 1))
        if all(not math.isnan(_figure(history, seeds, s, q + d)) for s in needs for d in shifts)
    ]
    if len(usable) < n:
        wanted = ", ".join(
            f"{s} {(last + k + d).label}"
            for k in range(-n + 1, 1)
            for s in needs
            for d in shifts
            if math.isnan(_figure(history, seeds, s, last + k + d))
        )
        err(
            f"{key}.anchor",
            f"needs {wanted} (or {n} of the last four reported quarters with "
            f"{' and '.join(needs)}), not in history/reported.csv nor a seed estimate: add the rows, or write an "
            "explicit distribution for this start",
        )
        return None, None, problems
    quarters = tuple(usable[-n:])
    total = lambda name, d=0: sum(_figure(history, seeds, name, q + d) for q in quarters)  # noqa: E731
    excluded = sum(x for q, x, _ in one_offs if q in quarters)
    if kind == "yoy":
        value = total(series) / total(series, -4) - 1.0
    else:
        value = (total(series) - excluded) / total(over)
    if not math.isfinite(value):
        err(f"{key}.anchor", "the rule's denominator is zero in history: write an explicit distribution")
        return None, None, problems
    centre = value + spreads.get("offset", 0.0)
    lo = spreads.get("spread_low", spreads.get("spread", 0.0))
    hi = spreads.get("spread_high", spreads.get("spread", 0.0))
    if lo == 0.0 and hi == 0.0:
        out = {**spec, "value": centre}
    else:
        out = {**spec, "dist": "triangular", "low": centre - lo, "mode": centre, "high": centre + hi}
    return out, Anchor(kind, series, over, quarters, value, rule.get("add_back", ""), one_offs, excluded), problems


def _one_offs(key: str, items: Any, kind: str, err) -> tuple[tuple[Quarter, float, str], ...]:
    """The ``exclude`` list, checked: each a mapping with a quarter, an amount and a source."""
    if items in (None, []):
        return ()
    if kind != "margin":
        err(key, "one-offs are removed by the margin rule only; valid with rule: margin")
        return ()
    if not isinstance(items, list):
        err(key, "must be a list of {quarter: FY2026Q4, amount: -3000, source: ..., note: ...}")
        return ()
    out = []
    for i, item in enumerate(items):
        where = f"{key}[{i}]"
        if not isinstance(item, dict):
            err(where, "must be a mapping {quarter, amount, source, note}")
            continue
        for name in item:
            if name not in ONE_OFF_FIELDS:
                err(f"{where}.{name}", f"unknown field; valid: {', '.join(ONE_OFF_FIELDS)}")
        try:
            q = parse_quarter(str(item.get("quarter")))
        except PeriodError:
            err(f"{where}.quarter", f"{item.get('quarter')!r} is not a quarter such as FY2026Q4")
            continue
        amount = item.get("amount")
        if not isinstance(amount, (int, float)) or isinstance(amount, bool) or not math.isfinite(amount):
            err(f"{where}.amount", f"must be a number in the series' unit (a cost negative), got {amount!r}")
            continue
        source = item.get("source")
        if not isinstance(source, str) or not source.strip():
            err(f"{where}.source", "a one-off needs its source (a sources.yaml id or a URL)")
            continue
        out.append((q, float(amount), source))
    return tuple(out)

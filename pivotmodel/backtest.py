"""``pivotmodel timeline`` and ``pivotmodel backtest``: the model run as of past quarters.

*Timeline*: each headline claim's probability as of every reported quarter since the claim
was made (the quarters that had ended before its source date, then each one after), with the
outcome once history decides it (the claim's status is ``reported`` in the latest run).

*Backtest*: for each as-of quarter from ``--from``, the model's draws for each series that was
later reported, at horizons 1 to ``--horizon`` quarters, scored on the reported figure:
coverage of the P10-P90 and P5-P95 bands with counts, PIT, CRPS (:mod:`pivotmodel.scoring`),
and the same for the naive baseline on the same cut history. Series are read on the model's
basis only (``segment_map.csv`` rows marked ``equals``), so a segment is scored only from the
quarters it has a comparable history (the June-2025 four-segment change); an as-of quarter
the model cannot start from (fewer than four base quarters on that basis) is listed with the
reason, and the naive baseline is still scored there. The commands are :mod:`pivotmodel.cli.backtest`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .lazy import lazy

if TYPE_CHECKING:  # the real modules for the type checker; lazy stand-ins at run time
    import numpy as np
    import pandas as pd

    from . import scoring
else:
    np = lazy("numpy")
    pd = lazy("pandas")
    scoring = lazy("pivotmodel.scoring")

from .errors import InputError
from .periods import Quarter
from .schema import SEGMENT_IDS

__all__ = ["SCORED", "run_as_of", "timeline_table", "backtest_scores", "summarise", "verdicts"]

SCORED = (  # each registered segment's revenue and adjusted EBITA, and a few group lines
    "group.revenue", *(f"{s}.revenue" for s in SEGMENT_IDS), *(f"{s}.adjusted_ebita" for s in SEGMENT_IDS),
    "china_ecommerce.cmr", "group.capex", "group.fcf",
)


def run_as_of(directory, scenario, q: Quarter, opts: dict, jobs: int | None):
    """(assumptions, results) as of ``q``, or (None, reason) when the model cannot start there."""
    from . import assumptions as assumptions_mod
    from .simulate import simulate

    try:
        a = assumptions_mod.load(directory, scenario, as_of=q)
        return a, simulate(a, draws=opts["draws"], seed=opts["seed"], method=opts["method"], jobs=jobs, progress=False)
    except InputError as exc:
        return None, exc.problems[0].message


def _claim_start(date: str, first: Quarter, last: Quarter) -> Quarter:
    """The last quarter that had ended before ``date`` (``YYYY-MM[-DD]``), within history."""
    q = first
    while q + 1 <= last and (q + 1).quarter_end < date:
        q = q + 1
    return q


def timeline_table(directory, scenario, opts: dict, jobs: int | None, claim_ids: list[str] | None = None,
                   cache: dict | None = None) -> tuple[pd.DataFrame, dict]:
    """Rows (claim, as_of, probability, ci_low, ci_high, status, outcome) and the skipped as-of
    quarters; ``cache`` maps an as-of quarter to a run already made, (assumptions, results)."""
    from . import assumptions as assumptions_mod

    full = assumptions_mod.load(directory, scenario)
    chosen = [c for c in full.claims if (c.id in claim_ids if claim_ids else c.headline)]
    hist = full.history
    first, last = min(hist.quarterly["group.revenue"]) + 4, hist.last_quarter
    runs: dict[Quarter, tuple[Any, Any]] = dict(cache or {})
    skipped: dict[str, str] = {}
    rows = []
    latest = None
    for c in chosen:
        date = c.source.get("date", "") or first.quarter_end
        q = _claim_start(date, first, last)
        while q <= last:
            if q not in runs:
                runs[q] = run_as_of(directory, scenario, q, opts, jobs)
            a, r = runs[q]
            if a is None:
                skipped[q.label] = r
            else:
                t = r.claims_table()
                row = t.loc[c.id]
                rows.append({"claim": c.id, "as_of": q.label, "probability": row.probability,
                             "ci_low": row.ci_low, "ci_high": row.ci_high, "status": row.status})
                if q == last:
                    latest = t
            q = q + 1
    table = pd.DataFrame(rows, columns=["claim", "as_of", "probability", "ci_low", "ci_high", "status"])
    outcome = {}
    if latest is not None:
        for cid in table["claim"].unique():
            if latest.loc[cid, "status"] == "reported":  # decided by history: the outcome is known
                outcome[cid] = bool(latest.loc[cid, "base_case"])
    table["outcome"] = table["claim"].map(lambda cid: "" if cid not in outcome else ("true" if outcome[cid] else "false"))
    return table, skipped


def _consecutive(hist, series: str, q: Quarter) -> list[float]:
    """Reported values of ``series`` in consecutive quarters ending at ``q`` (oldest first)."""
    values = []
    while not math.isnan(hist.value(series, q)):
        values.append(hist.value(series, q))
        q = q + -1
    return values[::-1]


def backtest_scores(directory, scenario, start: Quarter, horizon: int, opts: dict, jobs: int | None) -> tuple[pd.DataFrame, dict]:
    """One row per (forecaster, series, as-of, horizon) with an outcome; and the as-of quarters
    the model skipped, with the reason."""
    from . import assumptions as assumptions_mod

    full = assumptions_mod.load(directory, scenario).history
    last = full.last_quarter
    rows, skipped = [], {}
    q = start
    while q < last:
        a, r = run_as_of(directory, scenario, q, opts, jobs)
        if a is None:
            skipped[q.label] = r
        for h in range(1, horizon + 1):
            target = q + h
            if target > last:
                break
            for series in SCORED:
                actual = full.value(series, target)
                if math.isnan(actual):
                    continue
                forecasts = {"naive": scoring.naive_draws(_consecutive(full, series, q), h, opts["draws"], opts["seed"])}
                if a is not None and series in r.totals["quarter"] and target.label in list(r.periods["quarter"]):
                    col = list(r.periods["quarter"]).index(target.label)
                    forecasts["model"] = np.asarray(r.totals["quarter"][series], dtype=float)[:, col]
                for who, d in forecasts.items():
                    if d is None or not np.all(np.isfinite(d)):
                        continue
                    rows.append({"forecaster": who, "series": series, "as_of": q.label, "horizon": h, "target": target.label,
                                 "actual": actual, "median": float(np.median(d)),
                                 **dict(zip(("p5", "p10", "p90", "p95"), map(float, np.quantile(d, [0.05, 0.10, 0.90, 0.95])))),
                                 **{f"in_{b}": scoring.coverage(d, actual, band) for b, band in scoring.BANDS.items()},
                                 "pit": scoring.pit(d, actual), "crps": scoring.crps(d, actual)})
        q = q + 1
    return pd.DataFrame(rows), skipped


def summarise(scores: pd.DataFrame) -> pd.DataFrame:
    """Per series and forecaster: n, counts inside each band, mean CRPS, PIT histogram (5 bins)."""
    out = []
    if scores.empty:
        return pd.DataFrame(columns=["series", "forecaster", "n"])
    for (series, who), g in scores.groupby(["series", "forecaster"], sort=True):
        hist, _ = np.histogram(g["pit"], bins=5, range=(0, 1))
        out.append({"series": series, "forecaster": who, "n": len(g),
                    **{f"inside_{b}": int(g[f"in_{b}"].sum()) for b in scoring.BANDS},
                    "crps_mean": g["crps"].mean(), "pit_histogram": " ".join(str(int(x)) for x in hist)})
    return pd.DataFrame(out).set_index(["series", "forecaster"])


def verdicts(scores: pd.DataFrame) -> list[str]:
    """A plain sentence per series (RMB bn for CRPS)."""
    lines = []
    summary = summarise(scores)
    for series in SCORED:
        parts = []
        for who in ("model", "naive"):
            if (series, who) in summary.index:
                s = summary.loc[(series, who)]
                parts.append(f"{who}: {s['inside_P10-P90']} of {s.n} actuals inside the 80% band, "
                             f"{s['inside_P5-P95']} inside the 90% band, CRPS {s.crps_mean / 1000:.2f} bn, PIT {s.pit_histogram}")
        if not parts:
            lines.append(f"{series}: not scored (no comparable history on the model's basis before a later actual)")
            continue
        both = scores[scores.series == series].pivot_table(index=["as_of", "horizon"], columns="forecaster", values="crps")
        if {"model", "naive"} <= set(both.columns):
            common = both.dropna()
            if len(common):
                ratio = common["model"].mean() / common["naive"].mean() - 1.0
                parts.append(f"model CRPS {abs(ratio):.0%} {'below' if ratio < 0 else 'above'} naive on {len(common)} common points")
        else:
            why = {"model": "no as-of quarter it could start from",
                   "naive": "too few consecutive reported quarters before each as-of quarter"}
            parts += [f"{who} not scored ({why[who]})" for who in ("model", "naive") if who not in both.columns]
        lines.append(f"{series}: " + "; ".join(parts))
    return lines

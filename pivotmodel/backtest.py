"""``pivotmodel timeline`` and ``pivotmodel backtest``: the model run as of past quarters.

*Timeline*: each headline claim's probability as of every reported quarter the model can start
from (``before_claim`` marks the as-of quarters whose results came before the claim was made:
what the model would have said then), with the outcome once history decides it (the claim's
status is ``reported`` in the latest run).

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

import hashlib
import math
from collections import OrderedDict
from pathlib import Path
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
    "group.revenue",
    *(f"{s}.revenue" for s in SEGMENT_IDS),
    *(f"{s}.adjusted_ebita" for s in SEGMENT_IDS),
    "china_ecommerce.cmr",
    "group.capex",
    "group.fcf",
)


# Assumptions already parsed, by (folder's files, scenario, as-of quarter): the timeline and the
# backtest load the same folder as of the same quarters; a changed file is a new key.
_PARSED: OrderedDict[tuple, Any] = OrderedDict()
_PARSED_MAX = 48


def _files_digest(directory, scenario) -> str:
    """SHA-256 over the names and bytes of every file a load of ``directory`` may read (its YAML
    files, history and scenarios, and ``scenario`` when that is a file elsewhere)."""
    from .assumptions import default_directory

    folder = Path(directory) if directory is not None else default_directory()
    files = sorted(
        p for pattern in ("*.yaml", "*.yml", "history/*", "scenarios/*") for p in folder.glob(pattern) if p.is_file()
    )
    if scenario is not None and Path(str(scenario)).is_file():
        files.append(Path(str(scenario)))
    h = hashlib.sha256(str(folder.resolve()).encode())
    for path in files:
        h.update(str(path).encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def load_parsed(directory, scenario, as_of: Quarter | None = None):
    """``assumptions.load(directory, scenario, as_of=...)``, parsed once per process while the
    files are unchanged (the loaded assumptions are frozen, so sharing them is safe); an input
    error is raised again, as the load raised it."""
    from . import assumptions as assumptions_mod
    from .asof import AS_OF, PER_SEGMENT

    when = as_of if as_of is not None else AS_OF.get()
    key = (
        _files_digest(directory, scenario),
        str(scenario),
        when.label if when is not None else None,
        PER_SEGMENT.get(),
    )
    if key not in _PARSED:
        try:
            _PARSED[key] = assumptions_mod.load(directory, scenario, as_of=as_of)
        except InputError as exc:  # a quarter the model cannot start from: the same answer next time
            _PARSED[key] = exc
        while len(_PARSED) > _PARSED_MAX:
            _PARSED.popitem(last=False)
    _PARSED.move_to_end(key)
    found = _PARSED[key]
    if isinstance(found, InputError):
        raise InputError(found.problems)
    return found


def run_as_of(
    directory, scenario, q: Quarter, opts: dict, jobs: int | None, executor: Any = None, per_segment: bool = False
):
    """(assumptions, results) as of ``q``, or (None, reason) when the model cannot start there;
    the run's chunks on a local pool of ``jobs`` or on ``executor`` (:mod:`pivotmodel.runner`).
    ``per_segment``: segments without four reported base quarters get placeholders
    (:func:`pivotmodel.asof.fill_placeholders`), so the others can be scored from there."""
    from .asof import PER_SEGMENT
    from .simulate import simulate

    token = PER_SEGMENT.set(per_segment)
    try:
        a = load_parsed(directory, scenario, as_of=q)
        return a, simulate(
            a,
            draws=opts["draws"],
            seed=opts["seed"],
            method=opts["method"],
            jobs=jobs,
            progress=False,
            executor=executor,
        )
    except InputError as exc:
        return None, exc.problems[0].message
    except ValueError as exc:  # placeholders can leave an anchored start empty (e.g. cloud's margin before FY2025)
        if not per_segment:
            raise
        return None, f"the per-segment run could not start: {exc}"
    finally:
        PER_SEGMENT.reset(token)


def _scored_here(a, series: str) -> bool:
    """Whether a run's forecast of ``series`` is scored: every series in a full run; in a
    per-segment run only the series of segments whose base quarters were all reported."""
    if not a.history.placeholders:
        return True
    seg = series.split(".")[0]
    return seg in SEGMENT_IDS and seg not in a.history.placeholders


def _claim_start(date: str, first: Quarter, last: Quarter) -> Quarter:
    """The last quarter that had ended before ``date`` (``YYYY-MM[-DD]``), within history."""
    q = first
    while q + 1 <= last and (q + 1).quarter_end < date:
        q = q + 1
    return q


def timeline_table(
    directory,
    scenario,
    opts: dict,
    jobs: int | None,
    claim_ids: list[str] | None = None,
    cache: dict | None = None,
    executor: Any = None,
) -> tuple[pd.DataFrame, dict]:
    """Rows (claim, as_of, probability, ci_low, ci_high, status, outcome) and the skipped as-of
    quarters; ``cache`` maps an as-of quarter to a run already made, (assumptions, results)."""
    full = load_parsed(directory, scenario)
    chosen = [c for c in full.claims if (c.id in claim_ids if claim_ids else c.headline)]
    hist = full.history
    first, last = min(hist.quarterly["group.revenue"]) + 4, hist.last_quarter
    runs: dict[Quarter, tuple[Any, Any]] = dict(cache or {})
    skipped: dict[str, str] = {}
    rows = []
    latest = None
    for c in chosen:
        date = c.source.get("date", "") or first.quarter_end
        made = _claim_start(date, first, last)
        q = first  # every quarter the model can start from, those before the claim was made marked so
        while q <= last:
            if q not in runs:
                runs[q] = run_as_of(directory, scenario, q, opts, jobs, executor)
            a, r = runs[q]
            if a is None:
                skipped[q.label] = r
            else:
                t = r.claims_table()
                row = t.loc[c.id]
                rows.append(
                    {
                        "claim": c.id,
                        "as_of": q.label,
                        "probability": row.probability,
                        "ci_low": row.ci_low,
                        "ci_high": row.ci_high,
                        "status": row.status,
                        "before_claim": q < made,
                    }
                )
                if q == last:
                    latest = t
            q = q + 1
    table = pd.DataFrame(rows, columns=["claim", "as_of", "probability", "ci_low", "ci_high", "status", "before_claim"])
    outcome = {}
    if latest is not None:
        for cid in table["claim"].unique():
            if latest.loc[cid, "status"] == "reported":  # decided by history: the outcome is known
                outcome[cid] = bool(latest.loc[cid, "base_case"])
    table["outcome"] = table["claim"].map(
        lambda cid: "" if cid not in outcome else ("true" if outcome[cid] else "false")
    )
    return table, skipped


def _consecutive(hist, series: str, q: Quarter) -> list[float]:
    """Reported values of ``series`` in consecutive quarters ending at ``q`` (oldest first)."""
    values = []
    while not math.isnan(hist.value(series, q)):
        values.append(hist.value(series, q))
        q = q + -1
    return values[::-1]


def _as_of_inputs(a) -> dict:
    """What an as-of run took that was not in its cut history: base quarters on estimates
    (history/estimates.csv), hand-set inputs whose source is dated after its results were known,
    and the declared disposals (history/perimeter.csv) it took out of its base quarters or, not
    yet announced then, left in."""
    from .asof import lookahead

    cutoff = known_by_of(a)
    est = [
        f"{series}.{row.period}" + (" (look-ahead)" if row.valid_from > cutoff else "")
        for series, row in a.history.on_estimates
    ]
    later = [f"{key} ({src}: {why})" for key, src, why in lookahead(a) if why != "set by hand"]
    restated = [
        f"{c.series}.{c.quarter.label} -{c.value:,.0f}" + (" (size look-ahead)" if c.published > cutoff else "")
        for c in a.history.restated
    ]
    kept = [f"{c.series}.{c.quarter.label}" for c in a.history.perimeter_kept]
    return {"on_estimates": est, "later_inputs": later, "restated": restated, "perimeter_kept": kept}


def known_by_of(a) -> str:
    from .asof import known_by

    return known_by(a.history.last_quarter)


def _score_row(who: str, series: str, q: Quarter, h: int, target: Quarter, actual: float, d) -> dict:
    qs = np.quantile(d, [0.05, 0.10, 0.25, 0.75, 0.90, 0.95])
    return {
        "forecaster": who,
        "series": series,
        "as_of": q.label,
        "horizon": h,
        "target": target.label,
        "actual": actual,
        "median": float(np.median(d)),
        **dict(zip(("p5", "p10", "p25", "p75", "p90", "p95"), map(float, qs))),
        **{f"in_{b}": scoring.coverage(d, actual, band) for b, band in scoring.BANDS.items()},
        "pit": scoring.pit(d, actual),
        "crps": scoring.crps(d, actual),
    }


def backtest_scores(
    directory, scenario, start: Quarter, horizon: int, opts: dict, jobs: int | None, executor: Any = None
) -> tuple[pd.DataFrame, dict]:
    """One row per (forecaster, series, as-of, horizon) with a reported outcome; and the as-of
    quarters the model skipped, with the reason. The targets are reported rows only (never an
    estimate); ``scores.attrs["as_of_inputs"]`` names, per as-of run, the base quarters it took
    from history/estimates.csv and the hand-set inputs sourced after its results were known."""
    full = load_parsed(directory, scenario).history
    last = full.last_quarter
    rows, skipped, notes = [], {}, {}
    q = start
    while q < last:
        a, r = run_as_of(directory, scenario, q, opts, jobs, executor)
        if a is None:
            skipped[q.label] = r
            a, r = run_as_of(directory, scenario, q, opts, jobs, executor, per_segment=True)
            if a is not None:
                skipped[q.label] += f" (scored per segment: {', '.join(s for s in SEGMENT_IDS if _scored_here(a, s))})"
        if a is not None:
            notes[q.label] = _as_of_inputs(a)
        for h in range(1, horizon + 1):
            target = q + h
            if target > last:
                break
            for series in SCORED:
                actual = full.value(series, target)
                if math.isnan(actual):
                    continue
                forecasts = {
                    "naive": scoring.naive_draws(_consecutive(full, series, q), h, opts["draws"], opts["seed"])
                }
                if (
                    a is not None
                    and _scored_here(a, series)
                    and series in r.totals["quarter"]
                    and target.label in list(r.periods["quarter"])
                ):
                    col = list(r.periods["quarter"]).index(target.label)
                    forecasts["model"] = np.asarray(r.totals["quarter"][series], dtype=float)[:, col]
                for who, d in forecasts.items():
                    if d is not None and np.all(np.isfinite(d)):
                        run = "per segment" if who == "model" and a is not None and a.history.placeholders else "full"
                        rows.append({**_score_row(who, series, q, h, target, actual, d), "run": run})
        q = q + 1
    scores = pd.DataFrame(rows)
    scores.attrs["as_of_inputs"] = notes
    return scores, skipped


def summarise(scores: pd.DataFrame, by: tuple[str, ...] = ("series", "forecaster")) -> pd.DataFrame:
    """Per ``by`` (default series and forecaster; add "horizon" for the per-horizon table): n,
    counts inside the 50/80/90% bands, mean CRPS, mean PIT and the PIT histogram (5 bins)."""
    out = []
    if scores.empty:
        return pd.DataFrame(columns=[*by, "n"])
    for keys, g in scores.groupby(list(by), sort=True):
        hist, _ = np.histogram(g["pit"], bins=5, range=(0, 1))
        out.append(
            {
                **dict(zip(by, keys)),
                "n": len(g),
                **{f"inside_{b}": int(g[f"in_{b}"].sum()) for b in scoring.BANDS},
                "crps_mean": g["crps"].mean(),
                "pit_mean": g["pit"].mean(),
                "pit_histogram": " ".join(str(int(x)) for x in hist),
            }
        )
    return pd.DataFrame(out).set_index(list(by))


def _reading(s) -> str:
    """Words for one forecaster's record on one series: calibration and bias from the PIT."""
    cover = {b: s[f"inside_{b}"] / s.n for b in scoring.BANDS}
    low, high = (int(x) for x in s.pit_histogram.split()[::4])
    if s.n < 3:
        return "too few outcomes to judge"
    if low >= 0.7 * s.n:
        bias = "actuals fell below its lower tail: it forecast too high"
    elif high >= 0.7 * s.n:
        bias = "actuals came in above its upper tail: it forecast too low"
    elif s.pit_mean < 0.35 or s.pit_mean > 0.65:
        bias = f"leaning {'high' if s.pit_mean < 0.5 else 'low'} (mean PIT {s.pit_mean:.2f})"
    else:
        bias = f"no clear bias (mean PIT {s.pit_mean:.2f})"
    if cover["P10-P90"] < scoring.NOMINAL["P10-P90"] - 0.25:
        width = "bands too narrow"
    elif cover["P25-P75"] > 0.9 and s.n >= 5:
        width = "bands wide"
    else:
        width = "coverage near nominal"
    return f"{width}; {bias}"


def verdicts(scores: pd.DataFrame) -> list[str]:
    """A sentence per series: each forecaster's coverage, CRPS (RMB bn) and PIT, a reading in
    words, and the model's CRPS against the naive baseline's on the points both scored."""
    lines = []
    summary = summarise(scores)
    for series in SCORED:
        parts = []
        for who in ("model", "naive"):
            if (series, who) in summary.index:
                s = summary.loc[(series, who)]
                inside = f"{s['inside_P25-P75']}/{s['inside_P10-P90']}/{s['inside_P5-P95']}"
                parts.append(
                    f"{who}: {inside} of {s.n} actuals inside the 50/80/90% bands, CRPS "
                    f"{s.crps_mean / 1000:.2f} bn, PIT {s.pit_histogram} ({_reading(s)})"
                )
            elif who == "naive":
                parts.append(
                    "naive: not scored (it needs seven consecutive reported quarters before the as-of quarter)"
                )
            else:
                parts.append(
                    "model: not scored (no as-of quarter it could start from with this series reported after it)"
                )
        if not any(p.startswith(("model: ", "naive: ")) and "not scored" not in p for p in parts):
            lines.append(f"{series}: not scored (no reported outcome after an as-of quarter)")
            continue
        both = scores[scores.series == series].pivot_table(
            index=["as_of", "horizon"], columns="forecaster", values="crps"
        )
        if {"model", "naive"} <= set(both.columns):
            common = both.dropna()
            if len(common):
                ratio = common["model"].mean() / common["naive"].mean() - 1.0
                parts.append(
                    f"model CRPS {abs(ratio):.0%} {'below' if ratio < 0 else 'above'} naive on "
                    f"{len(common)} common points ({'model better' if ratio < 0 else 'naive better'})"
                )
        else:
            why = {
                "model": "no as-of quarter it could start from",
                "naive": "too few consecutive reported quarters before each as-of quarter",
            }
            parts += [f"{who} not scored ({why[who]})" for who in ("model", "naive") if who not in both.columns]
        lines.append(f"{series}: " + "; ".join(parts))
    return lines

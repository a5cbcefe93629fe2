"""The market's published forecasts (``assumptions/consensus.yaml``) placed in the model's
distribution of the same metric.

Each forecast names a metric in the claims language without a comparison
(``sum(group.non_gaap_net_income, FY2027)``, in RMB bn; ``yoy(cloud.revenue, FY2027)``, a
decimal). :func:`load_consensus` checks the file strictly (file, line and key in every error).
:func:`place` evaluates each metric on a Monte Carlo projection and gives its P5, P50 and
P95, the forecast's percentile (mid-rank: the share of draws below the forecast plus half
the share equal to it) and whether it lies outside P5-P95. A forecast dated before the
release of the last reported quarter is stale; one followed by a later note of the same
broker on the same metric is superseded (kept and marked); a broker counts once however many
entries it has.

Rebasing: an entry may give the broker's own estimate for the last reported year
(``base: {metric, value}``). Its forecast is then also shown rebased on the actual: by the
broker's growth, ``value / base value x actual``, and by the broker's miss carried
additively, ``value + (actual - base value)``; each placed in the same draws. A forecast of a
period already reported is not placed: it is scored against the actual (the broker's miss).
:func:`what_would_move` asks the solve machinery which single input, moved with everything else
at base, reaches the forecast; :func:`cumulative_bridge` which inputs, moved together, do.
Nothing here prints; :mod:`pivotmodel.cli.consensus` does, and :mod:`pivotmodel.report_consensus`
writes the report's section.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .assumptions import Assumptions
from .claims import Claim, TestError, evaluate, parse_test, series_in
from .errors import InputError, Problem
from .lazy import lazy
from .model import prepare, project, run
from .periods import PeriodError, parse_quarter
from .yamlio import line_of, read_yaml, top_level_keys

if TYPE_CHECKING:  # the real modules for the type checker; lazy stand-ins at run time
    import pandas as pd
else:
    pd = lazy("pandas")

__all__ = [
    "Forecast",
    "Consensus",
    "load_consensus",
    "validate_consensus",
    "place",
    "percentile",
    "forecast_claim",
    "what_would_move",
    "UNITS",
    "consensus_report",
    "format_value",
    "rebase",
    "base_actuals",
    "estimated_reads",
    "cumulative_bridge",
]

FILE = "consensus.yaml"
UNITS = ("RMB_bn", "USD_bn", "ratio", "RMB_per_ADS", "USD_per_ADS")
REQUIRED = ("id", "who", "date", "date_basis", "words", "url", "metric", "value", "unit")
OPTIONAL = ("reading", "note", "definition", "base")
DATE_BASES = ("stated", "inferred")
# metric definition: net income attributable to ordinary shareholders or not, GAAP or not, currency
DEFINITION = {
    "attributable": (True, False, "n/a"),
    "gaap": ("gaap", "non_gaap", "n/a"),
    "currency": ("RMB", "HKD", "USD"),
}


@dataclass(frozen=True)
class Forecast:
    id: str
    who: str
    date: dt.date
    date_basis: str
    words: str
    url: str
    metric: str
    value: float
    unit: str
    reading: str = ""
    note: str = ""
    line: int | None = None
    definition: tuple = ()  # (attributable, gaap, currency) as in DEFINITION; () when not given
    base_metric: str = ""  # the broker's own estimate for the last reported year: its metric
    base_value: float = float("nan")  # ... and its value, in the forecast's unit

    def describe_definition(self) -> str:
        if not self.definition:
            return "n/a"
        attributable, gaap, currency = self.definition
        words = {True: "attributable", False: "before NCI", "n/a": ""}[attributable]
        return " ".join(x for x in ({"gaap": "GAAP", "non_gaap": "non-GAAP", "n/a": ""}[gaap], words, currency) if x)

    def claim(self) -> Claim:
        """The metric as a claim without a threshold (its value per draw is the metric)."""
        return Claim(
            self.id,
            self.words,
            {"publication": self.who, "date": self.date.isoformat(), "url": self.url},
            self.reading,
            self.metric,
            parse_test(self.metric),
        )


@dataclass(frozen=True)
class Consensus:
    forecasts: tuple[Forecast, ...]
    last_quarter: str
    released: dt.date
    label: str
    warnings: tuple[Problem, ...] = ()

    def stale(self, f: Forecast) -> bool:
        return f.date < self.released

    def superseded_by(self, f: Forecast) -> str:
        """The id of the latest later note of the same broker on the same metric ('' if none)."""
        later = [g for g in self.forecasts if g.who == f.who and g.metric == f.metric and g.date > f.date]
        return max(later, key=lambda g: g.date).id if later else ""

    def brokers(self) -> int:
        """Distinct brokers (or providers) among the forecasts: a broker with many entries counts once."""
        return len({f.who for f in self.forecasts})


def _metric_unit(tree) -> str | None:
    """The unit a metric returns when it is one call (``sum``, ``usd``, ``yoy``, ``share``), in
    the forecast file's spelling; None for composite expressions, which are not checked."""
    from .claims import measure_of

    m = measure_of(tree.body)
    if m.function is None or m.condition is not None:
        return None
    return {
        "RMB bn": "RMB_bn",
        "US$ bn": "USD_bn",
        "ratio": "ratio",
        "RMB per ADS": "RMB_per_ADS",
        "US$ per ADS": "USD_per_ADS",
    }.get(m.unit)


def _quarter_end(q) -> dt.date:
    """Last day of a fiscal quarter (FY2026Q1 ends 30 June 2025; the year ends 31 March)."""
    month = {1: 6, 2: 9, 3: 12, 4: 3}[q.q]
    year = q.fiscal_year - (0 if q.q == 4 else 1)
    return dt.date(year, month, 30 if month in (6, 9) else 31)


def _date(value) -> dt.date:
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _last_results(a: Assumptions, root: dict, label: str) -> tuple[str, dt.date, list[Problem]]:
    """Read last_results; if the history has a later quarter, warn and move the release date past it."""
    lr = root["last_results"]
    try:
        last_q = parse_quarter(str(lr.get("quarter"))).label
        released = _date(lr.get("released"))
    except (PeriodError, ValueError, TypeError):
        raise InputError.single(
            label,
            "consensus.last_results",
            "needs quarter (e.g. FY2026Q4) and released (YYYY-MM-DD)",
            line_of(root, "last_results"),
        ) from None
    warnings: list[Problem] = []
    last = a.history.last_quarter
    if last_q != last.label:
        # a quarter was appended to the history: until last_results follows, every forecast
        # made before the end of that quarter is stale (its release date is not known here)
        end = _quarter_end(last)
        if end > released:
            released = end + dt.timedelta(days=1)
            last_q = last.label
        warnings.append(
            Problem(
                label,
                "consensus.last_results.quarter",
                f"is {lr.get('quarter')} but the last reported quarter in history is {last.label}; "
                f"forecasts dated up to {last.label}'s end ({end}) are marked stale; set last_results "
                "to its quarter and release date",
                line_of(root, "last_results"),
                "warn",
            )
        )
    return last_q, released, warnings


def _check_entry(entry: dict, fid: Any, label: str, where: str, at: Any, seen: set[str]) -> tuple[list[Problem], Any]:
    """Check one forecast entry's fields; return the problems and its date (None if unreadable)."""
    errs: list[Problem] = []
    date = None
    if not isinstance(fid, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", fid):
        errs.append(Problem(label, f"{where}.id", "must be snake_case text", at("id")))
    elif fid in seen:
        errs.append(Problem(label, f"{where}.id", f"duplicate forecast id {fid!r}", at("id")))
    try:
        date = _date(entry["date"])
    except (ValueError, TypeError):
        errs.append(Problem(label, f"{where}.date", f"{entry['date']!r} is not a date YYYY-MM-DD", at("date")))
    if entry["date_basis"] not in DATE_BASES:
        errs.append(
            Problem(
                label,
                f"{where}.date_basis",
                f"{entry['date_basis']!r} is not one of {', '.join(DATE_BASES)}",
                at("date_basis"),
            )
        )
    value = entry["value"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        errs.append(
            Problem(
                label,
                f"{where}.value",
                f"{value!r} is not a number (in the entry's unit, e.g. 143.8 for RMB143.8bn)",
                at("value"),
            )
        )
    if entry["unit"] not in UNITS:
        errs.append(Problem(label, f"{where}.unit", f"{entry['unit']!r} is not one of {', '.join(UNITS)}", at("unit")))
    url = str(entry["url"])
    if not url.startswith(("http://", "https://")):
        errs.append(Problem(label, f"{where}.url", "must be the http(s) address the forecast was read at", at("url")))
    try:
        tree = parse_test(str(entry["metric"]))
        if type(tree.body).__name__ in ("Compare", "BoolOp"):
            raise TestError("a forecast's metric is a value, not a comparison; put the forecast in 'value'")
        if not series_in(tree):
            raise TestError("names no series")
        returns = _metric_unit(tree)
        if returns is not None and entry["unit"] in UNITS and returns != entry["unit"]:
            raise TestError(f"returns {returns}, but the entry's unit is {entry['unit']}")
    except TestError as exc:
        errs.append(Problem(label, f"{where}.metric", f"{exc} (metric: {entry['metric']})", at("metric")))
    return errs, date


def load_consensus(a: Assumptions, path: Path | None = None) -> Consensus:
    """Read and check ``consensus.yaml`` (every problem reported at once, then raised)."""
    path = path or a.directory / FILE
    label = f"{a.directory.name}/{path.name}" if path.parent == a.directory else str(path)
    data = read_yaml(path, label)
    problems: list[Problem] = top_level_keys(label, data, ("consensus",))
    root = data.get("consensus") if isinstance(data, dict) else None
    if (
        not isinstance(root, dict)
        or not isinstance(root.get("forecasts"), list)
        or not isinstance(root.get("last_results"), dict)
    ):
        raise InputError.single(
            label,
            "consensus",
            "must hold 'consensus:' with 'last_results: {quarter, released, url}' and a list 'forecasts:'",
            1,
        )
    last_q, released, warnings = _last_results(a, root, label)
    base = project(a)
    forecasts: list[Forecast] = []
    seen: set[str] = set()
    for i, entry in enumerate(root["forecasts"]):
        line = getattr(entry, "line", None)
        where = f"forecasts[{i}]"
        if not isinstance(entry, dict):
            problems.append(Problem(label, where, f"must be a mapping with {', '.join(REQUIRED)}", line))
            continue
        fid = entry.get("id")
        where += f" ({fid})" if isinstance(fid, str) else ""
        at = lambda key, entry=entry, line=line: line_of(entry, key) if key in entry else line  # noqa: E731
        bad = [k for k in entry if k not in REQUIRED + OPTIONAL]
        for k in bad:
            problems.append(
                Problem(label, f"{where}.{k}", f"unknown key; valid: {', '.join(REQUIRED + OPTIONAL)}", at(k))
            )
        missing = [k for k in REQUIRED if k not in entry]
        if missing:
            problems.append(Problem(label, where, f"missing {', '.join(missing)}", line))
            continue
        errs, date = _check_entry(entry, fid, label, where, at, seen)
        value, url = entry["value"], str(entry["url"])
        if errs:
            problems.extend(errs)
            continue
        definition, base_metric, base_value = _definition_and_base(entry, label, where, at, base, errs)
        if errs:
            problems.extend(errs)
            continue
        seen.add(str(fid))
        f = Forecast(
            str(fid),
            str(entry["who"]),
            date,
            entry["date_basis"],
            str(entry["words"]),
            url,
            str(entry["metric"]),
            float(value),
            entry["unit"],
            str(entry.get("reading", "")),
            str(entry.get("note", "")),
            line,
            definition,
            base_metric,
            base_value,
        )
        try:
            evaluate(f.claim(), base)
        except TestError as exc:
            problems.append(Problem(label, f"{where}.metric", f"{exc} (metric: {f.metric})", at("metric")))
            continue
        forecasts.append(f)
    if problems:
        raise InputError(problems)
    return Consensus(tuple(forecasts), last_q, released, label, tuple(warnings))


def _definition_and_base(
    entry: dict, label: str, where: str, at, base, errs: list[Problem]
) -> tuple[tuple, str, float]:
    """The optional ``definition`` {attributable, gaap, currency} and ``base`` {metric, value}
    of an entry, checked (problems appended to ``errs``)."""
    definition: tuple = ()
    d = entry.get("definition")
    if d is not None:
        if not isinstance(d, dict) or set(d) != set(DEFINITION):
            errs.append(
                Problem(
                    label,
                    f"{where}.definition",
                    "must be {attributable: true|false|n/a, gaap: gaap|non_gaap|n/a, currency: RMB|HKD|USD}",
                    at("definition"),
                )
            )
        else:
            for key, valid in DEFINITION.items():
                if d[key] not in valid or isinstance(d[key], bool) != (key == "attributable" and d[key] != "n/a"):
                    errs.append(
                        Problem(
                            label,
                            f"{where}.definition.{key}",
                            f"{d[key]!r} is not one of {', '.join(str(v).lower() for v in valid)}",
                            at("definition"),
                        )
                    )
            definition = tuple(d[k] for k in DEFINITION)
    b = entry.get("base")
    if b is None:
        return definition, "", float("nan")
    if not isinstance(b, dict) or set(b) - {"metric", "value", "words"} or not {"metric", "value"} <= set(b):
        errs.append(
            Problem(
                label,
                f"{where}.base",
                "must be {metric: sum(x, FY2026), value: <the broker's estimate>, words: optional}",
                at("base"),
            )
        )
        return definition, "", float("nan")
    v = b["value"]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
        errs.append(Problem(label, f"{where}.base.value", f"{v!r} is not a number (in the entry's unit)", at("base")))
        return definition, "", float("nan")
    try:
        tree = parse_test(str(b["metric"]))
        claim = Claim("base", "", {}, "", str(b["metric"]), tree)
        evaluate(claim, base)
    except TestError as exc:
        errs.append(Problem(label, f"{where}.base.metric", f"{exc} (metric: {b['metric']})", at("base")))
        return definition, "", float("nan")
    return definition, str(b["metric"]), float(v)


def validate_consensus(a: Assumptions) -> tuple[Problem, ...]:
    """For ``pivotmodel validate``: check consensus.yaml if the folder has one; its warnings."""
    return load_consensus(a).warnings if (a.directory / FILE).exists() else ()


def percentile(draws: np.ndarray, value: float) -> float:
    """Mid-rank percentile of ``value`` among the finite draws, in [0, 1] (NaN if none)."""
    x = np.asarray(draws, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return float("nan")
    return float(((x < value).sum() + 0.5 * (x == value).sum()) / x.size)


def forecast_series(consensus: Consensus) -> list[str]:
    names = set()
    for f in consensus.forecasts:
        names |= series_in(f.claim().tree)
    return sorted(names | {"group.fx_usd_rmb"})


def metric_draws(
    a: Assumptions, consensus: Consensus, draws: int, seed: int, method: str, chunk: int | None = None
) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """Each forecast's metric on ``draws`` Monte Carlo draws (draw 0 the base case), and the
    uncertain inputs of those draws; computed in chunks (the simulation's chunk size by
    default), with the same numbers whatever the chunk size."""
    from .sampling import make_design

    design = make_design(a, draws, seed, method)
    keep = forecast_series(consensus)
    chunk = chunk or int(a.settings.get("chunk_size", 25000)) or draws
    out: dict[str, list[np.ndarray]] = {f.id: [] for f in consensus.forecasts}
    inputs: list[pd.DataFrame] = []
    engine = prepare(a)
    for start in range(0, draws, chunk):
        stop = min(draws, start + chunk)
        values = design.values(start, stop)
        inputs.append(pd.DataFrame({k: values[k] for k in design.dists}))
        p = run(engine, values, keep=keep)
        for f in consensus.forecasts:
            out[f.id].append(evaluate(f.claim(), p).metric)
    return {k: np.concatenate(v) for k, v in out.items()}, pd.concat(inputs, ignore_index=True)


def place(
    consensus: Consensus,
    metrics: dict[str, np.ndarray],
    actuals: dict[str, float] | None = None,
    estimated: dict[str, tuple[str, str]] | None = None,
) -> pd.DataFrame:
    """One row per forecast: the model's P5/P50/P95, the forecast's percentile, flags; and,
    where the entry gives the broker's estimate for the last reported year and ``actuals``
    the reported figure of that metric (by forecast id), the forecast rebased on it (see the
    module's doc). A metric the history fixes (a reported period: every draw equal) is
    ``reported``: its ``actual`` and the broker's ``miss`` are given, and it is not placed.
    ``estimated`` (by id: the estimated history cells the metric and its base read, from
    :func:`estimated_reads`) fills ``actual_on_estimates`` and ``base_on_estimates``: a figure
    "as reported" that takes an estimate for a quarter, shown marked."""
    actuals, estimated = actuals or {}, estimated or {}
    rows = []
    for f in consensus.forecasts:
        m = metrics[f.id]
        finite = m[np.isfinite(m)]
        reported = bool(finite.size == m.size and finite.size > 0 and np.ptp(finite) == 0.0)
        p5, p50, p95 = np.quantile(finite, [0.05, 0.5, 0.95]) if finite.size else (np.nan,) * 3
        pct = np.nan if reported else percentile(m, f.value)
        actual = actuals.get(f.id, np.nan)
        growth, additive = rebase(f, actual)
        rows.append(
            {
                "id": f.id,
                "who": f.who,
                "date": f.date.isoformat(),
                "stale": consensus.stale(f),
                "metric": f.metric,
                "unit": f.unit,
                "forecast": f.value,
                "p5": p5,
                "p50": p50,
                "p95": p95,
                "percentile": pct,
                "outside": bool(not reported and finite.size and (f.value < p5 or f.value > p95)),
                "url": f.url,
                "definition": f.describe_definition(),
                "superseded_by": consensus.superseded_by(f),
                "reported": reported,
                "actual": float(finite[0]) if reported else np.nan,
                "miss": f.value - float(finite[0]) if reported else np.nan,
                "base_value": f.base_value,
                "base_actual": actual,
                "rebased_growth": growth,
                "pctile_growth": percentile(m, growth) if np.isfinite(growth) else np.nan,
                "rebased_additive": additive,
                "pctile_additive": percentile(m, additive) if np.isfinite(additive) else np.nan,
                "actual_on_estimates": estimated.get(f.id, ("", ""))[0] if reported else "",
                "base_on_estimates": estimated.get(f.id, ("", ""))[1] if np.isfinite(actual) else "",
            }
        )
    return pd.DataFrame(rows).set_index("id")


def rebase(f: Forecast, actual: float) -> tuple[float, float]:
    """(by the broker's growth, by the broker's miss carried additively) on the reported
    ``actual`` of the broker's base metric; NaN where the entry gives no base or the actual is
    not reported. Growth rebasing needs a level on both sides of one sign (not a ratio)."""
    if not f.base_metric or not np.isfinite(actual):
        return np.nan, np.nan
    additive = f.value + (actual - f.base_value)
    if f.unit == "ratio" or f.base_value <= 0 or actual <= 0:
        return np.nan, additive
    return f.value / f.base_value * actual, additive


def base_actuals(consensus: Consensus, p) -> dict[str, float]:
    """The reported figure of each entry's base metric on a projection (history), by id."""
    out = {}
    for f in consensus.forecasts:
        if f.base_metric:
            claim = Claim(f"{f.id}_base", "", {}, "", f.base_metric, parse_test(f.base_metric))
            out[f.id] = float(evaluate(claim, p).metric[0])
    return out


def estimated_reads(consensus: Consensus, p, history) -> dict[str, tuple[str, str]]:
    """By id: (the estimated history cells the forecast's metric reads, those its base metric
    reads) on projection ``p``, e.g. ``group.non_gaap_net_income FY2026Q3 (16,179 +- 10,517 RMB mn)``
    (a quarter whose release figure is not in the history: ``history/estimates.csv``); "" where none."""
    from .claim_status import claim_reads

    cells = history.estimated_cells()

    def reads(metric: str) -> str:
        if not metric:
            return ""
        got, annual = claim_reads(Claim("reads", "", {}, "", metric, parse_test(metric)), p)
        rows = [(s, q, cells[s, q]) for s, q in sorted((got - annual) & set(cells))]
        return ", ".join(f"{s} {q.label} ({r.value:,.0f} +- {r.spread:,.0f} RMB mn)" for s, q, r in rows)

    return {f.id: (reads(f.metric), reads(f.base_metric)) for f in consensus.forecasts}


def forecast_claim(f: Forecast, direction: str) -> Claim:
    """The forecast as a claim ``metric >= value`` (``direction`` "up") or ``<=`` ("down")."""
    op = ">=" if direction == "up" else "<="
    test = f"{f.metric} {op} {f.value!r}"
    return Claim(
        f.id,
        f.words,
        {"publication": f.who, "date": f.date.isoformat(), "url": f.url},
        f.reading,
        test,
        parse_test(test),
    )


def what_would_move(
    a: Assumptions, f: Forecast, row: pd.Series, inputs: pd.DataFrame, metric: np.ndarray, top: int = 1
) -> list[str]:
    """Sentences: the inputs most rank-correlated with the metric across the draws, each
    solved for the value that reaches the forecast with everything else at base."""
    from scipy import stats

    from .solve import solve

    ok = np.isfinite(metric)
    scores = {}
    for key in inputs.columns:
        x = inputs[key].to_numpy(dtype=float)[ok]
        if np.ptp(x) > 0:
            rho = stats.spearmanr(x, metric[ok]).statistic
            if np.isfinite(rho):
                scores[key] = abs(rho)
    direction = "up" if f.value > row["p50"] else "down"
    claim = forecast_claim(f, direction)
    out = []
    for key in sorted(scores, key=lambda k: scores[k], reverse=True)[:top]:
        sol = solve(a, f.id, key, claim=claim)
        out.append(f"{sol.sentence} (|Spearman rho| {scores[key]:.2f} across the draws)")
    return out


PROFIT_SERIES = (
    "group.non_gaap_net_income",
    "group.net_income_attributable",
    "group.net_income",
    "group.eps_non_gaap_ads",
    "group.eps_gaap_ads",
)


def cumulative_bridge(
    a: Assumptions, f: Forecast, row: pd.Series, inputs: pd.DataFrame, metric: np.ndarray, top: int = 6, grid: int = 60
) -> str:
    """What would have to move together: the inputs most rank-correlated with the metric are
    moved one after another, all to the same percentile of their own distributions (each in
    the direction that moves the metric toward the forecast), everything else at base; the
    first set, and the lowest common percentile, that reach the forecast. One sentence."""
    from scipy import stats

    ok = np.isfinite(metric)
    rho = {}
    for key in inputs.columns:
        x = inputs[key].to_numpy(dtype=float)[ok]
        if key in a.inputs and np.ptp(x) > 0:
            r = stats.spearmanr(x, metric[ok]).statistic
            if np.isfinite(r):
                rho[key] = float(r)
    ranked = sorted(rho, key=lambda k: abs(rho[k]), reverse=True)[:top]
    up = f.value > row["p50"]
    engine = prepare(a)
    levels = np.linspace(0.5, 0.999, grid)  # the common percentile, toward the forecast
    reached = lambda m: m >= f.value if up else m <= f.value  # noqa: E731
    # the percentiles that move each input's value the wanted way (raise it when the metric rises
    # with it and the forecast is above the median); by the values, as some inputs map u downward
    side = {}
    for key in ranked:
        dist, raise_it = a.inputs[key].dist, (rho[key] > 0) == up
        high_first = dist.ppf(np.array([0.999]))[0] >= dist.ppf(np.array([0.001]))[0]
        side[key] = levels if raise_it == high_first else 1.0 - levels
    last = None
    for k in range(1, len(ranked) + 1):
        chosen = ranked[:k]
        values = {key: np.full(grid, x) for key, x in engine.base_values.items()}
        for key in chosen:
            values[key] = a.inputs[key].dist.ppf(side[key])
        m = evaluate(f.claim(), run(engine, values, keep=series_in(f.claim().tree))).metric
        hit = np.flatnonzero(reached(m))
        last = (chosen, m)
        if hit.size:
            i = int(hit[0])
            moves = ", ".join(_moved(a, key, side[key][i]) for key in chosen)
            return (
                f"together: {moves} reach {format_value(f.value, f.unit)} (the metric at "
                f"{format_value(float(m[i]), f.unit)}, everything else at base)"
            )
    if last is None:
        return "no input varies with this metric across the draws"
    chosen, m = last
    end = ", ".join(_moved(a, key, side[key][-1]) for key in chosen)
    return (
        f"not reached: even {end} together give {format_value(float(m[-1]), f.unit)} against "
        f"{format_value(f.value, f.unit)} (everything else at base)"
    )


def _moved(a: Assumptions, key: str, q: float) -> str:
    inp = a.inputs[key]
    value = float(inp.dist.ppf(np.array([q]))[0])
    return f"{key} to {value:.4g} (P{100 * q:.1f}; median {inp.base_value:.4g})"


# --- fan charts with the forecasts as dated markers ---------------------------------------

# series -> (panel title, unit, divisor from the engine's unit)
FAN_PANELS: dict[str, tuple[str, str, float]] = {
    "group.revenue": ("Group revenue", "RMB bn", 1000.0),
    "cloud.revenue": ("Cloud revenue", "RMB bn", 1000.0),
    "group.non_gaap_net_income": ("Non-GAAP net income", "RMB bn", 1000.0),
    "group.eps_non_gaap_ads": ("Non-GAAP diluted EPS", "RMB per ADS", 1.0),
    "group.net_income_attributable": ("Net income attributable (GAAP)", "RMB bn", 1000.0),
    "group.eps_gaap_ads": ("GAAP diluted EPS", "RMB per ADS", 1.0),
}


def fan_data(
    a: Assumptions, consensus: Consensus, table: pd.DataFrame, draws: int, seed: int, method: str
) -> pd.DataFrame:
    """P5/P25/P50/P75/P95 by fiscal year of each panel series (history: reported), with the
    forecasts on those series in ``attrs['markers']`` (a growth forecast is drawn as the level
    it implies on the year before, when that year is reported)."""
    from .sampling import make_design

    design = make_design(a, draws, seed, method)
    chunk = int(a.settings.get("chunk_size", 25000)) or draws
    parts: dict[str, list[np.ndarray]] = {s: [] for s in FAN_PANELS}
    years: list = []
    engine = prepare(a)
    for start in range(0, draws, chunk):
        p = run(engine, design.values(start, min(draws, start + chunk)), keep=list(FAN_PANELS) + ["group.fx_usd_rmb"])
        years = p.timeline.year_periods("fy")
        for s, (_, _, div) in FAN_PANELS.items():
            parts[s].append(np.stack([p.total(s, y) for y in years], axis=1) / div)
    first = a.history.last_quarter + 1
    rows = []
    levels: dict[tuple[str, int], float] = {}
    for s, (title, unit, _) in FAN_PANELS.items():
        arr = np.concatenate(parts[s])
        for i, y in enumerate(years):
            col = arr[:, i]
            q = np.quantile(col, [0.05, 0.25, 0.5, 0.75, 0.95]) if np.isfinite(col).all() else [np.nan] * 5
            status = "P" if y.last >= first else "A"
            rows.append(
                {
                    "series": s,
                    "panel": title,
                    "unit": unit,
                    "period": y.label,
                    "year": int(y.label[2:]),
                    "status": status,
                    **dict(zip(("p5", "p25", "p50", "p75", "p95"), map(float, q))),
                }
            )
            if status == "A" and np.isfinite(col[0]):
                levels[(s, int(y.label[2:]))] = float(col[0])
    markers = []
    for f in consensus.forecasts:
        m = f.claim().measure  # a single sum(x, FYyyyy) or yoy(x, FYyyyy) on a panel series is drawn
        if (
            m.function not in ("sum", "yoy")
            or m.series[0] not in FAN_PANELS
            or not re.fullmatch(r"FY\d{4}", m.period or "")
        ):
            continue
        s, year = m.series[0], int(m.period[2:])  # type: ignore[index]
        if m.function == "sum":
            value = f.value
        elif (s, year - 1) in levels:
            value = levels[(s, year - 1)] * (1.0 + f.value)
        else:
            continue
        markers.append(
            {
                "id": f.id,
                "series": s,
                "year": year,
                "value": value,
                "date": f.date.isoformat(),
                "stale": consensus.stale(f),
                "outside": bool(table.loc[f.id, "outside"]),
            }
        )
    out = pd.DataFrame(rows)
    out.attrs["markers"] = pd.DataFrame(markers, columns=["id", "series", "year", "value", "date", "stale", "outside"])
    return out


def consensus_report(a, draws: int, seed: int, method: str, explain: int = 3):
    """(table, consensus, explanations {id: [sentences]}) for the CLI and the report."""
    consensus = load_consensus(a)
    metrics, inputs = metric_draws(a, consensus, draws, seed, method)
    base = project(a)
    table = place(consensus, metrics, base_actuals(consensus, base), estimated_reads(consensus, base, a.history))
    # the furthest forecast of each distinct metric, furthest first (ties: file order); superseded
    # and reported-period entries are not explained
    live = table[(table["superseded_by"] == "") & ~table["reported"]]
    far = (live["percentile"] - 0.5).abs().fillna(-1).sort_values(ascending=False, kind="stable")
    chosen = list(dict.fromkeys(table.loc[far.index, "metric"]).keys())
    first_of = {m: next(fid for fid in far.index if table.loc[fid, "metric"] == m) for m in chosen}
    by_id = {f.id: f for f in consensus.forecasts}
    explanations = {
        fid: what_would_move(a, by_id[fid], table.loc[fid], inputs, metrics[fid], top=2)
        for fid in list(first_of.values())[:explain]
    }
    for fid in list(first_of.values())[:explain]:  # profit forecasts: the inputs that reach it together
        if series_in(by_id[fid].claim().tree) & set(PROFIT_SERIES):
            explanations[fid].append(cumulative_bridge(a, by_id[fid], table.loc[fid], inputs, metrics[fid]))
    return table, consensus, explanations


def format_value(x: float, unit: str) -> str:
    """A forecast or quantile as printed: a signed percentage for a ratio, else to one decimal
    with thousands separators (RMB bn, or per ADS)."""
    if not np.isfinite(x):
        return "n/a"
    return f"{x:+.1%}" if unit == "ratio" else f"{x:,.1f}"

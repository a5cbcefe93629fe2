"""``pivotmodel update ROWS.csv``: a newly reported quarter in one step.

The rows (the columns of ``history/reported.csv``) are checked on their own (the quarters in
sequence after the last reported one, as one headline problem; each row's metric, unit, plain
number, sign and size; segments + elimination = group; YoY growth against
the row a year earlier within a plausibility band: a warning, never a change), then with the
whole folder: a copy of the assumptions with the rows appended must load (its problems told by
the rows file's line; the usual rows the new quarter lacks listed by CSV segment and metric). Only then is
``history/reported.csv`` rewritten (its bytes kept, the new rows appended in sorted order) and
the change written (:mod:`pivotmodel.cli.update`): per claim the probability and 95% interval before and
after, per headline output the base case, P5 and P95 before and after, and each change split into the part the
new actuals make (the old starts kept) and the part the re-anchored starts make. A rejected
file changes nothing.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .lazy import lazy

if TYPE_CHECKING:  # the real modules for the type checker; lazy stand-ins at run time
    import numpy as np
    import pandas as pd
else:
    np = lazy("numpy")
    pd = lazy("pandas")

from .errors import InputError, Problem
from .history import REPORTED_COLUMNS, Row, _period_key, _read_csv, check_fields
from .history_checks import check_rows, number
from .periods import PeriodError, Quarter
from .schema import SEGMENT_IDS

__all__ = [
    "check_new_rows",
    "missing_usual",
    "append_rows",
    "trial_lines",
    "from_trial",
    "headline_outputs",
    "compare",
    "frozen_starts",
    "claim_probabilities",
    "format_change",
    "YOY_BAND",
    "HEADLINE",
]

YOY_BAND = 0.6  # |YoY growth| above this is flagged as implausible (a warning)
IDENTITY_TOLERANCE = 0.002  # of group revenue: rounding in the releases
HEADLINE = ("group.revenue", "cloud.revenue", "group.adjusted_ebita", "group.capex", "group.fcf")


def _quarter_of(period: str) -> Quarter:
    _, when = _period_key(period)
    return when if isinstance(when, Quarter) else Quarter(when, 4)


def check_new_rows(path: Path, history, label: str | None = None) -> tuple[list[dict], list[Problem]]:
    """The rows of ``path`` and the warnings; errors (file, line, key) raise InputError: first a
    quarter out of sequence (alone: the rest would follow from it), then each row's fields, sign
    and size, and only then the identities between rows."""
    label = label or str(path)
    records = _read_csv(path, REPORTED_COLUMNS, label)
    problems: list[Problem] = []
    rows: list[dict] = []
    last = history.last_quarter
    existing = {(r.period, r.segment, r.metric) for r in history.rows}
    seen: dict[tuple[str, str, str], int] = {}
    if not records:
        problems.append(Problem(label, "", "holds no rows"))
    records = [(line, {k: (rec[k] or "").strip() for k in REPORTED_COLUMNS}) for line, rec in records]
    _check_sequence(records, last, label)
    for line, rec in records:
        key = (rec["period"], rec["segment"], rec["metric"])
        try:
            q = _quarter_of(rec["period"])
        except PeriodError:
            problems.append(Problem(label, "period", f"{rec['period']!r} is not a period like FY2027Q1", line))
            continue
        if q <= last:
            problems.append(
                Problem(
                    label,
                    "period",
                    f"{rec['period']} is not after the last reported quarter {last.label}: "
                    "update appends new quarters; correct past rows in history/reported.csv",
                    line,
                )
            )
        value, errs = check_fields(rec, label, line, history.segment_relation)
        problems += errs
        if value is None:
            continue
        if key in existing or key in seen:
            problems.append(Problem(label, "period,segment,metric", f"duplicate row {key}", line))
        seen[key] = line
        rows.append({**rec, "value": value, "text": rec["value"], "line": line})
    if not problems:  # sign and size of each row (and segments within the group) before the identities
        as_rows = [
            Row(
                r["period"],
                r["segment"],
                r["metric"],
                r["value"],
                r["unit"],
                r["basis"],
                r["source"],
                r["note"],
                r["line"],
            )
            for r in rows
        ]
        problems += [p for p in check_rows(as_rows, history.segment_relation, label) if p.level == "error"]
    if not problems:
        problems += _identity(rows, history, label)
    if problems:
        raise InputError(problems)
    return rows, _plausibility(rows, history, label) + _lacking_summary(
        missing_usual(rows, history, label), history, label
    )


def _lacking_summary(lacking: list[Problem], history, label: str) -> list[Problem]:
    """One warning per new quarter listing, by CSV segment and metric, the usual rows it lacks."""
    by_period: dict[str, list[str]] = {}
    for p in lacking:
        period, rest = p.key.split(",", 1)
        by_period.setdefault(period, []).append(rest)
    return [
        Problem(
            label,
            period,
            f"lacks {len(keys)} row(s) that {history.last_quarter.label} has and the model reads "
            f"(segment,metric): {'; '.join(keys)}; add those the release gives",
            level="warn",
        )
        for period, keys in by_period.items()
    ]


def _check_sequence(records: list[tuple[int, dict]], last: Quarter, label: str) -> None:
    """The new quarters follow ``last`` without a gap; else one headline problem, raised alone."""
    later: dict[Quarter, int] = {}
    for line, rec in records:
        try:
            q = _quarter_of(rec["period"])
        except PeriodError:
            continue
        if q > last:
            later[q] = min(line, later.get(q, line))
    expected = last + 1
    for q in sorted(later):
        if q != expected:
            raise InputError(
                [
                    Problem(
                        label,
                        "period",
                        f"{q.label} does not follow {(expected + -1).label}: update appends "
                        f"the quarters after the last reported one ({last.label}) in order, {expected.label} "
                        f"next; a typo for {expected.label}? (fix this first, the other checks follow from it)",
                        later[q],
                    )
                ]
            )
        expected = q + 1


def missing_usual(rows: list[dict], history, label: str) -> list[Problem]:
    """The rows the model reads that the last reported quarter has and a new quarter lacks, named by
    CSV segment and metric (a warning each: the model reads no actual for them in that quarter)."""
    from .history import SERIES_OF_METRIC

    last = history.last_quarter.label
    usual = {
        (r.segment, r.metric): r
        for r in history.rows
        if r.period == last
        and history.segment_relation.get(r.segment, ("", ""))[1] == "equals"
        and (history.segment_relation[r.segment][0], r.metric) in SERIES_OF_METRIC
    }
    out = []
    for period in sorted({r["period"] for r in rows}, key=_quarter_of):
        have = {(r["segment"], r["metric"]) for r in rows if r["period"] == period}
        for segment, metric in sorted(set(usual) - have):
            series = SERIES_OF_METRIC[(history.segment_relation[segment][0], metric)]
            out.append(
                Problem(
                    label,
                    f"{period},{segment},{metric}",
                    f"no row, though {last} has one (the model's {series}, needed for {period}): add the row",
                    level="warn",
                )
            )
    return out


def _identity(rows: list[dict], history, label: str) -> list[Problem]:
    """Per new quarter and metric (revenue, adjusted EBITA): the four segments, unallocated and
    elimination add up to the group, where the file gives every part."""
    out = []
    rel = history.segment_relation
    parts_of = {
        "revenue": (*SEGMENT_IDS, "group.elimination"),
        "adjusted_ebita": (*SEGMENT_IDS, "group.unallocated", "group.elimination"),
    }
    for metric, parts in parts_of.items():
        for period in sorted({r["period"] for r in rows if r["metric"] == metric}):
            got = {
                rel[r["segment"]][0]: r
                for r in rows
                if r["period"] == period
                and r["metric"] == metric
                and r["segment"] in rel
                and rel[r["segment"]][1] == "equals"
            }
            group = got.get("group")
            if group is None or not all(p in got for p in parts if p != "group.unallocated"):
                continue  # not every part given: nothing to check
            total = sum(got[p]["value"] for p in parts if p in got)
            if abs(total - group["value"]) > max(2.0, IDENTITY_TOLERANCE * abs(group["value"])):
                names = " + ".join(got[p]["segment"] for p in parts if p in got)
                out.append(
                    Problem(
                        label,
                        f"{period},{group['segment']},{metric}",
                        f"{number(group['value'])} but {names} = {number(total)}: segments + elimination must equal "
                        "the group (within rounding); check the rows",
                        group["line"],
                    )
                )
    return out


def _plausibility(rows: list[dict], history, label: str) -> list[Problem]:
    """YoY growth against the row a year earlier outside +/- YOY_BAND: a warning."""
    from .history import SERIES_OF_METRIC

    out = []
    for r in rows:
        kind, _ = _period_key(r["period"])
        prefix, relation = history.segment_relation.get(r["segment"], ("", ""))
        series = SERIES_OF_METRIC.get((prefix, r["metric"]))
        if kind != "quarter" or relation != "equals" or series is None or r["unit"] != "RMB_mn":
            continue
        before = history.value(series, _quarter_of(r["period"]) + -4)
        if math.isnan(before) or before <= 0 or r["value"] <= 0:
            continue
        growth = r["value"] / before - 1.0
        if abs(growth) > YOY_BAND:
            out.append(
                Problem(
                    label,
                    f"{r['period']},{r['segment']},{r['metric']}",
                    f"YoY growth {growth:+.0%} against {number(before)} a year earlier is outside +/-{YOY_BAND:.0%}: "
                    "check the figure and its unit (appended as given)",
                    r["line"],
                    level="warn",
                )
            )
    return out


def append_rows(text: str, rows: list[dict]) -> str:
    """``reported.csv``'s text with ``rows`` appended, sorted by period, segment and metric;
    the existing bytes and line endings are kept."""
    newline = "\r\n" if "\r\n" in text else "\n"
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=newline)
    for r in _sorted_rows(rows):
        writer.writerow(
            [r["period"], r["segment"], r["metric"], r["text"], r["unit"], r["basis"], r["source"], r["note"]]
        )
    if text and not text.endswith(("\n", "\r")):
        text += newline
    return text + buf.getvalue()


def _sorted_rows(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: (_quarter_of(r["period"]), r["period"], r["segment"], r["metric"]))


def trial_lines(text: str, rows: list[dict]) -> dict[int, int]:
    """Line (as loading numbers them: header 1, records from 2) of each appended row in
    ``append_rows(text, rows)`` -> its line in the rows file."""
    records = sum(1 for _ in csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    return {records + 2 + k: r["line"] for k, r in enumerate(_sorted_rows(rows))}


REPORTED = "history/reported.csv"


def from_trial(p: Problem, lines: dict[int, int], rows_label: str) -> Problem:
    """A problem found in the trial folder, told where the analyst fixes it: an appended row by
    the rows file's line; anything else as what appending caused in the folder's file."""
    if Path(p.file).parts[-2:] == Path(REPORTED).parts and p.line in lines:
        return Problem(rows_label, p.key, p.message, lines[p.line], p.level)
    if p.level != "error":
        return p  # a warning about the folder, as validate gives it
    where = p.file if p.line is None else f"{p.file}:{p.line}"
    return Problem(rows_label, p.key, f"after appending, {where}: {p.message}", None, p.level)


def headline_outputs(r, fiscal_years: list[int]) -> pd.DataFrame:
    """Base case (draw 0), P5 and P95 of the headline series by fiscal year (RMB bn)."""
    rows = []
    periods = list(r.periods["fy"])
    for name in HEADLINE:
        arr = r.totals["fy"].get(name)
        if arr is None:
            continue
        for fy in fiscal_years:
            label = f"FY{fy}"
            if label not in [str(p) for p in periods]:
                continue
            col = np.asarray(arr, dtype=float)[:, [str(p) for p in periods].index(label)] / 1000.0
            finite = col[np.isfinite(col)]  # n/a where a quarter's figure is neither reported nor modelled
            p5, p95 = np.quantile(finite, [0.05, 0.95]) if finite.size else (math.nan, math.nan)
            rows.append({"output": name, "period": label, "base": col[0], "P5": p5, "P95": p95})
    return pd.DataFrame(rows).set_index(["output", "period"])


def compare(before, mixed, after, column_sets: dict[str, list[str]]) -> pd.DataFrame:
    """``before`` and ``after`` side by side; each change split into new actuals (``mixed`` -
    ``before``: new history, old starts) and re-anchored starts (``after`` - ``mixed``)."""
    out = pd.DataFrame(index=after.index.union(before.index))
    for col in column_sets["values"]:
        out[f"{col}_before"] = before[col]
        out[f"{col}_after"] = after[col]
    for col in column_sets["split"]:
        out[f"{col}_change"] = after[col] - before[col]
        out[f"{col}_from_actuals"] = mixed[col] - before[col]
        out[f"{col}_from_anchors"] = after[col] - mixed[col]
    return out


def frozen_starts(after, before):
    """``after`` with every anchored start as it was ``before`` (the new history kept)."""
    inputs = {
        k: (before.inputs[k] if v.anchor is not None and k in before.inputs else v) for k, v in after.inputs.items()
    }
    return replace(after, inputs=MappingProxyType(inputs))


def claim_probabilities(r) -> pd.DataFrame:
    return r.claims_table()[["probability", "ci_low", "ci_high"]]


def format_change(claims: pd.DataFrame, outputs: pd.DataFrame, old: Quarter, new: Quarter, n: int) -> str:
    pct = lambda x: "n/a" if pd.isna(x) else f"{x:.0%}"  # noqa: E731
    lines = [
        f"update: {n} rows, history {old.label} -> {new.label}; change = from new actuals + from re-anchored starts",
        "claim                                        P before [95% CI]     P after [95% CI]      change (actuals + "
        "anchors)",
    ]
    for cid, r in claims.iterrows():
        lines.append(
            f"  {str(cid)[:42]:42} {pct(r.probability_before):>4} [{pct(r.ci_low_before)}-{pct(r.ci_high_before)}]"
            f"  {pct(r.probability_after):>4} [{pct(r.ci_low_after)}-{pct(r.ci_high_after)}]"
            f"  {r.probability_change:+.1%} ({r.probability_from_actuals:+.1%} {r.probability_from_anchors:+.1%})"
        )
    lines.append(
        "output (RMB bn)                  base before -> after (actuals + anchors)    P5 before -> after   P95 before "
        "-> after"
    )
    for (name, period), r in outputs.iterrows():
        lines.append(
            f"  {name:22} {period:7} {r.base_before:9,.1f} -> {r.base_after:9,.1f} ({r.base_from_actuals:+.1f} "
            f"{r.base_from_anchors:+.1f})"
            f"  {r.P5_before:9,.1f} -> {r.P5_after:9,.1f}  {r.P95_before:9,.1f} -> {r.P95_after:9,.1f}"
        )
    return "\n".join(lines)


# --- unreported lines carried on (history/estimates.csv) -----------------------------------------

# model series -> (segment, metric, unit) of its estimate rows
CARRIED = {
    "china_ecommerce.quick_commerce_ebita": (
        "Alibaba China E-commerce Group",
        "quick_commerce_adjusted_ebita",
        "RMB_mn",
    ),
    "china_ecommerce.quick_commerce_orders": ("Alibaba China E-commerce Group", "quick_commerce_orders", "count_mn"),
    "china_ecommerce.other_revenue": ("Alibaba China E-commerce Group", "other_revenue", "RMB_mn"),
    "china_ecommerce.cmr": ("Alibaba China E-commerce Group", "customer_management_revenue", "RMB_mn"),
    "china_ecommerce.quick_commerce_revenue": ("Alibaba China E-commerce Group", "quick_commerce_revenue", "RMB_mn"),
    "cloud.ai_revenue": ("Cloud Intelligence Group", "ai_related_product_revenue", "RMB_mn"),
    "cloud.external_revenue": ("Cloud Intelligence Group", "external_customer_revenue", "RMB_mn"),
    "cloud.internal_revenue": ("Cloud Intelligence Group", "internal_customer_revenue", "RMB_mn"),
    "cloud.other_external_revenue": ("Cloud Intelligence Group", "other_external_revenue", "RMB_mn"),
}
CORE_EBITA_GROWTH = 0.05  # China E-commerce EBITA ex quick commerce, YoY: "mid-single digit" (CFO, Sep-2025 call)
ESTIMATE_SOURCE = "pivotmodel update (rule in pivotmodel/update.py)"


def _model_quantiles(r, series: str, q: Quarter) -> tuple[float, float, float] | None:
    """(P5, median, P95) of ``series`` in quarter ``q`` of run ``r``; None where it is n/a."""
    arr = r.totals["quarter"].get(series)
    labels = [str(p) for p in r.periods["quarter"]]
    if arr is None or q.label not in labels:
        return None
    col = np.asarray(arr, dtype=float)[:, labels.index(q.label)]
    if not np.all(np.isfinite(col)):
        return None
    p5, p50, p95 = np.quantile(col, [0.05, 0.5, 0.95])
    return float(p5), float(p50), float(p95)


def _estimate_row(series: str, q: Quarter, value: float, spread: float, note: str, valid_from: str) -> dict:
    segment, metric, unit = CARRIED[series]
    return {
        "period": q.label,
        "segment": segment,
        "metric": metric,
        "value": round(value),
        "unit": unit,
        "basis": "estimate",
        "source": ESTIMATE_SOURCE,
        "note": note,
        "spread": round(abs(spread)),
        "valid_from": valid_from,
        "series": series,
    }


def leaving_estimates(before_a, r_before, new_last: Quarter) -> list[dict]:
    """Estimate rows for the base quarters that the appended quarters push out of the window:
    each unreported sub-line the model derived there keeps the value the run before the update
    gave it (median; spread half its P5-P95), so a claim reading that quarter stays evaluable."""
    from .asof import known_by

    h = before_a.history
    out = []
    for q in (h.last_quarter + k for k in (-3, -2, -1, 0)):
        if q >= new_last + -3:
            continue  # still a base quarter after the update
        for series in CARRIED:
            if not math.isnan(h.value_or_estimate(series, q)) or (series, q) in before_a.seeds and not _derived(series):
                continue  # reported, estimated already, or a seed estimate (kept: History.value_or_estimate)
            got = _model_quantiles(r_before, series, q)
            if got is not None:
                note = (
                    f"rule: the model's base case for {q.label} as of {h.last_quarter.label}, when it was a base "
                    f"quarter (median; spread half the P5-P95 width {got[0]:,.0f}-{got[2]:,.0f})"
                )
                out.append(_estimate_row(series, q, got[1], (got[2] - got[0]) / 2, note, known_by(new_last)))
    return out


def _derived(series: str) -> bool:
    from .schema import SEEDABLE

    return series not in SEEDABLE


def new_quarter_estimates(rows: list[dict], before_a, r_before) -> tuple[list[dict], list[str]]:
    """Estimate rows for the appended quarters' seedable sub-lines Alibaba did not report, each
    by a written rule from what it did report, and the rows a person must add where a rule
    lacks its inputs (``update`` then refuses, listing them). Rules (q the new quarter):

    * quick-commerce adjusted EBITA = China E-commerce adjusted EBITA(q) - core(q), core(q) =
      (segment EBITA - quick-commerce EBITA) a year earlier x (1 + CORE_EBITA_GROWTH); spread 20%;
    * CMR and quick-commerce revenue = a year earlier x (1 + the reported YoY %) (rows
      ``cmr_yoy_pct`` / ``quick_commerce_yoy_pct``); spread 1% of the value (the rounding of the %);
    * AI-related revenue = its share of cloud revenue the quarter before x cloud revenue(q); spread 10%.
    The year-earlier and prior-quarter values are as before the update: reported, else the
    estimate or seed estimate (median), else the model's base case."""
    from .asof import known_by
    from .history import SERIES_OF_METRIC

    rel = before_a.history.segment_relation
    got: dict[tuple[str, Quarter], float] = {}
    for r in rows:
        prefix, relation = rel.get(r["segment"], ("", ""))
        key = SERIES_OF_METRIC.get((prefix, r["metric"])) if relation == "equals" else f"{prefix}.{r['metric']}"
        got[(key or f"{prefix}.{r['metric']}", _quarter_of(r["period"]))] = r["value"]
    prior = lambda s, q: _prior_value(before_a, r_before, s, q)  # noqa: E731
    out, missing = [], []
    for q in sorted({_quarter_of(r["period"]) for r in rows}):
        valid = known_by(q)
        rules: dict[str, tuple[Any, tuple[str, ...]]] = {
            "china_ecommerce.quick_commerce_ebita": (_qc_ebita, ()),
            "china_ecommerce.cmr": (_by_yoy, ("china_ecommerce.cmr", "china_ecommerce.cmr_yoy_pct")),
            "china_ecommerce.quick_commerce_revenue": (
                _by_yoy,
                ("china_ecommerce.quick_commerce_revenue", "china_ecommerce.quick_commerce_yoy_pct"),
            ),
            "cloud.ai_revenue": (_ai_share, ()),
        }
        for series, (rule, extra) in rules.items():
            if (series, q) in got:
                continue
            value, spread, note = rule(got, prior, q, *extra)
            if math.isfinite(value):
                out.append(_estimate_row(series, q, value, spread, note, valid))
            else:
                seg, metric, unit = CARRIED[series]
                missing.append(
                    f"{q.label},{seg},{metric},<value>,{unit},estimate,<source>,<how it was estimated>,"
                    f"<spread>,<valid_from> ({note})"
                )
    return out, missing


def _prior_value(a, r, series: str, q: Quarter) -> float:
    """A past quarter's value before the update: reported, else its estimate or seed estimate
    (the median of the input), else the model's base case (median over the draws)."""
    v = a.history.value_or_estimate(series, q)
    if math.isnan(v) and (series, q) in a.seeds:
        v = a.seeds[(series, q)].base_value
    if math.isnan(v):
        v = (_model_quantiles(r, series, q) or (math.nan, math.nan, math.nan))[1]
    return v


def _qc_ebita(got, prior, q: Quarter) -> tuple[float, float, str]:
    seg = got.get(("china_ecommerce.adjusted_ebita", q), math.nan)
    qc_then = prior("china_ecommerce.quick_commerce_ebita", q + -4)
    seg_then = prior("china_ecommerce.adjusted_ebita", q + -4)
    value = seg - (seg_then - qc_then) * (1 + CORE_EBITA_GROWTH)
    if not math.isfinite(value):
        return value, math.nan, "needs the segment's adjusted EBITA for the quarter"
    return (
        value,
        0.2 * abs(value),
        (
            f"rule: China E-commerce adj. EBITA {seg:,.0f} less core EBITA ex quick "
            f"commerce ({seg_then:,.0f} - {qc_then:,.0f} a year earlier, x "
            f"{1 + CORE_EBITA_GROWTH:.2f}) = {value:,.0f}; spread 20% (the broker range)"
        ),
    )


def _by_yoy(got, prior, q: Quarter, series: str, pct_key: str) -> tuple[float, float, str]:
    then, pct = prior(series, q + -4), got.get((pct_key, q), math.nan)
    value = then * (1 + pct / 100)
    if not math.isfinite(value):
        return value, math.nan, f"needs the reported YoY % ({pct_key.split('.')[-1]} row)"
    return (
        value,
        0.01 * abs(value),
        (
            f"rule: a year earlier {then:,.0f} x (1 + the reported {pct:+.0f}%) = "
            f"{value:,.0f}; spread 1% (the rounding of the percent)"
        ),
    )


def _ai_share(got, prior, q: Quarter) -> tuple[float, float, str]:
    cloud = got.get(("cloud.revenue", q), math.nan)
    ai_then, cloud_then = prior("cloud.ai_revenue", q + -1), prior("cloud.revenue", q + -1)
    value = ai_then / cloud_then * cloud
    if not math.isfinite(value):
        return value, math.nan, "needs cloud revenue for the quarter"
    return (
        value,
        0.1 * abs(value),
        (
            f"rule: AI-related revenue's share of cloud revenue the quarter before "
            f"({ai_then:,.0f} / {cloud_then:,.0f}) x cloud revenue {cloud:,.0f} = "
            f"{value:,.0f}; spread 10%"
        ),
    )


def append_estimates(text: str, rows: list[dict]) -> str:
    """``estimates.csv``'s text (header only when new) with ``rows`` appended in sorted order."""
    from .history import ESTIMATE_COLUMNS

    newline = "\r\n" if "\r\n" in text else "\n"
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=newline)
    if not text:
        writer.writerow(ESTIMATE_COLUMNS)
    for r in sorted(rows, key=lambda r: (_quarter_of(r["period"]), r["segment"], r["metric"])):
        writer.writerow([r[c] for c in ESTIMATE_COLUMNS])
    if text and not text.endswith(("\n", "\r")):
        text += newline
    return text + buf.getvalue()


# --- declared children (history/children.csv) carried on ------------------------------------

CHILD_COLUMNS = ("period", "segment", "metric", "value", "unit", "basis", "source", "note")


def new_child_rows(rows: list[dict], before_a) -> list[dict]:
    """Estimates for each declared child in each appended quarter, by written rules: revenue
    keeps the child's share of its parent's revenue in the last quarter before the update (its
    estimate / the parent's reported revenue there) x the parent's newly reported revenue;
    adjusted EBITA keeps the child's margin of that quarter; a child without a revenue line (a
    loss path) is held at that quarter's EBITA. A parent without a new revenue row gives none
    (the base-quarter check then names the parent's row)."""
    rel = before_a.history.segment_relation
    parent_new: dict[tuple[str, Quarter], float] = {}
    for r in rows:
        prefix, relation = rel.get(r["segment"], ("", ""))
        if relation == "equals" and r["metric"] == "revenue":
            parent_new[(prefix, _quarter_of(r["period"]))] = float(r["value"])
    last = before_a.history.last_quarter
    estimates = getattr(before_a, "estimates", {})
    out = []
    for c in getattr(before_a, "children", ()):
        revenue_last = estimates.get(f"{c.id}.revenue", {}).get(last)
        ebita_last = estimates.get(f"{c.id}.adjusted_ebita", {}).get(last)
        parent_last = before_a.history.value(f"{c.parent}.revenue", last)
        for (parent, q), value in sorted(parent_new.items(), key=lambda kv: kv[0][1]):
            if parent != c.parent:
                continue
            row = {
                "period": q.label,
                "segment": c.id,
                "unit": "RMB_mn",
                "basis": "estimate",
                "source": "history_reported",
            }
            if "revenue" in c.lines and revenue_last is not None and parent_last:
                share = revenue_last / parent_last
                revenue = share * value
                out.append(
                    {
                        **row,
                        "metric": "revenue",
                        "value": round(revenue),
                        "note": f"carried on by update: {c.id}'s share of {c.parent} revenue in {last.label} "
                        f"({revenue_last:,.0f} / {parent_last:,.0f} = {share:.4f}) x the reported "
                        f"{q.label} revenue {value:,.0f}",
                    }
                )
                if ebita_last is not None and revenue_last:
                    margin = ebita_last / revenue_last
                    out.append(
                        {
                            **row,
                            "metric": "adjusted_ebita",
                            "value": round(margin * revenue),
                            "note": f"carried on by update: {c.id}'s {last.label} margin ({ebita_last:,.0f} / "
                            f"{revenue_last:,.0f} = {margin:.2%}) x its {q.label} revenue estimate",
                        }
                    )
            elif "revenue" not in c.lines and ebita_last is not None:
                out.append(
                    {
                        **row,
                        "metric": "adjusted_ebita",
                        "value": round(ebita_last),
                        "note": f"carried on by update: {c.id} (no revenue line) held at its {last.label} "
                        f"adjusted EBITA {ebita_last:,.0f}",
                    }
                )
    return out


def append_child_rows(text: str, rows: list[dict]) -> str:
    """``children.csv``'s text with ``rows`` appended (the file keeps its own order)."""
    newline = "\r\n" if "\r\n" in text else "\n"
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=newline)
    for r in rows:
        writer.writerow([r[c] for c in CHILD_COLUMNS])
    if text and not text.endswith(("\n", "\r")):
        text += newline
    return text + buf.getvalue()

"""Charts: each a data function (a DataFrame of exactly the numbers drawn) and a
``plot_<name>(data, ax=None) -> Axes`` that draws it. Nothing here saves or shows; use
:func:`save` for byte-stable PNG and SVG files.

One house style (:data:`STYLE`, :data:`COLORS`): a fixed colour per segment, units on every
axis, fiscal-year ticks, and a source line added by :func:`add_source`.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .periods import parse_period
from .schema import SEGMENT_COLOURS, SEGMENT_IDS
from .tables import SEGMENT_NAMES

__all__ = [
    "COLORS",
    "STYLE",
    "SEGMENTS",
    "apply_style",
    "source_line",
    "add_source",
    "save",
    "close",
    "new_axes",
    "revenue_mix_data",
    "plot_revenue_mix",
    "cloud_share_data",
    "plot_cloud_share",
    "margin_data",
    "plot_margins",
    "capex_data",
    "plot_capex",
    "cloud_supply_data",
    "plot_cloud_supply",
    "cloud_funding_data",
    "plot_cloud_funding",
    "fcf_data",
    "plot_fcf",
    "claim_probabilities_data",
    "plot_claim_probabilities",
    "claim_metric_data",
    "plot_claim_metric",
    "convergence_data",
    "plot_convergence",
    "series_compare_data",
    "plot_series_compare",
    "scenario_compare_data",
    "plot_scenario_compare",
    "plot_output_tornado",
    "CHARTS",
    "claim_timeline_data",
    "plot_claim_timeline",
    "backtest_fan_data",
    "plot_backtest_fans",
    "children_waterfall_data",
    "plot_children_waterfall",
    "children_fans_data",
    "plot_children_fans",
]

SEGMENTS = SEGMENT_IDS  # ids, labels and colours from the registry (pivotmodel.schema.SEGMENTS)
COLORS = dict(SEGMENT_COLOURS)
SCENARIO_COLORS = ["#3C4043", "#188038", "#D93025", "#A142F4", "#F9AB00"]
STYLE: dict[str, Any] = {
    "figure.figsize": (8.0, 4.8),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 9,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#E0E0E0",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "legend.fontsize": 8,
    "svg.hashsalt": "pivotmodel",
    "svg.fonttype": "path",
    "path.simplify": False,
}
PROJECTED_SHADE = "#F1F3F4"
FAN_ALPHA = (0.18, 0.35)  # P5-P95, P25-P75


def apply_style() -> None:
    """Make the house style the session's default (opt-in, e.g. in a notebook). Importing this
    module changes nothing global: each plot function applies the style to its own figure."""
    matplotlib.rcParams.update(cast(Any, STYLE))


def _height(ax: Axes) -> float:
    """Height in inches of the figure holding ``ax``."""
    fig: Any = ax.figure
    return float(fig.get_figheight())


def _styled(plot):
    """Draw under the house style without touching the caller's rcParams or backend."""

    @functools.wraps(plot)
    def draw(*args, **kwargs):
        with matplotlib.rc_context(cast(Any, STYLE)):
            return plot(*args, **kwargs)

    return draw


def new_axes(ax: Axes | None = None, figsize: tuple[float, float] | None = None) -> Axes:
    if ax is not None:
        return ax
    fig = plt.figure(figsize=figsize or STYLE["figure.figsize"])
    return fig.add_subplot(111)


def source_line(results=None, scenario: str | None = None, draws: int | None = None, seed: int | None = None) -> str:
    """``Source: company filings; pivotmodel projections; scenario X, N draws, seed S``."""
    if results is not None:
        m = results.manifest
        scenario, draws, seed = m.get("scenario", scenario), m.get("draws", draws), m.get("seed", seed)
    parts = ["Source: company filings; pivotmodel projections"]
    if scenario is not None:
        tail = f"scenario {scenario}"
        if draws is not None:
            tail += f", {draws:,} draws"
        if seed is not None:
            tail += f", seed {seed}"
        parts.append(tail)
    return "; ".join(parts)


def add_source(fig: Figure, text: str) -> None:
    """Write the source line at the bottom left, leaving room for it."""
    if fig.subplotpars.bottom < 0.15:
        fig.subplots_adjust(bottom=0.15)
    fig.text(0.01, 0.005, text, ha="left", va="bottom", fontsize=7, color="#5F6368")


_METADATA = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None}}


def close(fig: Figure) -> None:
    """Release a figure drawn here (pyplot keeps every figure it made until closed)."""
    plt.close(fig)


def save(fig: Figure, stem: Path, formats: tuple[str, ...] = ("png", "svg")) -> list[Path]:
    """Write ``stem.png`` / ``stem.svg`` with no date or software metadata (byte-stable)."""
    out = []
    for fmt in formats:
        path = Path(f"{stem}.{fmt}")
        with matplotlib.rc_context(cast(Any, STYLE)):
            fig.savefig(path, format=fmt, metadata=_METADATA.get(fmt, {}), bbox_inches=None)
        out.append(path)
    return out


# --- helpers ----------------------------------------------------------------------------


def _fy(label: str) -> int:
    return int(label[2:6])


def _projected(label: str, first_projected: str) -> bool:
    return parse_period(label).last >= parse_period(first_projected).last


def _fy_axis(ax: Axes, years, boundary: float | None = None, unit: str = "RMB bn") -> None:
    years = list(years)
    ax.set_xticks(years)
    ax.set_xticklabels([f"FY{y}" for y in years])
    ax.set_xlim(min(years) - 0.5, max(years) + 0.5)
    ax.set_xlabel("Fiscal year (April-March)")
    ax.set_ylabel(unit)
    if boundary is not None:
        ax.axvspan(boundary, max(years) + 0.5, color=PROJECTED_SHADE, zorder=0, lw=0)
        ax.axvline(boundary, color="#80868B", lw=0.8, ls=":", zorder=1)
        ax.text(
            boundary + 0.05,
            0.98,
            "projected",
            transform=ax.get_xaxis_transform(),
            fontsize=7,
            va="top",
            color="#5F6368",
        )


def _boundary(data: pd.DataFrame) -> float | None:
    proj = data.loc[data["status"] == "P", "year"]
    return float(proj.min()) - 0.5 if len(proj) else None


def _ratio(results, num: str, den: str | None, basis: str = "fy") -> np.ndarray:
    arr = results.totals[basis][num]
    if den is None:
        return arr / 1000.0
    with np.errstate(all="ignore"):
        return arr / results.totals[basis][den]


def _fan(results, num: str, den: str | None = None, basis: str = "fy") -> pd.DataFrame:
    """P5/P25/P50/P75/P95 by fiscal year of ``num`` (RMB bn) or ``num / den`` (ratio)."""
    arr = _ratio(results, num, den, basis)
    labels = results.periods[basis]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        q = (
            np.nanquantile(arr, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
            if np.isfinite(arr).any()
            else np.full((5, len(labels)), np.nan)
        )
    rows = []
    for i, lab in enumerate(labels):
        col = arr[:, i]
        finite = np.isfinite(col).any()
        rows.append(
            {
                "period": lab,
                "year": _fy(lab),
                "status": "P" if _projected(lab, results.first_projected) else "A",
                **{k: (float(q[j, i]) if finite else np.nan) for j, k in enumerate(("p5", "p25", "p50", "p75", "p95"))},
            }
        )
    return pd.DataFrame(rows)


def _draw_fan(ax: Axes, d: pd.DataFrame, color: str, label: str | None = None) -> None:
    x = d["year"].to_numpy(float)
    ax.fill_between(x, d["p5"], d["p95"], color=color, alpha=FAN_ALPHA[0], lw=0, label="P5-P95" if label else None)
    ax.fill_between(x, d["p25"], d["p75"], color=color, alpha=FAN_ALPHA[1], lw=0, label="P25-P75" if label else None)
    ax.plot(x, d["p50"], color=color, lw=1.8, marker="o", ms=3, label=label)


# --- revenue mix --------------------------------------------------------------------------


def revenue_mix_data(results) -> pd.DataFrame:
    """Segment revenue by fiscal year, RMB bn: reported history (status A), then the median
    projection (status P)."""
    rows = []
    for i, lab in enumerate(results.periods["fy"]):
        status = "P" if _projected(lab, results.first_projected) else "A"
        row = {"period": lab, "year": _fy(lab), "status": status}
        for seg in SEGMENTS:
            col = results.totals["fy"][f"{seg}.revenue"][:, i]
            row[seg] = float(np.median(col) if status == "P" else col[0]) / 1000.0
        rows.append(row)
    return pd.DataFrame(rows)


@_styled
def plot_revenue_mix(data: pd.DataFrame, ax: Axes | None = None) -> Axes:
    ax = new_axes(ax)
    d = data.dropna(subset=list(SEGMENTS))
    ax.stackplot(
        d["year"],
        *[d[s] for s in SEGMENTS],
        labels=[SEGMENT_NAMES[s] for s in SEGMENTS],
        colors=[COLORS[s] for s in SEGMENTS],
        alpha=0.9,
        zorder=2,
    )
    _fy_axis(ax, data["year"], None, "Segment revenue, RMB bn")
    b = _boundary(data)
    if b is not None:
        ax.axvline(b, color="black", lw=1, ls="--", zorder=3)
        ax.text(b + 0.5, 0.98, " median projection", transform=ax.get_xaxis_transform(), fontsize=7, va="top")
        ax.text(b - 0.5, 0.98, "reported ", transform=ax.get_xaxis_transform(), fontsize=7, va="top", ha="right")
    ax.set_title("Revenue mix by segment")
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, 0.92))
    return ax


# --- cloud share fan ----------------------------------------------------------------------

_CLOUD_SHARE = ("cloud.revenue", "group.revenue")


def cloud_share_claims(claims) -> pd.DataFrame:
    """Cloud-share claims as (id, year position on the fiscal axis, threshold, kind), read off
    each parsed claim's :class:`~pivotmodel.claims.Measure`: ``share(cloud.revenue,
    group.revenue, FYyyyy|CYyyyy) > x`` is a point, ``first_fy(share(...) > x) <= yyyy`` a line."""
    rows = []
    for c in claims:
        m = c.measure
        if m.function in ("first_fy", "first_year") and m.condition is not None and m.comparison in ("<", "<="):
            inner = m.condition
            if inner.function == "share" and inner.series == _CLOUD_SHARE and inner.comparison in (">", ">="):
                rows.append({"id": c.id, "x": m.threshold, "threshold": inner.threshold, "kind": "by"})
        elif m.function == "share" and m.series == _CLOUD_SHARE and m.comparison in (">", ">=") and m.period:
            if re.fullmatch(r"CY\d{4}", m.period):
                rows.append({"id": c.id, "x": int(m.period[2:]) + 0.75, "threshold": m.threshold, "kind": "cy"})
            elif re.fullmatch(r"FY\d{4}", m.period):
                rows.append({"id": c.id, "x": float(m.period[2:]), "threshold": m.threshold, "kind": "fy"})
    return pd.DataFrame(rows, columns=["id", "x", "threshold", "kind"])


def cloud_share_data(results) -> pd.DataFrame:
    """Cloud revenue / group revenue by fiscal year: quantiles across draws (ratio).
    ``attrs['claims']`` holds the cloud-share claim marks."""
    d = _fan(results, "cloud.revenue", "group.revenue")
    d.attrs["claims"] = cloud_share_claims(results.claims)
    return d


@_styled
def plot_cloud_share(data: pd.DataFrame, ax: Axes | None = None) -> Axes:
    ax = new_axes(ax)
    _fy_axis(ax, data["year"], _boundary(data), "Cloud revenue / group revenue (ratio)")
    _draw_fan(ax, data.dropna(subset=["p50"]), COLORS["cloud"], "median")
    marks = data.attrs.get("claims")
    if marks is not None and len(marks):
        for k, (_, m) in enumerate(marks.iterrows()):
            if m["kind"] == "by":
                ax.hlines(m["threshold"], data["year"].min() - 0.5, m["x"], color="#D93025", lw=0.8, ls="--")
                ax.text(
                    m["x"], m["threshold"], f" by FY{int(m['x'])}", color="#D93025", fontsize=7, va="bottom", ha="right"
                )
            else:
                ax.plot([m["x"]], [m["threshold"]], marker="D", color="#D93025", ms=5, zorder=5)
                ax.annotate(
                    m["id"],
                    (m["x"], m["threshold"]),
                    textcoords="offset points",
                    xytext=(-4, -12 - 10 * k),
                    ha="right",
                    fontsize=6.5,
                    color="#D93025",
                )
    ax.set_title("Cloud share of group revenue (claims marked in red)")
    ax.legend(loc="lower right")
    return ax


# --- margins ------------------------------------------------------------------------------


def margin_data(results) -> pd.DataFrame:
    """Adjusted EBITA / revenue by fiscal year for each segment and the group (ratio)."""
    frames = []
    for seg in (*SEGMENTS, "group"):
        d = _fan(results, f"{seg}.adjusted_ebita", f"{seg}.revenue")
        d.insert(0, "segment", seg)
        frames.append(d)
    return pd.concat(frames, ignore_index=True)


@_styled
def plot_margins(data: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Small multiples. Without ``ax``, a new figure whose first panel is returned; with ``ax``,
    the six panels are drawn inside it (it becomes their frame, and is returned; never removed)."""
    segs = list(dict.fromkeys(data["segment"]))
    if ax is None:
        fig: Any = plt.figure(figsize=(10, 6.2))
        axes = fig.subplots(2, 3, sharex=True).ravel()
    else:
        fig = ax.figure
        ax.set_axis_off()
        w, h, gx, gy = 0.27, 0.38, 0.09, 0.2
        axes = np.array([ax.inset_axes((c * (w + gx), (1 - r) * (h + gy), w, h)) for r in range(2) for c in range(3)])
    for a_, seg in zip(axes, segs):
        d = data[data["segment"] == seg]
        _fy_axis(a_, d["year"], _boundary(d), "Adj. EBITA margin (ratio)")
        a_.set_xticks(list(d["year"]))
        a_.set_xticklabels([f"'{str(y)[2:]}" for y in d["year"]])
        a_.set_xlabel("Fiscal year (FY'24 = Apr 2023-Mar 2024)", fontsize=7)
        _draw_fan(a_, d.dropna(subset=["p50"]), COLORS[seg])
        a_.axhline(0, color="black", lw=0.6)
        a_.set_title(SEGMENT_NAMES[seg], fontsize=9)
    for a_ in axes[len(segs) :]:
        a_.axis("off")
    fig.suptitle("Adjusted EBITA margin: median, P25-P75, P5-P95", fontweight="bold")
    if ax is None:
        fig.subplots_adjust(hspace=0.35, wspace=0.35, bottom=0.1)
        return axes[0]
    return ax


# --- capex, depreciation, cloud revenue ------------------------------------------------------

CAPEX_SERIES = {
    "group.capex": ("Capex", COLORS["group"], "-"),
    "group.depreciation": ("Depreciation", COLORS["group"], "--"),
    "cloud.revenue": ("Cloud revenue", COLORS["cloud"], "-"),
}


def _stacked_fans(results, names, frames: list[pd.DataFrame] | None = None) -> pd.DataFrame:
    """:func:`_fan` of each series (RMB bn) under a ``series`` column, after ``frames``."""
    frames = list(frames or [])
    for name in names:
        d = _fan(results, name)
        d.insert(0, "series", name)
        frames.append(d)
    return pd.concat(frames, ignore_index=True)


def capex_data(results) -> pd.DataFrame:
    return _stacked_fans(results, CAPEX_SERIES)


@_styled
def plot_capex(data: pd.DataFrame, ax: Axes | None = None) -> Axes:
    ax = new_axes(ax)
    d0 = data[data["series"] == data["series"].iloc[0]]
    _fy_axis(ax, d0["year"], _boundary(d0), "RMB bn")
    for name, (label, color, ls) in CAPEX_SERIES.items():
        d = data[data["series"] == name].dropna(subset=["p50"])
        x = d["year"].to_numpy(float)
        ax.fill_between(x, d["p5"], d["p95"], color=color, alpha=0.12, lw=0)
        ax.plot(x, d["p50"], color=color, ls=ls, lw=1.8, marker="o", ms=3, label=f"{label} (median, P5-P95)")
    ax.set_title("Capex, depreciation and cloud revenue")
    ax.legend(loc="upper left")
    return ax


# --- cloud supply: utilisation and backlog -----------------------------------------------


def cloud_supply_data(results) -> pd.DataFrame:
    """Cloud utilisation (served revenue / capacity revenue, ratio) and backlog (demand not yet
    served, RMB bn), each the average of the fiscal year's quarters, P5-P95 by year."""
    util, backlog = _fan(results, "cloud.utilisation"), _fan(results, "cloud.backlog")
    for col in ("p5", "p25", "p50", "p75", "p95"):
        util[col] *= 1000.0  # _fan divides by 1000 (RMB mn -> bn); a ratio is not money
    util.insert(0, "series", "cloud.utilisation")
    backlog.insert(0, "series", "cloud.backlog")
    return pd.concat([util, backlog], ignore_index=True)


@_styled
def plot_cloud_supply(data: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Utilisation on the left axis, backlog on the right: a supply-bound cloud shows
    utilisation near 1 and a growing backlog."""
    ax = new_axes(ax)
    util = data[data["series"] == "cloud.utilisation"].dropna(subset=["p50"])
    back = data[data["series"] == "cloud.backlog"].dropna(subset=["p50"])
    _fy_axis(
        ax,
        data.loc[data["series"] == "cloud.utilisation", "year"],
        _boundary(data[data["series"] == "cloud.utilisation"]),
        "Utilisation: served / capacity revenue (ratio)",
    )
    _draw_fan(ax, util, COLORS["cloud"], "Utilisation (median)")
    right = ax.twinx()
    x = back["year"].to_numpy(float)
    right.fill_between(x, back["p5"], back["p95"], color=COLORS["group"], alpha=0.10, lw=0)
    right.plot(
        x,
        back["p50"],
        color=COLORS["group"],
        ls="--",
        lw=1.6,
        marker="s",
        ms=3,
        label="Backlog (median, P5-P95; right)",
    )
    right.set_ylabel("Backlog: demand not yet served (RMB bn, average of the year)")
    right.set_ylim(bottom=0)
    right.grid(False)
    lines = ax.get_legend_handles_labels()
    more = right.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], loc="lower left")
    ax.set_title("Cloud capacity: utilisation and backlog")
    return ax


# --- cloud funding: capex / revenue, lost demand, net cash ---------------------------------

FUNDING_RIGHT = {
    "cloud.lost_demand": ("Lost cloud demand (sum of the year)", "--", "s"),
    "group.net_cash": ("Net cash (year end)", ":", "D"),
}


def cloud_funding_data(results) -> pd.DataFrame:
    """What bounds the cloud's capacity, P5-P95 by fiscal year: capex / group revenue (ratio of
    the year's sums; the capex policy's funding rule caps it), cloud demand lost to other
    clouds (RMB bn) and net cash (RMB bn, at the year's last quarter end)."""
    ratio = _fan(results, "group.capex", "group.revenue")
    ratio.insert(0, "series", "group.capex_to_revenue")
    return _stacked_fans(results, FUNDING_RIGHT, [ratio])


@_styled
def plot_cloud_funding(data: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Capex / revenue on the left axis; lost demand and net cash (RMB bn) on the right."""
    ax = new_axes(ax)
    ratio = data[data["series"] == "group.capex_to_revenue"]
    _fy_axis(ax, ratio["year"], _boundary(ratio), "Capex / group revenue (ratio)")
    _draw_fan(ax, ratio.dropna(subset=["p50"]), COLORS["cloud"], "Capex / revenue (median)")
    right = ax.twinx()
    for name, (label, ls, marker) in FUNDING_RIGHT.items():
        d = data[data["series"] == name].dropna(subset=["p50"])
        d = d[d["status"] == "P"] if name == "cloud.lost_demand" else d  # lost demand is a projection only
        x = d["year"].to_numpy(float)
        right.fill_between(x, d["p5"], d["p95"], color=COLORS["group"], alpha=0.08, lw=0)
        right.plot(
            x,
            d["p50"],
            color=COLORS["group"],
            ls=ls,
            lw=1.6,
            marker=marker,
            ms=3,
            label=f"{label} (median, P5-P95; right)",
        )
    right.set_ylabel("RMB bn")
    right.grid(False)
    lines, more = ax.get_legend_handles_labels(), right.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], loc="upper left", fontsize=7)
    ax.set_title("Funding the cloud: capex / revenue, lost demand and net cash")
    return ax


# --- FCF ------------------------------------------------------------------------------------


def fcf_data(results) -> pd.DataFrame:
    """Free cash flow by fiscal year, RMB bn (history reported; projection the proxy)."""
    return _fan(results, "group.fcf")


@_styled
def plot_fcf(data: pd.DataFrame, ax: Axes | None = None) -> Axes:
    ax = new_axes(ax)
    _fy_axis(ax, data["year"], _boundary(data), "Free cash flow, RMB bn")
    _draw_fan(ax, data.dropna(subset=["p50"]), COLORS["group"], "median")
    ax.axhline(0, color="black", lw=0.6)
    ax.set_title("Group free cash flow (projection: EBITDA - capex - cash tax)")
    ax.legend(loc="lower left")
    return ax


# --- claims ---------------------------------------------------------------------------------


def claim_probabilities_data(results) -> pd.DataFrame:
    """Each claim's probability and 95% interval; headline claims first, register order."""
    t = results.claims_table().reset_index()
    t["order"] = range(len(t))
    t = t.sort_values(["headline", "order"], ascending=[False, True], kind="stable")
    return t[["id", "headline", "probability", "ci_low", "ci_high", "draws"]].reset_index(drop=True)


@_styled
def plot_claim_probabilities(data: pd.DataFrame, ax: Axes | None = None) -> Axes:
    ax = new_axes(ax, figsize=(8.5, 0.26 * len(data) + 1.4))
    y = np.arange(len(data))[::-1]
    colors = [COLORS["cloud"] if h else COLORS["all_others"] for h in data["headline"]]
    ax.barh(y, data["probability"].fillna(0), color=colors, alpha=0.35, height=0.7)
    err = np.vstack([data["probability"] - data["ci_low"], data["ci_high"] - data["probability"]])
    ax.errorbar(data["probability"], y, xerr=err, fmt="o", color="black", ms=3, lw=0.8, capsize=2)
    for yi, p in zip(y, data["probability"]):
        ax.text(
            1.01, yi, "n/a" if pd.isna(p) else f"{p:.0%}", va="center", fontsize=7, transform=ax.get_yaxis_transform()
        )
    ax.set_yticks(y)
    ax.set_yticklabels([("★ " if h else "") + i for i, h in zip(data["id"], data["headline"])], fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.7, len(data) - 0.3)
    ax.set_xlabel("Probability the claim holds (share of draws), 95% interval")
    ax.set_ylabel("Claim (★ headline)")
    ax.set_title("Claim probabilities")
    ax.grid(axis="y", visible=False)
    ax.figure.subplots_adjust(left=0.36, right=0.93)
    return ax


def claim_metric_data(results, claim_id: str, bins: int = 40) -> pd.DataFrame:
    """Histogram of a claim's metric across draws, with bins split at the threshold.
    Columns: left, right, count, share, side (holds / fails). ``attrs``: id, threshold,
    comparison, unit, share_holds, share_fails, share_not_evaluable."""
    c = results.claim(claim_id)
    m = results.claim_metric[claim_id].to_numpy(float)
    holds = results.claim_holds[claim_id].to_numpy(float)
    n = len(m)
    finite = np.isfinite(m)
    vals = m[finite]
    thr = c.threshold
    if vals.size:
        lo, hi = float(vals.min()), float(vals.max())
        if thr is not None and np.isfinite(thr) and lo <= thr <= hi:
            edges = np.unique(
                np.concatenate([np.linspace(lo, thr, bins // 2 + 1), np.linspace(thr, hi, bins // 2 + 1)])
            )
        else:
            edges = np.linspace(lo, hi if hi > lo else lo + 1e-9, bins + 1)
        counts, edges = np.histogram(vals, bins=edges)
    else:
        counts, edges = np.zeros(0, int), np.zeros(1)
    mid = (edges[:-1] + edges[1:]) / 2
    if thr is not None:
        side = np.where(
            {">": mid > thr, ">=": mid >= thr, "<": mid < thr, "<=": mid <= thr}[c.comparison], "holds", "fails"
        )
    else:
        side = np.full(len(mid), "n/a")
    d = pd.DataFrame(
        {"left": edges[:-1], "right": edges[1:], "count": counts, "share": counts / n if n else counts, "side": side}
    )
    ok = np.isfinite(holds)
    d.attrs.update(
        id=claim_id,
        threshold=thr,
        comparison=c.comparison,
        unit=c.measure.unit,
        draws=n,
        share_holds=float((holds[ok] == 1).sum() / n) if n else np.nan,
        share_fails=float((holds[ok] == 0).sum() / n) if n else np.nan,
        share_not_evaluable=float((~ok).sum() / n) if n else np.nan,
    )
    return d


@_styled
def plot_claim_metric(data: pd.DataFrame, ax: Axes | None = None) -> Axes:
    ax = new_axes(ax)
    at = data.attrs
    colors = {"holds": "#188038", "fails": "#D93025", "n/a": COLORS["all_others"]}
    ax.bar(
        data["left"],
        data["share"],
        width=data["right"] - data["left"],
        align="edge",
        color=[colors[s] for s in data["side"]],
        alpha=0.75,
        lw=0,
    )
    thr = at.get("threshold")
    if thr is not None:
        ax.axvline(thr, color="black", lw=1.2, ls="--")
        ax.text(
            thr,
            0.97,
            f" threshold {at.get('comparison', '')} {thr:g}\n holds {at['share_holds']:.1%}\n"
            f" fails {at['share_fails']:.1%}",
            transform=ax.get_xaxis_transform(),
            va="top",
            fontsize=8,
        )
    ax.set_xlabel(f"Claim metric ({at.get('unit', '')})")
    ax.set_ylabel("Share of draws (ratio)")
    ax.set_title(f"{at.get('id', '')}: metric across {at.get('draws', 0):,} draws")
    return ax


def convergence_data(results, claim_ids=None, points: int = 20) -> pd.DataFrame:
    """Estimate and interval after growing numbers of draws (headline claims by default);
    claims never evaluable (no line to draw) are left out."""
    ids = list(claim_ids) if claim_ids is not None else [c.id for c in results.claims if c.headline]
    d = results.convergence(points)
    d = d[d["claim"].isin(ids)]
    drawn = d.groupby("claim", sort=False)["probability"].transform(lambda p: p.notna().any())
    return d[drawn.astype(bool)].reset_index(drop=True)


_LINE_COLORS = [
    "#1A73E8",
    "#E8710A",
    "#188038",
    "#D93025",
    "#A142F4",
    "#12B5CB",
    "#F9AB00",
    "#3C4043",
    "#9AA0A6",
    "#B80672",
]


@_styled
def plot_convergence(data: pd.DataFrame, ax: Axes | None = None) -> Axes:
    ax = new_axes(ax)
    for i, (cid, d) in enumerate(data.groupby("claim", sort=False)):
        col = _LINE_COLORS[i % len(_LINE_COLORS)]
        ax.fill_between(d["draws"], d["ci_low"], d["ci_high"], color=col, alpha=0.12, lw=0)
        ax.plot(d["draws"], d["probability"], color=col, lw=1.2, label=cid)
    ax.set_xlabel("Draws used (count)")
    ax.set_ylabel("Probability estimate (ratio), 95% interval")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("Convergence of claim estimates (headline claims)")
    n = data["claim"].nunique()
    fig: Any = ax.figure
    rows = (n + 1) // 2
    fig.set_figheight(STYLE["figure.figsize"][1] + 0.16 * rows)  # room for the legend below the axes
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize=7)
    fig.subplots_adjust(bottom=0.16 + 0.035 * rows, right=0.97, top=0.93)
    return ax


# --- comparisons ----------------------------------------------------------------------------


def series_compare_data(
    projections: Mapping[str, Any], series: str = "cloud.revenue", basis: str = "fy"
) -> pd.DataFrame:
    """Median of ``series`` by year, RMB bn, for several projections (columns by label)."""
    out = pd.DataFrame()
    for label, p in projections.items():
        years = p.year_labels(basis)
        vals = [float(np.median(p.total(series, y))) / 1000.0 for y in years]
        status = ["P" if p.is_projected(y) else "A" for y in years]
        if out.empty:
            out = pd.DataFrame({"period": years, "year": [_fy(y) for y in years], "status": status})
        out[label] = vals
    out.attrs["series"] = series
    return out


@_styled
def plot_series_compare(data: pd.DataFrame, ax: Axes | None = None) -> Axes:
    ax = new_axes(ax)
    series = data.attrs.get("series", "")
    seg = series.split(".")[0]
    _fy_axis(ax, data["year"], _boundary(data), f"{series}, RMB bn")
    labels = [c for c in data.columns if c not in ("period", "year", "status")]
    for i, lab in enumerate(labels):
        ax.plot(
            data["year"],
            data[lab],
            lw=1.8,
            marker="o",
            ms=3,
            label=lab,
            color=COLORS.get(seg, COLORS["group"]) if i == 0 else SCENARIO_COLORS[(i + 1) % len(SCENARIO_COLORS)],
            ls="-" if i == 0 else "--",
        )
    ax.set_title(f"{series}: comparison")
    ax.legend(loc="upper left")
    return ax


def scenario_compare_data(results_by_scenario: Mapping[str, object]) -> pd.DataFrame:
    """Claim probabilities (estimate, interval) per scenario, long format, headline first."""
    frames = []
    for name, r in results_by_scenario.items():
        d = claim_probabilities_data(r)
        d.insert(0, "scenario", name)
        frames.append(d)
    return pd.concat(frames, ignore_index=True)


@_styled
def plot_scenario_compare(data: pd.DataFrame, ax: Axes | None = None) -> Axes:
    ids = list(dict.fromkeys(data["id"]))
    ax = new_axes(ax, figsize=(8.5, 0.3 * len(ids) + 1.4))
    scen = list(dict.fromkeys(data["scenario"]))
    ypos = {cid: len(ids) - 1 - i for i, cid in enumerate(ids)}
    for j, s in enumerate(scen):
        d = data[data["scenario"] == s]
        off = (j - (len(scen) - 1) / 2) * 0.22
        y = np.array([ypos[i] for i in d["id"]]) + off
        err = np.vstack([d["probability"] - d["ci_low"], d["ci_high"] - d["probability"]])
        ax.errorbar(
            d["probability"],
            y,
            xerr=err,
            fmt="o",
            ms=3.5,
            lw=0.8,
            capsize=1.5,
            color=SCENARIO_COLORS[j % len(SCENARIO_COLORS)],
            label=s,
        )
    for cid, p in data.groupby("id", sort=False)["probability"]:
        if p.isna().all():
            ax.text(0.01, ypos[cid], "not evaluable", va="center", fontsize=6.5, color="#5F6368")
    ax.set_yticks([ypos[i] for i in ids])
    ax.set_yticklabels(ids, fontsize=7)
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("Probability the claim holds (ratio), 95% interval")
    ax.set_ylabel("Claim")
    ax.set_title("Claim probabilities by scenario", loc="left", pad=16)
    ax.figure.subplots_adjust(left=0.36, right=0.97, top=1 - 0.7 / _height(ax))
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=len(scen), borderaxespad=0.3)  # above the points
    ax.grid(axis="y", visible=False)
    return ax


@_styled
def plot_output_tornado(data: pd.DataFrame, ax: Axes | None = None, top: int = 12, title: str | None = None) -> Axes:
    """A :func:`pivotmodel.sensitivity.tornado` table in the house style: the ``top`` inputs
    by swing, each bar from the output with the input at its low quantile to the output with
    it at its high quantile, others at their medians; the base case as a vertical line."""

    n = min(top, len(data))
    ax = new_axes(ax, figsize=(8.5, 0.32 * (n + 1) + 1.8))
    plot_tornado(data, ax=ax, top=top)
    at = data.attrs
    lo, hi = at.get("low", 0.1), at.get("high", 0.9)
    handles: list[Any] = list(ax.get_legend_handles_labels()[0])
    for h, color in zip(handles, ("#D93025", COLORS["cloud"])):
        for patch in h:
            patch.set_color(color)
    ax.set_ylim(-1.5, n - 0.5)  # an empty slot below the smallest bar holds the legend
    ax.legend(handles, [f"input at P{100 * lo:g}", f"input at P{100 * hi:g}"], loc="lower right", ncol=2)
    base = at.get("base_output")
    unit = at.get("unit") or ""
    ax.set_xlabel(f"{at.get('output', 'output')} ({unit})" if unit else str(at.get("output", "output")))
    ax.set_ylabel("")
    ax.tick_params(axis="y", labelsize=7)
    ax.grid(axis="y", visible=False)
    if base is not None:
        ax.text(base, 1.0, f" base {base:.4g}", transform=ax.get_xaxis_transform(), va="bottom", fontsize=7)
    ax.set_title(title or f"Tornado: {at.get('output', '')}", pad=14)
    ax.figure.subplots_adjust(left=0.4, right=0.97, top=1 - 0.75 / _height(ax))
    return ax


# name -> (data function of Results, plot function); the report draws each.
CHARTS = {
    "revenue_mix": (revenue_mix_data, plot_revenue_mix),
    "cloud_share": (cloud_share_data, plot_cloud_share),
    "margins": (margin_data, plot_margins),
    "capex": (capex_data, plot_capex),
    "cloud_supply": (cloud_supply_data, plot_cloud_supply),
    "cloud_funding": (cloud_funding_data, plot_cloud_funding),
    "fcf": (fcf_data, plot_fcf),
    "claim_probabilities": (claim_probabilities_data, plot_claim_probabilities),
    "convergence": (convergence_data, plot_convergence),
}


# --- published forecasts on the fan charts (pivotmodel.consensus) -------------------------


@_styled
def plot_consensus_fans(data: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Small multiples of :func:`pivotmodel.consensus.fan_data`: each series' fan by fiscal
    year with the published forecasts as dated markers (hollow: stale; red: outside P5-P95)."""
    panels = list(dict.fromkeys(data["series"]))
    fig = plt.figure(figsize=(11, 6.6)) if ax is None else ax.figure
    if ax is not None:  # reuse the figure; ``ax`` becomes the first panel
        ax.remove()
    axes = fig.subplots(2, 3).ravel()
    markers = data.attrs.get("markers", pd.DataFrame())
    for a_, s in zip(axes, panels):
        d = data[data["series"] == s]
        _fy_axis(a_, d["year"], _boundary(d), d["unit"].iloc[0])
        a_.set_xticklabels([f"'{str(y)[2:]}" for y in d["year"]])
        a_.set_xlabel("Fiscal year", fontsize=7)
        _draw_fan(a_, d.dropna(subset=["p50"]), COLORS["group"])
        m = markers[markers["series"] == s] if len(markers) else markers
        for k, (_, r) in enumerate(m.iterrows()):
            color = "#D93025" if r["outside"] else "#3C4043"
            x = r["year"] + 0.12 * ((k % 5) - 2)
            a_.plot([x], [r["value"]], marker="D", ms=4.5, color=color, mfc="white" if r["stale"] else color, zorder=5)
            a_.annotate(
                r["date"][2:7], (x, r["value"]), textcoords="offset points", xytext=(3, 2), fontsize=5.5, color=color
            )
        a_.set_title(d["panel"].iloc[0], fontsize=9)
    for a_ in axes[len(panels) :]:
        a_.axis("off")
    fig.suptitle(
        "Model fans (median, P25-P75, P5-P95) and published forecasts (dated yy-mm; hollow = stale, red = outside "
        "P5-P95)",
        fontweight="bold",
        fontsize=9,
    )
    fig.subplots_adjust(hspace=0.4, wspace=0.3, bottom=0.1)
    return axes[0]


# --- sensitivity and solve ------------------------------------------------------------


@_styled
def plot_tornado(data: pd.DataFrame, ax=None, top: int = 15):
    """Horizontal bars from output_low to output_high around the base output."""
    ax = new_axes(ax, figsize=(8, 6))
    d = data.head(top).iloc[::-1]
    base = float(d["base_output"].iloc[0]) if len(d) else 0.0
    ys = np.arange(len(d))
    ax.barh(ys, d["output_low"] - base, left=base, color="tab:red", label="input at low")
    ax.barh(ys, d["output_high"] - base, left=base, color="tab:blue", label="input at high")
    ax.axvline(base, color="k", lw=0.8)
    ax.set_yticks(ys, d["input"])
    ax.set_xlabel(f"{data.attrs.get('output', 'output')} {data.attrs.get('unit', '')}".strip())
    ax.legend(loc="lower right")
    return ax


@_styled
def plot_spider(data: pd.DataFrame, ax=None, top: int = 8):
    """Output against the percentile of each input (the ``top`` inputs by range)."""
    ax = new_axes(ax, figsize=(8, 6))
    rng = data.groupby("input")["output"].agg(lambda s: s.max() - s.min()).sort_values(ascending=False)
    for k in rng.index[:top]:
        g = data[data["input"] == k]
        ax.plot(g["percentile"], g["output"], marker="o", label=k)
    ax.set_xlabel("input percentile")
    ax.set_ylabel(f"{data.attrs.get('output', 'output')} {data.attrs.get('unit', '')}".strip())
    ax.legend(fontsize="small")
    return ax


@_styled
def plot_contour(grid: pd.DataFrame, ax=None):
    """Filled contours of the metric over the two inputs, the threshold as a black line
    and the base case as a dot. Returns the Axes, saves nothing."""
    ax = new_axes(ax, figsize=(7, 6))
    kx, ky = grid.attrs["inputs"]
    wide = grid.pivot(index=ky, columns=kx, values="metric")
    X, Y = np.meshgrid(wide.columns.to_numpy(), wide.index.to_numpy())
    Z = wide.to_numpy()
    cs = ax.contourf(X, Y, Z, levels=15, cmap="viridis")
    ax.figure.colorbar(cs, ax=ax, label="metric")
    thr = grid.attrs.get("threshold")
    level = thr if thr is not None else 0.5
    if np.nanmin(Z) < level < np.nanmax(Z):
        ax.contour(X, Y, Z, levels=[level], colors="k", linewidths=2)
    bx, by = grid.attrs["base"]
    ax.plot([bx], [by], "wo", mec="k", label="base case")
    ux, uy = grid.attrs.get("units", ("", ""))
    ax.set_xlabel(f"{kx} ({ux})")
    ax.set_ylabel(f"{ky} ({uy})")
    ax.set_title(f"{grid.attrs['claim']}: {grid.attrs['test']}", fontsize="small")
    ax.legend(loc="best")
    return ax


# --- claims over time (pivotmodel.backtest: `pivotmodel timeline`) ------------------------


def claim_timeline_data(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (claim, as-of quarter): probability, 95% interval and the outcome once
    known ("true" / "false" / ""), as-of quarters in order."""
    cols = ["claim", "as_of", "probability", "ci_low", "ci_high", "outcome"]
    d = table[cols].copy()
    d["x"] = [parse_period(q).first.index for q in d["as_of"]]
    return d.sort_values(["claim", "x"], kind="stable").reset_index(drop=True)


def plot_claim_timeline(data: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Each claim's probability against the quarter it was computed at; a star at 100% or 0%
    marks the outcome once history decides it."""
    ax = new_axes(ax, figsize=(8.5, 4.2))
    palette = [plt.get_cmap("tab10")(i) for i in range(10)]  # one distinct colour per claim
    quarters = sorted(set(zip(data["x"], data["as_of"])))
    for k, (cid, d) in enumerate(data.groupby("claim", sort=False)):
        color = palette[k % len(palette)]
        ax.plot(d["x"], d["probability"], marker="o", ms=4, lw=1.2, color=color, label=cid)
        ax.fill_between(d["x"], d["ci_low"], d["ci_high"], color=color, alpha=0.15, lw=0)
        known = d[d["outcome"] != ""]
        if len(known):
            last = known.iloc[-1]
            ax.plot(
                [last["x"] + 0.25],
                [1.0 if last["outcome"] == "true" else 0.0],
                marker="*",
                ms=11,
                color=color,
                mec="black",
                mew=0.6,
                zorder=5,
            )
    ax.set_xticks([x for x, _ in quarters])
    ax.set_xticklabels([q for _, q in quarters], fontsize=7, rotation=30)
    if len(quarters) == 1:
        ax.set_xlim(quarters[0][0] - 1, quarters[0][0] + 1)
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("As of the quarter just reported")
    ax.set_ylabel("Probability the claim holds (share of draws)")
    ax.set_title("Claims as each quarter was reported (★ outcome once known)")
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.figure.subplots_adjust(right=0.62, bottom=0.2)
    return ax


def backtest_fan_data(scores: pd.DataFrame, horizon: int = 1) -> pd.DataFrame:
    """The backtest's forecasts ``horizon`` quarters ahead (P5, P10, median, P90, P95) and the
    actual that followed, per series, forecaster and target quarter (RMB bn)."""
    if scores.empty:
        return pd.DataFrame(
            columns=["series", "forecaster", "target", "x", "p5", "p10", "median", "p90", "p95", "actual"]
        )
    d = scores[scores["horizon"] == horizon].copy()
    for col in ("p5", "p10", "median", "p90", "p95", "actual"):
        d[col] = d[col] / 1000.0
    d["x"] = [parse_period(q).first.index for q in d["target"]]
    cols = ["series", "forecaster", "target", "x", "p5", "p10", "median", "p90", "p95", "actual"]
    return d[cols].sort_values(["series", "forecaster", "x"], kind="stable").reset_index(drop=True)


def plot_backtest_fans(data: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Small multiples, one per scored series: each forecaster's P5-P95 and P10-P90 bars and
    median against the actual (black dot) for each target quarter."""
    panels = list(dict.fromkeys(data["series"]))
    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    fig = plt.figure(figsize=(3.6 * cols + 0.6, 2.8 * rows + 0.8)) if ax is None else ax.figure
    if ax is not None:
        ax.remove()
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    offsets = {"model": 0.15, "naive": -0.15}
    colors = {"model": COLORS.get("cloud", "#1f77b4"), "naive": COLORS.get("all_others", "#7f7f7f")}
    for a_, s in zip(axes, panels):
        d = data[data["series"] == s]
        for who, g in d.groupby("forecaster", sort=True):
            x = g["x"] + offsets.get(who, 0.0)
            a_.vlines(x, g["p5"], g["p95"], color=colors.get(who, "grey"), lw=1, alpha=0.6)
            a_.vlines(
                x,
                g["p10"],
                g["p90"],
                color=colors.get(who, "grey"),
                lw=3,
                alpha=0.8,
                label=f"{who} P10-P90 (thin: P5-P95)",
            )
            a_.plot(x, g["median"], "_", color="white", ms=6)
        actual = d.drop_duplicates("target")
        a_.plot(actual["x"], actual["actual"], "o", color="black", ms=3.5, label="actual", zorder=5)
        ticks = actual[["x", "target"]].drop_duplicates().sort_values("x")
        a_.set_xticks(ticks["x"])
        a_.set_xticklabels(ticks["target"], fontsize=6, rotation=45)
        a_.set_title(s, fontsize=8)
        a_.set_ylabel("RMB bn", fontsize=7)
    for a_ in axes[len(panels) :]:
        a_.axis("off")
    if panels:
        axes[0].legend(fontsize=6, loc="best")
    fig.suptitle("Backtest: forecasts one quarter ahead against what was then reported", fontweight="bold", fontsize=9)
    fig.subplots_adjust(hspace=0.7, wspace=0.35, bottom=0.15)
    return axes[0]


# --- a segment by its children (All others by business, issue 23) ----------------------------


def _parts(children, parent: str) -> list[tuple[str, str, str]]:
    """(label, revenue series or "", EBITA series) for each child of ``parent``, then its residual."""
    mine = [c for c in children if c.parent == parent]
    return [(c.label, f"{c.id}.revenue" if "revenue" in c.lines else "", f"{c.id}.adjusted_ebita") for c in mine] + [
        ("Residual", f"{parent}.residual_revenue", f"{parent}.residual_ebita")
    ]


def children_waterfall_data(
    results, children, parent: str = "all_others", start: str = "FY2026", end: str = "FY2027"
) -> pd.DataFrame:
    """The parent's revenue and adjusted EBITA in ``start``, each child's (and the residual's)
    change to ``end``, and the parent in ``end``: RMB bn, the mean across draws (means add up,
    so the steps close on the parent exactly; a child without a revenue line adds no revenue step)."""
    labels = list(results.periods["fy"])
    i, j = labels.index(start), labels.index(end)
    rows = []
    for metric, col in (("revenue", 1), ("adjusted_ebita", 2)):
        parent_series = f"{parent}.{metric}"
        first, last = (float(np.mean(results.totals["fy"][parent_series][:, k])) / 1000.0 for k in (i, j))
        rows.append({"metric": metric, "step": f"{SEGMENT_NAMES[parent]} {start}", "kind": "total", "value": first})
        for part in _parts(children, parent):
            if part[col]:
                arr = results.totals["fy"][part[col]]
                rows.append(
                    {
                        "metric": metric,
                        "step": part[0],
                        "kind": "change",
                        "value": float(np.mean(arr[:, j] - arr[:, i])) / 1000.0,
                    }
                )
        rows.append({"metric": metric, "step": f"{SEGMENT_NAMES[parent]} {end}", "kind": "total", "value": last})
    return pd.DataFrame(rows)


@_styled
def plot_children_waterfall(data: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Two panels (revenue, adjusted EBITA): the parent's first year, a bar per change (green up,
    red down) floating from the running total, the parent's last year. Returns the revenue panel."""
    if ax is None:
        fig: Any = plt.figure(figsize=(10, 4.6))
        axes = fig.subplots(1, 2)
    else:
        fig, axes = ax.figure, [ax, ax.inset_axes((1.15, 0, 1, 1))]
    for a_, metric, title in zip(axes, ("revenue", "adjusted_ebita"), ("Revenue", "Adjusted EBITA")):
        d = data[data["metric"] == metric].reset_index(drop=True)
        level = 0.0
        for k, x in d.iterrows():
            if x["kind"] == "total":
                a_.bar(k, x["value"], color=COLORS["all_others"], width=0.7)
                level = x["value"]
            else:
                a_.bar(k, x["value"], bottom=level, color="#188038" if x["value"] >= 0 else "#D93025", width=0.7)
                level += x["value"]
            a_.text(
                k,
                max(level, x["value"] if x["kind"] == "total" else level),
                f"{x['value']:+.1f}" if x["kind"] == "change" else f"{x['value']:.1f}",
                ha="center",
                va="bottom",
                fontsize=7,
            )
        totals = d.loc[d["kind"] == "total", "value"]
        if metric == "revenue" and (totals > 0).all():  # zoom on the changes: the axis starts near the smaller total
            falls = d.loc[d["kind"] == "change", "value"].clip(upper=0).sum()
            a_.set_ylim(bottom=0.9 * (totals.min() + falls))
        a_.set_xticks(range(len(d)))
        a_.set_xticklabels(d["step"], rotation=35, ha="right", fontsize=7)
        a_.axhline(0, color="black", lw=0.6)
        a_.set_ylabel("RMB bn (mean across draws)")
        a_.set_title(title, fontsize=10)
    fig.suptitle("All others by business: change from the first year to the next", fontweight="bold")
    if ax is None:
        fig.subplots_adjust(bottom=0.3, wspace=0.3)
    return axes[0]


def children_fans_data(results, children, parent: str = "all_others") -> pd.DataFrame:
    """Adjusted EBITA by fiscal year (RMB bn, P5-P95 fans) for each child of ``parent`` and its
    residual: estimated history (status A) then the projection."""
    frames = []
    for label, _, ebita in _parts(children, parent):
        d = _fan(results, ebita)
        d.insert(0, "part", label)
        frames.append(d)
    return pd.concat(frames, ignore_index=True)


@_styled
def plot_children_fans(data: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Small multiples, one fan per child and the residual (own y-axis each). Returns the first panel."""
    parts = list(dict.fromkeys(data["part"]))
    cols = 4
    rows = -(-len(parts) // cols)
    fig: Any = plt.figure(figsize=(11, 3.0 * rows)) if ax is None else ax.figure
    boxes = [((c % cols) / cols, 1 - (c // cols + 1) / rows, 0.8 / cols, 0.75 / rows) for c in range(rows * cols)]
    axes = (
        fig.subplots(rows, cols, sharex=True, squeeze=False).ravel()
        if ax is None
        else np.array([ax.inset_axes(b) for b in boxes])
    )
    for a_, part in zip(axes, parts):
        d = data[data["part"] == part].dropna(subset=["p50"])
        _fy_axis(a_, d["year"], _boundary(d), "Adj. EBITA, RMB bn")
        a_.set_xticklabels([f"'{str(y)[2:]}" for y in d["year"]])
        a_.set_xlabel("")
        _draw_fan(a_, d, COLORS["all_others"])
        a_.axhline(0, color="black", lw=0.6)
        a_.set_title(part, fontsize=9)
    for a_ in axes[len(parts) :]:
        a_.axis("off")
    fig.suptitle(
        "All others by business: adjusted EBITA, median, P25-P75, P5-P95 (history: estimates)", fontweight="bold"
    )
    if ax is None:
        fig.subplots_adjust(hspace=0.45, wspace=0.4)
    return axes[0]

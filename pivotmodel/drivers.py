"""What drives a claim: Monte Carlo filtering and a PRIM-style box over a run's draws.

* :func:`drivers` splits the evaluable draws of a run into those where the claim holds and
  those where it fails, and ranks the inputs by the Kolmogorov-Smirnov distance between
  the two distributions of each input (``scipy.stats.ks_2samp``).
* :func:`prim_box` peels the ranges of the top inputs greedily (a fraction ``alpha`` of
  the draws in the box at a time, from whichever side raises the share of holding draws
  most) while the box keeps at least ``min_support`` of the draws, and describes the box
  in a sentence: "the claim holds in 80% of draws where ... (density 80%, coverage 45%)".
  Density: share of the draws in the box where the claim holds; coverage: share of all
  holding draws that fall in the box; support: share of the evaluable draws in the box.

Draws where the claim is not evaluable (NaN) are left out and counted. A claim that holds
in every draw, or in none, has no drivers; the tables are empty and ``attrs['message']``
says so plainly. Nothing here prints.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .errors import InputError, did_you_mean
from .sensitivity import format_value, input_spec, model_unit
from .separation import ks_matrix

__all__ = ["drivers", "drivers_all", "prim_box", "claim_split", "check_claim"]


def check_claim(results, claim_id: str) -> None:
    ids = [c.id for c in results.claims]
    if claim_id not in ids:
        raise InputError.single(
            "claims.yaml",
            "claim",
            f"unknown claim id {claim_id!r}{did_you_mean(claim_id, ids)}; valid: {', '.join(ids)}",
        )


def _split_info(claim_id: str, holds: np.ndarray) -> dict:
    """Counts of draws (holding, failing, not evaluable) and a message when there is nothing to split."""
    ok = ~np.isnan(holds)
    h = holds[ok] == 1.0
    info: dict[str, Any] = {
        "draws": int(holds.size),
        "evaluable": int(ok.sum()),
        "not_evaluable": int((~ok).sum()),
        "holding": int(h.sum()),
        "failing": int((~h).sum()),
    }
    message = ""
    if info["evaluable"] == 0:
        message = (
            f"{claim_id} cannot be evaluated in any of the {info['draws']} draws (a figure it needs is missing), "
            "so it has no drivers"
        )
    elif info["failing"] == 0:
        message = f"{claim_id} holds in every evaluable draw ({info['evaluable']}), so no input decides it in this run"
    elif info["holding"] == 0:
        message = f"{claim_id} fails in every evaluable draw ({info['evaluable']}), so no input decides it in this run"
    if message and info["not_evaluable"]:
        message += f"; {info['not_evaluable']} draws were not evaluable"
    info["message"] = message
    info["probability"] = info["holding"] / info["evaluable"] if info["evaluable"] else float("nan")
    return info


def claim_split(results, claim_id: str) -> tuple[pd.DataFrame, np.ndarray, dict]:
    """(inputs of the evaluable draws, holds as bool, counts and a status message)."""
    check_claim(results, claim_id)
    holds = results.claim_holds[claim_id].to_numpy(dtype=float)
    ok = ~np.isnan(holds)
    return results.inputs[ok].reset_index(drop=True), holds[ok] == 1.0, _split_info(claim_id, holds)


_EXACT_MAX = 10_000  # scipy's ks_2samp is exact (mode 'auto') when both samples are at most this big


def _ks_tests(d: np.ndarray, xh: np.ndarray, xf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """KS distances and two-sided p-values (one per input column) as ``scipy.stats.ks_2samp``
    gives them: for small samples its exact test (which also rounds the distance to its
    lattice), else ``d`` with Smirnov's asymptotic distribution."""
    n1, n2 = len(xh), len(xf)
    if max(n1, n2) <= _EXACT_MAX:
        res = [stats.ks_2samp(xh[:, j], xf[:, j]) for j in range(xh.shape[1])]
        return np.array([t.statistic for t in res], dtype=float), np.array([t.pvalue for t in res], dtype=float)
    m, n = max(n1, n2), min(n1, n2)
    return d, np.clip(stats.kstwo.sf(d, np.round(m * n / (m + n))), 0, 1)


def drivers_all(results, claim_ids=None, top: int | None = None) -> dict[str, pd.DataFrame]:
    """:func:`drivers` of several claims (all by default) in one pass over the draws: each
    input is sorted once, and the KS distance of every claim is read off cumulative counts of
    holding and failing draws along that order (the same statistic ``ks_2samp`` computes).
    With ``top``, each table holds only the ``top`` inputs with the largest distance (their
    p-values, the slow part, are the only ones computed)."""
    ids = [c.id for c in results.claims] if claim_ids is None else list(claim_ids)
    for cid in ids:
        check_claim(results, cid)
    a = results.assumptions
    keys = list(results.inputs.columns)
    x = results.inputs.to_numpy(dtype=float)
    outcome = results.claim_holds[ids].to_numpy(dtype=float)
    hold, fail = outcome == 1.0, outcome == 0.0
    ks, med_h, med_f = ks_matrix(x, hold, fail, medians=True)
    units = [model_unit(input_spec(a, k)) for k in keys]
    cols = ["input", "ks", "p_value", "median_holds", "median_fails", "direction", "unit"]
    out = {}
    for i, cid in enumerate(ids):
        info = _split_info(cid, outcome[:, i])
        if info["message"]:
            df = pd.DataFrame(columns=cols)
        else:
            # the top inputs, kept in key order so that ties rank as they do without ``top``
            sel = np.sort(np.argsort(-ks[:, i], kind="stable")[:top]) if top else np.arange(len(keys))
            xh, xf = x[hold[:, i]][:, sel], x[fail[:, i]][:, sel]
            mh, mf = med_h[sel, i], med_f[sel, i]
            diff = mh - mf
            tied = mh == mf
            if tied.any():  # equal medians: the means say which way the claim leans
                diff[tied] = xh[:, tied].mean(axis=0) - xf[:, tied].mean(axis=0)
            d, p = _ks_tests(ks[sel, i], xh, xf)
            df = (
                pd.DataFrame(
                    {
                        "input": [keys[k] for k in sel],
                        "ks": d,
                        "p_value": p,
                        "median_holds": mh,
                        "median_fails": mf,
                        "direction": np.where(diff > 0, "higher", np.where(diff < 0, "lower", "-")),
                        "unit": [units[k] for k in sel],
                    },
                    columns=cols,
                )
                .sort_values("ks", ascending=False, kind="stable")
                .reset_index(drop=True)
            )
        df.attrs.update(claim=cid, **info)
        out[cid] = df
    return out


def drivers(results, claim_id: str) -> pd.DataFrame:
    """Inputs ranked by the KS distance between their draws where the claim holds and where
    it fails. Columns: input, ks, p_value, median_holds, median_fails, direction (the claim
    favours 'higher' or 'lower' values), unit (model unit). ``attrs``: the counts of draws
    and ``message`` (non-empty when the claim always or never holds)."""
    return drivers_all(results, [claim_id])[claim_id]


def _fmt_pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def prim_box(
    results,
    claim_id: str,
    inputs: list[str] | None = None,
    top: int = 4,
    alpha: float = 0.05,
    min_support: float = 0.05,
) -> pd.DataFrame:
    """A box over the top inputs (by KS, or ``inputs``) where the claim holds most often.

    Greedy peeling: at each step remove the ``alpha`` share of the draws in the box at the
    low or high end of one input, whichever raises the density most; stop when no peel
    raises it or the box would hold fewer than ``min_support`` of the evaluable draws.
    Returns one row per restricted input (input, lower, upper, unit; NaN for an open side)
    with ``attrs``: density, coverage, support, base_density, steps, sentence."""
    x, h, info = claim_split(results, claim_id)
    cols = ["input", "lower", "upper", "unit"]
    a = results.assumptions
    if info["message"]:
        df = pd.DataFrame(columns=cols)
        df.attrs.update(
            claim=claim_id,
            sentence=info["message"],
            density=info["probability"],
            coverage=float("nan"),
            support=float("nan"),
            base_density=info["probability"],
            steps=0,
            **info,
        )
        return df
    if inputs is None:
        inputs = list(drivers(results, claim_id)["input"].head(top))
    else:
        bad = [k for k in inputs if k not in x.columns]
        if bad:
            raise InputError.single(
                "--input",
                "input",
                f"{', '.join(bad)} not an uncertain input{did_you_mean(bad, x.columns)}; valid: {', '.join(x.columns)}",
            )
    n = len(h)
    density, held, bounds, steps = _peel(x, h, inputs, alpha, min_support * n)
    base_density = float(h.mean())
    support = len(held) / n
    coverage = float(held.sum() / h.sum())
    rows, parts = _box_rows(a, inputs, bounds)
    overall = f"overall it holds in {_fmt_pct(base_density)} of {n} evaluable draws"
    if not parts:
        sentence = f"no box over {', '.join(inputs)} raises the share of draws where {claim_id} holds; {overall}"
    else:
        sentence = (
            f"{claim_id} holds in {_fmt_pct(density)} of draws where "
            + " and ".join(parts)
            + f" (density {_fmt_pct(density)}, coverage {_fmt_pct(coverage)} of the holding draws, "
            f"support {_fmt_pct(support)} of draws); {overall}"
        )
    df = pd.DataFrame(rows, columns=cols)
    df.attrs.update(
        claim=claim_id,
        sentence=sentence,
        density=density,
        coverage=coverage,
        support=support,
        base_density=base_density,
        steps=steps,
        inputs=list(inputs),
        **info,
    )
    return df


def _peel(x: pd.DataFrame, h: np.ndarray, inputs: list[str], alpha: float, min_count: float):
    """:func:`prim_box`'s greedy peeling: (density, outcomes held in the box, bounds per input, steps)."""
    data = {k: x[k].to_numpy(dtype=float) for k in inputs}  # the draws inside the box, shrunk at each peel
    held = h
    bounds: dict[str, list[float]] = {k: [-np.inf, np.inf] for k in inputs}
    density = float(h.mean())
    steps = 0
    while True:
        best = None
        size = len(held)
        for k in inputs:
            q_low, q_high = np.quantile(data[k], [alpha, 1 - alpha])
            for side in ("low", "high"):
                # strict: a point mass at the cut goes whole
                keep = data[k] > float(q_low) if side == "low" else data[k] < float(q_high)
                m = int(keep.sum())
                if m == size or m < max(1, min_count):
                    continue
                d = float(held[keep].mean())
                if d > density + 1e-12 and (best is None or d > best[0]):
                    best = (d, k, side, keep)
        if best is None:
            return density, held, bounds, steps
        density, k, side, keep = best
        data = {j: v[keep] for j, v in data.items()}
        held = held[keep]
        if side == "low":
            bounds[k][0] = float(data[k].min())
        else:
            bounds[k][1] = float(data[k].max())
        steps += 1


def _box_rows(a, inputs: list[str], bounds: dict[str, list[float]]) -> tuple[list[dict], list[str]]:
    """The restricted inputs of a PRIM box as table rows and as phrases for its sentence."""
    rows, parts = [], []
    for k in inputs:
        lo, hi = bounds[k]
        if np.isinf(lo) and np.isinf(hi):
            continue
        rows.append(
            {
                "input": k,
                "lower": lo if np.isfinite(lo) else np.nan,
                "upper": hi if np.isfinite(hi) else np.nan,
                "unit": model_unit(input_spec(a, k)),
            }
        )
        if np.isfinite(lo) and np.isfinite(hi):
            parts.append(f"{k} is between {format_value(a, k, lo)} and {format_value(a, k, hi)}")
        elif np.isfinite(lo):
            parts.append(f"{k} >= {format_value(a, k, lo)}")
        else:
            parts.append(f"{k} <= {format_value(a, k, hi)}")
    return rows, parts

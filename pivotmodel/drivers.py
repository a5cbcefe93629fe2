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

import numpy as np
import pandas as pd
from scipy import stats

from .errors import InputError
from .sensitivity import format_value, input_spec, model_unit

__all__ = ["drivers", "prim_box", "claim_split", "check_claim"]


def check_claim(results, claim_id: str) -> None:
    ids = [c.id for c in results.claims]
    if claim_id not in ids:
        raise InputError.single("claims.yaml", "claim", f"unknown claim id {claim_id!r}; valid: {', '.join(ids)}")


def claim_split(results, claim_id: str) -> tuple[pd.DataFrame, np.ndarray, dict]:
    """(inputs of the evaluable draws, holds as bool, counts and a status message)."""
    check_claim(results, claim_id)
    holds = results.claim_holds[claim_id].to_numpy(dtype=float)
    ok = ~np.isnan(holds)
    x = results.inputs[ok].reset_index(drop=True)
    h = holds[ok] == 1.0
    info = {"draws": int(holds.size), "evaluable": int(ok.sum()), "not_evaluable": int((~ok).sum()),
            "holding": int(h.sum()), "failing": int((~h).sum())}
    message = ""
    if info["evaluable"] == 0:
        message = f"{claim_id} cannot be evaluated in any of the {info['draws']} draws (a figure it needs is missing), so it has no drivers"
    elif info["failing"] == 0:
        message = f"{claim_id} holds in every evaluable draw ({info['evaluable']}), so no input decides it in this run"
    elif info["holding"] == 0:
        message = f"{claim_id} fails in every evaluable draw ({info['evaluable']}), so no input decides it in this run"
    if message and info["not_evaluable"]:
        message += f"; {info['not_evaluable']} draws were not evaluable"
    info["message"] = message
    info["probability"] = info["holding"] / info["evaluable"] if info["evaluable"] else float("nan")
    return x, h, info


def drivers(results, claim_id: str) -> pd.DataFrame:
    """Inputs ranked by the KS distance between their draws where the claim holds and where
    it fails. Columns: input, ks, p_value, median_holds, median_fails, direction (the claim
    favours 'higher' or 'lower' values), unit (model unit). ``attrs``: the counts of draws
    and ``message`` (non-empty when the claim always or never holds)."""
    x, h, info = claim_split(results, claim_id)
    cols = ["input", "ks", "p_value", "median_holds", "median_fails", "direction", "unit"]
    a = results.assumptions
    if info["message"]:
        df = pd.DataFrame(columns=cols)
    else:
        rows = []
        for k in x.columns:
            xs = x[k].to_numpy(dtype=float)
            res = stats.ks_2samp(xs[h], xs[~h])
            mh, mf = float(np.median(xs[h])), float(np.median(xs[~h]))
            mean_h, mean_f = float(xs[h].mean()), float(xs[~h].mean())
            diff = (mh - mf) if mh != mf else (mean_h - mean_f)
            rows.append({"input": k, "ks": float(res.statistic), "p_value": float(res.pvalue),
                         "median_holds": mh, "median_fails": mf,
                         "direction": "higher" if diff > 0 else ("lower" if diff < 0 else "-"),
                         "unit": model_unit(input_spec(a, k))})
        df = pd.DataFrame(rows, columns=cols).sort_values("ks", ascending=False, kind="stable").reset_index(drop=True)
    df.attrs.update(claim=claim_id, **info)
    return df


def _fmt_pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def prim_box(results, claim_id: str, inputs: list[str] | None = None, top: int = 4,
             alpha: float = 0.05, min_support: float = 0.05) -> pd.DataFrame:
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
        df.attrs.update(claim=claim_id, sentence=info["message"], density=info["probability"], coverage=float("nan"),
                        support=float("nan"), base_density=info["probability"], steps=0, **info)
        return df
    if inputs is None:
        inputs = list(drivers(results, claim_id)["input"].head(top))
    else:
        bad = [k for k in inputs if k not in x.columns]
        if bad:
            raise InputError.single("--input", "input", f"{', '.join(bad)} not an uncertain input; valid: {', '.join(x.columns)}")
    n = len(h)
    data = {k: x[k].to_numpy(dtype=float) for k in inputs}
    inside = np.ones(n, dtype=bool)
    bounds: dict[str, list[float]] = {k: [-np.inf, np.inf] for k in inputs}
    density = float(h.mean())
    base_density = density
    steps = 0
    while True:
        best = None
        for k in inputs:
            xs = data[k][inside]
            for side in ("low", "high"):
                if side == "low":  # strict: a point mass at the cut goes whole
                    keep = inside & (data[k] > float(np.quantile(xs, alpha)))
                else:
                    keep = inside & (data[k] < float(np.quantile(xs, 1 - alpha)))
                m = int(keep.sum())
                if m == int(inside.sum()) or m < max(1, min_support * n):
                    continue
                d = float(h[keep].mean())
                if d > density + 1e-12 and (best is None or d > best[0]):
                    best = (d, k, side, keep)
        if best is None:
            break
        density, k, side, keep = best
        kept = data[k][keep]
        if side == "low":
            bounds[k][0] = float(kept.min())
        else:
            bounds[k][1] = float(kept.max())
        inside = keep
        steps += 1
    support = float(inside.mean())
    coverage = float(h[inside].sum() / h.sum())
    rows = []
    parts = []
    for k in inputs:
        lo, hi = bounds[k]
        if np.isinf(lo) and np.isinf(hi):
            continue
        rows.append({"input": k, "lower": lo if np.isfinite(lo) else np.nan, "upper": hi if np.isfinite(hi) else np.nan,
                     "unit": model_unit(input_spec(a, k))})
        if np.isfinite(lo) and np.isfinite(hi):
            parts.append(f"{k} is between {format_value(a, k, lo)} and {format_value(a, k, hi)}")
        elif np.isfinite(lo):
            parts.append(f"{k} >= {format_value(a, k, lo)}")
        else:
            parts.append(f"{k} <= {format_value(a, k, hi)}")
    overall = f"overall it holds in {_fmt_pct(base_density)} of {n} evaluable draws"
    if not parts:
        sentence = f"no box over {', '.join(inputs)} raises the share of draws where {claim_id} holds; {overall}"
    else:
        sentence = (f"{claim_id} holds in {_fmt_pct(density)} of draws where " + " and ".join(parts)
                    + f" (density {_fmt_pct(density)}, coverage {_fmt_pct(coverage)} of the holding draws, "
                    f"support {_fmt_pct(support)} of draws); {overall}")
    df = pd.DataFrame(rows, columns=cols)
    df.attrs.update(claim=claim_id, sentence=sentence, density=density, coverage=coverage, support=support,
                    base_density=base_density, steps=steps, inputs=list(inputs), **info)
    return df

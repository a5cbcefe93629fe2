"""How closely one input tracks a claim across a run's draws, for every input and claim at once.

* :func:`ks_matrix`: the Kolmogorov-Smirnov distance between each input's draws where a
  claim holds and where it fails (the statistic ``scipy.stats.ks_2samp`` computes), read
  off running counts of holding and failing draws along each input's sorted order; with
  ``medians``, the median of the input over each group too.
* :func:`average_ranks`: ranks with ties sharing their mean rank (``scipy.stats.rankdata``),
  for Spearman rank correlations.

numpy only (importing scipy.stats costs about half a second): the claims table after every
run reads these. :mod:`pivotmodel.drivers` and :mod:`pivotmodel.claim_status` use them.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ks_matrix", "average_ranks"]


def _sorted_medians(xs: np.ndarray, counts: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Median of the draws counted in each column of ``counts`` (running counts along the
    sorted values ``xs``): the middle value, or the mean of the two middle ones (as np.median)."""
    lo = np.array([np.searchsorted(counts[:, c], (n[c] + 1) // 2) for c in range(counts.shape[1])])
    hi = np.array([np.searchsorted(counts[:, c], n[c] // 2 + 1) for c in range(counts.shape[1])])
    a, b = xs[lo], xs[hi]
    return np.where(n % 2 == 1, a, (a + b) / 2)


def ks_matrix(
    x: np.ndarray, hold: np.ndarray, fail: np.ndarray, medians: bool = False, order: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(KS distance, median where it holds, median where it fails), each (inputs, claims), for
    inputs ``x`` (draws, inputs) and outcomes ``hold``/``fail`` (draws, claims, bool; a draw
    neither is not evaluable). Claims that never hold or never fail get 0 and NaN medians;
    medians are NaN unless asked for. ``order``: ``np.argsort(x, axis=0, kind="stable")`` if
    the caller has it."""
    nh, nf = hold.sum(axis=0), fail.sum(axis=0)
    k, c = x.shape[1], hold.shape[1]
    ks = np.zeros((k, c))
    med_h, med_f = np.full((k, c), np.nan), np.full((k, c), np.nan)
    live = (nh > 0) & (nf > 0)
    if not live.any() or not k:
        return ks, med_h, med_f
    h = hold[:, live].astype(np.int32)
    # failing draws counted as evaluable draws minus holding ones; evaluable draws need a
    # running count only for the claims some draws of which are not evaluable
    partial = np.flatnonzero(~(hold | fail)[:, live].all(axis=0))
    ok = (hold | fail)[:, live][:, partial].astype(np.int32)
    rank = np.arange(1, len(x) + 1, dtype=np.int32)[:, None]
    for j in range(k):
        o = np.argsort(x[:, j], kind="stable") if order is None else order[:, j]
        xs = x[o, j]
        ch = np.cumsum(h[o], axis=0)
        cf = rank - ch
        if len(partial):
            cf[:, partial] = np.cumsum(ok[o], axis=0) - ch[:, partial]
        last = np.r_[xs[1:] != xs[:-1], True]  # the ECDFs are compared after each distinct value
        diff = ch[last] / nh[live] - cf[last] / nf[live]
        ks[j, live] = np.abs(diff).max(axis=0)
        if medians:
            med_h[j, live] = _sorted_medians(xs, ch, nh[live])
            med_f[j, live] = _sorted_medians(xs, cf, nf[live])
    return ks, med_h, med_f


def average_ranks(x: np.ndarray, order: np.ndarray | None = None) -> np.ndarray:
    """Ranks 1..n of each column of ``x`` (or of a vector), ties at their mean rank; +inf ranks
    last. ``order``: the columns' stable argsort, if the caller has it."""
    a = np.asarray(x, dtype=float)
    flat = a.ndim == 1
    cols = a[:, None] if flat else a
    out = np.empty(cols.shape)
    for j in range(cols.shape[1]):
        o = np.argsort(cols[:, j], kind="stable") if order is None else order[:, j]
        xs = cols[o, j]
        starts = np.r_[True, xs[1:] != xs[:-1]]
        group = np.cumsum(starts) - 1
        first = np.flatnonzero(starts)
        size = np.diff(np.r_[first, len(xs)])
        out[o, j] = (first + (size + 1) / 2.0)[group]
    return out[:, 0] if flat else out

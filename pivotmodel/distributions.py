"""Distribution specs for uncertain inputs, and their inverse CDFs.

Every input in the assumption files is either a point value (``value: 0.34``) or a
distribution (``dist: triangular, low: .., mode: .., high: ..``). Sampling draws uniforms
and maps them through :meth:`Distribution.ppf`, the same path for plain Monte Carlo, Latin
hypercube and Sobol. A deterministic run uses each distribution's median
(:meth:`Distribution.median`): the median is defined for every family here, is invariant
under monotone transforms (the median of growth is the growth of the median case), and for
skewed inputs such as lognormal it is the "one-in-two" value analysts quote, where the
mean would be pulled by the tail.

Families and their fields:

========== =========================================== ====================================
dist       fields                                      notes
========== =========================================== ====================================
fixed      value                                       a constant
uniform    low, high
triangular low, mode, high
pert       low, mode, high [, lambda=4]                beta-PERT
normal     mean, sd
truncnormal mean, sd, low, high                        normal cut to [low, high]
lognormal  median, sigma  | p5, p95                    sigma is the sd of log(x); x > 0
range      p5, p95 [, shape=normal|lognormal]          the analyst's 90% interval
bernoulli  p [, value_if_true=1, value_if_false=0]     a discrete event
========== =========================================== ====================================
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special

__all__ = ["Distribution", "DIST_FIELDS", "SCALES_WITH_UNIT", "build_distribution", "build_tables", "SpecError"]

Z95 = 1.6448536269514722  # scipy.stats.norm.ppf(0.95): p5/p95 are mean -/+ 1.6449 sd

DIST_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # family: (required fields, optional fields)
    "fixed": (("value",), ()),
    "uniform": (("low", "high"), ()),
    "triangular": (("low", "mode", "high"), ()),
    "pert": (("low", "mode", "high"), ("lambda",)),
    "normal": (("mean", "sd"), ()),
    "truncnormal": (("mean", "sd", "low", "high"), ()),
    "lognormal": ((), ("median", "sigma", "p5", "p95")),
    "range": (("p5", "p95"), ("shape",)),
    "bernoulli": (("p",), ("value_if_true", "value_if_false")),
}


# Whether each field is a quantity in the input's unit (multiplied when RMB_bn becomes RMB_mn)
# or unit-free (a log-scale spread, a PERT weight, a probability, a shape name). Every field of
# every family is declared here; a new family's fields must be too (a test checks).
SCALES_WITH_UNIT: dict[str, bool] = {
    "value": True,
    "low": True,
    "mode": True,
    "high": True,
    "mean": True,
    "sd": True,
    "median": True,
    "p5": True,
    "p95": True,
    "value_if_true": True,
    "value_if_false": True,
    "sigma": False,
    "lambda": False,
    "p": False,
    "shape": False,
}


class _Frozen:
    """A scipy.stats distribution built on first use, so loading and validating inputs does
    not import scipy.stats (about a second); ``args`` and ``kwds`` are known without it."""

    def __init__(self, name: str, *args: float, **kwds: float):
        self.name, self.args, self.kwds = name, args, kwds
        self._dist: Any = None

    def support(self) -> tuple[float, float]:
        """scipy's support, by scipy's formula (standard support * scale + loc), without scipy."""
        loc, scale = self.kwds.get("loc", 0.0), self.kwds.get("scale", 1.0)
        if self.name == "norm":
            return -math.inf, math.inf
        if self.name == "truncnorm":
            a, b = self.args
        else:  # uniform, triang, beta on [0, 1]; lognorm on [0, inf)
            a, b = 0.0, (math.inf if self.name == "lognorm" else 1.0)
        return a * scale + loc, b * scale + loc

    def quantile(self, p: float) -> float:
        """scipy's ``ppf(p)`` for 0 < p < 1, by scipy's formula (standard ppf * scale + loc)
        where that needs only scipy.special; otherwise scipy.stats itself."""
        loc, scale = self.kwds.get("loc", 0.0), self.kwds.get("scale", 1.0)
        std: Any = None
        if 0.0 < p < 1.0:
            if self.name == "uniform":
                std = p
            elif self.name == "triang":
                c = self.kwds["c"]
                std = math.sqrt(c * p) if p < c else 1 - math.sqrt((1 - c) * (1 - p))
            elif self.name == "norm":
                loc, scale = self.args
                std = special.ndtri(p)
            elif self.name == "lognorm":
                std = np.exp(self.kwds["s"] * special.ndtri(p))
            elif self.name == "beta" and hasattr(special, "_ufuncs") and hasattr(special._ufuncs, "_beta_ppf"):
                std = special._ufuncs._beta_ppf(p, *self.args)  # what scipy.stats.beta.ppf calls
        if std is None:
            return float(self.ppf(p))
        return float(np.float64(std) * scale + loc)

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            raise AttributeError(attr)
        if self._dist is None:
            from scipy import stats

            self._dist = getattr(stats, self.name)(*self.args, **self.kwds)
        return getattr(self._dist, attr)


class SpecError(ValueError):
    """A distribution spec that is impossible; ``field`` names the offending field."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True)
class Distribution:
    """A validated distribution: its family, its parameters, and a frozen scipy object."""

    kind: str
    params: Mapping[str, Any]
    _frozen: Any = field(default=None, compare=False, repr=False)

    @property
    def is_fixed(self) -> bool:
        return self.kind == "fixed"

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Inverse CDF: map uniforms in (0, 1) to values of this distribution."""
        u = np.asarray(u, dtype=float)
        if self.kind == "fixed":
            return np.full(u.shape, float(self.params["value"]))
        if self.kind == "bernoulli":
            hit = u < float(self.params["p"])
            return np.where(
                hit,
                float(self.params.get("value_if_true", 1.0)),
                float(self.params.get("value_if_false", 0.0)),
            )
        with np.errstate(under="ignore"):  # tiny tails underflow harmlessly to 0
            fast = _fast_ppf(self, u)
        return fast if fast is not None else np.asarray(self._frozen.ppf(u), dtype=float)

    def median(self) -> float:
        """The value a deterministic run uses (see the module docstring); computed through
        :meth:`ppf`, the sampling path, so draw 0 of every run equals it bit for bit."""
        return float(self.ppf(np.array([0.5]))[0])

    def quantile(self, p: float) -> float:
        """One quantile from scipy's exact inverse CDF (sampling's :meth:`ppf` interpolates a
        table for PERT and uses closed forms elsewhere; they agree to ~1e-5 of the range)."""
        if self._frozen is not None:
            return self._frozen.quantile(p)
        return float(self.ppf(np.array([p]))[0])

    @property
    def support(self) -> tuple[float, float]:
        if self.kind == "fixed":
            v = float(self.params["value"])
            return v, v
        if self.kind == "bernoulli":
            a = float(self.params.get("value_if_true", 1.0))
            b = float(self.params.get("value_if_false", 0.0))
            return min(a, b), max(a, b)
        lo, hi = self._frozen.support()
        return float(lo), float(hi)

    def describe(self) -> str:
        body = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.kind}({body})"


_BETA_GRID = 1 << 16
# PERT shape -> its table (513 KB each), least recently used first; at most _BETA_TABLES_MAX are
# kept (a process that samples many different PERT modes, as a sensitivity sweep does, held
# 105 MB for 200 modes), except that the tables one build_tables() call makes for a run are all
# kept whatever their number.
_BETA_TABLES: OrderedDict[tuple[float, float], np.ndarray] = OrderedDict()
_BETA_TABLES_MAX = 32


def _remember(key: tuple[float, float], table: np.ndarray, keep: int = 0) -> None:
    """Keep ``table`` as the most recently used; drop the least recently used beyond the bound
    (or beyond ``keep``, the tables a run needs, if more)."""
    _BETA_TABLES[key] = table
    _BETA_TABLES.move_to_end(key)
    while len(_BETA_TABLES) > max(keep, _BETA_TABLES_MAX):
        _BETA_TABLES.popitem(last=False)


def _beta_table(a: float, b: float) -> np.ndarray:
    """The exact beta inverse CDF at 2**16 + 1 equally spaced points, built once a process
    (about 70 ms) and kept, read-only, in :data:`_BETA_TABLES` (bounded, least recently used
    dropped first)."""
    table = _BETA_TABLES.get((a, b))
    if table is None:
        table = special.betaincinv(a, b, np.linspace(0.0, 1.0, _BETA_GRID + 1))
        table.setflags(write=False)
        _remember((a, b), table)
    else:
        _BETA_TABLES.move_to_end((a, b))
    return table


_TABLE_PIECES = 4  # each table is computed in this many slices of its grid, shared among threads


def build_tables(dists: Iterable[Distribution], threads: int | None = None) -> None:
    """Build the lookup tables sampling these distributions reads (PERT's beta tables), so a
    parent process can build them once before it forks workers, which then inherit them.
    The missing tables are computed in slices of the grid on up to two threads
    (:func:`pivotmodel.threads.in_threads`; ``betaincinv`` releases the GIL): the same values
    as :func:`_beta_table`'s one call, element by element, in about half the time."""
    from .threads import in_threads

    needed = {(float(a), float(b)) for d in dists if d.kind == "pert" for a, b in [d._frozen.args]}
    for key in sorted(needed & set(_BETA_TABLES)):
        _BETA_TABLES.move_to_end(key)  # used by this run: the last to go
    wanted = sorted(needed - set(_BETA_TABLES))
    if not wanted:
        return
    grid = np.linspace(0.0, 1.0, _BETA_GRID + 1)
    tables = {key: np.empty_like(grid) for key in wanted}
    edges = np.linspace(0, grid.size, _TABLE_PIECES + 1).astype(int)
    pieces = [(key, slice(lo, hi)) for key in wanted for lo, hi in zip(edges[:-1], edges[1:])]

    def one(i: int) -> None:
        (a, b), part = pieces[i]
        tables[a, b][part] = special.betaincinv(a, b, grid[part])

    in_threads(len(pieces), one, threads)
    for key, table in tables.items():
        table.setflags(write=False)
        _remember(key, table, keep=len(needed))


def _beta_ppf(a: float, b: float, u: np.ndarray) -> np.ndarray:
    """Beta inverse CDF: linear interpolation in a table of 2**16 + 1 exact values (measured
    error below 1e-5 of the range, largest just inside the tails), exact ``betaincinv`` in the
    outer 16 cells of each tail where the curve is steep. About 70x faster than scipy on a
    million draws. Grid points, 0.5 among them, are exact, so the median and draw 0 agree.
    A few points all on the grid (the median of a one-draw base case) are the table's exact
    entries, so they are computed directly without building the table (~0.1 s each)."""
    x = u * _BETA_GRID
    if u.size <= 16 and np.all(x == np.floor(x)):
        return special.betaincinv(a, b, u)
    table = _beta_table(a, b)
    k = np.floor(x).astype(np.int64)
    np.clip(k, 0, _BETA_GRID - 1, out=k)
    w = np.subtract(x, k, out=x)  # the weight of the upper grid point (in place of x)
    out = np.take(table, k)  # table[k] * (1 - w) + table[k + 1] * w, in place
    out *= 1.0 - w
    k += 1
    upper = np.take(table, k)
    upper *= w
    out += upper
    tail = (u < 16.0 / _BETA_GRID) | (u > 1.0 - 16.0 / _BETA_GRID)
    if tail.any():
        out[tail] = special.betaincinv(a, b, u[tail])
    return out


def _fast_ppf(d: Distribution, u: np.ndarray) -> np.ndarray | None:
    """Closed-form inverse CDFs for the common families (scipy's generic ``ppf`` carries a
    lot of per-call overhead); None means use the frozen scipy distribution."""
    p = d.params
    if d.kind == "uniform":
        return p["low"] + u * (p["high"] - p["low"])
    if d.kind == "triangular":
        u = np.asarray(u, dtype=float)
        lo, mode, hi = float(p["low"]), float(p["mode"]), float(p["high"])
        c = (mode - lo) / (hi - lo)
        # lo + sqrt(u (hi - lo) (mode - lo)) below the mode's quantile c, hi - sqrt((1 - u)
        # (hi - lo) (hi - mode)) above, each in two buffers worked in place. Both branches for
        # every draw, then a select: computing each draw's own branch only (a boolean gather and
        # scatter) measured three times slower in numpy than the second square root it saves.
        left = u * (hi - lo)
        left *= mode - lo
        np.sqrt(left, out=left)
        left += lo
        right = np.subtract(1.0, u)
        right *= hi - lo
        right *= hi - mode
        np.sqrt(right, out=right)
        np.subtract(hi, right, out=right)
        return np.where(u < c, left, right)
    if d.kind == "pert":
        a, b = d._frozen.args
        lo, scale = d._frozen.kwds["loc"], d._frozen.kwds["scale"]
        return lo + scale * _beta_ppf(float(a), float(b), np.asarray(u, dtype=float))
    if d.kind == "normal" or (d.kind == "range" and p.get("shape", "normal") == "normal"):
        mean, sd = d._frozen.args  # scipy's frozen mean() and std() return these exactly
        return mean + sd * special.ndtri(u)
    if d.kind == "lognormal" or (d.kind == "range" and p.get("shape") == "lognormal"):
        sigma, scale = d._frozen.kwds.get("s", d._frozen.args[0] if d._frozen.args else None), d._frozen.kwds["scale"]
        return scale * np.exp(sigma * special.ndtri(u))
    return None


def _num(params: Mapping[str, Any], name: str) -> float:
    value = params[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(name, f"must be a number, got {value!r}")
    if not math.isfinite(float(value)):
        raise SpecError(name, f"must be finite, got {value!r}")
    return float(value)


def _ordered(params: Mapping[str, Any], lo: str, hi: str, strict: bool = True) -> None:
    a, b = _num(params, lo), _num(params, hi)
    if (a >= b) if strict else (a > b):
        rel = "<" if strict else "<="
        raise SpecError(hi, f"{lo} must be {rel} {hi} ({a} vs {b})")


def _lognormal_params(params: Mapping[str, Any]) -> tuple[float, float]:
    if "median" in params or "sigma" in params:
        if not ("median" in params and "sigma" in params) or "p5" in params or "p95" in params:
            raise SpecError("median", "lognormal takes either median and sigma, or p5 and p95")
        median, sigma = _num(params, "median"), _num(params, "sigma")
        if median <= 0:
            raise SpecError("median", f"must be > 0 for a lognormal, got {median}")
        if sigma <= 0:
            raise SpecError("sigma", f"must be > 0, got {sigma}")
        return median, sigma
    if "p5" in params and "p95" in params:
        _ordered(params, "p5", "p95")
        p5, p95 = _num(params, "p5"), _num(params, "p95")
        if p5 <= 0:
            raise SpecError("p5", f"must be > 0 for a lognormal, got {p5}")
        return math.sqrt(p5 * p95), (math.log(p95) - math.log(p5)) / (2 * Z95)
    raise SpecError("median", "lognormal needs median and sigma, or p5 and p95")


def build_distribution(kind: str, params: Mapping[str, Any]) -> Distribution:
    """Validate a spec and freeze it. Raises :class:`SpecError` naming the bad field."""
    if kind not in DIST_FIELDS:
        raise SpecError("dist", f"unknown distribution {kind!r}; valid: {', '.join(DIST_FIELDS)}")
    required, optional = DIST_FIELDS[kind]
    for name in required:
        if name not in params:
            raise SpecError(name, f"{kind} needs {', '.join(required)}; {name} is missing")
    for name in params:
        if name not in required and name not in optional:
            valid = ", ".join(required + optional)
            raise SpecError(name, f"{kind} takes {valid}; {name!r} is not one of them")
    params = dict(params)
    frozen: Any = None
    if kind == "fixed":
        _num(params, "value")
    elif kind == "uniform":
        _ordered(params, "low", "high")
        lo, hi = _num(params, "low"), _num(params, "high")
        frozen = _Frozen("uniform", loc=lo, scale=hi - lo)
    elif kind in ("triangular", "pert"):
        _ordered(params, "low", "high")
        lo, mode, hi = (_num(params, k) for k in ("low", "mode", "high"))
        if not lo <= mode <= hi:
            raise SpecError("mode", f"must lie in [low, high] = [{lo}, {hi}], got {mode}")
        if kind == "triangular":
            frozen = _Frozen("triang", c=(mode - lo) / (hi - lo), loc=lo, scale=hi - lo)
        else:
            lam = _num(params, "lambda") if "lambda" in params else 4.0
            if lam <= 0:
                raise SpecError("lambda", f"must be > 0, got {lam}")
            a = 1 + lam * (mode - lo) / (hi - lo)
            b = 1 + lam * (hi - mode) / (hi - lo)
            frozen = _Frozen("beta", a, b, loc=lo, scale=hi - lo)
    elif kind in ("normal", "truncnormal"):
        mean, sd = _num(params, "mean"), _num(params, "sd")
        if sd <= 0:
            raise SpecError("sd", f"must be > 0, got {sd}")
        if kind == "normal":
            frozen = _Frozen("norm", mean, sd)
        else:
            _ordered(params, "low", "high")
            lo, hi = _num(params, "low"), _num(params, "high")
            frozen = _Frozen("truncnorm", (lo - mean) / sd, (hi - mean) / sd, loc=mean, scale=sd)
    elif kind == "lognormal":
        median, sigma = _lognormal_params(params)
        frozen = _Frozen("lognorm", s=sigma, scale=median)
    elif kind == "range":
        _ordered(params, "p5", "p95")
        p5, p95 = _num(params, "p5"), _num(params, "p95")
        shape = params.get("shape", "normal")
        if shape == "normal":
            frozen = _Frozen("norm", (p5 + p95) / 2, (p95 - p5) / (2 * Z95))
        elif shape == "lognormal":
            median, sigma = _lognormal_params({"p5": p5, "p95": p95})
            frozen = _Frozen("lognorm", s=sigma, scale=median)
        else:
            raise SpecError("shape", f"must be normal or lognormal, got {shape!r}")
    elif kind == "bernoulli":
        p = _num(params, "p")
        if not 0 <= p <= 1:
            raise SpecError("p", f"is a probability and must lie in [0, 1], got {p}")
        for name in ("value_if_true", "value_if_false"):
            if name in params:
                _num(params, name)
    return Distribution(kind, params, frozen)

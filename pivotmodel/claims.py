"""The claims register: claims as data, tests in a small expression language.

A test is parsed with Python's ``ast`` and walked with a whitelist - never ``eval``:
numbers, series names (``cloud.revenue``; aliases ``capex``, ``fcf``), periods (``FY2027``,
``CY2026``, ``FY2027Q3``, ranges ``FY2026Q1:FY2028Q4``), the functions below, arithmetic,
comparisons and ``and`` / ``or`` / ``not``. Anything else - attribute access outside series
names, imports, lambdas, comprehensions, subscripts, dunder names, unknown names - is an
error naming the claim, the file and what is valid.

Functions (money in RMB bn, US$ bn for ``usd``; ratios and growth as decimals):

* ``sum(x, P)``, ``cumsum(x, P)`` - total over P
* ``usd(x, P)`` - total over P in US$ bn, each quarter at its exchange rate
* ``share(a, b, P)`` - sum(a, P) / sum(b, P) (margins too)
* ``yoy(x, P)`` - growth on the same period a year earlier
* ``all(cond, P1:P2)``, ``any(cond, P1:P2)`` - cond, written without periods, in each quarter
* ``first_fy(cond)`` (alias ``first_year``), ``first_cy(cond)`` - first complete fiscal /
  calendar year in which cond holds (written without periods), infinity if none

Each claim evaluates to a value per draw: the metric (left side of a top-level comparison
with a constant, when there is one) and whether the claim holds. NaN (a reported figure
missing for a period the test needs) makes the claim "not evaluable" in that draw.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .errors import InputError, Problem
from .model import SERIES, Projection
from .periods import Period, PeriodError, parse_period

__all__ = ["Claim", "parse_claims", "parse_test", "evaluate", "ClaimValue", "FUNCTIONS", "ALIASES", "series_in"]

ALIASES = {"capex": "group.capex", "fcf": "group.fcf"}
CLAIM_KEYS = {"id": True, "words": True, "source": True, "reading": True, "test": True, "headline": False, "note": False,
              "article": False, "not_evaluable": False}
SOURCE_KEYS = ("publication", "date", "url")
FUNCTIONS = {
    "sum": "sum(x, P): total over P, RMB bn",
    "cumsum": "cumsum(x, P1:P2): total over a range, RMB bn",
    "usd": "usd(x, P): total over P, US$ bn",
    "share": "share(a, b, P): sum(a, P) / sum(b, P)",
    "yoy": "yoy(x, P): growth on the same period a year earlier",
    "all": "all(cond, P1:P2): cond in every quarter of the range",
    "any": "any(cond, P1:P2): cond in some quarter of the range",
    "first_fy": "first_fy(cond): first fiscal year in which cond holds",
    "first_cy": "first_cy(cond): first calendar year in which cond holds",
    "first_year": "first_year(cond): same as first_fy (fiscal years)",
}
_RANGE_RE = re.compile(r"\b(FY\d{4}Q[1-4])\s*:\s*(FY\d{4}Q[1-4])\b")
_PERIOD_RE = re.compile(r"^(FY\d{4}(Q[1-4])?|CY\d{4})$")
_CMP: dict[type, Callable[[Any, Any], Any]] = {
    ast.Gt: np.greater, ast.GtE: np.greater_equal, ast.Lt: np.less, ast.LtE: np.less_equal,
}
_BIN: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide,
}


class TestError(ValueError):
    pass


@dataclass(frozen=True)
class Claim:
    id: str
    words: str
    source: dict[str, str]
    reading: str
    test: str
    tree: ast.Expression
    headline: bool = False
    note: str = ""
    article: str = ""  # the stored article the claim came from (shared/reference/articles/...)
    not_evaluable: str = ""  # why the model cannot test this reading yet (every draw n/a)

    @property
    def threshold(self) -> float | None:
        node = self.tree.body
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.comparators[0], (ast.Constant, ast.UnaryOp)):
            return float(_const(node.comparators[0]))
        return None

    @property
    def comparison(self) -> str | None:
        node = self.tree.body
        if self.threshold is None:
            return None
        return {ast.Gt: ">", ast.GtE: ">=", ast.Lt: "<", ast.LtE: "<="}[type(node.ops[0])]  # type: ignore[attr-defined]


def _const(node: ast.AST) -> float:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_const(node.operand)
    if isinstance(node, ast.Constant):
        return node.value  # type: ignore[return-value]
    raise TestError("not a number")


def _series_name(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def series_in(tree: ast.AST) -> set[str]:
    """The model series a parsed expression reads (aliases resolved)."""
    names = set()
    for node in ast.walk(tree):
        name = _series_name(node) if isinstance(node, (ast.Name, ast.Attribute)) else None
        if name is not None:
            name = ALIASES.get(name, name)
            if name in SERIES:
                names.add(name)
    return names


def _check(node: ast.AST) -> None:
    """Walk the tree and refuse anything outside the language."""
    if isinstance(node, ast.Expression):
        return _check(node.body)
    if isinstance(node, ast.BoolOp):
        for v in node.values:
            _check(v)
        return
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.Not, ast.USub)):
            raise TestError(f"operator {type(node.op).__name__} is not allowed")
        return _check(node.operand)
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BIN:
            raise TestError(f"operator {type(node.op).__name__} is not allowed; use + - * /")
        _check(node.left)
        return _check(node.right)
    if isinstance(node, ast.Compare):
        for op in node.ops:
            if type(op) not in _CMP:
                raise TestError(f"comparison {type(op).__name__} is not allowed; use > >= < <=")
        _check(node.left)
        for c in node.comparators:
            _check(c)
        return
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float, str)):
            raise TestError(f"constant {node.value!r} is not allowed")
        if isinstance(node.value, str) and not _RANGE_RE.fullmatch(node.value):
            raise TestError(f"text {node.value!r} is not allowed; only numbers, series and periods")
        return
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = getattr(node.func, "id", None) or ast.unparse(node.func)
            raise TestError(f"unknown function {name!r}; valid: {', '.join(FUNCTIONS)}")
        if node.keywords:
            raise TestError("keyword arguments are not allowed")
        for a in node.args:
            _check(a)
        return
    if isinstance(node, (ast.Name, ast.Attribute)):
        name = _series_name(node)
        if name is None:
            raise TestError(f"attribute access {ast.unparse(node)!r} is not allowed; only series names")
        if "__" in name:
            raise TestError(f"dunder name {name!r} is not allowed")
        if name in SERIES or name in ALIASES or _PERIOD_RE.match(name):
            return
        if "." in name:
            raise TestError(f"unknown series {name!r}; valid series: {', '.join(list(SERIES) + list(ALIASES))}")
        raise TestError(
            f"unknown name {name!r}; valid: series ({', '.join(list(SERIES) + list(ALIASES))}), "
            "periods (FY2027, CY2026, FY2027Q3, FY2026Q1:FY2028Q4) and functions "
            f"({', '.join(FUNCTIONS)})"
        )
    raise TestError(f"{type(node).__name__} ({ast.unparse(node)!r}) is not allowed in a claim test")


def parse_test(text: str) -> ast.Expression:
    """Parse and check a test expression; raises :class:`TestError` with what is valid."""
    if not isinstance(text, str) or not text.strip():
        raise TestError("a test must be a non-empty expression")
    prepared = _RANGE_RE.sub(lambda m: f'"{m.group(1)}:{m.group(2)}"', text)
    try:
        tree = ast.parse(prepared, mode="eval")
    except SyntaxError as exc:
        raise TestError(f"syntax error at column {exc.offset}: {exc.msg}") from None
    _check(tree)
    return tree


class _Evaluator:
    def __init__(self, p: Projection):
        self.p = p
        self.missing = np.zeros(p.draws, dtype=bool)  # draws an all()/any() cannot decide

    def _quarter_nan(self, node: ast.AST, q: Period) -> np.ndarray:
        """Draws where a value the condition reads in quarter ``q`` is NaN (not reported)."""
        mask = np.zeros(self.p.draws, dtype=bool)
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call) and sub.func.id in ("sum", "cumsum", "usd", "share", "yoy"):  # type: ignore[attr-defined]
                with np.errstate(all="ignore"):
                    mask |= np.isnan(np.broadcast_to(np.asarray(self.eval(sub, q), dtype=float), (self.p.draws,)))
        return mask

    def period(self, node: ast.AST) -> Period:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            label = node.value
        else:
            label = _series_name(node) or ""
        try:
            period = parse_period(label)
        except PeriodError as exc:
            raise TestError(str(exc)) from None
        if not self.p.timeline.covers(period):
            raise TestError(
                f"period {period.label} is outside the model's timeline "
                f"{self.p.timeline.first.label}..{self.p.timeline.last.label}"
            )
        return period

    def series(self, node: ast.AST) -> str:
        name = _series_name(node)
        if name is None or (name not in SERIES and name not in ALIASES):
            raise TestError(f"expected a series name, got {ast.unparse(node)!r}")
        return ALIASES.get(name, name)

    def eval(self, node: ast.AST, ctx: Period | None) -> Any:
        if isinstance(node, ast.Expression):
            return self.eval(node.body, ctx)
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str):
                raise TestError(f"the period {node.value} can only be a function's period argument")
            return float(node.value)
        if isinstance(node, ast.UnaryOp):
            val = self.eval(node.operand, ctx)
            if isinstance(node.op, ast.Not):
                return ~np.asarray(val, dtype=bool)
            if np.asarray(val).dtype == bool:
                raise TestError(f"'-' cannot apply to a condition ({ast.unparse(node.operand)}); use 'not'")
            return -val
        if isinstance(node, ast.BinOp):
            with np.errstate(divide="ignore", invalid="ignore"):
                return _BIN[type(node.op)](self.eval(node.left, ctx), self.eval(node.right, ctx))
        if isinstance(node, ast.BoolOp):
            vals = [np.asarray(self.eval(v, ctx), dtype=bool) for v in node.values]
            fn = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            out = vals[0]
            for v in vals[1:]:
                out = fn(out, v)
            return out
        if isinstance(node, ast.Compare):
            left = self.eval(node.left, ctx)
            out = None
            for op, comp in zip(node.ops, node.comparators):
                right = self.eval(comp, ctx)
                res = _CMP[type(op)](left, right)
                out = res if out is None else np.logical_and(out, res)
                left = right
            return out
        if isinstance(node, ast.Call):
            return self.call(node.func.id, node.args, ctx)  # type: ignore[attr-defined]
        if isinstance(node, (ast.Name, ast.Attribute)):
            raise TestError(f"{ast.unparse(node)!r} can only be a function argument, e.g. sum({ast.unparse(node)}, FY2028)")
        raise TestError(f"{ast.unparse(node)!r} is not a value")

    def _period_arg(self, fn: str, args: list[ast.AST], index: int, ctx: Period | None) -> Period:
        if len(args) > index:
            return self.period(args[index])
        if ctx is None:
            raise TestError(f"{fn}() needs a period here ({FUNCTIONS[fn]}); only inside all/any/first_fy/first_cy may it be left out")
        return ctx

    def call(self, fn: str, args: list[ast.AST], ctx: Period | None) -> Any:
        p = self.p
        nargs = {"sum": (1, 2), "cumsum": (1, 2), "usd": (1, 2), "share": (2, 3), "yoy": (1, 2),
                 "all": (2, 2), "any": (2, 2), "first_fy": (1, 1), "first_cy": (1, 1), "first_year": (1, 1)}[fn]
        if not nargs[0] <= len(args) <= nargs[1]:
            raise TestError(f"{fn}() takes {nargs[0]}-{nargs[1]} arguments: {FUNCTIONS[fn]}")
        if fn in ("sum", "cumsum"):
            return p.total(self.series(args[0]), self._period_arg(fn, args, 1, ctx)) / 1000.0
        if fn == "usd":
            return p.total_usd(self.series(args[0]), self._period_arg(fn, args, 1, ctx)) / 1000.0
        if fn == "share":
            return p.share(self.series(args[0]), self.series(args[1]), self._period_arg(fn, args, 2, ctx))
        if fn == "yoy":
            period = self._period_arg(fn, args, 1, ctx)
            if not p.timeline.covers(period.shifted_years(-1)):
                raise TestError(f"yoy needs the year before {period.label}, which is before the timeline starts")
            return p.yoy(self.series(args[0]), period)
        if fn in ("all", "any"):
            span = self.period(args[1])
            quarters = [parse_period(q.label) for q in span.quarters()]
            holds = np.stack([
                np.broadcast_to(np.asarray(self.eval(args[0], q), dtype=bool), (p.draws,)) for q in quarters
            ])
            # A quarter with a figure missing decides nothing: all() is False only where a
            # quarter that can be evaluated fails, any() True only where one holds; a draw
            # left undecided with a quarter missing is "not evaluable", never a silent False.
            missing = np.stack([self._quarter_nan(args[0], q) for q in quarters])
            known = holds & ~missing if fn == "any" else ~holds & ~missing
            decided = known.any(axis=0)
            self.missing |= ~decided & missing.any(axis=0)
            return decided if fn == "any" else ~decided
        basis = "cy" if fn == "first_cy" else "fy"
        years = p.timeline.year_periods(basis)
        out = np.full(p.draws, math.inf)
        for year in reversed(years):
            with np.errstate(invalid="ignore"):
                holds = np.broadcast_to(np.asarray(self.eval(args[0], year), dtype=bool), (p.draws,))
            out = np.where(holds, float(year.label[2:]), out)
        return out


@dataclass(frozen=True)
class ClaimValue:
    metric: np.ndarray  # (draws,) metric value (or the 0/1 outcome when there is no metric)
    holds: np.ndarray  # (draws,) float: 1 holds, 0 fails, NaN not evaluable


def _nan_mask(p: Projection, claim: Claim, ev: _Evaluator) -> np.ndarray:
    """Draws where any total the test reads is NaN (a gap in reported history)."""
    mask = np.zeros(p.draws, dtype=bool)
    for node in ast.walk(claim.tree):
        if isinstance(node, ast.Call) and node.func.id in ("sum", "cumsum", "usd", "share", "yoy"):  # type: ignore[attr-defined]
            with np.errstate(all="ignore"):
                try:
                    val = ev.eval(node, None)
                except TestError:
                    continue  # period-free call inside all/any/first_*: all/any check it per quarter
            mask |= np.isnan(np.broadcast_to(val, (p.draws,)))
    return mask


def evaluate(claim: Claim, p: Projection) -> ClaimValue:
    if claim.not_evaluable:  # registered, with the reason it cannot be tested yet
        return ClaimValue(np.full(p.draws, np.nan), np.full(p.draws, np.nan))
    ev = _Evaluator(p)
    with np.errstate(all="ignore"):
        body = claim.tree.body
        if claim.threshold is not None:
            metric = np.broadcast_to(np.asarray(ev.eval(body.left, None), dtype=float), (p.draws,))  # type: ignore[attr-defined]
            holds = _CMP[type(body.ops[0])](metric, claim.threshold).astype(float)  # type: ignore[attr-defined]
        else:
            holds = np.broadcast_to(np.asarray(ev.eval(body, None), dtype=float), (p.draws,)).copy()
            metric = holds
        nan = _nan_mask(p, claim, ev) | np.isnan(metric) | ev.missing
    holds = np.where(nan, np.nan, holds)
    return ClaimValue(np.array(metric, dtype=float), holds)


def parse_claims(raw: Any, label: str = "assumptions/claims.yaml", projection: Projection | None = None) -> list[Claim]:
    """Validate the register; with a projection, also check every period is in range."""
    problems: list[Problem] = []
    if raw is None:
        return []
    if not isinstance(raw, dict) or not isinstance(raw.get("claims"), list):
        raise InputError.single(label, "claims", "must hold a list 'claims:' of {id, words, source, reading, test}")
    claims: list[Claim] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw["claims"]):
        line = getattr(entry, "line", None)
        cid = entry.get("id") if isinstance(entry, dict) else None
        where = f"claims[{i}]" + (f" ({cid})" if cid else "")
        if not isinstance(entry, dict):
            problems.append(Problem(label, where, "must be a mapping with id, words, source, reading, test", line))
            continue
        for key in entry:
            if key not in CLAIM_KEYS:
                problems.append(Problem(label, f"{where}.{key}", f"unknown key; valid: {', '.join(CLAIM_KEYS)}", entry.line_of(key)))
        missing = [k for k, req in CLAIM_KEYS.items() if req and k not in entry]
        if missing:
            problems.append(Problem(label, where, f"missing {', '.join(missing)}", line))
            continue
        if not isinstance(cid, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", cid):
            problems.append(Problem(label, f"{where}.id", "must be snake_case text", line))
            continue
        if cid in seen:
            problems.append(Problem(label, f"{where}.id", f"duplicate claim id {cid!r}", line))
            continue
        seen.add(cid)
        src = entry["source"]
        if not isinstance(src, dict) or any(k not in src for k in SOURCE_KEYS):
            problems.append(Problem(label, f"{where}.source", f"needs {', '.join(SOURCE_KEYS)}", entry.line_of("source")))
            continue
        try:
            tree = parse_test(entry["test"])
            claim = Claim(cid, str(entry["words"]), {k: str(src[k]) for k in SOURCE_KEYS}, str(entry["reading"]),
                          str(entry["test"]), tree, bool(entry.get("headline", False)), str(entry.get("note", "")),
                          str(entry.get("article", "")), str(entry.get("not_evaluable", "")))
            if projection is not None:
                evaluate(claim, projection)
        except TestError as exc:
            problems.append(Problem(label, f"{where}.test", f"{exc} (test: {entry['test']})", entry.line_of("test")))
            continue
        claims.append(claim)
    if problems:
        raise InputError(problems)
    return claims

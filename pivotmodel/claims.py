"""The claims register: claims as data, tests in a small expression language.

A test is parsed with Python's ``ast`` and walked with a whitelist - never ``eval``:
numbers, series names (``cloud.revenue``; aliases ``capex``, ``fcf``), periods (``FY2027``,
``CY2026``, ``FY2027Q3``, ranges ``FY2026Q1:FY2028Q4``), the functions below, arithmetic,
comparisons and ``and`` / ``or`` / ``not``. Anything else - attribute access outside series
names, imports, lambdas, comprehensions, subscripts, dunder names, unknown names - is an
error naming the claim, the file and what is valid.

Functions (money in RMB bn, US$ bn for ``usd``; earnings per ADS as is, RMB or US$; ratios and
growth as decimals):

* ``sum(x, P)``, ``cumsum(x, P)`` - total over P
* ``usd(x, P)`` - total over P in US$ bn, each quarter at its exchange rate
* ``share(a, b, P)`` - sum(a, P) / sum(b, P) (margins too)
* ``yoy(x, P)`` - growth on the same period a year earlier
* ``all(cond, P1:P2)``, ``any(cond, P1:P2)`` - cond, written without periods, in each quarter
* ``first_fy(cond)`` (alias ``first_year``), ``first_cy(cond)`` - first complete fiscal /
  calendar year in which cond holds (written without periods), infinity if none

A test must be a condition: a comparison of two numbers, or comparisons joined with
``and`` / ``or`` / ``not`` (``all``/``any`` are conditions too). A bare number
(``sum(capex, FY2027)``), a chained comparison (``a <= x <= b``: write two comparisons joined
by ``and``) and a test longer than :data:`MAX_TEST_CHARS` characters, :data:`MAX_TEST_NODES`
terms or :data:`MAX_TEST_DEPTH` levels are refused. ``first_fy``/``first_cy`` is infinity in
a draw where the condition never holds, so it may only be compared directly with a year
inside the model's timeline (``first_fy(cond) <= 2031``), never used in arithmetic.

Each claim evaluates to a value per draw: the metric (left side of a top-level comparison
with a constant, when there is one) and whether the claim holds. A draw is "not evaluable"
(NaN, never counted as holding) where the test needs a reported figure that is missing, or
where any number it computes is not finite (a division by zero, an overflow). Such draws
are left out of the claim's probability and its ``draws`` count says how many were used;
a test that is not finite in the base case is refused by ``validate``.
"""

from __future__ import annotations

import ast
import functools
import math
import re
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import InputError, Problem, did_you_mean
from .periods import Period, PeriodError, parse_period
from .schema import SERIES
from .yamlio import line_of, unknown_keys

if TYPE_CHECKING:  # the engine's output; claims are parsed at load, before any projection
    from .model import Projection

__all__ = [
    "Claim",
    "Measure",
    "measure_of",
    "parse_claims",
    "check_claims",
    "parse_test",
    "parse_condition",
    "evaluate",
    "ClaimValue",
    "FUNCTIONS",
    "ALIASES",
    "series_in",
    "find_claim",
]

ALIASES = {"capex": "group.capex", "fcf": "group.fcf"}
# The series of the child segments the loaded folder declares (schema.child_series: Cainiao,
# consumer AI ... and the residuals), set by the loader before it parses claims.yaml, so a claim
# may test a declared child; the registry's SERIES stay the rest. A context variable, not a
# module global: a run (or a test) loading another folder sees its own children.
_DECLARED: ContextVar[dict[str, tuple[str, str]] | None] = ContextVar("declared_child_series", default=None)


def declare_series(series: dict[str, tuple[str, str]]) -> None:
    """Make the declared children's series (name -> (unit, description)) valid in claim tests."""
    _DECLARED.set(dict(series))


def _known() -> dict[str, tuple[str, str]]:
    """Every series a claim may name: the registry's and the declared children's."""
    return {**SERIES, **(_DECLARED.get() or {})}


CLAIM_KEYS = {
    "id": True,
    "words": True,
    "source": True,
    "reading": True,
    "test": True,
    "headline": False,
    "note": False,
    "article": False,
    "not_evaluable": False,
}
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
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
}
_BIN: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.divide,
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
    index: int = 0  # position in the register
    test_line: int | None = None  # line of ``test:`` in claims.yaml

    @property
    def where(self) -> str:
        """How messages name the claim: ``claims[3] (cloud_share_30pct_cy2026)``."""
        return f"claims[{self.index}] ({self.id})"

    @property
    def threshold(self) -> float | None:
        """The constant the metric is compared with (None when the test has no metric)."""
        return self.measure.threshold

    @property
    def comparison(self) -> str | None:
        return self.measure.comparison

    @property
    def measure(self) -> Measure:
        """What the claim's metric is (function, series, period, unit), read off the parsed test."""
        return measure_of(self.tree.body)


@dataclass(frozen=True)
class Measure:
    """What a test measures, read off its parsed tree (never its text): the metric side of a
    comparison with a constant. ``function`` is the metric's outer call (``sum``, ``usd``,
    ``share``, ``yoy``, ``first_fy``...; None for arithmetic of several calls, and for a test
    without a metric, whose per-draw value is the 0/1 outcome); ``series`` the series it reads
    in order (aliases resolved); ``period`` its period label (None when it has none);
    ``unit`` the unit the evaluator returns it in. For ``first_fy(cond) <= 2031``,
    ``condition`` is what ``cond`` measures (its own comparison and threshold) and
    ``threshold`` is the year. A bare metric (a forecast's ``sum(x, FY2027)``) has no
    comparison."""

    function: str | None
    series: tuple[str, ...]
    period: str | None
    unit: str
    comparison: str | None = None
    threshold: float | None = None
    condition: Measure | None = None


def _unit(node: ast.AST) -> str | None:
    """The unit the evaluator returns ``node`` in; None for a plain number."""
    if isinstance(node, ast.Constant) or (isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant)):
        return None
    if isinstance(node, ast.UnaryOp):
        return _unit(node.operand)
    if isinstance(node, ast.BinOp):
        a, b = _unit(node.left), _unit(node.right)
        if isinstance(node.op, ast.Div):
            return a if b is None else ("ratio" if a == b else f"{a} / {b}")
        if isinstance(node.op, ast.Mult):
            return b if a is None else a if b is None else f"{a} x {b}"
        return a if a == b or b is None else b if a is None else "mixed units"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        fn = node.func.id
        if fn in _YEAR_FNS:
            return "year"
        if fn in ("share", "yoy"):
            return "ratio"
        if fn in _CONDITION_FNS:
            return "outcome"
        name = _series_name(node.args[0]) if node.args else None
        unit = _known().get(ALIASES.get(name or "", name or ""), ("", ""))[0]
        if fn == "usd":
            return "US$ bn"
        if unit.endswith("_per_ADS"):  # earnings per ADS are summed as they are
            return unit.replace("USD", "US$").replace("_per_", " per ")
        return {"RMB_mn": "RMB bn", "count_mn": "bn (count)"}.get(unit, f"{unit} / 1000")
    return "outcome"  # a comparison, and/or/not: a condition


def _period_label(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # a range, quoted by parse_test
        return node.value
    name = _series_name(node)
    return name if name and _PERIOD_RE.match(name) else None


@functools.lru_cache(maxsize=4096)
def measure_of(node: ast.AST) -> Measure:
    """:class:`Measure` of a test's body (or of any condition inside it); memoised by node
    (a parsed tree is never changed, and every chunk of a run asks for the same ones)."""
    threshold = comparison = None
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and _is_number(node.comparators[0]):
        threshold = float(_const(node.comparators[0]))
        comparison = {ast.Gt: ">", ast.GtE: ">=", ast.Lt: "<", ast.LtE: "<="}[type(node.ops[0])]
        node = node.left
    elif _unit(node) == "outcome":  # a condition without a metric: its value is the 0/1 outcome
        return Measure(None, tuple(_ordered_series(node)), None, "outcome")
    function = node.func.id if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) else None
    period = None
    if function in _NUMERIC_FNS:
        n_series = 2 if function == "share" else 1
        args = node.args  # type: ignore[attr-defined]
        period = _period_label(args[n_series]) if len(args) > n_series else None
    condition = measure_of(node.args[0]) if function in _YEAR_FNS else None  # type: ignore[attr-defined]
    return Measure(
        function, tuple(_ordered_series(node)), period, _unit(node) or "number", comparison, threshold, condition
    )


def _ordered_series(node: ast.AST) -> list[str]:
    """Series names in the order they are written (aliases resolved), each once."""
    out: list[str] = []
    for sub in ast.walk(node):
        name = _series_name(sub) if isinstance(sub, (ast.Name, ast.Attribute)) else None
        name = ALIASES.get(name, name) if name else None
        if name in _known() and name not in out:
            out.append(name)
    return out


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
    return set(_ordered_series(tree))


_NUMERIC_FNS = ("sum", "cumsum", "usd", "share", "yoy")
_CONDITION_FNS = ("all", "any")
_YEAR_FNS = ("first_fy", "first_cy", "first_year")
MAX_TEST_CHARS = 2000  # the longest bundled test is under 200 characters
MAX_TEST_NODES = 400  # terms, operators and calls after parsing
MAX_TEST_DEPTH = 40  # nesting of calls, operators and parentheses


def _check_compare(node: ast.Compare, inside: str | None) -> str:
    """Check a comparison: numbers on both sides, or first_fy/first_cy against a year."""
    for op in node.ops:
        if type(op) not in _CMP:
            raise TestError(f"comparison {type(op).__name__} is not allowed; use > >= < <=")
    if len(node.ops) > 1:
        raise TestError(
            "chained comparisons (a <= x <= b) are not allowed; write a band as two comparisons joined by 'and'"
        )
    left, right = _check(node.left, inside), _check(node.comparators[0], inside)
    if "year" in (left, right):
        other = node.comparators[0] if left == "year" else node.left
        if {left, right} != {"year", "num"} or not _is_number(other):
            raise TestError("first_fy/first_cy must be compared with a year, e.g. first_fy(cond) <= 2031")
    elif left != "num" or right != "num":
        bad = node.left if left != "num" else node.comparators[0]
        raise TestError(f"a comparison needs numbers on both sides; {ast.unparse(bad)!r} is not a number")
    return "bool"


def _check_constant(node: ast.Constant) -> str:
    """Check a constant: a finite number or a period range text."""
    if isinstance(node.value, bool) or not isinstance(node.value, (int, float, str)):
        raise TestError(f"constant {node.value!r} is not allowed")
    if isinstance(node.value, str):
        if not _RANGE_RE.fullmatch(node.value):
            raise TestError(f"text {node.value!r} is not allowed; only numbers, series and periods")
        return "period"
    if not math.isfinite(node.value):
        raise TestError(f"the number {ast.unparse(node)} is not finite")
    return "num"


def _check_call(node: ast.Call, inside: str | None) -> str:
    """Check a call of one of the language's functions and its arguments."""
    if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
        name = getattr(node.func, "id", None) or ast.unparse(node.func)
        raise TestError(f"unknown function {name!r}; valid: {', '.join(FUNCTIONS)}")
    if node.keywords:
        raise TestError("keyword arguments are not allowed")
    fn = node.func.id
    if fn in _YEAR_FNS and inside is not None:
        raise TestError(f"{fn}() cannot be used inside {inside}(); use it at the top of the test, compared with a year")
    kinds = [_check(a, fn if fn not in _NUMERIC_FNS else inside) for a in node.args]
    if fn in _NUMERIC_FNS:
        for arg, kind in zip(node.args, kinds):
            if kind not in ("series", "period"):
                raise TestError(f"{fn}() takes series and a period ({FUNCTIONS[fn]}); {ast.unparse(arg)!r} is neither")
        return "num"
    if not kinds or kinds[0] != "bool":
        raise TestError(f"the first argument of {fn}() must be a condition, e.g. {FUNCTIONS[fn]}")
    return "bool" if fn in _CONDITION_FNS else "year"


def _check_name(node: ast.Name | ast.Attribute) -> str:
    """Check a name: a known series or a period."""
    name = _series_name(node)
    if name is None:
        raise TestError(f"attribute access {ast.unparse(node)!r} is not allowed; only series names")
    if "__" in name:
        raise TestError(f"dunder name {name!r} is not allowed")
    if name in _known() or name in ALIASES:
        return "series"
    if _PERIOD_RE.match(name):
        return "period"
    if "." in name:
        raise TestError(f"unknown series {name!r}; valid series: {', '.join(list(_known()) + list(ALIASES))}")
    raise TestError(
        f"unknown name {name!r}; valid: series ({', '.join(list(_known()) + list(ALIASES))}), "
        "periods (FY2027, CY2026, FY2027Q3, FY2026Q1:FY2028Q4) and functions "
        f"({', '.join(FUNCTIONS)})"
    )


def _check(node: ast.AST, inside: str | None = None) -> str:
    """Walk the tree, refuse anything outside the language, and return what the node is:
    ``bool`` (a condition), ``num`` (a number), ``year`` (first_fy/first_cy: a year or
    infinity), ``period`` or ``series``."""
    if isinstance(node, ast.Expression):
        return _check(node.body, inside)
    if isinstance(node, ast.BoolOp):
        for v in node.values:
            if _check(v, inside) != "bool":
                raise TestError(
                    f"'{type(node.op).__name__.lower()}' joins conditions (comparisons); {ast.unparse(v)!r} is not one"
                )
        return "bool"
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.Not, ast.USub)):
            raise TestError(f"operator {type(node.op).__name__} is not allowed")
        kind = _check(node.operand, inside)
        if isinstance(node.op, ast.Not):
            if kind != "bool":
                raise TestError(f"'not' applies to a condition; {ast.unparse(node.operand)!r} is not one")
            return "bool"
        if kind != "num":
            raise TestError(f"'-' cannot apply to {ast.unparse(node.operand)!r}; use 'not' for a condition")
        return "num"
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BIN:
            raise TestError(f"operator {type(node.op).__name__} is not allowed; use + - * /")
        for side in (node.left, node.right):
            kind = _check(side, inside)
            if kind != "num":
                what = (
                    "first_fy/first_cy can only be compared with a year"
                    if kind == "year"
                    else "arithmetic needs numbers"
                )
                raise TestError(f"{what}: {ast.unparse(side)!r} in {ast.unparse(node)!r}")
        return "num"
    if isinstance(node, ast.Compare):
        return _check_compare(node, inside)
    if isinstance(node, ast.Constant):
        return _check_constant(node)
    if isinstance(node, ast.Call):
        return _check_call(node, inside)
    if isinstance(node, (ast.Name, ast.Attribute)):
        return _check_name(node)
    raise TestError(f"{type(node).__name__} ({ast.unparse(node)!r}) is not allowed in a claim test")


def _is_number(node: ast.AST) -> bool:
    try:
        _const(node)
    except TestError:
        return False
    return True


def _size(tree: ast.AST) -> tuple[int, int]:
    """(nodes, depth) of a parsed expression, without recursion."""
    nodes, deepest, stack = 0, 0, [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ast.expr):  # terms, calls and operations; not their operator tokens
            nodes, depth = nodes + 1, depth + 1
            deepest = max(deepest, depth)
        stack.extend((child, depth) for child in ast.iter_child_nodes(node))
    return nodes, deepest


def parse_test(text: str) -> ast.Expression:
    """Parse and check an expression of the language (a claim's test, or a number such as a
    sensitivity output); raises :class:`TestError` with what is valid."""
    if not isinstance(text, str) or not text.strip():
        raise TestError("a test must be a non-empty expression")
    if len(text) > MAX_TEST_CHARS:
        raise TestError(f"the test is {len(text):,} characters long; the limit is {MAX_TEST_CHARS:,} (split the claim)")
    prepared = _RANGE_RE.sub(lambda m: f'"{m.group(1)}:{m.group(2)}"', text)
    try:
        tree = ast.parse(prepared, mode="eval")
    except SyntaxError as exc:
        raise TestError(f"syntax error at column {exc.offset}: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise TestError(f"the test is nested too deeply (the limit is {MAX_TEST_DEPTH} levels)") from None
    nodes, depth = _size(tree)
    if nodes > MAX_TEST_NODES:
        raise TestError(f"the test has {nodes:,} terms and operators; the limit is {MAX_TEST_NODES} (split the claim)")
    if depth > MAX_TEST_DEPTH:
        raise TestError(f"the test is nested {depth} levels deep; the limit is {MAX_TEST_DEPTH}")
    _check(tree)
    return tree


def parse_condition(text: str) -> ast.Expression:
    """Parse a claim's test: an expression (see :func:`parse_test`) that is a condition."""
    tree = parse_test(text)
    kind = _check(tree)
    if kind != "bool":
        what = "a year (or infinity)" if kind == "year" else "a number" if kind == "num" else f"a {kind}"
        raise TestError(
            f"a test must be a condition (a comparison, or comparisons joined with and/or/not); this one is {what}. "
            + (
                "Bound it, e.g. first_fy(cond) <= 2031"
                if kind == "year"
                else "Compare it with a threshold, e.g. ... > 100"
            )
        )
    return tree


@functools.lru_cache(maxsize=4096)
def _nodes(tree: ast.AST) -> tuple[ast.AST, ...]:
    """``ast.walk(tree)`` once per parsed test (every chunk of a run walks the same trees)."""
    return tuple(ast.walk(tree))


# functions whose value depends only on the call and its period (no per-quarter state)
_MEMO_FNS = frozenset(_NUMERIC_FNS)


class _Evaluator:
    def __init__(self, p: Projection):
        self.p = p
        # Draws where an operation made a non-finite number out of finite ones (a division by
        # zero, an overflow): the test is undefined there, so the claim is not evaluable.
        self.undefined = np.zeros(p.draws, dtype=bool)
        self.undefined_at = ""  # the first such sub-expression, for messages
        self.missing = np.zeros(p.draws, dtype=bool)  # draws an all()/any() cannot decide
        # values of the period functions (sum, share, yoy, ...) by (node, period): the NaN
        # masks read every such call again, all()/any() once a quarter; read-only
        self.memo: dict[tuple[int, str | None], np.ndarray] = {}

    def _defined(self, out: Any, node: ast.AST, ctx: Period | None, *operands: Any) -> Any:
        """Record the draws where ``out`` is non-finite although every operand is finite."""
        finite = np.isfinite(out)
        if finite.all():  # the usual case: nothing to record
            return out
        created = ~finite
        for x in operands:
            created = created & np.isfinite(x)
        self._record(created, node, ctx)
        return out

    def _total_defined(self, out: np.ndarray, node: ast.AST, ctx: Period | None) -> np.ndarray:
        """A total is undefined where it is infinite (an overflow); a NaN total is a gap in
        reported history, which the NaN masks record, not this."""
        infinite = np.isinf(out)
        if infinite.any():
            self._record(infinite, node, ctx)
        return out

    def _record(self, created: Any, node: ast.AST, ctx: Period | None) -> None:
        """Mark ``created`` draws undefined, naming the first sub-expression that made one."""
        created = np.broadcast_to(created, (self.p.draws,))
        if created.any():
            if not self.undefined.any():
                where = ast.unparse(node) + (f" in {ctx.label}" if ctx is not None else "")
                self.undefined_at = f"{where} is not a finite number (a division by zero or an overflow)"
            self.undefined |= created

    def _quarter_nan(self, node: ast.AST, q: Period) -> np.ndarray:
        """Draws where a value the condition reads in quarter ``q`` is NaN (not reported)."""
        mask = np.zeros(self.p.draws, dtype=bool)
        for sub in _nodes(node):
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
        if name is None or (name not in SERIES and name not in ALIASES and name not in self.p.series):
            raise TestError(f"expected a series name, got {ast.unparse(node)!r}")
        return ALIASES.get(name, name)

    def eval(self, node: ast.AST, ctx: Period | None) -> Any:
        if isinstance(node, ast.Expression):
            return self.eval(node.body, ctx)
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str):
                raise TestError(f"the period {node.value} can only be a function's period argument")
            return float(node.value)  # type: ignore[arg-type]  # numbers only: the parser admits no other constant
        if isinstance(node, ast.UnaryOp):
            val = self.eval(node.operand, ctx)
            if isinstance(node.op, ast.Not):
                return ~np.asarray(val, dtype=bool)
            if np.asarray(val).dtype == bool:
                raise TestError(f"'-' cannot apply to a condition ({ast.unparse(node.operand)}); use 'not'")
            return -val
        if isinstance(node, ast.BinOp):
            left, right = self.eval(node.left, ctx), self.eval(node.right, ctx)
            with np.errstate(all="ignore"):
                return self._defined(_BIN[type(node.op)](left, right), node, ctx, left, right)
        if isinstance(node, ast.BoolOp):
            vals = [np.asarray(self.eval(v, ctx), dtype=bool) for v in node.values]
            fn = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            out: Any = vals[0]
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
            fn = node.func.id  # type: ignore[attr-defined]
            if fn not in _MEMO_FNS:
                return self.call(fn, node.args, ctx)
            key = (id(node), ctx.label if ctx is not None else None)
            if key not in self.memo:
                value = np.asarray(self.call(fn, node.args, ctx))
                value.setflags(write=False)
                self.memo[key] = value
            return self.memo[key]
        if isinstance(node, (ast.Name, ast.Attribute)):
            raise TestError(
                f"{ast.unparse(node)!r} can only be a function argument, e.g. sum({ast.unparse(node)}, FY2028)"
            )
        raise TestError(f"{ast.unparse(node)!r} is not a value")

    def _check_year_bound(self, node: ast.Compare) -> None:
        """first_fy/first_cy is compared with a year inside the timeline: beyond it (or
        before it) the model cannot tell whether the condition first holds there."""
        for side, other in ((node.left, node.comparators[0]), (node.comparators[0], node.left)):
            if isinstance(side, ast.Call) and side.func.id in _YEAR_FNS:  # type: ignore[attr-defined]
                basis = "cy" if side.func.id == "first_cy" else "fy"  # type: ignore[attr-defined]
                years = [int(y.label[2:]) for y in self.p.timeline.year_periods(basis)]
                year = _const(other)
                if not years or not years[0] <= year <= years[-1]:
                    span = f"{years[0]}-{years[-1]}" if years else "none"
                    raise TestError(
                        f"{side.func.id}() is compared with {year:g}, "  # type: ignore[attr-defined]
                        f"outside the complete {basis.upper()} years of the "
                        f"model's timeline ({span}); the model cannot tell whether the condition first holds there"
                    )

    def _period_arg(self, fn: str, args: list[ast.expr], index: int, ctx: Period | None) -> Period:
        if len(args) > index:
            return self.period(args[index])
        if ctx is None:
            raise TestError(
                f"{fn}() needs a period here ({FUNCTIONS[fn]}); only inside all/any/first_fy/first_cy "
                "may it be left out"
            )
        return ctx

    def call(self, fn: str, args: list[ast.expr], ctx: Period | None) -> Any:
        p = self.p
        nargs = {
            "sum": (1, 2),
            "cumsum": (1, 2),
            "usd": (1, 2),
            "share": (2, 3),
            "yoy": (1, 2),
            "all": (2, 2),
            "any": (2, 2),
            "first_fy": (1, 1),
            "first_cy": (1, 1),
            "first_year": (1, 1),
        }[fn]
        if not nargs[0] <= len(args) <= nargs[1]:
            raise TestError(f"{fn}() takes {nargs[0]}-{nargs[1]} arguments: {FUNCTIONS[fn]}")
        node = ast.Call(ast.Name(fn), args, [])
        if fn in ("sum", "cumsum"):
            name = self.series(args[0])
            per_ads = SERIES.get(name, ("RMB_mn", ""))[0].endswith("_per_ADS")  # EPS: summed as is, not in bn
            out = p.total(name, self._period_arg(fn, args, 1, ctx)) / (1.0 if per_ads else 1000.0)
            return self._total_defined(out, node, ctx)
        if fn == "usd":
            out = p.total_usd(self.series(args[0]), self._period_arg(fn, args, 1, ctx)) / 1000.0
            return self._total_defined(out, node, ctx)
        if fn == "share":
            a, b = self.series(args[0]), self.series(args[1])
            period = self._period_arg(fn, args, 2, ctx)
            return self._defined(p.share_draws(a, b, period), node, ctx, p.total(a, period), p.total(b, period))
        if fn == "yoy":
            period = self._period_arg(fn, args, 1, ctx)
            if not p.timeline.covers(period.shifted_years(-1)):
                raise TestError(f"yoy needs the year before {period.label}, which is before the timeline starts")
            name = self.series(args[0])
            now, before = p.total(name, period), p.total(name, period.shifted_years(-1))
            return self._defined(p.yoy(name, period), node, ctx, now, before)
        if fn in ("all", "any"):
            span = self.period(args[1])
            quarters = [parse_period(q.label) for q in span.quarters()]
            holds = np.stack(
                [np.broadcast_to(np.asarray(self.eval(args[0], q), dtype=bool), (p.draws,)) for q in quarters]
            )
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
    undefined: str = ""  # the first sub-expression that was not a finite number, if any


def _nan_mask(p: Projection, claim: Claim, ev: _Evaluator) -> np.ndarray:
    """Draws where any total the test reads is NaN (a gap in reported history)."""
    mask = np.zeros(p.draws, dtype=bool)
    for node in _nodes(claim.tree):
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
    for node in _nodes(claim.tree):
        if isinstance(node, ast.Compare):
            ev._check_year_bound(node)
    with np.errstate(all="ignore"):
        body = claim.tree.body
        if claim.threshold is not None:
            metric = np.broadcast_to(np.asarray(ev.eval(body.left, None), dtype=np.float64), (p.draws,))  # type: ignore[attr-defined]
            holds = _CMP[type(body.ops[0])](metric, claim.threshold).astype(float)  # type: ignore[attr-defined]
        else:
            holds = np.broadcast_to(np.asarray(ev.eval(body, None), dtype=float), (p.draws,)).copy()
            metric = holds
        # first_fy/first_cy is infinity in a draw where the condition never holds: a defined
        # value that its comparison reads. Any other non-finite metric is undefined.
        year_metric = isinstance(body, ast.Compare) and isinstance(body.left, ast.Call)
        year_metric = year_metric and body.left.func.id in _YEAR_FNS  # type: ignore[attr-defined]
        bad = np.isnan(metric) if year_metric else ~np.isfinite(metric)
        nan = _nan_mask(p, claim, ev) | bad | ev.undefined | ev.missing
    holds = np.where(nan, np.nan, holds)
    return ClaimValue(np.array(metric, dtype=float), holds, ev.undefined_at if ev.undefined.any() else "")


MISSING = "is missing: simulate, claims and report need at least one claim"


def _test_problem(label: str, where: str, test: str, exc: TestError, line: int | None) -> Problem:
    shown = test if len(test) <= 200 else f"{test[:200]}... ({len(test):,} characters)"
    return Problem(label, f"{where}.test", f"{exc} (test: {shown})", line)


def _base_case_error(claim: Claim, projection: Projection) -> None:
    """Raise :class:`TestError` if the claim cannot be evaluated on the projection: a period
    outside its timeline, or a value that is not finite in the base case."""
    undefined = evaluate(claim, projection).undefined
    if undefined:
        raise TestError(f"not evaluable in the base case: {undefined}")


def check_claims(claims: Sequence[Claim], projection: Projection, label: str) -> None:
    """The checks that need the engine's output (run by validate and simulate, never by the
    loader): every claim's periods lie in the timeline and its test is finite in the base
    case. An empty register is refused here too: these commands need a claim."""
    if not claims:
        raise InputError.single(label, "", MISSING)
    problems = []
    for claim in claims:
        try:
            _base_case_error(claim, projection)
        except TestError as exc:
            problems.append(_test_problem(label, claim.where, claim.test, exc, claim.test_line))
    if problems:
        raise InputError(problems)


def find_claim(claims: Sequence[Claim], claim_id: str, label: str) -> Claim:
    """The claim with this id among ``claims`` (read from ``label``); an unknown id is an
    :class:`InputError` listing the valid ones. The loader and a run's results both look up here."""
    for c in claims:
        if c.id == claim_id:
            return c
    valid = ", ".join(c.id for c in claims) or f"none ({label} {MISSING})"
    raise InputError.single(
        label, "claim", f"unknown claim id {claim_id!r}{did_you_mean(claim_id, [c.id for c in claims])}; valid: {valid}"
    )


def parse_claims(raw: Any, label: str = "assumptions/claims.yaml", projection: Projection | None = None) -> list[Claim]:
    """Validate the register (the loader does, once: :attr:`Assumptions.claims`); with a
    projection, also the checks of :func:`check_claims`."""
    problems: list[Problem] = []
    if raw is None:
        raise InputError.single(label, "", MISSING)
    if not isinstance(raw, dict) or not isinstance(raw.get("claims"), list):
        raise InputError.single(label, "claims", "must hold a list 'claims:' of {id, words, source, reading, test}")
    if not raw["claims"]:
        raise InputError.single(
            label,
            "claims",
            "is an empty list: simulate, claims and report need at least one claim",
            line_of(raw, "claims") if hasattr(raw, "line_of") else None,
        )
    claims: list[Claim] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw["claims"]):
        line = getattr(entry, "line", None)
        cid = entry.get("id") if isinstance(entry, dict) else None
        where = f"claims[{i}]" + (f" ({cid})" if cid else "")
        if not isinstance(entry, dict):
            problems.append(Problem(label, where, "must be a mapping with id, words, source, reading, test", line))
            continue
        problems += unknown_keys(label, where, entry, CLAIM_KEYS)
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
            problems.append(
                Problem(label, f"{where}.source", f"needs {', '.join(SOURCE_KEYS)}", line_of(entry, "source"))
            )
            continue
        try:
            tree = parse_condition(entry["test"])
            claim = Claim(
                cid,
                str(entry["words"]),
                {k: str(src[k]) for k in SOURCE_KEYS},
                str(entry["reading"]),
                str(entry["test"]),
                tree,
                bool(entry.get("headline", False)),
                str(entry.get("note", "")),
                str(entry.get("article", "")),
                str(entry.get("not_evaluable", "")),
                i,
                line_of(entry, "test"),
            )
            if projection is not None:
                _base_case_error(claim, projection)
        except TestError as exc:
            problems.append(_test_problem(label, where, str(entry["test"]), exc, line_of(entry, "test")))
            continue
        claims.append(claim)
    if problems:
        raise InputError(problems)
    return claims

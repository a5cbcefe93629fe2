"""Which inputs move an output: tornado, spider, Sobol indices and rank correlations.

An *output* is one number per draw, named either ``SERIES@PERIOD`` (``cloud.revenue@FY2028``:
the series' total over the period, RMB bn) or by any expression of the claim language
without a comparison (``share(cloud.revenue, group.revenue, CY2026)``, ``usd(cloud.revenue,
FY2031)``), evaluated by :mod:`pivotmodel.claims`. Money is in RMB bn, ratios as decimals.

* :func:`tornado` - each uncertain input (seed estimates included) swung from its P10 to its
  P90 with every other input at its median; every variant is a row of one vectorised
  :func:`~pivotmodel.model.project` call. :func:`spider` sweeps the percentiles
  :data:`SPIDER_PERCENTILES`; an input whose effect changes direction is flagged non-monotonic.
* :func:`sobol` - first-order and total Sobol indices with bootstrap confidence intervals
  (SALib: Saltelli/Sobol' sampling in the unit cube, each input's inverse CDF, one batched
  run of the engine in chunks). Sobol indices assume independent inputs; when
  ``correlations.yaml`` correlates inputs the table says so (``note``) and
  :func:`sobol` with ``grouped=True`` treats each set of correlated inputs as one group.
* :func:`rank_correlations` - Spearman correlation of each input with each output over the
  draws of a Monte Carlo run.

Inputs are in model units: money inputs written in RMB bn are held in RMB million.
Nothing here prints or plots; the tornado and spider charts are in :mod:`pivotmodel.charts`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .assumptions import Assumptions, Input
from .claims import ALIASES, TestError, _Evaluator, parse_test, series_in
from .errors import InputError, did_you_mean
from .model import SERIES, Projection, base_values, prepare, run
from .sampling import correlation_copula, uncertain_inputs
from .schema import UNITS, seed_key

__all__ = [
    "Output",
    "parse_output",
    "evaluate_output",
    "input_spec",
    "model_unit",
    "format_value",
    "tornado",
    "spider",
    "sobol",
    "sobol_from_function",
    "correlation_groups",
    "rank_correlations",
    "output_per_draw",
    "SPIDER_PERCENTILES",
    "CHUNK",
]

SPIDER_PERCENTILES = (5, 10, 25, 50, 75, 90, 95)
CHUNK = 50_000  # rows per engine call
_U_CLIP = 1e-6  # uniforms are kept inside (0, 1) so unbounded inverse CDFs stay finite


# --------------------------------------------------------------------------------------
# outputs


class Output:
    """A parsed output: its label, the expression tree, the series it reads and its unit."""

    def __init__(self, spec: str, expression: str, tree: ast.Expression):
        self.spec = spec
        self.expression = expression
        self.tree = tree
        names = series_in(tree)
        self.series = tuple(sorted(n for n in names if n in SERIES)) + ("group.fx_usd_rmb",)
        body = tree.body
        fn = body.func.id if isinstance(body, ast.Call) and isinstance(body.func, ast.Name) else ""
        self.unit = {"sum": "RMB bn", "cumsum": "RMB bn", "usd": "US$ bn", "share": "ratio", "yoy": "ratio"}.get(fn, "")

    def __repr__(self) -> str:
        return f"Output({self.spec!r})"


def parse_output(spec: str | Output) -> Output:
    """``SERIES@PERIOD`` or a claim-language expression without a comparison."""
    if isinstance(spec, Output):
        return spec
    text = str(spec).strip()
    where = "--output"
    year_fn = re.match(r"(first_fy|first_cy|first_year)\s*\(", text)
    if year_fn:  # a year, infinite in draws where the condition never holds: nothing to swing or rank
        raise InputError.single(
            where,
            "output",
            f"{year_fn.group(1)}(...) is a year (infinite where the condition never holds), not an output; "
            "give the number inside the condition instead, e.g. share(cloud.revenue, group.revenue, CY2026)",
        )
    if any(c in text for c in "<>") or " and " in f" {text} " or " or " in f" {text} ":
        raise InputError.single(
            where, "output", f"{text!r} is a test (it has a comparison); an output is a number - drop the comparison"
        )
    if "@" in text and "(" not in text:
        series, _, period = (s.strip() for s in text.partition("@"))
        name = ALIASES.get(series, series)
        if name not in SERIES:
            names = list(SERIES) + list(ALIASES)
            raise InputError.single(
                where, "output", f"unknown series {series!r}{did_you_mean(series, names)}; valid: {', '.join(names)}"
            )
        expression = f"sum({series}, {period})"
    else:
        expression = text
    try:
        tree = parse_test(expression)
    except TestError as exc:
        raise InputError.single(
            where,
            "output",
            f"{exc} (output: {text!r}); write SERIES@PERIOD or an expression such as "
            "share(cloud.revenue, group.revenue, CY2026)",
        ) from None
    if isinstance(tree.body, (ast.Compare, ast.BoolOp)) or (
        isinstance(tree.body, ast.UnaryOp) and isinstance(tree.body.op, ast.Not)
    ):
        raise InputError.single(
            where, "output", f"{text!r} is a test (it has a comparison); an output is a number - drop the comparison"
        )
    return Output(text, expression, tree)


def evaluate_output(output: str | Output, p: Projection) -> np.ndarray:
    """The output in each draw of a projection, shaped (draws,)."""
    out = parse_output(output)
    try:
        with np.errstate(all="ignore"):
            val = _Evaluator(p).eval(out.tree.body, None)
    except TestError as exc:
        raise InputError.single("--output", "output", f"{exc} (output: {out.spec!r})") from None
    return np.array(np.broadcast_to(np.asarray(val, dtype=float), (p.draws,)), dtype=float)


def _run(
    a: Assumptions,
    values: Mapping[str, np.ndarray],
    outputs: Sequence[Output],
    chunk: int = CHUNK,
    jobs: int = 1,
    executor: Any = None,
) -> list[np.ndarray]:
    """Evaluate outputs for a batch of input rows, in chunks of ``chunk`` rows: here, on a
    local pool of ``jobs`` processes or on ``executor`` (:func:`pivotmodel.runner.run_chunks`;
    each row's outputs depend on its inputs alone, so the same numbers on every path)."""
    from .runner import run_chunks

    n = max(np.asarray(v).size for v in values.values())
    parts: list[list[np.ndarray]] = [[] for _ in outputs]

    def store(lo: int, hi: int, ys: list[np.ndarray]) -> None:
        for i, y in enumerate(ys):
            parts[i].append(y)

    _EVAL.update(
        engine=prepare(a),
        values={k: np.asarray(v) for k, v in values.items()},
        rows=n,
        outputs=list(outputs),
        keep=sorted({s for o in outputs for s in o.series}),
    )
    try:
        run_chunks(
            [(lo, min(n, lo + chunk)) for lo in range(0, n, chunk)],
            _eval_chunk,
            _install_eval,
            dict(_EVAL),
            store,
            jobs=jobs,
            executor=executor,
        )
    finally:
        _EVAL.clear()
    return [np.concatenate(x) for x in parts]


# The state of a batch of evaluations (:func:`_run`), set before a pool forks or sent to an executor's workers.
_EVAL: dict[str, Any] = {}


def _install_eval(state: dict[str, Any]) -> None:
    if state:  # a forked worker inherits the state, a spawned one or an executor's worker gets it here
        _EVAL.clear()
        _EVAL.update(state)


def _eval_chunk(lo: int, hi: int) -> list[np.ndarray]:
    """The outputs of rows [lo, hi) of the batch in :data:`_EVAL`."""
    n = _EVAL["rows"]
    sl = {k: (v[lo:hi] if v.size == n else v) for k, v in _EVAL["values"].items()}
    p = run(_EVAL["engine"], sl, keep=_EVAL["keep"])
    return [evaluate_output(o, p) for o in _EVAL["outputs"]]


# --------------------------------------------------------------------------------------
# inputs


def input_spec(a: Assumptions, key: str) -> Input:
    """The :class:`Input` behind a key (seed estimates: ``series.seed.QUARTER``)."""
    if key in a.inputs:
        return a.inputs[key]
    for (series, q), inp in a.seeds.items():
        if seed_key(series, q) == key:
            return inp
    raise KeyError(key)


def model_unit(inp: Input) -> str:
    """The unit an input's values are held in by the engine (RMB_bn is held as RMB_mn)."""
    if inp.unit in UNITS and UNITS[inp.unit][0] == "money":
        return "RMB_mn"
    return inp.unit


def format_value(a: Assumptions, key: str, value: float, both: bool = True) -> str:
    """A value of an input in model units, readable; an RMB_bn input also in RMB bn."""
    inp = input_spec(a, key)
    unit = model_unit(inp)
    if not np.isfinite(value):
        return str(value)
    if unit == "RMB_mn":
        text = f"{value:,.0f} RMB mn"
        if both and inp.unit == "RMB_bn":
            text += f" (RMB {value / 1000:,.1f} bn)"
        return text
    if unit == "ratio":
        return f"{value:.4g}"
    return f"{value:.4g} {unit}".strip()


def _base_rows(a: Assumptions, n: int) -> dict[str, np.ndarray]:
    return {k: np.repeat(np.asarray(v, dtype=float), n) for k, v in base_values(a).items()}


def _check_keys(a: Assumptions, keys: Iterable[str] | None) -> dict:
    dists = uncertain_inputs(a)
    if keys is None:
        return dists
    keys = list(keys)
    bad = [k for k in keys if k not in dists]
    if bad:
        raise InputError.single(
            "--input",
            "input",
            f"{', '.join(bad)} not an uncertain input{did_you_mean(bad, dists)}; valid: {', '.join(dists)}",
        )
    return {k: dists[k] for k in keys}


# --------------------------------------------------------------------------------------
# tornado and spider


def _sweep(
    a: Assumptions, output: Output, quantiles: Sequence[float], keys: Iterable[str] | None
) -> tuple[pd.DataFrame, float]:
    """Every input at each quantile, others at base; one engine call. Long table."""
    dists = _check_keys(a, keys)
    names = list(dists)
    nq = len(quantiles)
    n = len(names) * nq + 1  # last row: the base case
    values = _base_rows(a, n)
    rows_key, rows_q, rows_v = [], [], []
    for i, k in enumerate(names):
        col = values[k].copy()
        qv = np.array([dists[k].quantile(float(q)) for q in quantiles])  # exact quantiles
        col[i * nq : (i + 1) * nq] = qv
        values[k] = col
        rows_key += [k] * nq
        rows_q += list(quantiles)
        rows_v += list(qv)
    (y,) = _run(a, values, [output])
    base = float(y[-1])
    df = pd.DataFrame({"input": rows_key, "quantile": rows_q, "value": rows_v, "output": y[:-1]})
    return df, base


def _monotonic(y: np.ndarray, base: float) -> bool:
    d = np.diff(y)
    tol = 1e-9 * max(1.0, abs(base))
    return bool(np.all(d >= -tol) or np.all(d <= tol))


def spider(
    a: Assumptions,
    output: str | Output,
    percentiles: Sequence[float] = SPIDER_PERCENTILES,
    inputs: Iterable[str] | None = None,
) -> pd.DataFrame:
    """The output as each input moves through ``percentiles`` (others at base): long table
    with columns input, percentile, value (model units), output, base_output, monotonic."""
    out = parse_output(output)
    df, base = _sweep(a, out, [p / 100 for p in percentiles], inputs)
    df.insert(1, "percentile", (df.pop("quantile") * 100).round(6))
    mono = {k: _monotonic(g["output"].to_numpy(), base) for k, g in df.groupby("input", sort=False)}
    df["base_output"] = base
    df["monotonic"] = df["input"].map(mono)
    df.attrs.update(output=out.spec, unit=out.unit, base_output=base)
    return df


def tornado(
    a: Assumptions, output: str | Output, low: float = 0.10, high: float = 0.90, inputs: Iterable[str] | None = None
) -> pd.DataFrame:
    """Swing of the output as each uncertain input goes from its ``low`` to its ``high``
    quantile with every other input at its median, largest swing first.

    Columns: input, unit (model unit of the input), low_value, high_value, output_low,
    output_high, swing (|output_high - output_low|), base_output, monotonic (over the spider
    percentiles and the two ends)."""
    out = parse_output(output)
    qs = sorted(set([low, high] + [p / 100 for p in SPIDER_PERCENTILES if low <= p / 100 <= high]))
    df, base = _sweep(a, out, qs, inputs)
    rows = []
    for k, g in df.groupby("input", sort=False):
        g = g.set_index("quantile")
        y = g["output"].to_numpy()
        lo_y, hi_y = float(g.loc[low, "output"]), float(g.loc[high, "output"])
        rows.append(
            {
                "input": k,
                "unit": model_unit(input_spec(a, k)),
                "low_value": float(g.loc[low, "value"]),
                "high_value": float(g.loc[high, "value"]),
                "output_low": lo_y,
                "output_high": hi_y,
                "swing": abs(hi_y - lo_y),
                "base_output": base,
                "monotonic": _monotonic(y, base),
            }
        )
    table = pd.DataFrame(rows)
    table = table.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)
    table.attrs.update(output=out.spec, unit=out.unit, base_output=base, low=low, high=high)
    return table


# --------------------------------------------------------------------------------------
# Sobol indices


def correlation_groups(a: Assumptions) -> dict[str, str]:
    """Input -> group name, with correlated inputs (connected through correlations.yaml)
    in one group named after its members; an uncorrelated input is its own group."""
    dists = uncertain_inputs(a)
    corr = correlation_copula(a, dists)
    parent = {k: k for k in dists}

    def find(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    if corr is not None:
        idx = {k: i for i, k in enumerate(corr.keys)}
        for x in corr.keys:
            for y in corr.keys:
                if x < y and corr.requested[idx[x], idx[y]] != 0:
                    parent[find(x)] = find(y)
    members: dict[str, list[str]] = {}
    for k in dists:
        members.setdefault(find(k), []).append(k)
    return {k: " + ".join(members[find(k)]) for k in dists}


def sobol_from_function(
    dists: Mapping[str, object],
    f: Callable[[dict[str, np.ndarray]], np.ndarray | Sequence[np.ndarray]],
    n: int = 512,
    seed: int = 0,
    groups: Mapping[str, str] | None = None,
    num_resamples: int = 100,
    output_names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Sobol S1/ST (with 95% bootstrap half-widths) of ``f`` over independent inputs.

    ``dists``: name -> object with ``ppf(u)``; ``f`` maps {name: values} to one output array
    or a list of them. ``n`` base samples (a power of two), so ``n * (D + 2)`` evaluations
    (D inputs, or groups). ``groups``: name -> group label, to get indices per group.
    Returns a long table: output, input (or group), S1, S1_conf, ST, ST_conf."""
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    if n < 2 or int(n) & (int(n) - 1):
        raise InputError.single(
            "--samples", "samples", f"Sobol base samples must be a power of two (e.g. 512, 1024), got {n}"
        )
    names = list(dists)
    problem: dict = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    if groups is not None:
        problem["groups"] = [groups[k] for k in names]
    u = sobol_sample.sample(problem, int(n), calc_second_order=False, scramble=True, seed=seed)
    u = np.clip(u, _U_CLIP, 1 - _U_CLIP)
    values = {k: np.asarray(dists[k].ppf(u[:, i]), dtype=np.float64) for i, k in enumerate(names)}  # type: ignore[attr-defined]
    ys = f(values)
    if isinstance(ys, np.ndarray):
        ys = [ys]
    output_names = list(output_names or [f"y{i}" for i in range(len(ys))])
    frames = []
    labels = list(dict.fromkeys(problem["groups"])) if groups is not None else names
    for name, y in zip(output_names, ys):
        y = np.asarray(y, dtype=float)
        if not np.all(np.isfinite(y)):
            bad = int((~np.isfinite(y)).sum())
            raise InputError.single(
                "sobol",
                "output",
                f"{name} is not finite in {bad} of {y.size} model runs; Sobol indices need a number in every run",
            )
        if np.var(y) == 0:
            res = {
                "S1": np.zeros(len(labels)),
                "S1_conf": np.zeros(len(labels)),
                "ST": np.zeros(len(labels)),
                "ST_conf": np.zeros(len(labels)),
            }
        else:
            # SALib seeds its bootstrap only when ``seed`` is truthy (seed 0 drew from numpy's global
            # state: other intervals on every call); a generator of the seed is the same stream as the seed
            res = sobol_analyze.analyze(
                problem,
                y,
                calc_second_order=False,
                num_resamples=num_resamples,
                seed=np.random.default_rng(seed),
                print_to_console=False,
            )
        frames.append(
            pd.DataFrame(
                {
                    "output": name,
                    "input": labels,
                    "S1": res["S1"],
                    "S1_conf": res["S1_conf"],
                    "ST": res["ST"],
                    "ST_conf": res["ST_conf"],
                }
            )
        )
    df = pd.concat(frames, ignore_index=True)
    df.attrs.update(evaluations=int(u.shape[0]), base_samples=int(n))
    return df


def sobol(
    a: Assumptions,
    output: str | Output,
    n: int = 1024,
    seed: int = 0,
    grouped: bool = False,
    inputs: Iterable[str] | None = None,
    num_resamples: int = 100,
    jobs: int = 1,
    executor: Any = None,
) -> pd.DataFrame:
    """Sobol first-order (S1) and total (ST) indices of an output for every uncertain input
    (or those in ``inputs``; the rest stay at base), sorted by ST.

    Columns: input (a group when ``grouped``), S1, S1_conf, ST, ST_conf (95% half-widths),
    note. Inputs are sampled independently: correlations.yaml is not applied. If it
    correlates inputs, ``note`` says so; ``grouped=True`` then gives one index per set of
    correlated inputs (which is valid with correlated inputs inside a group). The model runs
    go to a local pool of ``jobs`` processes or to ``executor`` (see :func:`_run`)."""
    out = parse_output(output)
    dists = _check_keys(a, inputs)
    groups_all = correlation_groups(a)
    correlated = sorted(k for k, g in groups_all.items() if " + " in g and k in dists)
    note = ""
    if correlated:
        note = (
            "inputs correlated in correlations.yaml (" + ", ".join(correlated) + ") are sampled independently here; "
            "Sobol indices assume independence - read the grouped indices for them"
        )
    fixed = base_values(a)

    def f(vals: dict[str, np.ndarray]) -> np.ndarray:
        rows = next(iter(vals.values())).size
        data = {k: (vals[k] if k in vals else np.repeat(np.asarray(v, dtype=float), rows)) for k, v in fixed.items()}
        for k, v in vals.items():
            data[k] = v
        return _run(a, data, [out], jobs=jobs, executor=executor)[0]

    groups = {k: groups_all[k] for k in dists} if grouped else None
    df = sobol_from_function(
        dists, f, n=n, seed=seed, groups=groups, num_resamples=num_resamples, output_names=[out.spec]
    )
    df = df.drop(columns="output").sort_values("ST", ascending=False, kind="stable").reset_index(drop=True)
    corr_set = set(correlated)
    df["note"] = [
        (
            "correlated (correlations.yaml): sampled independently here; see the grouped indices"
            if set(str(k).split(" + ")) & corr_set
            else ""
        )
        for k in df["input"]
    ]
    df.attrs.update(
        output=out.spec,
        unit=out.unit,
        note=note,
        grouped=grouped,
        evaluations=int(n) * (len(set(groups.values())) if groups else len(dists)) + 2 * int(n),
    )
    return df


# --------------------------------------------------------------------------------------
# rank correlations over a Monte Carlo run


def output_per_draw(a: Assumptions, inputs: pd.DataFrame, outputs: Sequence[str | Output]) -> pd.DataFrame:
    """Re-run the engine on a run's input draws (``Results.inputs``; fixed inputs at their
    values) and evaluate each output per draw."""
    outs = [parse_output(o) for o in outputs]
    n = len(inputs)
    values = _base_rows(a, n)
    for k in inputs.columns:
        values[k] = inputs[k].to_numpy(dtype=float)
    ys = _run(a, values, outs)
    return pd.DataFrame({o.spec: y for o, y in zip(outs, ys)}, index=inputs.index)


def rank_correlations(results, outputs: Sequence[str]) -> pd.DataFrame:
    """Spearman rank correlation of each input with each output over a run's draws
    (inputs x outputs). An output may be a claim id (its metric) or an output spec."""
    claim_ids = set(results.claim_metric.columns)
    ys = {}
    specs = [o for o in outputs if o not in claim_ids]
    if specs:
        computed = output_per_draw(results.assumptions, results.inputs, specs)
        ys.update({c: computed[c] for c in computed.columns})
    for o in outputs:
        if o in claim_ids:
            ys[o] = results.claim_metric[o]
    x = results.inputs.rank()
    table = {}
    for o in outputs:
        y = ys[o].reset_index(drop=True)
        ok = np.isfinite(y.to_numpy(dtype=float))
        yr = y[ok].rank()
        xr = results.inputs[ok].reset_index(drop=True).rank() if not ok.all() else x.reset_index(drop=True)
        table[o] = xr.corrwith(yr.reset_index(drop=True))
    df = pd.DataFrame(table)
    df.index.name = "input"
    key = df.abs().max(axis=1).fillna(0)
    return df.loc[key.sort_values(ascending=False, kind="stable").index]

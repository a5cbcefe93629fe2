"""Load and validate an assumptions folder into typed, frozen objects.

Layout of a folder (the bundled one is ``assumptions/``; analysts keep their own copies)::

    china_ecommerce.yaml cloud.yaml international.yaml all_others.yaml capex.yaml group.yaml earnings.yaml
    sources.yaml simulation.yaml [correlations.yaml] [claims.yaml]
    history/reported.csv history/segment_map.csv
    scenarios/<name>.yaml

Each segment file holds the keys of its own name (``cloud.yaml`` holds ``cloud:``). A leaf is
an input spec: a point value ``{value: 0.34, unit: ratio, basis: reported, source: <id>}``
or a distribution ``{dist: triangular, low: .., mode: .., high: .., unit, basis, source}``
(see :mod:`pivotmodel.distributions`). ``source`` is an id in ``sources.yaml``; ``basis`` is
reported | guidance | estimate. ``note`` says why, in words.

Every problem found is collected and raised once as :class:`~pivotmodel.errors.InputError`.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .anchors import resolve_anchor
from .claims import Claim, declare_series, find_claim, parse_claims
from .correlations import Correlations, parse_correlations, uncertain_keys
from .distributions import DIST_FIELDS, SCALES_WITH_UNIT, Distribution, SpecError, build_distribution
from .errors import InputError, Problem
from .history import History, load_history, seed_estimate_rows, with_estimates
from .periods import PeriodError, Quarter, parse_period, parse_quarter
from .schema import (
    BOUNDARY_METRICS,
    BOUNDARY_SUBJECTS,
    INPUT_FILES,
    OPTIONAL_SEEDS,
    PARAMETERS,
    SEEDABLE,
    SETTINGS,
    STATUS_RANGES,
    UNITS,
    Child,
    child_parameters,
    child_series,
    parse_seed_file_key,
    seed_file_key,
    seed_key,
)
from .yamlio import LineDict, line_of, read_yaml, top_level_keys

__all__ = [
    "Input",
    "Source",
    "Scenario",
    "Assumptions",
    "load",
    "bundled_directory",
    "default_directory",
    "SEGMENT_FILES",
    "BASES",
]

SEGMENT_FILES = INPUT_FILES  # every file of inputs, from the registry
BASES = ("reported", "guidance", "estimate")
META_FIELDS = ("unit", "source", "basis", "note")
EMPTY_HINT = {
    "claims": "it must hold 'claims:', a list of at least one claim",
    "correlations": "to run without correlations, write 'correlations: {pairs: []}' (or delete the file)",
}
SOURCE_FIELDS = {"title": True, "href": True, "publisher": False, "date": False, "note": False, "notes_required": False}


def bundled_directory() -> Path:
    """The assumptions folder shipped with pivotmodel: ``assumptions/`` of the repository
    (a source checkout or an editable install), else the copy a wheel installs as
    ``pivotmodel/bundled_assumptions``."""
    here = Path(__file__).resolve().parent
    repo = here.parent / "assumptions"
    return repo if (repo / "simulation.yaml").is_file() else here / "bundled_assumptions"


DEFAULT_ENV = "PIVOTMODEL_ASSUMPTIONS"


def default_directory() -> Path:
    """The folder read when ``--assumptions`` is not given: ``$PIVOTMODEL_ASSUMPTIONS`` if set
    (e.g. your own copy, or the test suite's frozen fixture tree), else the bundled one."""
    env = os.environ.get(DEFAULT_ENV, "").strip()
    return Path(env) if env else bundled_directory()


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    href: str
    publisher: str = ""
    date: str = ""
    note: str = ""
    notes_required: bool = False  # every input citing it must say its arithmetic in its note


@dataclass(frozen=True)
class Input:
    """One input: its distribution (a point value is ``fixed``) and where it came from.

    ``dist`` is in the model's unit for the input's dimension (``RMB_bn`` in the file is
    converted to RMB million); ``unit`` is the unit as written.
    """

    key: str
    dist: Distribution
    unit: str
    source: str
    basis: str
    file: str
    line: int | None
    note: str = ""
    text: str | None = None  # for period-valued inputs (a quarter label)
    anchor: Any = None  # an anchors.Anchor when the start is set by a rule on history

    @property
    def uncertain(self) -> bool:
        return not self.dist.is_fixed

    @property
    def base_value(self) -> float:
        """The deterministic value: the median of the distribution."""
        return self.dist.median()


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    baseline: str
    rationale: str
    changed_keys: tuple[str, ...]
    chain: tuple[str, ...]  # the scenario names applied, base first
    paths: tuple[Path, ...] = ()  # the scenario files read, named first


@dataclass(frozen=True)
class Assumptions:
    """Everything a run reads, validated. Build with :func:`load`."""

    directory: Path
    inputs: Mapping[str, Input]
    seeds: Mapping[tuple[str, Quarter], Input]
    sources: Mapping[str, Source]
    settings: Mapping[str, Any]
    history: History
    scenario: Scenario
    claims: tuple[Claim, ...] = ()  # claims.yaml, parsed and validated (empty without the file)
    correlations: Correlations = Correlations("assumptions/correlations.yaml")  # correlations.yaml, validated
    # every file a run's numbers can depend on, as the loader read it: name -> SHA-256 of its
    # bytes (the folder's YAML, the history CSVs, each scenario file of the chain), for the run's hash
    files: Mapping[str, bytes] = field(default_factory=dict)
    children: tuple[Child, ...] = ()  # child segments declared in segments.yaml (pivotmodel.segment_tree)
    estimates: Mapping[str, Mapping[Quarter, float]] = field(default_factory=dict)  # their estimated history
    warnings: tuple[Problem, ...] = ()  # things worth knowing that do not stop a run

    @property
    def uncertain_keys(self) -> list[str]:
        return sorted(k for k, v in self.inputs.items() if v.uncertain)

    @property
    def input_paths(self) -> list[Path]:
        """The folder and scenario files this was read from: no output may be, contain or sit
        inside them (:mod:`pivotmodel.atomic`)."""
        return [self.directory, *self.scenario.paths]

    @property
    def claims_label(self) -> str:
        """How messages name the claims file: ``assumptions/claims.yaml``."""
        return f"{self.directory.name}/claims.yaml"

    def claim(self, claim_id: str) -> Claim:
        """The claim with this id; an unknown id is an :class:`InputError` listing the valid ones."""
        return find_claim(self.claims, claim_id, self.claims_label)

    @property
    def horizon(self) -> Quarter:
        return parse_quarter(self.settings["horizon"])

    def with_inputs(self, changes: Mapping[str, Input]) -> Assumptions:
        """A copy with some inputs replaced (notebooks use this to try a value)."""
        merged = dict(self.inputs)
        for key, value in changes.items():
            if key not in merged:
                raise KeyError(f"{key} is not an input; valid keys: {', '.join(sorted(merged))}")
            merged[key] = value
        return replace(self, inputs=MappingProxyType(merged))

    def with_values(self, **values: float) -> Assumptions:
        """A copy with inputs set to point values: ``a.with_values(**{"cloud.x": 0.3})``."""
        changes = {}
        for key, v in values.items():
            old = self.inputs.get(key)
            if old is None:
                raise KeyError(f"{key} is not an input")
            factor = UNITS[old.unit][1]
            changes[key] = replace(
                old,
                dist=build_distribution("fixed", {"value": float(v) * factor}),
                basis="estimate",
                note=f"set in code to {v} {old.unit}",  # an anchor's add-back still applies, as to draws
            )
        return self.with_inputs(changes)


# --------------------------------------------------------------------------------------
# parsing helpers


class _AnySource(dict):
    """Stands in for sources.yaml when it cannot be read, so its one error is not repeated
    as an unknown-source error on every input."""

    def __contains__(self, key: object) -> bool:
        return True


def _suggest(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _is_leaf(node: Any) -> bool:
    return isinstance(node, dict) and any(k in node for k in ("unit", "dist", "value"))


def _flatten(node: Any, prefix: str, out: dict[str, tuple[Any, int | None]], line: int | None) -> None:
    """Walk nested mappings down to input specs, collecting ``dotted.key -> (spec, line)``."""
    if _is_leaf(node) or not isinstance(node, dict):
        out[prefix] = (node, line)
        return
    for key, child in node.items():
        child_line = line_of(node, key) if isinstance(node, LineDict) else line
        _flatten(child, f"{prefix}.{key}" if prefix else key, out, child_line)


def _check_spec_meta(key: str, meta: dict, dimension: str, sources: Mapping[str, Source], err: Any) -> Any:
    """Check an input spec's unit, basis, source and note; return the unit, None if it is unusable."""
    unit = meta.get("unit")
    if unit is not None and unit not in UNITS:
        err(f"{key}.unit", f"unknown unit {unit!r}; valid: {', '.join(UNITS)}{_suggest(str(unit), list(UNITS))}")
        unit = None
    if unit is not None and UNITS[unit][0] != dimension:
        fitting = [u for u, (d, _) in UNITS.items() if d == dimension]
        err(f"{key}.unit", f"{unit!r} is a {UNITS[unit][0]} unit; this input needs one of {', '.join(fitting)}")
        unit = None
    basis = meta.get("basis")
    if basis is not None and basis not in BASES and isinstance(basis, str):
        err(f"{key}.basis", f"{basis!r} is not one of {', '.join(BASES)}")
    src = meta.get("source")
    if src is not None and src not in sources:
        err(f"{key}.source", f"{src!r} is not an id in sources.yaml{_suggest(str(src), list(sources))}")
    elif (
        isinstance(src, str)
        and isinstance(sources.get(src), Source)
        and sources[src].notes_required
        and not str(meta.get("note", "")).strip()
    ):
        err(
            f"{key}.note",
            f"is required: source {src!r} says the arithmetic is in the input's note; write it there, "
            "or cite a source that does not (e.g. pivotmodel_judgement for a judgement call)",
        )
    return unit


def _parse_spec(
    key: str, spec: Any, label: str, line: int | None, sources: Mapping[str, Source], dimension: str
) -> tuple[Input | None, list[Problem]]:
    problems: list[Problem] = []
    original = spec
    field_line = lambda k: line_of(original, k.rsplit(".", 1)[-1]) if isinstance(original, LineDict) else line  # noqa: E731
    err = lambda k, m: problems.append(Problem(label, k, m, field_line(k)))  # noqa: E731
    if not isinstance(spec, dict):
        err(
            key,
            f"must be an input spec such as {{value: 0.3, unit: ratio, basis: estimate, source: <id>}}, got {spec!r}",
        )
        return None, problems
    spec = dict(spec)
    kind = spec.pop("dist", "fixed" if "value" in spec else None)
    kind = "fixed" if kind == "value" else kind  # the README's name for a fixed value
    meta = {k: spec.pop(k) for k in META_FIELDS if k in spec}
    for name, valid in (("unit", ", ".join(UNITS)), ("source", "an id in sources.yaml"), ("basis", " | ".join(BASES))):
        if name not in meta:
            err(f"{key}.{name}", f"missing; every input needs unit, source and basis ({name}: {valid})")
        elif not isinstance(meta[name], str):
            err(f"{key}.{name}", f"must be text ({valid}), got {meta[name]!r}")
            meta.pop(name)
    unit = _check_spec_meta(key, meta, dimension, sources, err)
    basis, src = meta.get("basis"), meta.get("source")
    if kind is None:
        err(key, f"needs 'value' or 'dist' (one of {', '.join(DIST_FIELDS)})")
        return None, problems
    if not isinstance(kind, str) or kind not in DIST_FIELDS:
        err(
            f"{key}.dist",
            f"unknown distribution {kind!r}; valid: {', '.join(DIST_FIELDS)}{_suggest(str(kind), list(DIST_FIELDS))}",
        )
        return None, problems
    text = None
    if dimension == "period":
        if kind != "fixed" or not isinstance(spec.get("value"), str):
            err(key, "must be a fixed quarter label, e.g. {value: FY2026Q1, unit: period, ...}")
            return None, problems
        try:
            parse_quarter(spec["value"])
        except PeriodError as exc:
            err(f"{key}.value", str(exc))
            return None, problems
        text = spec["value"]
        dist = build_distribution("fixed", {"value": float(parse_quarter(text).index)})
    else:
        factor = UNITS[unit][1] if unit else 1.0
        try:
            dist = build_distribution(kind, spec)
        except SpecError as exc:
            err(f"{key}.{exc.field}", str(exc))
            return None, problems
        if factor != 1.0:
            scaled = {
                k: (
                    v * factor
                    if isinstance(v, (int, float)) and not isinstance(v, bool) and SCALES_WITH_UNIT.get(k, False)
                    else v
                )
                for k, v in spec.items()
            }
            dist = build_distribution(kind, scaled)
    if problems:
        return None, problems
    return (
        Input(key, dist, unit or "", src or "", basis or "", label, line, str(meta.get("note", "")), text),
        problems,
    )


def _check_range(inp: Input, params: Mapping[str, Any] = PARAMETERS) -> list[Problem]:
    param = params[inp.key]
    if param.dimension == "period":
        return []
    lo, hi = inp.dist.support
    if not (math.isfinite(lo) and math.isfinite(hi)):
        # Unbounded families: the values a million-draw run can reach must be valid.
        lo, hi = max(lo, inp.dist.quantile(1e-7)), min(hi, inp.dist.quantile(1 - 1e-7))
    factor = UNITS[inp.unit][1] if inp.unit in UNITS else 1.0
    if lo < param.low or hi > param.high:
        shown = lambda x: x / factor  # noqa: E731
        what = "the distribution's range (P0.00001-P99.99999 if unbounded)" if inp.uncertain else "the value"
        return [
            Problem(
                inp.file,
                inp.key,
                f"{what} [{shown(lo):g}, {shown(hi):g}] {inp.unit} leaves the valid range "
                f"[{shown(param.low):g}, {shown(param.high):g}] ({param.doc}); narrow it or use truncnormal",
                inp.line,
            )
        ]
    return []


def _load_sources(path: Path, label: str, problems: list[Problem]) -> dict[str, Source]:
    data = read_yaml(path, label, "it must hold 'sources:', a mapping of id -> {title, href, ...}")
    if not isinstance(data, dict) or not isinstance(data.get("sources"), dict):
        problems.append(Problem(label, "sources", "must hold a mapping 'sources:' of id -> {title, href, ...}"))
        return {}
    problems += top_level_keys(label, data, ("sources",))
    out: dict[str, Source] = {}
    entries: LineDict = data["sources"]
    for sid, entry in entries.items():
        line = line_of(entries, sid)
        if not isinstance(entry, dict):
            problems.append(Problem(label, f"sources.{sid}", "must be a mapping with title and href", line))
            continue
        for name in entry:
            if name not in SOURCE_FIELDS:
                problems.append(
                    Problem(
                        label,
                        f"sources.{sid}.{name}",
                        f"unknown field; valid: {', '.join(SOURCE_FIELDS)}{_suggest(name, list(SOURCE_FIELDS))}",
                        line_of(entry, name),
                    )
                )
        for name, required in SOURCE_FIELDS.items():
            if required and not str(entry.get(name, "")).strip():
                problems.append(Problem(label, f"sources.{sid}.{name}", "is required", line))
        problems += _source_text(entry, f"sources.{sid}", label)
        flag = entry.get("notes_required", False)
        if not isinstance(flag, bool):
            problems.append(
                Problem(
                    label,
                    f"sources.{sid}.notes_required",
                    f"must be true or false, got {flag!r}",
                    line_of(entry, "notes_required"),
                )
            )
            flag = False
        out[sid] = Source(
            sid, **{k: str(entry.get(k, "")) for k in SOURCE_FIELDS if k != "notes_required"}, notes_required=flag
        )
    return out


_DATE = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?")


def _source_text(entry: Mapping[str, Any], where: str, label: str) -> list[Problem]:
    """A source's fields are text (not lists, timestamps or binary); ``date`` is YYYY-MM or YYYY-MM-DD."""
    import datetime as dt

    out = []
    for name in ("title", "href", "publisher", "note"):
        value = entry.get(name)
        if value is not None and not isinstance(value, str):
            out.append(
                Problem(
                    label,
                    f"{where}.{name}",
                    f"must be text, got {type(value).__name__} {value!r}"[:200],
                    line_of(entry, name),
                )
            )
    date = entry.get("date")
    if date is None or (isinstance(date, dt.date) and not isinstance(date, dt.datetime)):
        return out  # YAML reads 2026-02-03 as a date
    m = _DATE.fullmatch(date) if isinstance(date, str) else None
    try:
        ok = m is not None and dt.date(int(m[1]), int(m[2]), int(m[3] or 1)) is not None
    except ValueError:  # month 13, day 30 of February
        ok = False
    if not ok:
        out.append(
            Problem(
                label,
                f"{where}.date",
                f"{date!r} is not a date like 2026-02 or 2026-02-19 (YYYY-MM[-DD])",
                line_of(entry, "date"),
            )
        )
    return out


# Settings that must lie in a range, beyond their type: (low, high) inclusive, finite.
SETTING_RANGES = {
    "boundary_yoy": (0.0, 1.0),
    "boundary_qoq": (0.0, 1.0),
    "boundary_margin": (0.0, 1.0),
    "tolerance": (0.0, 1.0),
}
# Optional settings and the value used when the file leaves them out (validate notes each).
SETTING_DEFAULTS = {
    "chunk_size": 50_000,
    "tolerance": 0.0,
    "boundary_yoy": 0.05,
    "boundary_qoq": 0.05,
    "boundary_margin": 0.03,
}


def _load_settings(path: Path, label: str, problems: list[Problem]) -> dict[str, Any]:
    data = read_yaml(path, label, "it must hold 'simulation:' with seed, draws, method and horizon")
    if not isinstance(data, dict) or not isinstance(data.get("simulation"), dict):
        problems.append(Problem(label, "simulation", "must hold a mapping 'simulation:'"))
        return {}
    problems += top_level_keys(label, data, ("simulation",), children=SETTINGS)
    sim: LineDict = data["simulation"]
    out: dict[str, Any] = {}
    for key, value in sim.items():
        line = line_of(sim, key)
        if key not in SETTINGS:
            problems.append(
                Problem(
                    label,
                    f"simulation.{key}",
                    f"unknown setting; valid: {', '.join(SETTINGS)}{_suggest(key, list(SETTINGS))}",
                    line,
                )
            )
            continue
        typ, doc = SETTINGS[key]
        ok = isinstance(value, typ) and not isinstance(value, bool)
        if typ is float and isinstance(value, int) and not isinstance(value, bool):
            ok, value = True, float(value)
        if not ok:
            problems.append(Problem(label, f"simulation.{key}", f"must be {typ.__name__} ({doc}), got {value!r}", line))
            continue
        out[key] = value
    for key in ("seed", "draws", "method", "horizon"):
        if key not in out and not any(p.key == f"simulation.{key}" for p in problems):
            problems.append(Problem(label, f"simulation.{key}", f"missing ({SETTINGS[key][1]})"))
    if out.get("method") not in (None, "mc", "lhs", "sobol"):
        problems.append(
            Problem(
                label, "simulation.method", f"must be mc, lhs or sobol, got {out['method']!r}", line_of(sim, "method")
            )
        )
    if "horizon" in out:
        try:
            parse_quarter(out["horizon"])
        except PeriodError as exc:
            problems.append(Problem(label, "simulation.horizon", str(exc), line_of(sim, "horizon")))
    for key in ("draws", "chunk_size", "max_draws"):
        if key in out and out[key] < 1:
            problems.append(Problem(label, f"simulation.{key}", "must be >= 1", line_of(sim, key)))
    for key, (lo, hi, closed) in STATUS_RANGES.items():
        if key in out and not ((lo <= out[key] if closed else lo < out[key]) and out[key] <= hi):
            bounds = f"{'[' if closed else '('}{lo:g}, {hi:g}]"
            problems.append(
                Problem(
                    label,
                    f"simulation.{key}",
                    f"must lie in {bounds}, got {out[key]:g} ({SETTINGS[key][1]})",
                    line_of(sim, key),
                )
            )
    if "seed" in out and not 0 <= out["seed"] < 2**63:
        problems.append(
            Problem(
                label,
                "simulation.seed",
                f"must be a whole number in [0, 2**63), got {out['seed']}",
                line_of(sim, "seed"),
            )
        )
    problems += _setting_ranges(out, sim, label)
    for key, value in SETTING_DEFAULTS.items():
        if key not in sim:
            problems.append(
                Problem(
                    label,
                    f"simulation.{key}",
                    f"not set; using {value:g} ({SETTINGS[key][1]})",
                    line_of(data, "simulation"),
                    level="warn",
                )
            )
            out[key] = value
    out.setdefault("max_draws", out.get("draws", 1))
    return out


def _setting_ranges(out: dict[str, Any], sim: LineDict, label: str) -> list[Problem]:
    problems = []
    for key, (low, high) in SETTING_RANGES.items():
        if key in out and not (math.isfinite(out[key]) and low <= out[key] <= high):
            problems.append(
                Problem(
                    label,
                    f"simulation.{key}",
                    f"must be a finite number in [{low:g}, {high:g}], got {out[key]!r}",
                    line_of(sim, key),
                )
            )
            del out[key]
    return problems


def _check_views(entries: list, params: Mapping[str, Any], path: Path, label_of, problems: list[Problem]) -> tuple:
    """``simulation.views``: input keys (strings) the report shows as views; returns the known ones.
    A bad entry is one message naming its line (found by its text: YAML keeps no line for a list item)."""
    out = []
    for i, key in enumerate(entries):
        if isinstance(key, str) and key in params:
            out.append(key)
            continue
        what = f"{key!r} is not an input key" if isinstance(key, str) else f"must be an input key, got {key!r}"
        hint = _suggest(key, list(params)) if isinstance(key, str) else ""
        lines = path.read_text(encoding="utf-8").splitlines()  # read only for a bad entry
        line = next((n for n, text in enumerate(lines, 1) if text.strip() == f"- {key}"), None)
        message = f"{what}; e.g. cloud.margin_before_new_depreciation.long_run{hint}"
        problems.append(Problem(label_of(path), f"simulation.views[{i}]", message, line))
    return tuple(out)


_ONE_OFF_FIELDS = ("quarters", "subject", "metric", "reason", "source")


def _check_one_offs(entries: list, sources: Mapping[str, Any], label: str, problems: list[Problem]) -> tuple:
    """``simulation.boundary_one_offs``: each entry a mapping of exactly :data:`_ONE_OFF_FIELDS`
    (quarters: a quarter or a range such as FY2027Q2:FY2027Q3). Returns the valid entries."""
    out = []
    for i, entry in enumerate(entries):
        key = f"simulation.boundary_one_offs[{i}]"
        if not isinstance(entry, dict) or set(entry) != set(_ONE_OFF_FIELDS):
            found = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
            message = f"must be a mapping of {', '.join(_ONE_OFF_FIELDS)}; found {found}"
            problems.append(Problem(label, key, message, line_of(entry, "quarters")))
            continue
        bad = []
        try:
            period = parse_period(str(entry["quarters"]))
            if period.kind not in ("quarter", "range"):
                bad.append(
                    (
                        "quarters",
                        f"must be a quarter or a range of quarters (FY2027Q2:FY2027Q3), got {entry['quarters']!r}",
                    )
                )
        except PeriodError as exc:
            bad.append(("quarters", str(exc)))
        if entry["subject"] not in BOUNDARY_SUBJECTS:
            bad.append(("subject", f"{entry['subject']!r} is not valid; valid: {', '.join(BOUNDARY_SUBJECTS)}"))
        if entry["metric"] not in BOUNDARY_METRICS:
            bad.append(("metric", f"{entry['metric']!r} is not valid; valid: {', '.join(BOUNDARY_METRICS)}"))
        if not isinstance(entry["reason"], str) or not entry["reason"].strip():
            bad.append(("reason", "must say why the step is expected"))
        if entry["source"] not in sources:
            bad.append(("source", f"{entry['source']!r} is not an id in sources.yaml"))
        problems += [Problem(label, f"{key}.{name}", msg, line_of(entry, name)) for name, msg in bad]
        if not bad:
            out.append(MappingProxyType(dict(entry)))
    return tuple(out)


def _scenario_name(spec: str) -> str:
    """A scenario given as a path is named by its file's stem (``/x/my_bull.yaml`` -> ``my_bull``),
    so default output folders never point at the file itself."""
    return Path(spec).stem if spec.endswith((".yaml", ".yml")) else Path(spec).name


def _scenario_changes(data: dict, label: str, problems: list[Problem]) -> Any:
    """Check a scenario file's keys and return its changes (empty when missing or malformed)."""
    for key in data:
        if key not in ("title", "baseline", "rationale", "changes"):
            valid_keys = ["title", "baseline", "rationale", "changes"]
            problems.append(
                Problem(
                    label,
                    key,
                    f"unknown key; valid: {', '.join(valid_keys)}{_suggest(key, valid_keys)}",
                    line_of(data, key),
                )
            )
    for key in ("title", "baseline", "rationale"):
        if not isinstance(data.get(key), str) or not data.get(key, "").strip():
            problems.append(Problem(label, key, "is required (text)", line_of(data, key) if key in data else None))
    changes = data.get("changes")
    if "changes" not in data:
        folded = "changes:" in str(data.get("rationale", "")) or "changes:" in str(data.get("title", ""))
        hint = (
            " ('changes:' is indented, so it became part of the text above it; start it at column 1)" if folded else ""
        )
        problems.append(
            Problem(
                label,
                "changes",
                f"missing: a scenario must change at least one input{hint}",
                line_of(data, "rationale") if folded and "rationale" in data else None,
            )
        )
        changes = {}
    elif changes is not None and not isinstance(changes, dict):
        problems.append(Problem(label, "changes", "must map input keys to specs", line_of(data, "changes")))
        changes = {}
    elif not changes:
        changes = {}
        problems.append(
            Problem(
                label,
                "changes",
                "is empty: a scenario must change at least one input (use the baseline itself if nothing changes)",
                line_of(data, "changes"),
            )
        )
    return changes


def _resolve_scenario(
    directory: Path, name: str | None, root: Path, problems: list[Problem]
) -> tuple[Scenario, list[tuple[str, dict[str, tuple[Any, int | None]]]]]:
    """Follow ``baseline`` links from the named scenario down to base; detect cycles."""
    if name in (None, "", "base"):
        return Scenario("base", "Base case", "", "The bundled assumptions as they stand.", (), ("base",)), []
    paths: list[Path] = []
    layers: list[tuple[str, dict[str, tuple[Any, int | None]]]] = []
    meta: dict[str, Any] = {}
    visited: list[str] = []
    current: str = name  # type: ignore[assignment]
    parent: tuple[str, int | None] | None = None  # the file and line that named ``current``
    while current != "base":
        path = Path(current) if current.endswith((".yaml", ".yml")) else directory / "scenarios" / f"{current}.yaml"
        label = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
        if current in visited:
            where, line = parent or (label, None)
            problems.append(Problem(where, "baseline", f"inheritance cycle: {' -> '.join(visited + [current])}", line))
            break
        visited.append(current)
        if not path.is_file():
            available = sorted(p.stem for p in (directory / "scenarios").glob("*.yaml"))
            valid = f"available: base, {', '.join(available)}"
            if parent is not None:
                problems.append(
                    Problem(
                        parent[0],
                        "baseline",
                        f"names scenario {current!r}, which does not exist ({label}); {valid}",
                        parent[1],
                    )
                )
            else:
                problems.append(Problem(label, "", f"scenario {current!r} does not exist; {valid}"))
            break
        paths.append(path)
        try:
            data = read_yaml(path, label, "a scenario holds title, baseline, rationale and changes")
        except InputError as exc:
            problems.extend(exc.problems)
            break
        if not isinstance(data, dict):
            problems.append(Problem(label, "", "must be a mapping with title, baseline, rationale, changes"))
            break
        changes = _scenario_changes(data, label, problems)
        flat: dict[str, tuple[Any, int | None]] = {}
        for key, spec in changes.items():
            flat[key] = (spec, line_of(changes, key))
        layers.append((label, flat))
        if not meta:
            meta = {"title": data.get("title", ""), "rationale": data.get("rationale", "")}
        parent = (label, line_of(data, "baseline") if "baseline" in data else None)
        current = str(data.get("baseline") or "base")
    chain = tuple(["base"] + [_scenario_name(v) for v in reversed(visited)])
    changed = tuple(sorted({k for _, layer in layers for k in layer}))
    baseline = _scenario_name(visited[1]) if len(visited) > 1 else "base"
    return (
        Scenario(
            _scenario_name(name),
            meta.get("title", name),
            baseline,
            meta.get("rationale", ""),
            changed,
            chain,
            tuple(paths),
        ),
        list(reversed(layers)),
    )


def _file_digests(directory: Path, scenario_paths: tuple[Path, ...]) -> dict[str, bytes]:
    """Name -> SHA-256 of the bytes of every file a run's numbers can depend on: the folder's
    YAML files, the history CSVs and each scenario file in the chain (which may live outside the
    folder), in that order; named relative to the folder, else by the resolved path."""
    import hashlib

    paths = (
        sorted(directory.glob("*.yaml"))
        + sorted(directory.glob("*.yml"))
        + sorted((directory / "history").glob("*.csv"))
    )
    paths += [p for p in scenario_paths if p not in paths]
    out = {}
    for path in paths:
        name = path.relative_to(directory) if path.is_relative_to(directory) else path.resolve()
        try:
            out[str(name)] = hashlib.sha256(path.read_bytes()).digest()
        except OSError:  # unreadable: the step that parses it reports it
            continue
    return out


def _read_segment_files(directory: Path, stems, label_of, guarded, problems: list[Problem]):
    """Read each segment's YAML file into flat raw specs and seed specs, noting unreadable files."""
    raw: dict[str, tuple[Any, int | None, str]] = {}
    unreadable: set[str] = set()  # files that failed to parse: no "missing key" noise for them
    seeds_raw: dict[tuple[str, str], tuple[Any, int | None, str]] = {}
    for stem in stems:
        path = directory / f"{stem}.yaml"
        label = label_of(path)
        if not path.exists():
            problems.append(Problem(label, stem, "file is missing"))
            continue
        data = guarded(read_yaml, path, label, f"it must hold '{stem}:' with the {stem} inputs")
        if data is None:
            unreadable.add(stem)
            continue
        if not isinstance(data, dict) or list(data) != [stem]:
            found = list(data) if isinstance(data, dict) else type(data).__name__
            problems.append(Problem(label, stem, f"must hold exactly one top-level key {stem!r}, found {found}"))
            unreadable.add(stem)
            continue
        if not isinstance(data[stem], dict):
            problems.append(
                Problem(
                    label,
                    stem,
                    f"must hold the {stem} inputs as a mapping under '{stem}:', found {data[stem]!r}",
                    line_of(data, stem),
                )
            )
            unreadable.add(stem)
            continue
        flat: dict[str, tuple[Any, int | None]] = {}
        _flatten(data[stem], stem, flat, line_of(data, stem))
        for key, (spec, line) in flat.items():
            seed = parse_seed_file_key(key)
            if seed is not None:
                if SEEDABLE.get(seed[0]) != stem:
                    valid = [s for s, seg in SEEDABLE.items() if seg == stem]
                    problems.append(
                        Problem(
                            label,
                            key,
                            f"seed estimates are '{stem}.seed.<series>.<quarter>' for series "
                            f"{', '.join(valid) or '(none)'}",
                            line,
                        )
                    )
                    continue
                seeds_raw[seed] = (spec, line, label)
            else:
                raw[key] = (spec, line, label)
    return raw, unreadable, seeds_raw


def _apply_layers(layers, raw, seeds_raw, sources, problems: list[Problem]) -> None:
    """Apply the scenario's layers over the raw specs and seed specs, reporting ineffective changes."""
    replaced: list[tuple[str, str, Any, Any, int | None]] = []  # (file, key, spec before, spec after, line)
    for label, layer in layers:
        for key, (spec, line) in layer.items():
            seed = parse_seed_file_key(key)
            if seed is not None and seed in seeds_raw:
                replaced.append((label, key, seeds_raw[seed][0], spec, line))
                seeds_raw[seed] = (spec, line, label)  # a seed estimate
                continue
            if key not in raw:
                problems.append(
                    Problem(
                        label, key, f"overrides a key that the base assumptions lack{_suggest(key, list(raw))}", line
                    )
                )
                continue
            replaced.append((label, key, raw[key][0], spec, line))
            raw[key] = (spec, line, label)
    problems.extend(_ineffective_changes(replaced, sources))


def _parse_inputs(raw, params, as_of, sources, unreadable, directory: Path, problems: list[Problem]):
    """Parse the raw specs into inputs, setting anchored specs aside and reporting missing inputs."""
    from .asof import pick_version

    inputs: dict[str, Input] = {}
    anchored: dict[str, tuple[Any, int | None, str]] = {}
    for key, (spec, line, label) in raw.items():
        spec, errs = pick_version(key, spec, as_of, label, line)  # dated versions of a hand-set input
        problems.extend(errs)
        if key not in params:
            top = key.split(".")[0]
            valid_here = ", ".join(k for k in params if k.split(".")[0] == top)
            problems.append(
                Problem(
                    label, key, f"unknown key{_suggest(key, list(params))}; valid keys under {top}: {valid_here}", line
                )
            )
            continue
        if isinstance(spec, dict) and "anchor" in spec:
            anchored[key] = (spec, line, label)  # resolved on history below
            continue
        inp, errs = _parse_spec(key, spec, label, line, sources, params[key].dimension)
        problems.extend(errs)
        if inp is not None:
            problems.extend(_check_range(inp, params))
            inputs[key] = inp
    for key in params:
        if key not in raw and key.split(".")[0] not in unreadable:
            stem = key.split(".")[0]
            problems.append(Problem(f"{directory.name}/{stem}.yaml", key, f"missing input ({params[key].doc})"))
    return inputs, anchored


def _parse_seeds(seeds_raw, sources, problems: list[Problem]) -> dict[tuple[str, Quarter], Input]:
    """Parse the seed specs into seed estimates keyed by (series, quarter)."""
    seeds: dict[tuple[str, Quarter], Input] = {}
    for (series, qlabel), (spec, line, label) in seeds_raw.items():
        try:
            q = parse_quarter(qlabel)
        except PeriodError as exc:
            problems.append(Problem(label, seed_file_key(series, qlabel), str(exc), line))
            continue
        inp, errs = _parse_spec(seed_key(series, qlabel), spec, label, line, sources, "money")
        problems.extend(errs)
        if inp is not None:
            seeds[(series, q)] = inp
    return seeds


def _load_history_as_of(directory: Path, root: Path, as_of, seeds, sources, label_of, guarded, problems):
    """Load the history, cut it as of a past quarter (filling what the cut leaves) and check its base rows."""
    from .asof import PER_SEGMENT, check_base, cut_history, fill_estimates, fill_placeholders, fill_seeds
    from .base_quarters import missing_base_rows
    from .perimeter import restate_base

    full = history = guarded(load_history, directory / "history", root)
    if history is not None and as_of is not None:
        full, history = history, guarded(cut_history, history, as_of, label_of(directory / "history" / "reported.csv"))
        if history is not None and history is not full:
            history, filled = fill_estimates(history, as_of)
            problems.extend(filled)
            if PER_SEGMENT.get():  # a per-segment backtest run: segments without base quarters get placeholders
                history = fill_placeholders(full, history, as_of)
            history, restated = restate_base(history, as_of)  # declared disposals out of the base (like-for-like)
            problems.extend(restated)
            make = lambda series, q, value, src: _parse_spec(  # noqa: E731
                seed_key(series, q),
                {
                    "value": value,
                    "unit": "RMB_mn",
                    "basis": "estimate",
                    "source": src,
                    "note": "--as-of fill: the series' share of its parent's revenue at the "
                    "nearest quarter where it is known, times this quarter's revenue "
                    "(asof.fill_seeds)",
                },
                "--as-of",
                None,
                sources,
                "money",
            )[0]
            problems.extend(fill_seeds(full, history, seeds, make))
            problems.extend(check_base(history, label_of(directory / "history" / "reported.csv")))
    if history is not None and not (
        as_of is not None and history is not full
    ):  # as of a past quarter: check_base above
        base_missing = missing_base_rows(
            history, directory / "history" / "reported.csv", label_of(directory / "history" / "reported.csv")
        )
        problems.extend(base_missing)
        history = None if base_missing else history  # nothing downstream can grow from it
    return history, full


def _history_estimates(directory: Path, children, history, full, as_of, seeds, sources, label_of, problems):
    """Splice past seeds into the history, take base-quarter seeds from it and read the children's estimates."""
    from .base_quarters import base_quarters
    from .segment_tree import read_estimates

    estimates: dict[str, dict[Quarter, float]] = {}
    if history is not None:
        problems.extend(history.warnings)
        history = with_estimates(history, seed_estimate_rows(history, seeds))  # past quarters' seeds stay history
        seeds.update(_seeds_from_estimates(history, seeds, sources))  # base quarters estimated in estimates.csv
        cut_from = (
            full if as_of is not None and history is not full else None
        )  # the whole history, as of a past quarter
        estimates, errs = read_estimates(directory, children, history, base_quarters(history), label_of, cut_from)
        problems.extend(errs)
    return history, estimates


def _read_claim_files(directory: Path, label_of, guarded, problems: list[Problem]) -> dict[str, Any]:
    """Read claims.yaml and correlations.yaml (where present) and check their top-level keys."""
    raw_files: dict[str, Any] = {}  # claims.yaml and correlations.yaml, parsed below
    for name in ("claims", "correlations"):
        path = directory / f"{name}.yaml"
        if path.exists():
            raw_files[name] = guarded(read_yaml, path, label_of(path), EMPTY_HINT[name])
            problems.extend(top_level_keys(label_of(path), raw_files[name], (name,)))
    return raw_files


def _resolve_anchored(anchored, history, seeds, sources, params, inputs, problems: list[Problem]) -> None:
    """Resolve the anchored specs on the history into inputs."""
    for key, (spec, line, label) in anchored.items():
        resolved, anchor, errs = resolve_anchor(key, spec, history, seeds, label, line)
        problems.extend(errs)
        if resolved is not None:
            inp, errs = _parse_spec(key, resolved, label, line, sources, params[key].dimension)
            problems.extend(errs)
            if inp is not None:
                inp = replace(inp, anchor=anchor)
                problems.extend(_check_range(inp, params))
                inputs[key] = inp


def _claims_and_correlations(directory: Path, children, raw_files, sources, inputs, seeds, label_of, guarded, problems):
    """Parse the claims and the correlations (the latter checked against the inputs if those have no errors)."""
    claims_label = label_of(directory / "claims.yaml")
    declare_series(child_series(children))  # a claim may test a declared child's series
    claims = guarded(parse_claims, raw_files["claims"], claims_label) if raw_files.get("claims") is not None else []
    inputs_ok = not any(p.level == "error" for p in problems)  # else "not an input" would echo those errors
    corr_label = label_of(directory / "correlations.yaml")
    correlations = guarded(
        parse_correlations,
        raw_files.get("correlations"),
        corr_label,
        sources,
        uncertain_keys(inputs, seeds) if inputs_ok else None,
        inputs,
    )
    return claims, correlations, corr_label


def load(directory: str | Path | None = None, scenario: str | None = None, as_of: Quarter | None = None) -> Assumptions:
    """Load, validate and freeze an assumptions folder, optionally with a scenario applied and
    as of a past quarter (:mod:`pivotmodel.asof`; default: ``--as-of`` if given, else the last)."""
    from .asof import AS_OF
    from .segment_tree import SEGMENTS_YAML, read_children

    as_of = as_of if as_of is not None else AS_OF.get()
    directory = Path(directory) if directory is not None else default_directory()
    root = directory.parent
    if not directory.is_dir():
        raise InputError.single(str(directory), "", "is not a folder of assumption files")
    label_of = lambda p: str(p.relative_to(root))  # noqa: E731
    problems: list[Problem] = []

    def guarded(fn, *args):
        try:
            return fn(*args)
        except InputError as exc:
            problems.extend(exc.problems)
            return None

    sources = guarded(_load_sources, directory / "sources.yaml", label_of(directory / "sources.yaml"), problems)
    if sources is None:  # unreadable: do not also report every source id as unknown
        sources = _AnySource()
    settings = (
        guarded(_load_settings, directory / "simulation.yaml", label_of(directory / "simulation.yaml"), problems) or {}
    )
    if "boundary_one_offs" in settings:
        settings["boundary_one_offs"] = _check_one_offs(
            settings["boundary_one_offs"], sources, label_of(directory / "simulation.yaml"), problems
        )

    children, errs = read_children(directory, label_of(directory / SEGMENTS_YAML))
    problems.extend(errs)
    params = {**PARAMETERS, **{k: p for c in children for k, p in child_parameters(c).items()}}
    stems = (*SEGMENT_FILES, *(c.id for c in children))
    raw, unreadable, seeds_raw = _read_segment_files(directory, stems, label_of, guarded, problems)

    if "views" in settings:
        settings["views"] = _check_views(settings["views"], params, directory / "simulation.yaml", label_of, problems)
    chosen, layers = _resolve_scenario(directory, scenario, root, problems)
    digests = _file_digests(directory, chosen.paths)
    _apply_layers(layers, raw, seeds_raw, sources, problems)
    inputs, anchored = _parse_inputs(raw, params, as_of, sources, unreadable, directory, problems)
    seeds = _parse_seeds(seeds_raw, sources, problems)

    history, full = _load_history_as_of(directory, root, as_of, seeds, sources, label_of, guarded, problems)
    history, estimates = _history_estimates(
        directory, children, history, full, as_of, seeds, sources, label_of, problems
    )
    raw_files = _read_claim_files(directory, label_of, guarded, problems)
    if history is not None:
        _resolve_anchored(anchored, history, seeds, sources, params, inputs, problems)
    if history is not None and not unreadable:
        problems.extend(_check_seeds(history, seeds, settings, directory.name))
        problems.extend(_stale_seeds(history, seeds))
        problems.extend(_check_capex_history(history, inputs.get("capex.new_assets_from"), directory.name))
    claims, correlations, corr_label = _claims_and_correlations(
        directory, children, raw_files, sources, inputs, seeds, label_of, guarded, problems
    )
    errors = [p for p in problems if p.level == "error"]
    if errors:
        raise InputError(errors)
    return Assumptions(
        directory=directory,
        inputs=MappingProxyType(inputs),
        seeds=MappingProxyType(seeds),
        sources=MappingProxyType(sources),
        settings=MappingProxyType(settings),
        history=history,  # type: ignore[arg-type]
        scenario=chosen,
        claims=tuple(claims or ()),
        correlations=correlations if correlations is not None else Correlations(corr_label),
        files=MappingProxyType(digests),
        children=children,
        estimates=MappingProxyType({k: MappingProxyType(x) for k, x in estimates.items()}),
        warnings=tuple(p for p in problems if p.level == "warn"),
    )


def _ineffective_changes(
    replaced: list[tuple[str, str, Any, Any, int | None]], sources: Mapping[str, Source]
) -> list[Problem]:
    """A scenario file whose every change restates the value it replaces changes nothing: an
    error naming the file. A single restated value in a file that changes others: a warning."""

    def dist(key: str, spec: Any) -> Any:
        dimension = PARAMETERS[key].dimension if key in PARAMETERS else "money"
        inp, _ = _parse_spec(key, spec, "", None, sources, dimension)
        return None if inp is None else (inp.dist, inp.text)

    by_file: dict[str, list[tuple[str, bool, int | None]]] = {}
    for label, key, before, after, line in replaced:
        new = dist(key, after)
        same = new is not None and new == dist(key, before)
        by_file.setdefault(label, []).append((key, same, line))
    out = []
    for label, entries in by_file.items():
        if all(same for _, same, _ in entries):
            out.append(
                Problem(
                    label,
                    "changes",
                    "changes nothing: every change restates the value of its baseline "
                    f"({', '.join(k for k, _, _ in entries)}); change at least one input",
                )
            )
            continue
        out += [
            Problem(label, key, "restates the value of the baseline (this change does nothing)", line, level="warn")
            for key, same, line in entries
            if same
        ]
    return out


def _check_capex_history(history: History, new_from: Input | None, folder: str) -> list[Problem]:
    """Every reported quarter the capex plan and new-asset depreciation read (from
    ``capex.new_assets_from``, or the four base quarters if earlier, to the last reported one)
    needs a capex figure: reported, stated, or the fiscal year's cash-flow remainder. Checked
    here so the engine never meets a missing figure."""
    if new_from is None:
        return []
    last = history.last_quarter
    first = min(Quarter.from_index(int(new_from.base_value)), last + (-3))
    out = []
    for i in range(last.index - first.index + 1):
        q = first + i
        if math.isnan(history.capex(q)):
            out.append(
                Problem(
                    f"{folder}/history/reported.csv",
                    "Consolidated,capex_purchase_of_ppe_fcf_table",
                    f"no capex for {q.label} (needed for depreciation and the plan's spend so far, from "
                    "capex.new_assets_from): "
                    "add the quarter's row, or the fiscal year's capex_land_use_rights_and_ppe_cashflow",
                )
            )
    return out


def _seeds_from_estimates(
    history: History, seeds: Mapping[tuple[str, Quarter], Input], sources: Mapping[str, Source]
) -> dict[tuple[str, Quarter], Input]:
    """Seed inputs for base quarters a segment file does not seed but ``history/estimates.csv``
    estimates (e.g. the lines ``pivotmodel update`` carried on to an appended quarter): a range
    with the row's value +- its spread as P5-P95 (fixed when the spread is 0)."""
    out = {}
    last = history.last_quarter
    for series in SEEDABLE:
        for q in (last + k for k in (-3, -2, -1, 0)):
            row = history.estimates.get(series, {}).get(q)
            if row is None or (series, q) in seeds or not math.isnan(history.value(series, q)):
                continue
            spec: dict[str, Any] = (
                {"value": row.value}
                if row.spread == 0
                else {"dist": "range", "p5": row.value - row.spread, "p95": row.value + row.spread}
            )
            spec |= {
                "unit": "RMB_mn",
                "basis": "estimate",
                "source": "pivotmodel_calibration",
                "note": f"history/estimates.csv line {row.line}: {row.note} ({row.source})",
            }
            label = "assumptions/history/estimates.csv"
            inp, _ = _parse_spec(seed_key(series, q), spec, label, row.line, sources, "money")
            if inp is not None:
                out[(series, q)] = inp
    return out


def _stale_seeds(history: History, seeds: Mapping[tuple[str, Quarter], Input]) -> list[Problem]:
    """Seed estimates the model will not read: their quarter is reported now, or is no longer
    one of the four base quarters (after new actuals were appended). Warnings, not errors."""
    last = history.last_quarter
    base = {last + k for k in (-3, -2, -1, 0)}
    out = []
    for (series, q), inp in sorted(seeds.items(), key=lambda kv: (kv[0][0], kv[0][1].index)):
        if q > last:
            why = f"{q.label} is after the last reported quarter {last.label}"
        elif q not in base and math.isnan(history.value(series, q)):
            continue  # a past quarter's estimate: it stays in the model's history (History.value_or_estimate)
        elif q not in base or not math.isnan(history.value(series, q)):
            why = f"{q.label} is now reported ({history.value(series, q):,.0f})"
        else:
            continue
        out.append(Problem(inp.file, inp.key, f"seed estimate not used: {why}; delete it", inp.line, level="warn"))
    return out


def _check_seeds(
    history: History,
    seeds: Mapping[tuple[str, Quarter], Input],
    settings: Mapping[str, Any],
    folder: str = "assumptions",
) -> list[Problem]:
    """Every seed series needs a value for each of the last four reported quarters."""
    problems: list[Problem] = []
    last = history.last_quarter
    base = [last + k for k in (-3, -2, -1, 0)]
    for series, segment in SEEDABLE.items():
        if series in OPTIONAL_SEEDS:
            continue
        for q in base:
            if math.isnan(history.value(series, q)) and (series, q) not in seeds:
                problems.append(
                    Problem(
                        f"{folder}/{segment}.yaml",
                        seed_file_key(series, q),
                        f"{series} has no reported value for {q.label} (one of the four base quarters before the "
                        "projection starts): add the row to history/reported.csv or an estimate here",
                    )
                )
    if "horizon" in settings:
        try:
            if parse_quarter(settings["horizon"]) <= last:
                problems.append(
                    Problem(
                        f"{folder}/simulation.yaml",
                        "simulation.horizon",
                        f"must be after the last reported quarter {last.label}",
                    )
                )
        except PeriodError:
            pass
    return problems

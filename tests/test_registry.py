"""The registry (pivotmodel/schema.py) against the files and the engine: every input key in
the assumption files is registered and every registered key is in the files; every series
the engine returns is registered and the reverse; segments, seed keys and claims/correlations
as the loader hands them out."""

from __future__ import annotations

import csv
import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

import pivotmodel.assumptions as assumptions_mod
from pivotmodel import schema
from pivotmodel.errors import InputError
from pivotmodel.model import project
from pivotmodel.periods import parse_quarter
from pivotmodel.sampling import make_design
from pivotmodel.yamlio import read_yaml

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {"bundled": ROOT / "assumptions", "frozen": ROOT / "tests" / "fixtures" / "frozen" / "assumptions"}


def _leaves(node, prefix: str, out: dict[str, object]) -> None:
    """Dotted paths down to input specs (a mapping with unit, dist, value or anchor)."""
    if isinstance(node, dict) and not any(k in node for k in ("unit", "dist", "value", "anchor")):
        for key, child in node.items():
            _leaves(child, f"{prefix}.{key}", out)
    else:
        out[prefix] = node


def _file_keys(folder: Path) -> tuple[set[str], set[str]]:
    """(input keys, seed-estimate file paths) written in a folder's input files."""
    inputs: set[str] = set()
    seeds: set[str] = set()
    for stem in schema.INPUT_FILES:
        found: dict[str, object] = {}
        _leaves(read_yaml(folder / f"{stem}.yaml")[stem], stem, found)
        for key in found:
            (seeds if schema.parse_seed_file_key(key) is not None else inputs).add(key)
    return inputs, seeds


@pytest.mark.parametrize("name", FOLDERS)
def test_every_input_key_in_the_files_is_registered_and_the_reverse(name):
    inputs, seeds = _file_keys(FOLDERS[name])
    assert inputs - set(schema.PARAMETERS) == set(), "keys in the files that the registry lacks"
    assert set(schema.PARAMETERS) - inputs == set(), "registered keys that no file holds"
    for path in seeds:
        series, quarter = schema.parse_seed_file_key(path)
        assert schema.SEEDABLE.get(series) == path.split(".")[0], (
            path
        )  # a registered seed series, in its segment's file
        parse_quarter(quarter)


def test_every_series_the_engine_returns_is_registered_and_the_reverse():
    p = project(assumptions_mod.load())
    assert set(p.series) == set(schema.SERIES)


def test_every_registered_key_and_series_is_spelled_out_in_the_registry():
    """Searching the code for a key finds its line in the registry: no key is assembled."""
    text = (ROOT / "pivotmodel" / "schema.py").read_text(encoding="utf-8")
    spelled = set(re.findall(r'"([a-z_]+(?:\.[a-z_]+)+)"', text))
    assert set(schema.PARAMETERS) - spelled == set()
    assert set(schema.SERIES) - spelled == set()
    assert set(schema.SEEDABLE) - spelled == set()


def test_segments_have_their_file_history_prefix_driver_and_inputs():
    mapping = list(csv.DictReader((ROOT / "assumptions" / "history" / "segment_map.csv").open(encoding="utf-8")))
    equals = {r["model_series_prefix"] for r in mapping if r["relation"] == "equals"}
    ids = [s.id for s in schema.SEGMENTS]
    assert len(set(ids)) == len(ids) and len({s.colour for s in schema.SEGMENTS}) == len(ids)
    for s in schema.SEGMENTS:
        assert s.file in schema.INPUT_FILES and (ROOT / "assumptions" / f"{s.file}.yaml").is_file()
        assert s.history_prefix in equals, s.id
        assert (ROOT / "pivotmodel" / "model" / f"{s.driver}.py").is_file(), s.driver
        assert {f"{s.id}.revenue", f"{s.id}.adjusted_ebita"} <= set(schema.SERIES)
        assert s.growth_inputs and s.margin_inputs
        assert set(s.growth_inputs + s.margin_inputs) <= set(schema.PARAMETERS), s.id
    assert schema.segment("cloud").label == "Cloud Intelligence" and schema.segment("group").colour == "#3C4043"
    with pytest.raises(KeyError, match=f"segments: {', '.join(ids)}\\W*$"):
        schema.segment("cloud_services")


def test_the_segment_lists_elsewhere_are_the_registry():
    from pivotmodel import asof, boundary, charts, history, tables
    from pivotmodel.model import group, growth_segments

    ids = tuple(s.id for s in schema.SEGMENTS)
    subjects = tuple(s.name for s in boundary.SUBJECTS[: len(ids)])
    assert group.SEGMENTS == ids == charts.SEGMENTS == asof.MODEL_SEGMENTS == subjects
    assert tuple(s.id for s in schema.SEGMENTS if s.driver == "growth_segments") == growth_segments.GROWTH_SEGMENTS
    assert {"international", "all_others"} <= set(growth_segments.GROWTH_SEGMENTS)
    assert tables.SEGMENT_NAMES["international"] == "AIDC" and charts.COLORS["cloud"] == "#1A73E8"
    assert (*ids, "capex", "group", "earnings") == assumptions_mod.SEGMENT_FILES
    assert {history.SERIES_OF_METRIC[(s, "revenue")] for s in (*ids, "group")} == {
        f"{s}.revenue" for s in (*ids, "group")
    }


def test_seed_keys_have_one_spelling_and_the_file_path_maps_to_it():
    q = parse_quarter("FY2026Q1")
    assert schema.seed_key("cloud.ai_revenue", q) == "cloud.ai_revenue.seed.FY2026Q1"
    assert schema.seed_file_key("cloud.ai_revenue", q) == "cloud.seed.ai_revenue.FY2026Q1"
    assert schema.parse_seed_file_key("cloud.seed.ai_revenue.FY2026Q1") == ("cloud.ai_revenue", "FY2026Q1")
    assert schema.parse_seed_file_key("cloud.ai_revenue.growth.start") is None
    assert schema.parse_seed_file_key("cloud.seed.ai_revenue") == ("", "")  # malformed: the loader says so
    a = assumptions_mod.load()
    assert {inp.key for inp in a.seeds.values()} == {schema.seed_key(s, q) for s, q in a.seeds}


def test_loading_never_imports_the_engine():
    code = (
        "import sys, pivotmodel.assumptions as m; a = m.load(); "
        "assert a.claims and a.correlations.pairs; print(sorted(k for k in sys.modules if "
        "k.startswith('pivotmodel.model')))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0 and run.stdout.strip() == "[]", run.stdout + run.stderr


def test_claims_and_correlations_come_typed_from_the_loader():
    a = assumptions_mod.load()
    raw = read_yaml(a.directory / "claims.yaml")["claims"]
    assert [c.id for c in a.claims] == [c["id"] for c in raw]
    first = a.claims[0]
    assert a.claim(first.id) is first and first.where == f"claims[0] ({first.id})"
    assert (
        first.test_line is not None
        and "test:" in (a.directory / "claims.yaml").read_text().splitlines()[first.test_line - 1]
    )
    pairs = read_yaml(a.directory / "correlations.yaml")["correlations"]["pairs"]
    assert [(p.a, p.b, p.rho) for p in a.correlations.pairs] == [(p["a"], p["b"], p["rho"]) for p in pairs]


def test_an_unknown_claim_id_lists_the_valid_ones():
    a = assumptions_mod.load()
    with pytest.raises(InputError) as exc:
        a.claim("cloud_share_30pct")
    (problem,) = exc.value.problems
    assert problem.file == f"{a.directory.name}/claims.yaml" and problem.key == "claim"
    assert problem.message.startswith(
        "unknown claim id 'cloud_share_30pct' (did you mean 'cloud_share_30pct_fy2026'?); "
        "valid: cloud_share_30pct_cy2026, "
    )
    empty = dataclasses.replace(a, claims=())
    with pytest.raises(InputError, match="valid: none"):
        empty.claim("x")


def test_a_correlated_input_made_fixed_in_code_is_refused_by_the_design():
    a = assumptions_mod.load()
    pair = a.correlations.pairs[0]
    fixed = a.with_values(**{pair.a: a.inputs[pair.a].base_value})
    with pytest.raises(InputError) as exc:
        make_design(fixed, 10, 1, "mc")
    assert (
        f"correlations.pairs[{pair.index}].a: {pair.a!r} is a fixed input (a point value cannot be correlated)"
        in str(exc.value)
    )


def test_the_engine_runs_each_segment_by_the_driver_the_registry_names(monkeypatch):
    """project() loops over the registry's segments and calls the driver each names: a
    growth-path segment added to the registry is projected with no engine change."""
    import pivotmodel.model as model

    assert {s.driver for s in schema.SEGMENTS} <= set(model.DRIVERS)
    called: list[tuple[str, str]] = []
    for name, fn in list(model.DRIVERS.items()):
        monkeypatch.setitem(
            model.DRIVERS,
            name,
            lambda step, seg_id, fn=fn, name=name: called.append((name, seg_id)) or fn(step, seg_id),
        )
    a = assumptions_mod.load(assumptions_mod.default_directory())
    p = project(a)
    # every segment once; those that read capex or the cloud's supply (cloud, All others) after
    # the supply loop, the others before it (their revenue funds the capex policy)
    assert sorted(called) == sorted((s.driver, s.id) for s in schema.SEGMENTS)
    assert [seg_id for _, seg_id in called][-2:] == ["cloud", "all_others"]
    # every registered segment's revenue reaches the projection and the group sum before elimination
    first = p.timeline.position(p.first_projected)
    seg_sum = sum(p[f"{s.id}.revenue"][:, first:] for s in schema.SEGMENTS)
    assert (seg_sum > p["group.revenue"][:, first:]).all()  # elimination is negative


def test_the_segment_tree_is_well_formed():
    ids = {s.id for s in schema.SEGMENTS}
    for s in schema.SEGMENTS:
        assert s.parent == "group" or s.parent in ids - {s.id}, s.id
        names = [ln.name for ln in s.lines]
        assert len(set(names)) == len(names) and {"revenue", "adjusted_ebita"} <= set(names), s.id
        for ln in s.lines:
            assert ln.kind in schema.LINE_KINDS and f"{s.id}.{ln.name}" in schema.SERIES, (s.id, ln)
            assert set(ln.reads) <= set(names) - {ln.name} and (ln.kind == "derived") == bool(ln.reads), (s.id, ln)
            assert not ln.optional or ln.kind == "seeded"
    # one segment bears the own-AI depreciation, and only it has the series
    assert len(schema.OWN_AI_SEGMENTS) == 1
    assert {k for k in schema.SERIES if k.endswith(".ai_depreciation")} == {
        f"{s}.ai_depreciation" for s in schema.OWN_AI_SEGMENTS
    }


def test_seedable_series_and_estimates_come_from_the_declared_lines(bundled):
    from pivotmodel.model import prepare
    from pivotmodel.model.assembly import base_quarter_estimates
    from pivotmodel.model.prepare import base_values

    seeded = {f"{s.id}.{ln.name}" for s in schema.SEGMENTS for ln in s.lines if ln.kind == "seeded"}
    assert set(schema.SEEDABLE) == seeded and seeded >= schema.OPTIONAL_SEEDS
    assert set(schema.SEEDABLE.values()) <= {s.file for s in schema.SEGMENTS}
    # the engine fills exactly the registry's seeded and derived lines in the base quarters
    from pivotmodel.model.inputs import Values

    values = Values(base_values(bundled), 1)
    got = base_quarter_estimates(prepare(bundled), values, set(schema.SERIES))
    assert set(got) == set(schema.base_estimated_lines())
    # a derived line reads the seeded lines it is computed from
    assert schema.DERIVED_FROM_SEEDS["cloud.other_external_revenue"] == {"cloud.ai_revenue"}
    assert schema.DERIVED_FROM_SEEDS["china_ecommerce.other_revenue"] == {
        "china_ecommerce.cmr",
        "china_ecommerce.quick_commerce_revenue",
    }
    assert schema.DERIVED_FROM_SEEDS["cloud.internal_revenue"] == frozenset()


def test_every_key_spelled_under_model_is_registered():
    """Every string under pivotmodel/model/ that looks like an input key or a series (a dotted
    name under a registered prefix) is registered, so a misspelt key fails here, not at run
    time; the history-only series prepare() reads are the exceptions, named."""
    import ast

    known = set(schema.PARAMETERS) | set(schema.SERIES) | {"group.capex_stated", "group.capex_cashflow"}
    tops = {k.split(".")[0] for k in known}
    dotted = re.compile(r"[a-z_]+(\.[a-z_0-9]+)+")
    unknown = []
    for path in sorted((ROOT / "pivotmodel" / "model").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and dotted.fullmatch(node.value)
                and node.value.split(".")[0] in tops
                and node.value not in known
            ):
                unknown.append(f"{path.name}:{node.lineno}: {node.value}")
    assert unknown == []

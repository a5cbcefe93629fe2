"""The deterministic base case of the frozen fixture tree against the golden tables
(tests/golden/*.csv; refresh with ``python tests/golden.py``)."""

from __future__ import annotations

import shutil

import golden
import pytest


@pytest.mark.parametrize("basis", golden.BASES)
def test_base_case_matches_the_golden_table(basis):
    problems = golden.compare(golden.table(basis), basis)
    assert not problems, "\n".join(problems[:20]) + f"\n(see tests/golden/{basis}.actual.csv)"


@pytest.mark.parametrize("scenario", golden.SCENARIOS)
def test_scenario_matches_its_golden_table(scenario):
    problems = golden.compare(golden.table("fy", scenario=scenario), f"{scenario}_fy")
    assert not problems, "\n".join(problems[:20]) + f"\n(see tests/golden/{scenario}_fy.actual.csv)"


@pytest.mark.parametrize("scenario", golden.SCENARIOS)
def test_base_plus_the_scenario_overlay_is_the_scenario(scenario):
    """The overlay only replaces the keys it changes: the base assumptions with the scenario's
    inputs and estimates swapped in for exactly those keys project the scenario bit for bit,
    and every other input is the base one."""
    import dataclasses

    import numpy as np

    from pivotmodel.assumptions import load
    from pivotmodel.model import project
    from pivotmodel.schema import parse_seed_file_key

    base, other = load(golden.FROZEN), load(golden.FROZEN, scenario)
    changed = set(other.scenario.changed_keys)
    assert changed and other.scenario.chain[0] == "base"
    seeds = {parse_seed_file_key(k) for k in changed} - {None}
    for key in set(base.inputs) - changed:
        assert base.inputs[key] == other.inputs[key], key
    inputs = {k: (other.inputs[k] if k in changed else x) for k, x in base.inputs.items()}
    seeded = {sq: (other.seeds[sq] if (sq[0], sq[1].label) in seeds else x) for sq, x in base.seeds.items()}
    overlaid = dataclasses.replace(base, inputs=inputs, seeds=seeded)
    p, q = project(overlaid), project(other)
    for name in q.series:
        np.testing.assert_array_equal(p[name], q[name], err_msg=name)
    assert any(
        not np.array_equal(project(base)[k], q[k], equal_nan=True) for k in q.series
    )  # the overlay changes something


def test_a_changed_number_fails_and_leaves_the_actual_table(tmp_path):
    """The engine has no numeric constants of its own (every number is an input), so the
    change is made to one input, as a changed constant would show."""
    shutil.copy(golden.GOLDEN / "fy.csv", tmp_path / "fy.csv")
    from pivotmodel.assumptions import load
    from pivotmodel.model import project
    from pivotmodel.tables import segment_table

    a = load(golden.FROZEN)
    changed = a.with_values(**{"capex.plan.total": a.inputs["capex.plan.total"].base_value * 1.1})
    problems = golden.compare(segment_table(project(changed), basis="fy"), "fy", folder=tmp_path)
    assert problems and any("Capex" in p or "capex" in p for p in problems)
    assert (tmp_path / "fy.actual.csv").is_file()
    assert not golden.compare(golden.table("fy"), "fy", folder=tmp_path)  # the unchanged engine passes
    assert not (tmp_path / "fy.actual.csv").exists()  # and the stale actual is removed

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

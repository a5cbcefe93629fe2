"""A child segment under All others, declared as data only (in a copy of the frozen fixture):
``segments.yaml`` (the declaration), ``<id>.yaml`` (its inputs) and ``history/children.csv``
(its estimated history). No Python changes: validate, project and simulate run; the children
plus the residual equal the parent in every reported and projected quarter; the group's
identities hold; estimates that break the parent identity are refused with a located message.

The figures are a test fixture, not sourced estimates of Cainiao.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import copy_assumptions

import pivotmodel.assumptions as assumptions_mod
from pivotmodel.cli import main
from pivotmodel.errors import InputError
from pivotmodel.model import project
from pivotmodel.model.group import SEGMENTS
from pivotmodel.schema import OWN_AI_SEGMENTS, child_parameters, segment
from pivotmodel.simulate import simulate

PARENT = OWN_AI_SEGMENTS[0]  # all_others: the segment that can hold children and bears own-AI depreciation
CHILD_ID = "toy_logistics"
HEADER = "period,segment,metric,value,unit,basis,source,note\n"
# base quarters FY2026Q1..Q4: toy revenue 20,000 / 21,000 / 22,000 / 23,000, EBITA 400 a quarter
# where All others' EBITA is reported (not FY2026Q1)
ESTIMATES = {
    "FY2026Q1": (20_000, None),
    "FY2026Q2": (21_000, 400),
    "FY2026Q3": (22_000, 400),
    "FY2026Q4": (23_000, 400),
}


def _rows(estimates: dict[str, tuple[float, float]]) -> str:
    note = "test fixture: a made-up allocation (not a sourced estimate)"
    return HEADER + "".join(
        f"{q},{CHILD_ID},{m},{x},RMB_mn,estimate,pivotmodel_judgement,{note}\n"
        for q, (rev, ebita) in estimates.items()
        for m, x in (("revenue", rev), ("adjusted_ebita", ebita))
        if x is not None
    )


def _child_folder(tmp_path, estimates=ESTIMATES):
    folder = copy_assumptions(tmp_path)
    (folder / "segments.yaml").write_text(
        "segments:\n"
        f"  {CHILD_ID}: {{label: Toy logistics, parent: {PARENT}, basis: estimated, driver: growth_segments}}\n",
        encoding="utf-8",
    )
    spec = "{dist: triangular, low: %s, mode: %s, high: %s, unit: %s, basis: estimate, source: pivotmodel_judgement}"
    (folder / f"{CHILD_ID}.yaml").write_text(
        f"{CHILD_ID}:\n"
        "  revenue:\n    growth:\n"
        f"      start: {spec % (0.05, 0.10, 0.15, 'ratio')}\n"
        f"      long_run: {spec % (0.02, 0.05, 0.08, 'ratio')}\n"
        f"      half_life: {spec % (2, 4, 8, 'quarters')}\n"
        "  margin:\n"
        f"    start: {spec % (0.0, 0.02, 0.04, 'ratio')}\n"
        f"    long_run: {spec % (0.02, 0.05, 0.08, 'ratio')}\n"
        f"    half_life: {spec % (2, 4, 8, 'quarters')}\n",
        encoding="utf-8",
    )
    (folder / "history" / "children.csv").write_text(_rows(estimates), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def child_folder(tmp_path_factory):
    return _child_folder(tmp_path_factory.mktemp("tree"))


def test_the_commands_run_with_only_the_declaration_its_inputs_and_its_rows(child_folder, capsys, tmp_path):
    assert main(["validate", "--assumptions", str(child_folder)]) == 0
    assert main(["project", "--assumptions", str(child_folder), "--format", "csv"]) == 0
    assert (
        main(
            [
                "simulate",
                "--assumptions",
                str(child_folder),
                "--draws",
                "200",
                "--jobs",
                "1",
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 0
    )
    assert "Traceback" not in capsys.readouterr().err
    a = assumptions_mod.load(child_folder)
    assert {c.id for c in a.children} == {CHILD_ID}
    assert set(child_parameters(a.children[0])) <= set(a.inputs)  # the keys generated from the declaration


def test_children_plus_residual_equal_the_parent_in_every_quarter(child_folder):
    a = assumptions_mod.load(child_folder)
    p = project(a)
    reported = p.timeline.position(p.first_projected)
    for metric, residual in (("revenue", "residual_revenue"), ("adjusted_ebita", "residual_ebita")):
        parent, child, rest = p[f"{PARENT}.{metric}"], p[f"{CHILD_ID}.{metric}"], p[f"{PARENT}.{residual}"]
        known = ~np.isnan(child[0, :reported])  # reported quarters with an estimate
        assert known.sum() == (4 if metric == "revenue" else 3)
        np.testing.assert_allclose((child + rest)[:, :reported][:, known], parent[:, :reported][:, known], rtol=1e-12)
        np.testing.assert_allclose((child + rest)[:, reported:], parent[:, reported:], rtol=1e-12)
    # the parent's reported history is untouched; the child's history is its estimates
    base = [a.history.last_quarter + k for k in (-3, -2, -1, 0)]
    cols = [p.timeline.position(q) for q in base]
    np.testing.assert_array_equal(
        p[f"{PARENT}.revenue"][0, cols], [a.history.value(f"{PARENT}.revenue", q) for q in base]
    )
    np.testing.assert_array_equal(p[f"{CHILD_ID}.revenue"][0, cols], [ESTIMATES[q.label][0] for q in base])
    # first projected quarter: the child grows 10% on FY2026Q1's 20,000 = 22,000
    assert p[f"{CHILD_ID}.revenue"][0, reported] == pytest.approx(22_000.0)
    # the group's identity: segments (the parent includes its children once) + elimination = group
    total = sum(p[f"{s}.revenue"][:, reported:] for s in SEGMENTS) + p["group.elimination"][:, reported:]
    np.testing.assert_allclose(total, p["group.revenue"][:, reported:], rtol=1e-9)


def test_a_bundled_run_is_unchanged_by_the_machinery(bundled, child_folder):
    """Without a declaration the parent is projected as before; with one, only the split moves
    (the parent's paths now grow the residual), and a child with the parent's paths would give
    the parent's numbers back - checked on revenue, where no own-AI depreciation enters."""
    a = assumptions_mod.load(child_folder)
    same = a.with_values(
        **{
            f"{CHILD_ID}.revenue.growth.{k}": a.inputs[f"{PARENT}.revenue.growth.{k}"].base_value
            for k in ("start", "long_run", "half_life")
        }
    )
    np.testing.assert_allclose(project(same)[f"{PARENT}.revenue"], project(bundled)[f"{PARENT}.revenue"], rtol=1e-12)


def test_a_run_of_draws_keeps_the_identity(child_folder):
    a = assumptions_mod.load(child_folder)
    r = simulate(
        a,
        draws=256,
        seed=5,
        jobs=1,
        progress=False,
        keep=[f"{PARENT}.revenue", f"{CHILD_ID}.revenue", f"{PARENT}.residual_revenue"],
    )
    q = r.quantiles("fy")
    assert {f"{CHILD_ID}.revenue", f"{PARENT}.residual_revenue"} <= set(q.index.get_level_values(0))


@pytest.mark.parametrize(
    ("estimates", "where", "message"),
    [
        # 70,000 > All others' reported 58,600 in FY2026Q1: the residual would be negative
        (
            {**ESTIMATES, "FY2026Q1": (70_000, None)},
            ":2: FY2026Q1,revenue:",
            f"the children of {PARENT} ({CHILD_ID}) sum to 70,000 in FY2026Q1, more than its reported revenue 58,600",
        ),
        # a base quarter without an estimate: nothing to grow the child from
        (
            {q: x for q, x in ESTIMATES.items() if q != "FY2026Q3"},
            ": FY2026Q3,toy_logistics,revenue:",
            f"missing row: the model grows {CHILD_ID}.revenue from its estimates in the four base quarters "
            "FY2026Q1..FY2026Q4",
        ),
        # an estimate where the parent is not reported (the four-segment All others starts in FY2026)
        (
            {"FY2025Q4": (1_000, None), **ESTIMATES},
            ":2: FY2025Q4,toy_logistics,revenue:",
            f"{PARENT}.revenue has no reported value in FY2025Q4: a child's estimates must sit inside its parent's "
            "reported quarters",
        ),
    ],
)
def test_estimates_that_break_the_parent_identity_are_refused_with_a_located_message(
    tmp_path, estimates, where, message
):
    folder = _child_folder(tmp_path, estimates)
    with pytest.raises(InputError) as exc:
        assumptions_mod.load(folder)
    text = str(exc.value)
    assert f"assumptions/history/children.csv{where} {message}" in text, text


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        (
            "  cloud_ai: {label: X, parent: cloud, basis: estimated}\n",
            "segments.cloud_ai.parent: 'cloud' cannot hold children; parents: international, all_others",
        ),
        (f"  {CHILD_ID}: {{label: X, parent: {PARENT}, basis: reported}}\n", "a child's history is 'estimated'"),
        (
            "  cloud: {label: X, parent: all_others, basis: estimated}\n",
            "a child id is lower_snake_case and not one of",
        ),
    ],
)
def test_a_bad_declaration_is_one_located_message(tmp_path, declaration, message):
    folder = _child_folder(tmp_path)
    (folder / "segments.yaml").write_text("segments:\n" + declaration, encoding="utf-8")
    with pytest.raises(InputError) as exc:
        assumptions_mod.load(folder)
    assert "assumptions/segments.yaml:2:" in str(exc.value) and message in str(exc.value), str(exc.value)
    assert segment(PARENT).charges_own_ai


def test_as_of_a_past_quarter_hides_later_estimates_like_later_history(child_folder, capsys):
    # as of FY2026Q4 (the last reported) nothing is hidden; the FY2026Q4 estimate is read
    a = assumptions_mod.load(child_folder, as_of=assumptions_mod.parse_quarter("FY2026Q4"))
    assert assumptions_mod.parse_quarter("FY2026Q4") in a.estimates[f"{CHILD_ID}.revenue"]
    # as of FY2026Q3 the base quarters start in FY2025Q4, before the four-segment All others:
    # refused as too early (the reported segments' check), never for the hidden FY2026Q4 estimate
    assert main(["validate", "--assumptions", str(child_folder), "--as-of", "FY2026Q3"]) == 2
    err = capsys.readouterr().err
    assert "is too early" in err and "FY2026Q4,toy_logistics" not in err

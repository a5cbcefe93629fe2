"""Children of All others beyond a growth path (issue 23), on a copy of the frozen fixture:
a ``loss_path`` child (no revenue line: a quarterly EBITA level) that bears the own-AI
depreciation (``own_ai: true``), next to a growth child; removing a child folds it into the
residual without changing the parent; estimates and declarations that break the tree are
refused with a located message.

The figures are test fixtures, not sourced estimates.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import copy_assumptions

import pivotmodel.assumptions as assumptions_mod
from pivotmodel.errors import InputError
from pivotmodel.model import project
from pivotmodel.periods import parse_quarter

PARENT = "all_others"
HEADER = "period,segment,metric,value,unit,basis,source,note\n"
NOTE = "test fixture: a made-up allocation (not a sourced estimate)"
# toy_freight (growth): revenue 10,000 a quarter, EBITA 100 where All others' EBITA is reported
FREIGHT = [
    (q, "toy_freight", m, x)
    for q in ("FY2026Q1", "FY2026Q2", "FY2026Q3", "FY2026Q4")
    for m, x in (("revenue", 10_000), ("adjusted_ebita", 100))
    if (q, m) != ("FY2026Q1", "adjusted_ebita")
]
# toy_ai (loss path): EBITA only, -2,000 / -4,000 / -8,000 in FY2026Q2..Q4
AI = [(q, "toy_ai", "adjusted_ebita", x) for q, x in (("FY2026Q2", -2_000), ("FY2026Q3", -4_000), ("FY2026Q4", -8_000))]
FIXED = "{dist: fixed, value: %s, unit: %s, basis: estimate, source: pivotmodel_judgement}"


def _folder(tmp_path, own_ai=True, rows=None, declare=("toy_freight", "toy_ai"), q1=False):
    """``q1``: add All others' FY2026Q1 EBITA (-1,869, derived as in the live reported.csv) and
    the children's estimates there (100 and -1,000), so every FY2026 total is whole."""
    folder = copy_assumptions(tmp_path)
    if q1:
        with (folder / "history" / "reported.csv").open("a", encoding="utf-8") as fh:
            fh.write("FY2026Q1,All others,adjusted_ebita,-1869,RMB_mn,derived,test,test fixture: the year less Q2-Q4\n")
        rows = (
            FREIGHT
            + AI
            + [("FY2026Q1", "toy_freight", "adjusted_ebita", 100), ("FY2026Q1", "toy_ai", "adjusted_ebita", -1_000)]
        )
    decl = {
        "toy_freight": "  toy_freight: {label: Toy freight, parent: all_others, basis: estimated}\n",
        "toy_ai": "  toy_ai: {label: Toy AI, parent: all_others, basis: estimated, driver: loss_path, "
        f"own_ai: {str(own_ai).lower()}}}\n",
    }
    (folder / "segments.yaml").write_text("segments:\n" + "".join(decl[c] for c in declare), encoding="utf-8")
    if "toy_freight" in declare:
        (folder / "toy_freight.yaml").write_text(
            "toy_freight:\n  revenue:\n    growth:\n"
            + "".join(
                f"      {k}: {FIXED % (x, u)}\n"
                for k, x, u in (("start", 0.1, "ratio"), ("long_run", 0.05, "ratio"), ("half_life", 4, "quarters"))
            )
            + "  margin:\n"
            + "".join(
                f"    {k}: {FIXED % (x, u)}\n"
                for k, x, u in (("start", 0.01, "ratio"), ("long_run", 0.01, "ratio"), ("half_life", 4, "quarters"))
            ),
            encoding="utf-8",
        )
    if "toy_ai" in declare:
        (folder / "toy_ai.yaml").write_text(
            "toy_ai:\n  loss:\n"
            + "".join(
                f"    {k}: {FIXED % (x, u)}\n"
                for k, x, u in (
                    ("start", -10_000, "RMB_mn"),
                    ("long_run", -2_000, "RMB_mn"),
                    ("half_life", 4, "quarters"),
                )
            ),
            encoding="utf-8",
        )
    rows = [r for r in (FREIGHT + AI if rows is None else rows) if r[1] in declare]
    (folder / "history" / "children.csv").write_text(
        HEADER + "".join(f"{q},{c},{m},{x},RMB_mn,estimate,pivotmodel_judgement,{NOTE}\n" for q, c, m, x in rows),
        encoding="utf-8",
    )
    return folder


def test_a_loss_path_child_is_a_level_path_with_no_revenue(tmp_path):
    p = project(assumptions_mod.load(_folder(tmp_path, own_ai=False)))
    first = p.timeline.position(p.first_projected)
    assert "toy_ai.revenue" not in p.series
    # -2,000 + (-10,000 + 2,000) x 0.5 ** (t / 4): t = 0 -> -10,000; t = 4 -> -6,000; t = 8 -> -4,000
    np.testing.assert_allclose(p["toy_ai.adjusted_ebita"][0, first + np.array([0, 4, 8])], [-10_000, -6_000, -4_000])
    # its history is its estimates (none in FY2026Q1, where the parent's EBITA is a gap)
    cols = [p.timeline.position(parse_quarter(q)) for q in ("FY2026Q2", "FY2026Q3", "FY2026Q4")]
    np.testing.assert_array_equal(p["toy_ai.adjusted_ebita"][0, cols], [-2_000, -4_000, -8_000])
    # the residual's revenue is the parent's less the growth child's only: FY2026Q2 62,969 - 10,000
    assert p[f"{PARENT}.residual_revenue"][0, cols[0]] == 52_969
    # its EBITA: FY2026Q4 All others -20,698 less 100 (freight) less -8,000 (AI) = -12,798
    assert p[f"{PARENT}.residual_ebita"][0, cols[2]] == -12_798


def test_the_child_that_bears_own_ai_depreciation_adds_back_its_exit_charge(tmp_path):
    off = project(assumptions_mod.load(_folder(tmp_path / "off", own_ai=False)))
    on = project(assumptions_mod.load(_folder(tmp_path / "on", own_ai=True)))
    first = on.timeline.position(on.first_projected)
    charge = on[f"{PARENT}.ai_depreciation"][0, first:]
    np.testing.assert_array_equal(charge, off[f"{PARENT}.ai_depreciation"][0, first:])
    assert np.all(charge > 0)
    # the child's EBITA before the charge exceeds the path without it by the exit charge A
    # (the mean own-AI depreciation of FY2026Q3-Q4), which decays with the path: A x 0.5 ** (t / 4)
    lift = on["toy_ai.adjusted_ebita"][0, first:] + charge - off["toy_ai.adjusted_ebita"][0, first:]
    assert lift[0] > 0
    np.testing.assert_allclose(lift[[4, 8]], [lift[0] / 2, lift[0] / 4], rtol=1e-9)
    # the residual no longer bears it: its EBITA is its margin x its revenue (no add-back, no charge)
    residual_on = on[f"{PARENT}.residual_ebita"][0, first:]
    residual_off = off[f"{PARENT}.residual_ebita"][0, first:]
    assert np.all(residual_on > residual_off)


def test_removing_a_child_folds_it_into_the_residual_without_changing_the_parent(tmp_path):
    both = project(assumptions_mod.load(_folder(tmp_path / "both")))
    alone = project(assumptions_mod.load(_folder(tmp_path / "alone", declare=("toy_ai",))))
    reported = both.timeline.position(both.first_projected)
    for metric, residual in (("revenue", "residual_revenue"), ("adjusted_ebita", "residual_ebita")):
        np.testing.assert_array_equal(
            alone[f"{PARENT}.{metric}"][:, :reported], both[f"{PARENT}.{metric}"][:, :reported]
        )
        folded = both[f"{PARENT}.{residual}"][:, :reported] + both[f"toy_freight.{metric}"][:, :reported]
        known = ~np.isnan(folded)
        assert known.sum() == (4 if metric == "revenue" else 3)
        np.testing.assert_allclose(alone[f"{PARENT}.{residual}"][:, :reported][known], folded[known], rtol=1e-12)
    assert "toy_freight.revenue" not in alone.series


@pytest.mark.parametrize(
    ("rows", "where", "message"),
    [
        # a revenue row for the loss-path child: it has no revenue line
        (
            FREIGHT + AI + [("FY2026Q2", "toy_ai", "revenue", 500)],
            ":12: FY2026Q2,toy_ai,revenue:",
            "metric must be one of toy_ai's lines: adjusted_ebita",
        ),
        # the children's revenue above the parent's: FY2026Q3 70,000 > 67,339 (the loss child adds no revenue)
        (
            [(q, c, m, 70_000 if (q, m) == ("FY2026Q3", "revenue") else x) for q, c, m, x in FREIGHT] + AI,
            ":5: FY2026Q3,revenue:",
            "the children of all_others (toy_freight, toy_ai) sum to 70,000 in FY2026Q3, "
            "more than its reported revenue 67,339",
        ),
        # an EBITA estimate where the parent's EBITA is a gap (All others FY2026Q1)
        (
            FREIGHT + AI + [("FY2026Q1", "toy_ai", "adjusted_ebita", -1_000)],
            ":12: FY2026Q1,toy_ai,adjusted_ebita:",
            "all_others.adjusted_ebita has no reported value in FY2026Q1",
        ),
    ],
)
def test_estimates_that_break_the_tree_are_refused_with_a_located_message(tmp_path, rows, where, message):
    with pytest.raises(InputError) as exc:
        assumptions_mod.load(_folder(tmp_path, rows=rows))
    assert f"assumptions/history/children.csv{where} {message}" in str(exc.value), str(exc.value)


def test_own_ai_is_borne_by_one_child_under_the_charged_segment(tmp_path):
    folder = _folder(tmp_path)
    text = (folder / "segments.yaml").read_text(encoding="utf-8")
    (folder / "segments.yaml").write_text(
        text.replace("basis: estimated}", "basis: estimated, own_ai: true}"), encoding="utf-8"
    )
    with pytest.raises(InputError) as exc:
        assumptions_mod.load(folder)
    assert (
        "assumptions/segments.yaml:3: segments.toy_ai.own_ai: only one child bears the own-AI depreciation; "
        "toy_freight, toy_ai all say own_ai: true"
    ) in str(exc.value), str(exc.value)
    (folder / "segments.yaml").write_text(
        "segments:\n  toy_freight: {label: X, parent: international, basis: estimated, own_ai: true}\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as exc:
        assumptions_mod.load(folder)
    assert (
        "assumptions/segments.yaml:2: segments.toy_freight.own_ai: True: true or false, and true only under the "
        "segment charged with own-AI depreciation (all_others)"
    ) in str(exc.value), str(exc.value)


def test_the_waterfall_closes_and_the_report_section_draws_each_child(tmp_path):
    from pivotmodel import charts as C
    from pivotmodel.report_children import children_section
    from pivotmodel.simulate import simulate

    a = assumptions_mod.load(_folder(tmp_path, q1=True))
    r = simulate(a, draws=64, seed=3, jobs=1, progress=False)
    wf = C.children_waterfall_data(r, a.children)
    for metric, parts in (
        ("revenue", ["Toy freight", "Residual"]),
        ("adjusted_ebita", ["Toy freight", "Toy AI", "Residual"]),
    ):
        d = wf[wf["metric"] == metric]
        assert list(d["step"]) == [
            "All others FY2026",
            *parts,
            "All others FY2027",
        ]  # no revenue step for the loss child
        first, *changes, last = d["value"]
        assert first + sum(changes) == pytest.approx(last, rel=1e-12)  # means add up: the steps close on the parent
    # FY2026 EBITA: All others -35,737 = toy freight 400 + toy AI -15,000 (-1,000 - 2,000 - 4,000 - 8,000) + residual
    assert wf.loc[wf["step"] == "All others FY2026", "value"].iloc[1] == pytest.approx(-35.737)
    fans = C.children_fans_data(r, a.children)
    assert list(dict.fromkeys(fans["part"])) == ["Toy freight", "Toy AI", "Residual"]
    for sub in ("data", "charts"):
        (tmp_path / "rep" / sub).mkdir(parents=True)
    html, md = children_section(a, r, tmp_path / "rep", "test")
    assert "All others by business" in html and md[1].startswith("## All others by business")
    assert {p.name for p in (tmp_path / "rep" / "charts").iterdir()} == {
        f"all_others_{n}.{x}" for n in ("waterfall", "fans") for x in ("png", "svg")
    }

"""Unreported lines carried on when `pivotmodel update` appends a quarter: every claim that was
evaluable before stays evaluable, on estimates written by the rules of pivotmodel.update, and
an update whose rule lacks its inputs is refused without changing a file.

The appended quarter is SYNTHETIC (tests/fixtures/update/next_quarter_full.csv: FY2026Q4 x 1.05,
every line Alibaba reports, no estimate row), on a copy of a frozen copy of the bundled folder
(tests/fixtures/frozen_children).
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
from conftest import FROZEN_CHILDREN

import pivotmodel.assumptions as assumptions_mod
from pivotmodel.cli import main
from pivotmodel.periods import Quarter
from pivotmodel.simulate import simulate

FULL = Path(__file__).parent / "fixtures" / "update" / "next_quarter_full.csv"
RUN = {"draws": 200, "seed": 4, "method": "mc", "jobs": 1, "progress": False}


@pytest.fixture
def folder(tmp_path) -> Path:
    out = tmp_path / "assumptions"
    shutil.copytree(FROZEN_CHILDREN, out)
    return out


def test_appending_a_quarter_keeps_every_evaluable_claim_evaluable(folder, tmp_path, capsys):
    before = simulate(assumptions_mod.load(folder), **RUN).claims_table()
    assert (
        main(["update", str(FULL), "--assumptions", str(folder), "--draws", "200", "--out", str(tmp_path / "u")]) == 0
    )
    out = capsys.readouterr().out
    assert (
        "on estimates: 6 unreported lines carried on" in out and "china_ecommerce.quick_commerce_ebita.FY2027Q1" in out
    )
    a = assumptions_mod.load(folder)
    assert a.history.last_quarter == Quarter(2027, 1)
    after = simulate(a, **RUN).claims_table()
    lost = [
        c
        for c in before.index
        if not math.isnan(before.loc[c, "probability"]) and math.isnan(after.loc[c, "probability"])
    ]
    assert lost == []
    for cid in (
        "burn_usd11bn_qc_losses_cumulative_fy2026",
        "qc_sep2025_peak_loss_quarter",
        "qc_loss_per_order_halved_fy2027",
        "ai_main_engine_cloud_growth_fy2027",
    ):
        assert "on estimates" in after.loc[cid, "status"], cid
    # FY2027Q1 quick-commerce EBITA by the written rule: segment 25,224 less core EBITA a year earlier
    # (38,389 less the FY2026Q1 seed's median) x 1.05
    row = a.history.estimates["china_ecommerce.quick_commerce_ebita"][Quarter(2027, 1)]
    seed = (
        assumptions_mod.load(FROZEN_CHILDREN)
        .seeds[("china_ecommerce.quick_commerce_ebita", Quarter(2026, 1))]
        .base_value
    )
    assert row.value == pytest.approx(25_224 - (38_389 - seed) * 1.05, abs=0.5)
    assert row.basis == "estimate" and row.spread == pytest.approx(0.2 * abs(row.value), abs=0.5)
    # FY2026Q1 left the base window: its external cloud revenue keeps the model's base case
    assert not math.isnan(a.history.value_or_estimate("cloud.external_revenue", Quarter(2026, 1)))


def test_a_refused_update_lists_the_estimate_rows_and_changes_no_file(folder, tmp_path, capsys):
    rows = tmp_path / "rows.csv"
    rows.write_text(
        "".join(
            line
            for line in FULL.read_text(encoding="utf-8").splitlines(keepends=True)
            if "customer_management_revenue" not in line
        ),
        encoding="utf-8",
    )
    files = {p: p.read_bytes() for p in (folder / "history").iterdir()}
    assert (
        main(["update", str(rows), "--assumptions", str(folder), "--draws", "200", "--out", str(tmp_path / "u")]) == 2
    )
    err = capsys.readouterr().err
    assert (
        "not reported and no rule can estimate it; add this row to history/estimates.csv (or report the figure "
        "in rows.csv): FY2027Q1,Alibaba China E-commerce Group,customer_management_revenue,<value>,RMB_mn,"
        "estimate,<source>,<how it was estimated>,<spread>,<valid_from> (needs the reported YoY % (cmr_yoy_pct "
        "row))"
    ) in err
    assert {p: p.read_bytes() for p in (folder / "history").iterdir()} == files
    assert not (tmp_path / "u").exists()


def test_appending_a_quarter_carries_each_child_of_all_others_on_by_its_share(folder, tmp_path, capsys):
    before = assumptions_mod.load(folder)
    assert (
        main(["update", str(FULL), "--assumptions", str(folder), "--draws", "200", "--out", str(tmp_path / "u")]) == 0
    )
    assert "child rows carried on" in capsys.readouterr().out
    a = assumptions_mod.load(folder)
    q4, q1 = Quarter(2026, 4), Quarter(2027, 1)
    new_parent = a.history.value("all_others.revenue", q1)
    for c in before.children:
        if "revenue" in c.lines:
            # revenue: the child's FY2026Q4 share of All others x the reported FY2027Q1 All others
            share = before.estimates[f"{c.id}.revenue"][q4] / before.history.value("all_others.revenue", q4)
            assert a.estimates[f"{c.id}.revenue"][q1] == round(share * new_parent), c.id
        if f"{c.id}.adjusted_ebita" in before.estimates and "revenue" not in c.lines:
            # a loss path (consumer AI): held at its FY2026Q4 EBITA
            assert a.estimates[f"{c.id}.adjusted_ebita"][q1] == round(before.estimates[f"{c.id}.adjusted_ebita"][q4])
    # the children still sit inside the parent
    children_revenue = sum(a.estimates[f"{c.id}.revenue"][q1] for c in a.children if "revenue" in c.lines)
    assert children_revenue < new_parent


def test_an_as_of_run_before_the_children_history_fills_their_base_quarters_by_share():
    a = assumptions_mod.load(FROZEN_CHILDREN, as_of=Quarter(2025, 4))
    full = assumptions_mod.load(FROZEN_CHILDREN)
    first = Quarter(2026, 1)  # the first quarter the children are estimated in
    for c in (c for c in full.children if "revenue" in c.lines):
        share = full.estimates[f"{c.id}.revenue"][first] / full.history.value("all_others.revenue", first)
        for q in (Quarter(2025, k) for k in range(1, 5)):
            assert a.estimates[f"{c.id}.revenue"][q] == pytest.approx(share * a.history.value("all_others.revenue", q))

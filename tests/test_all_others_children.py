"""All others by business (issue 23): the six children declared in ``segments.yaml`` with their
estimates in ``history/children.csv``, on a frozen copy of the bundled folder
(``tests/fixtures/frozen_children``, see ``tests/conftest.py``): the identities (children plus
residual = reported All others in every reported quarter; FY2027 = the sum of its parts) and
hand-worked values from the estimates the rows were built from (their arithmetic is in each
row's note). The live folder's identities, with no value pinned, are in ``test_bundled.py``.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest
import yaml
from conftest import FROZEN_CHILDREN

import pivotmodel.assumptions as assumptions_mod
from pivotmodel.model import project
from pivotmodel.periods import parse_quarter

LIVE = FROZEN_CHILDREN  # a frozen copy of the bundled folder with the children (tests/conftest.py)
PARENT = "all_others"
CHILDREN = ("cainiao", "amap", "hujing", "freshippo", "dingtalk", "consumer_ai")
FY2026 = ("FY2026Q1", "FY2026Q2", "FY2026Q3", "FY2026Q4")


@pytest.fixture(scope="module")
def live():
    return assumptions_mod.load(LIVE)


@pytest.fixture(scope="module")
def projection(live):
    return project(live)


def test_the_children_are_declared_with_their_inputs(live):
    assert tuple(c.id for c in live.children) == CHILDREN
    assert {c.parent for c in live.children} == {PARENT}
    (bearer,) = [c for c in live.children if c.own_ai]  # the own-AI compute charge sits in one child
    assert (bearer.id, bearer.driver, bearer.lines) == ("consumer_ai", "loss_path", ("adjusted_ebita",))


def test_children_plus_residual_equal_reported_all_others_in_every_reported_quarter(live, projection):
    p = projection
    for metric, residual in (("revenue", "residual_revenue"), ("adjusted_ebita", "residual_ebita")):
        checked = 0
        for label in FY2026:
            q = parse_quarter(label)
            reported = live.history.value(f"{PARENT}.{metric}", q)
            col = p.timeline.position(q)
            parts = [p[f"{c}.{metric}"][0, col] for c in CHILDREN if f"{c}.{metric}" in p.series]
            assert sum(parts) + p[f"{PARENT}.{residual}"][0, col] == pytest.approx(reported, abs=1e-6), (metric, label)
            assert p[f"{PARENT}.{metric}"][0, col] == reported  # the parent's history is untouched
            checked += 1
        assert checked == 4  # FY2026Q1 EBITA -1,869 is derived: FY2026 -35,737 less Q2-Q4 (reported.csv)


def test_residual_by_hand(live, projection):
    p, col = projection, projection.timeline.position(parse_quarter("FY2026Q1"))
    # FY2026Q1 revenue: 58,600 - (24,130 + 3,540 + 5,916 + 15,852 + 468) = 8,694
    assert p[f"{PARENT}.residual_revenue"][0, col] == 8_694
    # FY2026Q4 EBITA: -20,698 - (-540 + 0 + 42 + 177 + 0 - 17,946) = -2,431
    col = p.timeline.position(parse_quarter("FY2026Q4"))
    assert p[f"{PARENT}.residual_ebita"][0, col] == -2_431
    # consumer AI FY2026Q4: the All-others loss step-up over Q1 (20,698 - 1,869 implied = 18,829);
    # -(1,000 + 0.9 x 18,829) = -17,946 (the RMB3bn Qwen campaign inside it)
    assert p["consumer_ai.adjusted_ebita"][0, col] == -17_946


def test_fy2027_all_others_is_the_sum_of_its_parts(projection):
    p = projection
    for metric, residual in (("revenue", "residual_revenue"), ("adjusted_ebita", "residual_ebita")):
        parts = sum(p.total(f"{c}.{metric}", "FY2027") for c in CHILDREN if f"{c}.{metric}" in p.series)
        np.testing.assert_allclose(
            parts + p.total(f"{PARENT}.{residual}", "FY2027"), p.total(f"{PARENT}.{metric}", "FY2027"), rtol=1e-12
        )
    # FY2026 by business (estimates; the residual derived): the year sums to the reported -35,737
    fy2026 = {c: float(p.total(f"{c}.adjusted_ebita", "FY2026")[0]) for c in CHILDREN}
    assert fy2026 == {
        "cainiao": -2_532,
        "amap": -1_000,
        "hujing": 170,
        "freshippo": 688,
        "dingtalk": 0,
        "consumer_ai": -28_535,
    }
    assert float(p.total(f"{PARENT}.residual_ebita", "FY2026")[0]) + sum(fy2026.values()) == -35_737


def test_every_estimate_row_cites_a_registered_source_and_says_its_arithmetic():
    sources = set(yaml.safe_load((LIVE / "sources.yaml").read_text(encoding="utf-8"))["sources"])
    with (LIVE / "history" / "children.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 44  # 5 children x (4 revenue + 4 EBITA) + consumer AI's 4 EBITA
    assert {r["source"] for r in rows} - sources == set()
    assert all(r["note"].strip() and r["basis"] == "estimate" for r in rows)
    assert {r["segment"] for r in rows} == set(CHILDREN)


def test_claims_on_a_childs_estimated_history_are_labelled_on_estimates(live):
    from pivotmodel.claim_status import ESTIMATES, claim_statuses

    claims = {c.id: c for c in live.claims}
    statuses = claim_statuses(live, list(claims.values()))

    def _reads_estimates(_, claim) -> bool:
        return statuses[claim.id].status == ESTIMATES or ESTIMATES in " ".join(statuses[claim.id].notes)

    # FY2026 consumer AI and FY2026Q4 are estimated history; Freshippo's FY2027 is projection only;
    # the All-others claims read the reported parent
    assert _reads_estimates(live, claims["consumer_ai_burn_halves_fy2028"])
    assert _reads_estimates(live, claims["qwen_spring_campaign_one_off_fy2027q4"])
    assert not _reads_estimates(live, claims["freshippo_profitable_fy2027"])
    assert not _reads_estimates(live, claims["all_others_loss_widens_fy2026q3"])


def test_project_marks_the_childrens_reported_columns_as_estimates(capsys):
    """Alibaba reports only All others: in `pivotmodel project` every child's and the residual's
    cell in a column with reported quarters is marked (e), with one footnote naming them and the
    file; projected columns are not marked. FY2026 Cainiao revenue = the four children.csv rows:
    24,130 + 22,182 + 25,417 + 19,440 = 91,169, printed 91.2."""
    from pivotmodel.cli import main

    with open(LIVE / "history" / "children.csv", encoding="utf-8") as f:
        rows = {
            r["period"]: float(r["value"])
            for r in csv.DictReader(f)
            if r["segment"] == "cainiao" and r["metric"] == "revenue"
        }
    assert sum(rows[q] for q in FY2026) == 91_169
    assert main(["project", "--assumptions", str(LIVE)]) == 0
    out = capsys.readouterr().out
    (cainiao,) = [line for line in out.splitlines() if "Cainiao: revenue" in line]
    cells = cainiao.split("(RMB bn)")[1].split()
    # FY2024 n/a, FY2025 n/a, FY2026 "<value> (e)", then five projected years unmarked
    assert cells[:2] == ["n/a", "n/a"] and cells[3] == "(e)"
    assert float(cells[2]) == pytest.approx(sum(rows[q] for q in FY2026) / 1000, abs=0.05)
    assert "(e)" not in cells[4:]
    (residual,) = [line for line in out.splitlines() if "Residual: adj. EBITA" in line]
    assert residual.count("(e)") == 1
    assert (
        "(e) on the businesses inside a segment (Cainiao, Amap, Hujing (DME), Freshippo, DingTalk, Consumer AI, "
        "Residual) in columns with reported quarters: estimated history (assumptions/history/children.csv" in out
    )

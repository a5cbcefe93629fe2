"""The live bundled assumptions (the folder analysts edit): the only tests that read it.

They check that it validates, runs and satisfies the identities, and pin none of its values,
so recalibrating an input or appending a quarter keeps them green."""

from __future__ import annotations

import numpy as np
import pytest

import pivotmodel.assumptions as assumptions_mod
from pivotmodel.cli import main
from pivotmodel.model import project
from pivotmodel.model.group import SEGMENTS
from pivotmodel.simulate import simulate

LIVE = assumptions_mod.bundled_directory()


@pytest.fixture(scope="module")
def live():
    return assumptions_mod.load(LIVE)


def test_the_bundled_folder_validates(capsys):
    assert main(["validate", "--assumptions", str(LIVE)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("OK: ") and "Traceback" not in err
    assert all(line.startswith("warning: ") for line in err.splitlines() if line.strip()), err


def test_segments_and_elimination_sum_to_the_group_and_shares_lie_in_0_1(live):
    p = project(live)
    first = p.timeline.position(p.first_projected)  # projected quarters (history has gaps by basis)
    total = sum(p[f"{s}.revenue"][:, first:] for s in SEGMENTS) + p["group.elimination"][:, first:]
    np.testing.assert_allclose(total, p["group.revenue"][:, first:], rtol=1e-9)
    for s in SEGMENTS:
        share = p.share(f"{s}.revenue", "group.revenue", "FY2028")
        assert np.all((share >= 0) & (share <= 1)), s


def test_a_small_run_evaluates_every_claim(live):
    r = simulate(live, draws=500, seed=1, jobs=1, progress=False)
    table = r.claims_table()
    assert list(table.index) == [c.id for c in r.claims]
    for cid, x in table.iterrows():  # a probability inside its interval, or a reason it has none
        if x["draws"] == 0:
            assert str(x["status"]).startswith("not evaluable"), cid
        else:
            assert 0 < x["draws"] <= 500 and 0 <= x["ci_low"] <= x["probability"] <= x["ci_high"] <= 1, cid


def test_declared_children_plus_residual_equal_their_parent_in_every_reported_quarter(live):
    # the identity of issue 23 on the live folder, whatever its estimates: in each quarter where
    # a child has estimates, children + residual = the parent's reported revenue and EBITA
    p = project(live)
    for parent in sorted({c.parent for c in live.children}):
        mine = [c for c in live.children if c.parent == parent]
        for metric, residual in (("revenue", "residual_revenue"), ("adjusted_ebita", "residual_ebita")):
            quarters = sorted({q for c in mine for q in live.estimates.get(f"{c.id}.{metric}", {})})
            assert quarters or metric == "adjusted_ebita", (parent, metric)
            for q in quarters:
                col = p.timeline.position(q)
                parts = sum(p[f"{c.id}.{metric}"][0, col] for c in mine if f"{c.id}.{metric}" in p.series)
                reported = live.history.value(f"{parent}.{metric}", q)
                assert parts + p[f"{parent}.{residual}"][0, col] == pytest.approx(reported, abs=1e-6), (metric, q)


def test_each_declared_disposal_is_the_gap_between_reported_and_like_for_like_growth(live):
    """history/perimeter.csv: a disposed revenue in a quarter is that quarter's group revenue less
    the next year's same quarter over (1 + its like-for-like growth), within the row's spread."""
    h = live.history
    revenue = {r.period: r.value for r in h.rows if r.segment == "Consolidated" and r.metric == "revenue"}
    lfl = {r.period: r.value for r in h.rows if r.segment == "Consolidated" and r.metric == "revenue_lfl_yoy_pct"}
    for c in (c for c in h.perimeter if c.series.endswith(".revenue")):
        later = (c.quarter + 4).label
        derived = revenue[c.quarter.label] - revenue[later] / (1 + lfl[later] / 100)
        assert abs(c.value - derived) <= 1 and c.spread > 0, c.quarter.label

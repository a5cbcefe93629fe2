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

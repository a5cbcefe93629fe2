"""The four-segment recast of FY2025 (history/estimates.csv and the recast rows of reported.csv),
as-of runs that start from it, and the backtest that scores the model from FY2025Q4.

A frozen copy of the bundled folder with the recast is read here (tests/fixtures/frozen_children;
the older frozen tree predates it); the figures asserted are worked out by hand from the rows' notes.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
from conftest import FROZEN_CHILDREN, edit_csv_row

import pivotmodel.assumptions as assumptions_mod
from pivotmodel.backtest import backtest_scores, verdicts
from pivotmodel.errors import InputError
from pivotmodel.periods import Quarter

BUNDLED = FROZEN_CHILDREN  # a frozen copy of the bundled folder with the recast (tests/conftest.py)
Q = Quarter


@pytest.fixture
def folder(tmp_path) -> Path:
    out = tmp_path / "assumptions"
    shutil.copytree(BUNDLED, out)
    return out


def _append(path: Path, line: str) -> int:
    """Append ``line`` to a CSV file; return its line number."""
    text = path.read_text(encoding="utf-8")
    path.write_text(text + line + "\n", encoding="utf-8")
    return len(text.splitlines()) + 1


def test_a_recast_row_without_a_source_is_refused(folder):
    line = _append(
        folder / "history" / "reported.csv",
        "FY2025Q3,Alibaba China E-commerce Group,revenue,152683,RMB_mn,reported,,comparative in the Dec-2025 release",
    )
    with pytest.raises(InputError) as exc:
        assumptions_mod.load(folder)
    [p] = [p for p in exc.value.problems if p.level == "error"]
    assert (p.file, p.key, p.line) == ("assumptions/history/reported.csv", "source", line)
    assert p.message == "every row needs a source"


@pytest.mark.parametrize(
    "edit, key, message",
    [
        (("source", ""), "source", "every row needs a source"),
        (
            ("basis", "reported"),
            "basis",
            "'reported': every row of estimates.csv has basis estimate "
            "(reported, derived and secondary rows go in reported.csv)",
        ),
        (
            ("valid_from", "soon"),
            "valid_from",
            "'soon' is not a date like 2026-05-20 (when the estimate could first have been written)",
        ),
        (("spread", "-5"), "spread", "'-5' is not a number >= 0 (the +- half-width, in the row's unit)"),
        (
            ("period", "FY2025Q2"),
            "period,segment,metric",
            "('FY2025Q2', 'Alibaba China E-commerce Group', 'revenue') is reported (assumptions/history/reported.csv "
            "line 202): remove the estimate",
        ),
    ],
)
def test_an_estimate_row_needs_basis_source_spread_and_date(folder, edit, key, message):
    edit_csv_row(folder / "history" / "estimates.csv", 0, {edit[0]: edit[1]})  # FY2025Q1 China E-commerce revenue
    with pytest.raises(InputError) as exc:
        assumptions_mod.load(folder)
    errors = [p for p in exc.value.problems if p.level == "error"]
    assert [(p.file, p.key, p.line, p.message) for p in errors] == [
        ("assumptions/history/estimates.csv", key, 2, message)
    ]


def test_the_recast_quarters_add_up_to_the_restated_years():
    h = assumptions_mod.load(BUNDLED).history
    for series, fy, annual, tol in [
        ("china_ecommerce.revenue", 2025, 508_380, 0),
        ("china_ecommerce.adjusted_ebita", 2025, 193_223, 0),
        ("all_others.revenue", 2025, 338_347, 21),  # AIDC quarters sum 21 above the annual
        ("all_others.adjusted_ebita", 2025, -9_499, 60),
    ]:
        assert h.annual_value(series, fy) == annual
        quarters = [h.quarterly.get(series, {}).get(Q(fy, k)) or h.estimates[series][Q(fy, k)] for k in (1, 2, 3, 4)]
        assert abs(sum(r.value for r in quarters) - annual) <= tol, series
    # the printed comparatives: Sep-2024 114,773 (+15.5% to 132,578); Jun-2024 EBITA 38,389 + 10,364
    assert h.value("china_ecommerce.revenue", Q(2025, 2)) == 114_773
    assert h.value("china_ecommerce.adjusted_ebita", Q(2025, 1)) == 48_753
    assert h.value("china_ecommerce.quick_commerce_revenue", Q(2025, 1)) == 13_196
    # 393,607 x 113,373 / 350,833 = 127,196 (TTG's share of the three other quarters)
    assert h.estimates["china_ecommerce.revenue"][Q(2025, 1)].value == 127_196
    # an ordinary run reads no estimate: its base quarters are reported
    assert math.isnan(h.value("china_ecommerce.revenue", Q(2025, 1))) and h.on_estimates == ()


def test_an_as_of_run_starts_from_the_recast_on_estimates():
    a = assumptions_mod.load(BUNDLED, as_of=Q(2025, 4))
    h = a.history
    assert h.last_quarter == Q(2025, 4)
    row = h.quarterly["china_ecommerce.revenue"][Q(2025, 1)]
    assert (row.value, row.basis, row.spread, row.valid_from) == (127_196, "estimate", 3816, "2026-05-20")
    assert h.quarterly["china_ecommerce.revenue"][Q(2025, 2)].basis == "reported"
    # 3 China E-commerce revenue + 2 EBITA + 4 + 4 All others + 1 AIDC EBITA quarters
    assert len(h.on_estimates) == 14
    # FY2025Q4 results were known by 2025-06-30; the recast was written from the FY2026 20-F (2026-05-20)
    [warn] = [p for p in a.warnings if p.key == "china_ecommerce.revenue.FY2025Q1"]
    assert warn.message == (
        "not reported: on estimates (127,196 +- 3,816); look-ahead: written from figures published "
        "2026-05-20, after 2025-06-30"
    )


def test_backtest_scores_the_model_from_fy2025q4_beside_the_naive():
    scores, skipped = backtest_scores(BUNDLED, None, Q(2025, 4), 4, {"draws": 200, "seed": 3, "method": "mc"}, 1)
    assert skipped == {}
    model = scores[scores.forecaster == "model"]
    for series in (
        "group.revenue",
        "cloud.revenue",
        "cloud.adjusted_ebita",
        "china_ecommerce.revenue",
        "all_others.revenue",
    ):
        got = model[model.series == series]
        # as of FY2025Q4..FY2026Q3, targets up to FY2026Q4: 4 + 3 + 2 + 1 points, horizons 1-4
        assert len(got) == 10 and sorted(set(got.horizon)) == [1, 2, 3, 4], series
        assert set(got.as_of) == {"FY2025Q4", "FY2026Q1", "FY2026Q2", "FY2026Q3"}
    naive = scores[(scores.forecaster == "naive") & (scores.series == "group.revenue")]
    assert len(naive) == 10  # the same targets
    assert scores.p25.le(scores.p75).all() and scores.p10.le(scores.p25).all()
    notes = scores.attrs["as_of_inputs"]
    assert len(notes["FY2025Q4"]["on_estimates"]) == 14 and len(notes["FY2026Q3"]["on_estimates"]) == 4
    assert all(x.endswith("(look-ahead)") for x in notes["FY2025Q4"]["on_estimates"])
    text = "\n".join(verdicts(scores))
    assert "cloud.revenue: model: " in text and "inside the 50/80/90% bands" in text
    assert "china_ecommerce.revenue: model: " in text and "naive: not scored (it needs seven consecutive" in text


FROZEN = Path(__file__).parent / "fixtures" / "frozen" / "assumptions"


def _versioned(tmp_path, current_from: str, earlier_from: str) -> Path:
    out = tmp_path / "assumptions"
    shutil.copytree(FROZEN, out)
    path = out / "capex.yaml"
    text = path.read_text(encoding="utf-8")
    old = 'source: fy2026_20f, note: "servers and network equipment'
    assert text.count(old) == 1
    version = (
        f'{{value: 18, basis: estimate, source: fy2026_20f, note: "the view before the 20-F", '
        f'valid_from: "{earlier_from}"}}'
    )
    path.write_text(text.replace(old, f'valid_from: "{current_from}", versions: [{version}], ' + old), encoding="utf-8")
    return out


def test_an_as_of_run_uses_the_input_version_valid_then(tmp_path):
    folder = _versioned(tmp_path, "2026-07-01", "2025-05-15")
    # ordinary run: the current version (triangular 16/20/24 quarters)
    assert assumptions_mod.load(folder).inputs["capex.useful_life"].dist.kind == "triangular"
    # as of FY2026Q4 (results known by 2026-06-30): the current version (from 2026-07-01) did not exist yet
    a = assumptions_mod.load(folder, as_of=Q(2026, 4))
    inp = a.inputs["capex.useful_life"]
    assert inp.dist.kind == "fixed" and inp.base_value == 18 and inp.note == "the view before the 20-F"
    [w] = [p for p in a.warnings if p.key == "capex.useful_life"]
    assert w.message == "as of FY2026Q4: the version valid from 2025-05-15 is used"


def test_an_as_of_run_without_a_valid_version_says_it_looks_ahead(tmp_path):
    folder = _versioned(tmp_path, "2026-07-01", "2026-07-02")
    a = assumptions_mod.load(folder, as_of=Q(2026, 4))
    assert a.inputs["capex.useful_life"].dist.kind == "triangular"
    [w] = [p for p in a.warnings if p.key == "capex.useful_life"]
    assert w.message == (
        "as of FY2026Q4 (results known by 2026-06-30) no version was valid yet (the first from "
        "2026-07-01): the current one is used (look-ahead)"
    )


def test_a_version_without_a_date_is_refused(tmp_path):
    folder = _versioned(tmp_path, "2026-07-01", "later")
    with pytest.raises(InputError) as exc:
        assumptions_mod.load(folder)
    [p] = [p for p in exc.value.problems if p.level == "error"]
    assert (p.file, p.key) == ("assumptions/capex.yaml", "capex.useful_life.versions[0].valid_from")
    assert p.message == (
        "'later' is not a date like 2025-08-29 (every earlier version needs the date from which it held)"
    )


def test_timeline_shows_each_headline_claim_at_four_or_more_as_of_quarters():
    from pivotmodel.backtest import timeline_table

    table, skipped = timeline_table(BUNDLED, None, {"draws": 120, "seed": 5, "method": "mc"}, 1)
    counts = table.groupby("claim").as_of.nunique()
    headline = [c.id for c in assumptions_mod.load(BUNDLED).claims if c.headline]
    assert set(counts.index) == set(headline) and (counts >= 4).all()
    assert "FY2025Q4" in set(table.as_of) and "FY2025Q3" in skipped  # FY2024 has no four-segment quarters
    # a claim made in 2026 is shown before it was made, marked so
    early = table[(table.claim == "cloud_share_30pct_cy2026") & (table.as_of == "FY2025Q4")]
    assert bool(early.before_claim.iloc[0])


def test_cloud_and_aidc_are_scored_per_segment_before_the_model_can_start_in_full():
    scores, skipped = backtest_scores(BUNDLED, None, Q(2025, 2), 1, {"draws": 120, "seed": 3, "method": "mc"}, 1)
    # as of FY2025Q2 and Q3 China E-commerce and All others lack four reported (or estimated) base
    # quarters: the run fills them with placeholders and scores only cloud and AIDC
    for q in ("FY2025Q2", "FY2025Q3"):
        assert skipped[q].endswith("(scored per segment: cloud, international)")
        model = scores[(scores.forecaster == "model") & (scores.as_of == q)]
        assert set(model.series) <= {
            "cloud.revenue",
            "cloud.adjusted_ebita",
            "international.revenue",
            "international.adjusted_ebita",
        }
        assert "cloud.revenue" in set(model.series) and set(model.run) == {"per segment"}
    full = scores[(scores.forecaster == "model") & (scores.as_of == "FY2025Q4")]
    assert set(full.run) == {"full"} and "group.revenue" in set(full.series)

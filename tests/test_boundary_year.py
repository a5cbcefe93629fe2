"""Issue 19: the boundary report covers the first projected year (four quarters) for every
segment, capex, CMR, quick commerce and the group; a step names its inputs; a one-off declared
once in simulation.yaml (boundary_one_offs) is shown as explained, with its reason."""

from __future__ import annotations

import pytest
from conftest import col, copy_assumptions, line_of

import pivotmodel.assumptions as assumptions_mod
from pivotmodel.boundary import SUBJECTS, boundary_report, boundary_warnings, format_boundary
from pivotmodel.cli import main
from pivotmodel.model import project
from pivotmodel.schema import BOUNDARY_SUBJECTS

ONE_OFF = """
    - quarters: FY2027Q3:FY2027Q4
      subject: international
      metric: {metric}
      reason: a one-quarter order from a large customer
      source: release_mar2026
"""


def planted(a):
    """The base case with AIDC revenue 20% higher in FY2027Q3 only (the third projected quarter)."""
    p = project(a)
    p["international.revenue"][0, col(p, "FY2027Q3")] *= 1.2
    return p


def rows_by(rows):
    return {(r.segment, r.metric, r.quarter): r for r in rows}


def test_the_report_covers_four_quarters_of_every_subject(bundled):
    rows = boundary_report(bundled)
    assert [s.name for s in SUBJECTS] == list(BOUNDARY_SUBJECTS)
    assert {r.quarter for r in rows} == {"FY2027Q1", "FY2027Q2", "FY2027Q3", "FY2027Q4"}
    assert {r.segment for r in rows} == set(BOUNDARY_SUBJECTS)
    by = rows_by(rows)
    # capex and CMR have no margin; quick commerce's margin is its EBITA over its revenue
    assert ("capex", "margin", "FY2027Q1") not in by and ("cmr", "margin", "FY2027Q1") not in by
    p = project(bundled)
    q3 = col(p, "FY2027Q3")
    qc = by[("quick_commerce", "margin", "FY2027Q3")]
    assert qc.first == pytest.approx(
        p["china_ecommerce.quick_commerce_ebita"][0, q3] / p["china_ecommerce.quick_commerce_revenue"][0, q3], rel=1e-12
    )
    # capex YoY in FY2027Q3 against FY2026Q3's reported 25,376; expected: the exit YoY
    # (FY2026Q4 26,588 on FY2025Q4 23,993: +10.8%)
    cx = by[("capex", "yoy", "FY2027Q3")]
    assert cx.first == pytest.approx(p["group.capex"][0, q3] / 25_376 - 1, rel=1e-12)
    assert cx.reference == pytest.approx(26_588 / 23_993 - 1, rel=1e-12)


def test_a_planted_step_in_the_third_quarter_is_flagged_then_explained_once_declared(tmp_path):
    directory = copy_assumptions(tmp_path)
    a = assumptions_mod.load(directory)
    by = rows_by(boundary_report(a, planted(a)))
    yoy3, qoq3, qoq4 = (
        by[("international", m, q)] for m, q in (("yoy", "FY2027Q3"), ("qoq", "FY2027Q3"), ("qoq", "FY2027Q4"))
    )
    # YoY: 1.2 x (1 + g) - 1 against the exit YoY g = 35,429 / 33,600 - 1 (+5.4%): +21pt and more
    assert yoy3.flagged and yoy3.step > 0.2 and yoy3.inputs == ("international.revenue.growth.start",)
    # QoQ steps up in FY2027Q3; FY2027Q4's expected QoQ starts from the planted level, so its
    # fall back (-25%) is what keeps YoY at the exit rate: not a step
    assert qoq3.flagged and qoq3.step > 0.15 and qoq4.first < -0.2 and not qoq4.flagged
    assert not by[("international", "yoy", "FY2027Q2")].flagged and not by[("international", "yoy", "FY2027Q4")].flagged
    warnings = boundary_warnings(list(by.values()))
    assert any(
        w.startswith("boundary: international yoy steps to")
        and "in FY2027Q3" in w
        and "international.revenue.growth.start" in w
        for w in warnings
    )
    # declared once, for the quarters and metrics it moves: shown as explained, with the reason
    with open(directory / "simulation.yaml", "a", encoding="utf-8") as fh:
        fh.write(ONE_OFF.format(metric="yoy") + ONE_OFF.format(metric="qoq"))
    a = assumptions_mod.load(directory)
    rows = boundary_report(a, planted(a))
    by = rows_by(rows)
    for key in (("international", "yoy", "FY2027Q3"), ("international", "qoq", "FY2027Q3")):
        assert not by[key].flagged and by[key].declared
        assert by[key].reason == "declared one-off: a one-quarter order from a large customer (source release_mar2026)"
    assert not any(r.segment == "international" for r in rows if r.flagged)
    lines = format_boundary(rows, "FY2026Q4", "FY2027Q1")
    assert any(line.startswith("  international    yoy    FY2027Q3") and line.endswith("(explained)") for line in lines)
    assert (
        "  explained: international yoy FY2027Q3: declared one-off: a one-quarter order from a large customer "
        "(source release_mar2026)" in lines
    )


def test_bundled_cloud_yoy_in_the_first_year_is_within_tolerance_or_declared(bundled):
    rows = [r for r in boundary_report(bundled) if r.segment == "cloud" and r.metric == "yoy"]
    assert len(rows) == 4
    for r in rows:
        assert r.step >= -r.tolerance or r.declared, r


@pytest.mark.parametrize(
    "entry, key, message",
    [
        (
            "    - {quarters: FY2027Q3, subject: cloudy, metric: yoy, reason: x, source: release_mar2026}\n",
            "subject",
            "'cloudy' is not valid; valid: china_ecommerce, cloud, international, all_others, capex, cmr, "
            "quick_commerce, group",
        ),
        (
            "    - {quarters: FY2027, subject: cloud, metric: yoy, reason: x, source: release_mar2026}\n",
            "quarters",
            "must be a quarter or a range of quarters (FY2027Q2:FY2027Q3), got 'FY2027'",
        ),
        (
            "    - {quarters: FY2027Q3, subject: cloud, metric: ebit, reason: x, source: release_mar2026}\n",
            "metric",
            "'ebit' is not valid; valid: yoy, qoq, margin",
        ),
        (
            "    - {quarters: FY2027Q3, subject: cloud, metric: yoy, reason: x, source: nowhere}\n",
            "source",
            "'nowhere' is not an id in sources.yaml",
        ),
    ],
)
def test_a_bad_one_off_is_one_clear_message(tmp_path, capsys, entry, key, message):
    directory = copy_assumptions(tmp_path)
    with open(directory / "simulation.yaml", "a", encoding="utf-8") as fh:
        fh.write(entry)
    assert main(["validate", "--assumptions", str(directory)]) == 2
    err = capsys.readouterr().err
    line = line_of(directory / "simulation.yaml", entry.strip()[2:12])
    n = 2  # the bundled file declares two one-offs before this one
    assert f"simulation.boundary_one_offs[{n}].{key}" in err and message in err and f":{line}" in err
    assert "Traceback" not in err


def test_without_the_year_earlier_level_the_exit_yoy_is_the_one_alibaba_printed(bundled):
    """CMR's FY2025Q4 level is not on the segments' basis, so its FY2026Q4 YoY cannot be worked
    out from levels: the report compares with the +1% the release printed (reported.csv
    cmr_yoy_pct), as it does All others' -21% (Sun Art and Intime in the year-earlier base).
    Fixture: the frozen folder declares no one-off for them, so the steps are flagged."""
    p = project(bundled)
    rows = rows_by(boundary_report(bundled, p))
    cmr = rows["cmr", "yoy", "FY2027Q1"]
    assert cmr.last == pytest.approx(0.01) and cmr.reference == pytest.approx(0.01)
    projected = p["china_ecommerce.cmr"][0, col(p, "FY2027Q1")] / p["china_ecommerce.cmr"][0, col(p, "FY2026Q1")] - 1
    assert cmr.first == pytest.approx(projected)
    assert cmr.step == pytest.approx(projected - 0.01)
    others = rows["all_others", "yoy", "FY2027Q1"]
    assert others.reference == pytest.approx(-0.21)
    assert others.flagged and not others.declared  # +21pt: beyond the 5pt tolerance
    # where the levels give the exit YoY, they do (capex: no printed YoY row needed)
    assert rows["capex", "yoy", "FY2027Q1"].reference == pytest.approx(
        p["group.capex"][0, col(p, "FY2026Q4")] / p["group.capex"][0, col(p, "FY2025Q4")] - 1
    )

"""Views the outcome rests on (issue 19: the long-run cloud margin labelled a view in the
inputs and the report, with the peers' figures beside it): ``simulation.yaml``'s ``views``
lists input keys; the report shows each with its range, note and source (whose note carries
the peers' figures), and the claims whose status or reason names it. A bad key is one message
with the file, line and a suggestion, exit 2. Fixture: a copy of the frozen tree with views."""

from __future__ import annotations

from types import SimpleNamespace

from conftest import copy_assumptions, line_of, replace_once

import pivotmodel.assumptions as assumptions_mod
from pivotmodel.cli import main
from pivotmodel.report_views import view_rows, views_section

MARGIN = "cloud.margin_before_new_depreciation.long_run"
VIEWS = f"""simulation:
  views:
    - {MARGIN}
    - capex.after_plan.max_capex_to_revenue
"""


def _with_views(tmp_path, views=VIEWS):
    folder = copy_assumptions(tmp_path)
    replace_once(folder / "simulation.yaml", "simulation:\n", views)
    return folder


def test_a_view_shows_its_range_note_source_and_the_claims_that_name_it(tmp_path):
    a = assumptions_mod.load(_with_views(tmp_path))
    statuses = {
        "margin_claim": SimpleNamespace(label="model", reason=f"rank correlation +0.539 with {MARGIN}"),
        "cap_claim": SimpleNamespace(label="decided by input capex.after_plan.max_capex_to_revenue", reason="x"),
        "other": SimpleNamespace(label="reported", reason="settled by history"),
    }
    rows = view_rows(a, statuses)
    assert [r["key"] for r in rows] == [MARGIN, "capex.after_plan.max_capex_to_revenue"]
    margin = rows[0]
    inp = a.inputs[MARGIN]
    assert margin["distribution"] == "triangular(low=0.28, mode=0.38, high=0.48)"
    assert margin["basis"] == "estimate" and margin["note"] == inp.note and margin["note"].startswith("View")
    # the source's note is where the peers' figures sit (AWS, Google Cloud, Azure)
    assert margin["source"] == a.sources[inp.source].title
    assert margin["claims"] == "margin_claim" and rows[1]["claims"] == "cap_claim"
    html, md = views_section(a, statuses)
    assert html.startswith('<h2 id="views">Views the outcome rests on</h2>')
    assert md[1] == "## Views the outcome rests on"
    assert f"- **{MARGIN}**: triangular(low=0.28, mode=0.38, high=0.48)" in "\n".join(md)


def test_no_views_no_section(bundled):
    assert "views" not in bundled.settings  # the frozen tree lists none
    assert views_section(bundled, {}) == ("", [])


def test_an_unknown_view_is_one_message_with_its_line_and_exit_2(tmp_path, capsys):
    folder = _with_views(tmp_path, VIEWS.replace("max_capex_to_revenue", "max_capex_to_revenu"))
    assert main(["validate", "--assumptions", str(folder)]) == 2
    err = capsys.readouterr().err
    line = line_of(folder / "simulation.yaml", "max_capex_to_revenu")
    assert (
        f"simulation.yaml:{line}: simulation.views[1]: 'capex.after_plan.max_capex_to_revenu' is not an input key; "
        "e.g. cloud.margin_before_new_depreciation.long_run (did you mean 'capex.after_plan.max_capex_to_revenue'?)"
    ) in err
    assert err.count("problem") == 1 and "Traceback" not in err


def test_the_findings_say_what_sets_cloud_capacity_in_the_last_year():
    """Four kept draws, two years: in FY2031 the rule bound in 1, 1, 0.75 and 0.25 of the quarters
    (mean 0.75) and utilisation was 1.0, 1.0, 0.95, 0.90 (median 0.975)."""
    import numpy as np

    from pivotmodel.report import funding_sentence

    fy = {
        "cloud.capex_funding_bound": np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 0.75], [0.0, 0.25]]),
        "cloud.utilisation": np.array([[0.9, 1.0], [0.9, 1.0], [0.9, 0.95], [0.9, 0.90]]),
    }
    r = SimpleNamespace(totals={"fy": fy}, periods={"fy": ["FY2030", "FY2031"]})
    assert funding_sentence(r) == (
        "In FY2031 the capex funding rule (capex.after_plan.max_capex_to_revenue) cut the capex the "
        "target-utilisation policy wanted in 75.0% of draw-quarters; median cloud utilisation 97.5%: capacity, "
        "not demand, sets cloud revenue where the rule binds."
    )
    # a large run keeps only the headline series by year: no sentence rather than a guess
    del fy["cloud.capex_funding_bound"]
    assert funding_sentence(r) == ""

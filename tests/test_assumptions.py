"""Loading the assumption files, and one broken copy per kind of bad input.

Every bad-input test copies the bundled ``assumptions/`` folder, breaks one thing, runs
``pivotmodel validate`` in-process and checks that it exits with code 2, prints no
traceback, and names the file, the key path, the line (where there is one) and what would
be valid. Scenario files that are broken as a whole live in ``tests/fixtures/bad/<kind>/``
and are laid over the copy.
"""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES, copy_assumptions, line_of, replace_once

import pivotmodel.assumptions as assumptions_mod
from pivotmodel.cli import main
from pivotmodel.errors import InputError, Problem
from pivotmodel.periods import parse_quarter
from pivotmodel.schema import PARAMETERS, UNITS

# The ai_revenue long-run growth line of cloud.yaml, a one-line (flow) spec:
AI_LONG_RUN = (
    "long_run: {dist: triangular, low: 0.12, mode: 0.25, high: 0.40, unit: ratio, basis: estimate, source: "
    "pivotmodel_calibration"
)
AI_KEY = "cloud.ai_revenue.growth.long_run"
CLOUD_Q4_REVENUE = "FY2026Q4,Cloud Intelligence Group,revenue,41626,"


def validate_fails(capsys, directory: Path, *extra: str) -> str:
    """Run ``pivotmodel validate``; assert exit 2 without a traceback; return stderr."""
    rc = main(["validate", "--assumptions", str(directory), *extra])
    out, err = capsys.readouterr()
    assert rc == 2, f"expected exit code 2, got {rc}; stdout: {out}; stderr: {err}"
    assert "Traceback" not in out + err
    assert "OK:" not in out
    assert err.startswith("pivotmodel: ") and " in the inputs:" in err.splitlines()[0]
    return err


def overlay(kind: str, directory: Path) -> None:
    """Copy the files of ``tests/fixtures/bad/<kind>/`` over an assumptions folder."""
    shutil.copytree(FIXTURES / "bad" / kind, directory, dirs_exist_ok=True)


def edit_csv(path: Path, old: str, new: str) -> int:
    """Edit the one line of a CSV containing ``old``; return its line number."""
    line = line_of(path, old)
    replace_once(path, old, new)
    return line


# --- the bundled folder ---------------------------------------------------------------------


def test_bundled_assumptions_validate(capsys):
    assert main(["validate"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("OK: ") and "history rows to FY2026Q4" in out and "scenario base (base)" in out
    assert "\nboundary FY2026Q4 (last reported) -> FY2027Q1..FY2027Q4 (first projected year)" in out
    # the warnings: claims decided by inputs (cloud share in CY2026, the cumulative US$100bn
    # reading) and the first year's boundary steps the bundled inputs make (issue 19): the
    # capex plan's jump (FY2026Q4 26.6bn -> 38.6bn a quarter), quick commerce's loss narrowing
    # faster than a year earlier, and All others' margin (its start leaves out the FY2026Q4 Qwen
    # campaign, which this frozen tree does not declare as a boundary one-off: the live folder
    # declares it); CMR and China E-commerce YoY against the +1% / +6% Alibaba printed for
    # FY2026Q4 (CMR's contra revenue, declared in the live folder only); cloud's steps are
    # declared one-offs
    lines = [line for line in err.splitlines() if line]
    claims = [line for line in lines if line.startswith("warning: claim ")]
    steps = [line for line in lines if line.startswith("warning: boundary: ")]
    assert claims and all("decided by input " in line for line in claims), err
    assert len(claims) + len(steps) == len(lines), err
    assert "warning: claim cloud_share_30pct_cy2026:" in err
    assert {line.split()[2] for line in steps} == {"all_others", "capex", "quick_commerce", "cmr", "china_ecommerce"}
    assert "explained: cloud yoy FY2027Q2: declared one-off: base effect" in out


def test_bundled_assumptions_hold_every_parameter(bundled):
    assert set(bundled.inputs) == set(PARAMETERS)
    for key, inp in bundled.inputs.items():
        assert inp.unit in UNITS
        assert inp.basis in ("reported", "guidance", "estimate")
        assert inp.source in bundled.sources, key
        assert inp.file == f"assumptions/{key.split('.')[0]}.yaml"
        assert isinstance(inp.line, int) and inp.line > 0


def test_a_copy_validates_like_the_original(capsys, assumptions_copy):
    assert main(["validate"]) == 0
    original = capsys.readouterr()
    assert main(["validate", "--assumptions", str(assumptions_copy)]) == 0
    copy = capsys.readouterr()
    assert original.out.startswith("OK: ") and (copy.out, copy.err) == (original.out, original.err)


def test_money_in_rmb_bn_is_converted_to_rmb_mn(bundled):
    total = bundled.inputs["capex.plan.total"]
    assert total.unit == "RMB_bn"
    assert total.dist.kind == "pert"
    assert total.dist.params["low"] == 320_000 and total.dist.params["high"] == 560_000
    assert total.dist.support == pytest.approx((320_000, 560_000))
    # with_values takes the file's unit
    assert bundled.with_values(**{"capex.plan.total": 400}).inputs["capex.plan.total"].base_value == 400_000


def test_period_inputs_hold_the_quarter(bundled):
    first = bundled.inputs["capex.plan.first_quarter"]
    assert first.text == "FY2026Q1" and first.dist.is_fixed
    assert first.base_value == 2026 * 4  # Quarter(2026, 1).index


def test_with_inputs_rejects_unknown_keys(bundled):
    with pytest.raises(KeyError, match="cloud.nope is not an input"):
        bundled.with_values(**{"cloud.nope": 1.0})


def test_problem_and_input_error_formats():
    p = Problem("assumptions/cloud.yaml", "cloud.x.high", "must be >= mode", 14)
    assert str(p) == "assumptions/cloud.yaml:14: cloud.x.high: must be >= mode"
    assert str(Problem("f.yaml", "", "YAML syntax error")) == "f.yaml: YAML syntax error"
    err = InputError([p, Problem("a", "k", "only a warning", level="warn"), Problem("b", "k2", "m2")])
    assert len(err.problems) == 2  # warnings are not errors
    assert str(err).splitlines() == [str(p), "b: k2: m2"]


def test_load_raises_input_error_for_a_missing_folder(tmp_path):
    with pytest.raises(InputError, match="is not a folder of assumption files"):
        assumptions_mod.load(tmp_path / "nowhere")


# --- one broken copy per kind ---------------------------------------------------------------


def test_yaml_syntax_error(capsys, assumptions_copy):
    path = assumptions_copy / "cloud.yaml"
    replace_once(path, "high: 0.40, unit: ratio, basis", "high: 0.40 unit: ratio, basis")
    line = line_of(path, "high: 0.40 unit: ratio")
    err = validate_fails(capsys, assumptions_copy)
    # libyaml says "did not find expected ...", PyYAML's own parser "expected ..."
    assert f"assumptions/cloud.yaml:{line}: YAML syntax error: " in err and "expected ',' or '}'" in err


def test_duplicate_key(capsys, assumptions_copy):
    path = assumptions_copy / "cloud.yaml"
    first = line_of(path, AI_LONG_RUN)
    replace_once(
        path,
        AI_LONG_RUN,
        "long_run: {value: 0.2, unit: ratio, basis: estimate, source: pivotmodel_calibration}\n      " + AI_LONG_RUN,
    )
    err = validate_fails(capsys, assumptions_copy)
    # the second definition (the original line, pushed down) is the duplicate
    pattern = (
        rf"assumptions/cloud\.yaml:{first + 1}: ([\w.]+\.)?long_run: duplicate key \(first defined on line {first}\)"
    )
    assert re.search(pattern, err), err


def test_duplicate_key_names_the_key_path(capsys, assumptions_copy):
    path = assumptions_copy / "cloud.yaml"
    replace_once(
        path,
        AI_LONG_RUN,
        "long_run: {value: 0.2, unit: ratio, basis: estimate, source: pivotmodel_calibration}\n      " + AI_LONG_RUN,
    )
    err = validate_fails(capsys, assumptions_copy)
    assert f"{AI_KEY}: duplicate key" in err


def test_unknown_key_suggests_the_closest(capsys, assumptions_copy):
    path = assumptions_copy / "cloud.yaml"
    replace_once(
        path,
        "      half_life: {dist: triangular, low: 3, mode: 6, high: 10,",
        "      half_lfe: {dist: triangular, low: 3, mode: 6, high: 10,",
    )
    line = line_of(path, "half_lfe:")
    err = validate_fails(capsys, assumptions_copy)
    assert (
        f"assumptions/cloud.yaml:{line}: cloud.ai_revenue.growth.half_lfe: unknown key "
        "(did you mean 'cloud.ai_revenue.growth.half_life'?); valid keys under cloud: " in err
    )
    assert "assumptions/cloud.yaml: cloud.ai_revenue.growth.half_life: missing input" in err


def test_unknown_setting_suggests_the_closest(capsys, assumptions_copy):
    path = assumptions_copy / "simulation.yaml"
    replace_once(path, "  draws: ", "  drawz: ")
    line = line_of(path, "drawz:")
    err = validate_fails(capsys, assumptions_copy)
    assert f"assumptions/simulation.yaml:{line}: simulation.drawz: unknown setting; valid: seed, draws," in err
    assert "(did you mean 'draws'?)" in err


def test_wrong_type_string_where_a_number_is_expected(capsys, assumptions_copy):
    path = assumptions_copy / "cloud.yaml"
    replace_once(path, AI_LONG_RUN, AI_LONG_RUN.replace("low: 0.12", 'low: "twelve percent"'))
    line = line_of(path, "twelve percent")
    err = validate_fails(capsys, assumptions_copy)
    assert f"assumptions/cloud.yaml:{line}: {AI_KEY}.low: must be a number, got 'twelve percent'" in err


def _break_block_spec_low(directory: Path) -> int:
    """cloud.ai_revenue.growth.start is a block spec: dist/low/mode/high on their own lines."""
    path = directory / "cloud.yaml"
    text = path.read_text()
    head, tail = text.split("  ai_revenue:\n    growth:\n      start:\n", 1)
    assert tail.startswith("        dist: pert\n        low: 0.6\n")
    path.write_text(
        head
        + "  ai_revenue:\n    growth:\n      start:\n"
        + tail.replace("        low: 0.6\n", "        low: six\n", 1)
    )
    return line_of(path, "        low: six")


def test_wrong_type_in_a_block_spec_names_the_key_path(capsys, assumptions_copy):
    _break_block_spec_low(assumptions_copy)
    err = validate_fails(capsys, assumptions_copy)
    # a line is given (today that of ``start:``, two lines above ``low:``; see the xfail below)
    assert re.search(
        r"assumptions/cloud\.yaml:\d+: cloud\.ai_revenue\.growth\.start\.low: must be a number, got 'six'", err
    ), err


def test_wrong_type_in_a_block_spec_points_at_the_field_line(capsys, assumptions_copy):
    low_line = _break_block_spec_low(assumptions_copy)
    err = validate_fails(capsys, assumptions_copy)
    assert f"assumptions/cloud.yaml:{low_line}: cloud.ai_revenue.growth.start.low:" in err


def test_unknown_unit_lists_units_and_suggests(capsys, assumptions_copy):
    path = assumptions_copy / "cloud.yaml"
    replace_once(path, AI_LONG_RUN, AI_LONG_RUN.replace("unit: ratio", "unit: ratios"))
    line = line_of(path, "unit: ratios")
    err = validate_fails(capsys, assumptions_copy)
    assert (
        f"assumptions/cloud.yaml:{line}: {AI_KEY}.unit: unknown unit 'ratios'; "
        "valid: RMB_mn, RMB_bn, RMB, RMB_per_USD, ratio, quarters, count_mn, period, USD_mn, USD_bn, USD (did you mean "
        "'ratio'?)" in err
    )


def test_unit_of_the_wrong_dimension(capsys, assumptions_copy):
    path = assumptions_copy / "cloud.yaml"
    replace_once(path, AI_LONG_RUN, AI_LONG_RUN.replace("unit: ratio", "unit: RMB_bn"))
    line = line_of(path, "unit: RMB_bn")
    err = validate_fails(capsys, assumptions_copy)
    assert (
        f"assumptions/cloud.yaml:{line}: {AI_KEY}.unit: 'RMB_bn' is a money unit; this input needs one of ratio" in err
    )


def test_distribution_with_low_above_high(capsys, assumptions_copy):
    path = assumptions_copy / "cloud.yaml"
    replace_once(path, AI_LONG_RUN, AI_LONG_RUN.replace("low: 0.12", "low: 0.52"))
    line = line_of(path, "low: 0.52")
    err = validate_fails(capsys, assumptions_copy)
    assert f"assumptions/cloud.yaml:{line}: {AI_KEY}.high: low must be < high (0.52 vs 0.4)" in err


def test_mode_outside_low_high(capsys, assumptions_copy):
    path = assumptions_copy / "cloud.yaml"
    replace_once(path, AI_LONG_RUN, AI_LONG_RUN.replace("mode: 0.25", "mode: 0.45"))
    line = line_of(path, "mode: 0.45")
    err = validate_fails(capsys, assumptions_copy)
    assert f"assumptions/cloud.yaml:{line}: {AI_KEY}.mode: must lie in [low, high] = [0.12, 0.4], got 0.45" in err


@pytest.mark.parametrize("sd", ["0", "-0.05"])
def test_sd_not_positive(capsys, assumptions_copy, sd):
    path = assumptions_copy / "cloud.yaml"
    replace_once(
        path,
        AI_LONG_RUN,
        AI_LONG_RUN.replace(
            "dist: triangular, low: 0.12, mode: 0.25, high: 0.40", f"dist: normal, mean: 0.25, sd: {sd}"
        ),
    )
    line = line_of(path, f"sd: {sd}")
    err = validate_fails(capsys, assumptions_copy)
    assert f"assumptions/cloud.yaml:{line}: {AI_KEY}.sd: must be > 0, got {float(sd)}" in err


def test_unknown_distribution_family(capsys, assumptions_copy):
    path = assumptions_copy / "cloud.yaml"
    replace_once(path, AI_LONG_RUN, AI_LONG_RUN.replace("dist: triangular", "dist: triangle"))
    line = line_of(path, "dist: triangle,")
    err = validate_fails(capsys, assumptions_copy)
    assert (
        f"assumptions/cloud.yaml:{line}: {AI_KEY}.dist: unknown distribution 'triangle'; valid: fixed, uniform, "
        "triangular" in err
    )
    assert "(did you mean 'triangular'?)" in err


SHARE = "capacity_share_of_capex: {dist: triangular, low: 0.60, mode: 0.70, high: 0.80,"


@pytest.mark.parametrize(
    "spec, shown",
    [
        ("capacity_share_of_capex: {value: 1.2,", "the value [1.2, 1.2] ratio"),
        (
            "capacity_share_of_capex: {dist: triangular, low: 0.75, mode: 0.85, high: 1.05,",
            "the distribution's range (P0.00001-P99.99999 if unbounded) [0.75, 1.05] ratio",
        ),
        # unbounded: the normal's P99.99999 (0.85 + 5.2 x 0.05 = 1.11) leaves [0, 1]
        (
            "capacity_share_of_capex: {dist: normal, mean: 0.85, sd: 0.05,",
            "the distribution's range (P0.00001-P99.99999 if unbounded) [0.590",
        ),
    ],
)
def test_share_outside_0_1(capsys, assumptions_copy, spec, shown):
    path = assumptions_copy / "cloud.yaml"
    replace_once(path, SHARE, spec)
    line = line_of(path, "capacity_share_of_capex:")
    err = validate_fails(capsys, assumptions_copy)
    assert f"assumptions/cloud.yaml:{line}: cloud.supply.capacity_share_of_capex: {shown}" in err
    assert (
        "leaves the valid range [0, 1] (share of new capex used by Cloud (capacity and depreciation charged to "
        "Cloud)); narrow it or use truncnormal" in err
    )


def test_truncnormal_inside_the_valid_range_is_accepted(assumptions_copy):
    path = assumptions_copy / "cloud.yaml"
    replace_once(path, SHARE, "capacity_share_of_capex: {dist: truncnormal, mean: 0.85, sd: 0.1, low: 0.6, high: 1.0,")
    a = assumptions_mod.load(assumptions_copy)
    assert a.inputs["cloud.supply.capacity_share_of_capex"].dist.support == (0.6, 1.0)


def test_unknown_source_id_suggests_the_closest(capsys, assumptions_copy):
    path = assumptions_copy / "cloud.yaml"
    replace_once(
        path, AI_LONG_RUN, AI_LONG_RUN.replace("source: pivotmodel_calibration", "source: pivotmodel_calibraton")
    )
    line = line_of(path, "pivotmodel_calibraton")
    err = validate_fails(capsys, assumptions_copy)
    assert (
        f"assumptions/cloud.yaml:{line}: {AI_KEY}.source: 'pivotmodel_calibraton' is not an id in sources.yaml "
        "(did you mean 'pivotmodel_calibration'?)" in err
    )


def test_missing_basis(capsys, assumptions_copy):
    path = assumptions_copy / "cloud.yaml"
    replace_once(path, AI_LONG_RUN, AI_LONG_RUN.replace("basis: estimate, ", ""))
    line = line_of(path, "long_run: {dist: triangular, low: 0.12, mode: 0.25, high: 0.40, unit: ratio, source")
    err = validate_fails(capsys, assumptions_copy)
    assert f"assumptions/cloud.yaml:{line}: {AI_KEY}.basis: missing; every input needs unit, source and basis" in err


def test_missing_basis_lists_the_valid_bases(capsys, assumptions_copy):
    path = assumptions_copy / "cloud.yaml"
    replace_once(path, AI_LONG_RUN, AI_LONG_RUN.replace("basis: estimate, ", ""))
    err = validate_fails(capsys, assumptions_copy)
    problem = [ln for ln in err.splitlines() if f"{AI_KEY}.basis" in ln]
    assert problem and "reported" in problem[0] and "guidance" in problem[0]


def test_unknown_basis_lists_the_valid_bases(capsys, assumptions_copy):
    path = assumptions_copy / "cloud.yaml"
    replace_once(path, AI_LONG_RUN, AI_LONG_RUN.replace("basis: estimate", "basis: estimated"))
    line = line_of(path, "basis: estimated")
    err = validate_fails(capsys, assumptions_copy)
    assert (
        f"assumptions/cloud.yaml:{line}: {AI_KEY}.basis: 'estimated' is not one of reported, guidance, estimate" in err
    )


@pytest.mark.parametrize(
    "old, new",
    [("unit: ratio", "unit: [ratio]"), ("source: pivotmodel_calibration", "source: {id: pivotmodel_calibration}")],
)
def test_unit_or_source_of_the_wrong_type(capsys, assumptions_copy, old, new):
    path = assumptions_copy / "cloud.yaml"
    replace_once(path, AI_LONG_RUN, AI_LONG_RUN.replace(old, new))
    err = validate_fails(capsys, assumptions_copy)
    assert AI_KEY in err


def test_history_csv_missing_a_column(capsys, assumptions_copy):
    path = assumptions_copy / "history" / "reported.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, [c for c in rows[0] if c != "basis"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    err = validate_fails(capsys, assumptions_copy)
    assert (
        "assumptions/history/reported.csv:1: basis: missing column(s) basis; "
        "the header must be: period,segment,metric,value,unit,basis,source,note" in err
    )


def test_history_csv_non_numeric_value(capsys, assumptions_copy):
    path = assumptions_copy / "history" / "reported.csv"
    line = edit_csv(path, CLOUD_Q4_REVENUE, 'FY2026Q4,Cloud Intelligence Group,revenue,"41,626",')
    err = validate_fails(capsys, assumptions_copy)
    assert (
        f"assumptions/history/reported.csv:{line}: value: '41,626' is not a finite number (RMB million, no thousands "
        "separators)" in err
    )


def test_history_csv_duplicate_row(capsys, assumptions_copy):
    path = assumptions_copy / "history" / "reported.csv"
    first = line_of(path, CLOUD_Q4_REVENUE)
    text = path.read_text(encoding="utf-8")
    row = next(ln for ln in text.splitlines() if ln.startswith(CLOUD_Q4_REVENUE))
    path.write_text(text + row.replace("41626", "41627") + "\n", encoding="utf-8")
    last = len(path.read_text(encoding="utf-8").splitlines())
    err = validate_fails(capsys, assumptions_copy)
    assert (
        f"assumptions/history/reported.csv:{last}: period,segment,metric: duplicate row "
        f"('FY2026Q4', 'Cloud Intelligence Group', 'revenue') (first on line {first})" in err
    )


def test_history_csv_unknown_segment_and_bad_period(capsys, assumptions_copy):
    path = assumptions_copy / "history" / "reported.csv"
    line = edit_csv(path, CLOUD_Q4_REVENUE, "FY2026Q4,Cloud Intelligence,revenue,41626,")
    line2 = edit_csv(path, "FY2026Q4,Consolidated,revenue,243380,", "FY2026Q5,Consolidated,revenue,243380,")
    err = validate_fails(capsys, assumptions_copy)
    assert f"assumptions/history/reported.csv:{line}: segment: 'Cloud Intelligence' is not in segment_map.csv" in err
    assert (
        f"assumptions/history/reported.csv:{line2}: period: 'FY2026Q5' is not a period like FY2026Q2 or FY2026" in err
    )


def test_scenario_overriding_a_key_that_base_lacks(capsys, assumptions_copy):
    overlay("scenario_unknown_key", assumptions_copy)
    line = line_of(assumptions_copy / "scenarios" / "typo.yaml", "growth.strat:")
    err = validate_fails(capsys, assumptions_copy, "--scenario", "typo")
    assert (
        f"assumptions/scenarios/typo.yaml:{line}: cloud.ai_revenue.growth.strat: overrides a key that the base "
        "assumptions lack (did you mean 'cloud.ai_revenue.growth.start'?)" in err
    )


def test_scenario_that_does_not_exist(capsys, assumptions_copy):
    err = validate_fails(capsys, assumptions_copy, "--scenario", "beer")
    assert "scenario 'beer' does not exist; available: base, bear, bull" in err


def test_scenario_naming_a_baseline_that_does_not_exist(capsys, assumptions_copy):
    overlay("scenario_missing_baseline", assumptions_copy)
    err = validate_fails(capsys, assumptions_copy, "--scenario", "child")
    assert "baseline: names scenario 'bearish', which does not exist" in err
    assert "available: base, bear, bull, child" in err


def test_scenario_naming_a_missing_baseline_points_at_the_line_to_fix(capsys, assumptions_copy):
    overlay("scenario_missing_baseline", assumptions_copy)
    line = line_of(assumptions_copy / "scenarios" / "child.yaml", "baseline:")
    err = validate_fails(capsys, assumptions_copy, "--scenario", "child")
    assert f"assumptions/scenarios/child.yaml:{line}: baseline:" in err


def test_scenario_inheritance_cycle(capsys, assumptions_copy):
    overlay("scenario_cycle", assumptions_copy)
    err = validate_fails(capsys, assumptions_copy, "--scenario", "loop_a")
    problem = next(ln for ln in err.splitlines() if "inheritance cycle" in ln)
    assert "assumptions/scenarios/loop_" in problem and ": baseline: " in problem
    assert problem.endswith("inheritance cycle: loop_a -> loop_b -> loop_a")


def test_scenario_with_empty_changes_is_an_error(capsys, assumptions_copy):
    overlay("scenario_empty_changes", assumptions_copy)
    line = line_of(assumptions_copy / "scenarios" / "empty.yaml", "changes:")
    err = validate_fails(capsys, assumptions_copy, "--scenario", "empty")
    assert (
        f"assumptions/scenarios/empty.yaml:{line}: changes: is empty: a scenario must change at least one input" in err
    )


def test_scenario_whose_changes_are_all_commented_out_is_an_error(capsys, assumptions_copy):
    path = assumptions_copy / "scenarios" / "bear.yaml"
    text = path.read_text(encoding="utf-8")
    head, _, changes = text.partition("changes:\n")
    path.write_text(head + "changes:\n" + "".join(f"# {line}\n" for line in changes.splitlines()), encoding="utf-8")
    err = validate_fails(capsys, assumptions_copy, "--scenario", "bear")
    assert (
        f"assumptions/scenarios/bear.yaml:{line_of(path, 'changes:')}: changes: is empty: a scenario must change at "
        "least one input" in err
    )


def test_scenario_with_changes_folded_into_the_rationale_is_an_error(capsys, assumptions_copy):
    overlay("scenario_folded_changes", assumptions_copy)
    line = line_of(assumptions_copy / "scenarios" / "folded.yaml", "rationale:")
    err = validate_fails(capsys, assumptions_copy, "--scenario", "folded")
    assert (
        f"assumptions/scenarios/folded.yaml:{line}: changes: missing: a scenario must change at least one input "
        "('changes:' is indented, so it became part of the text above it; start it at column 1)"
    ) in err


def test_scenario_whose_changes_restate_the_baseline_is_an_error(capsys, assumptions_copy):
    overlay("scenario_restated_changes", assumptions_copy)
    err = validate_fails(capsys, assumptions_copy, "--scenario", "restated")
    assert (
        "assumptions/scenarios/restated.yaml: changes: changes nothing: every change restates the value of its "
        "baseline (group.tax.cash_tax_rate)"
    ) in err


def test_one_restated_change_among_real_ones_is_a_warning(capsys, assumptions_copy):
    path = assumptions_copy / "scenarios" / "bear.yaml"
    restated = (
        (FIXTURES / "bad" / "scenario_restated_changes" / "scenarios" / "restated.yaml").read_text().splitlines()[-1]
    )
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n") + "\n" + restated + "\n", encoding="utf-8")
    assert main(["validate", "--assumptions", str(assumptions_copy), "--scenario", "bear"]) == 0
    out, err = capsys.readouterr()
    line = line_of(path, "same as base")
    assert out.startswith("OK: ")
    assert (
        f"warning: assumptions/scenarios/bear.yaml:{line}: group.tax.cash_tax_rate: restates the value of the "
        "baseline (this change does nothing)"
    ) in err


def test_missing_seed_estimate(capsys, assumptions_copy):
    path = assumptions_copy / "cloud.yaml"
    replace_once(path, "      FY2026Q1: {dist: range, p5: 4400,", "      # FY2026Q1: {dist: range, p5: 4400,")
    err = validate_fails(capsys, assumptions_copy)
    assert (
        "assumptions/cloud.yaml: cloud.seed.ai_revenue.FY2026Q1: cloud.ai_revenue has no reported value for FY2026Q1 "
        "(one of the four base quarters before the projection starts): add the row to history/reported.csv or an "
        "estimate here" in err
    )


def test_missing_seed_names_the_folder_actually_loaded(capsys, tmp_path):
    directory = copy_assumptions(tmp_path, "bull_case_2026")
    replace_once(
        directory / "cloud.yaml", "      FY2026Q1: {dist: range, p5: 4400,", "      # FY2026Q1: {dist: range, p5: 4400,"
    )
    err = validate_fails(capsys, directory)
    assert "bull_case_2026/cloud.yaml: cloud.seed.ai_revenue.FY2026Q1:" in err


def test_seed_for_a_series_that_cannot_be_seeded(capsys, assumptions_copy):
    path = assumptions_copy / "cloud.yaml"
    replace_once(
        path,
        "    ai_revenue:\n      FY2026Q1:",
        "    revenue:\n      FY2026Q1: {value: 1, unit: RMB_mn, basis: estimate, source: pivotmodel_calibration}\n"
        "    ai_revenue:\n      FY2026Q1:",
    )
    line = line_of(path, "FY2026Q1: {value: 1, unit: RMB_mn")
    err = validate_fails(capsys, assumptions_copy)
    assert (
        f"assumptions/cloud.yaml:{line}: cloud.seed.revenue.FY2026Q1: seed estimates are "
        "'cloud.seed.<series>.<quarter>' for series cloud.ai_revenue" in err
    )


def test_horizon_before_the_last_reported_quarter(capsys, assumptions_copy):
    replace_once(assumptions_copy / "simulation.yaml", "horizon: FY2031Q4", "horizon: FY2026Q4")
    err = validate_fails(capsys, assumptions_copy)
    assert "simulation.horizon: must be after the last reported quarter FY2026Q4" in err


def test_several_errors_in_different_files_are_reported_together(capsys, assumptions_copy):
    cloud = assumptions_copy / "cloud.yaml"
    replace_once(cloud, AI_LONG_RUN, AI_LONG_RUN.replace("unit: ratio", "unit: ratios"))
    group = assumptions_copy / "group.yaml"
    replace_once(
        group,
        "other_share: {dist: triangular, low: 0.040, mode: 0.048, high: 0.056,",
        "other_share: {dist: triangular, low: 0.040, mode: 0.048, high: 0.6,",
    )
    sim = assumptions_copy / "simulation.yaml"
    replace_once(sim, "  draws: ", "  drawz: ")
    reported = assumptions_copy / "history" / "reported.csv"
    csv_line = edit_csv(reported, CLOUD_Q4_REVENUE, "FY2026Q4,Cloud Intelligence Group,revenue,n/a,")
    sources = assumptions_copy / "sources.yaml"
    replace_once(sources, '    title: "pivotmodel calibration against', '    titel: "pivotmodel calibration against')

    err = validate_fails(capsys, assumptions_copy)
    expected = [
        f"assumptions/cloud.yaml:{line_of(cloud, 'unit: ratios')}: {AI_KEY}.unit: unknown unit 'ratios'",
        f"assumptions/group.yaml:{line_of(group, 'high: 0.6,')}: group.elimination.other_share: the distribution's "
        "range",
        f"assumptions/simulation.yaml:{line_of(sim, 'drawz')}: simulation.drawz: unknown setting",
        f"assumptions/history/reported.csv:{csv_line}: value: 'n/a' is not a finite number",
        f"assumptions/sources.yaml:{line_of(sources, 'titel:')}: sources.pivotmodel_calibration.titel: unknown field; "
        "valid: title, href",
        "assumptions/sources.yaml",  # and the missing title
    ]
    for text in expected:
        assert text in err, text
    assert "sources.pivotmodel_calibration.title: is required" in err
    count = int(err.split()[1])
    assert count == len(err.splitlines()) - 1 >= 6


def test_a_broken_scenario_file_does_not_hide_other_problems(capsys, assumptions_copy):
    overlay("scenario_yaml_syntax", assumptions_copy)
    replace_once(assumptions_copy / "cloud.yaml", AI_LONG_RUN, AI_LONG_RUN.replace("unit: ratio", "unit: ratios"))
    err = validate_fails(capsys, assumptions_copy, "--scenario", "broken")
    assert "assumptions/scenarios/broken.yaml" in err and "YAML syntax error" in err
    assert f"{AI_KEY}.unit: unknown unit 'ratios'" in err


def test_a_broken_scenario_file_alone_is_reported(capsys, assumptions_copy):
    overlay("scenario_yaml_syntax", assumptions_copy)
    err = validate_fails(capsys, assumptions_copy, "--scenario", "broken")
    assert "assumptions/scenarios/broken.yaml:" in err and "YAML syntax error" in err


# --- scenarios that load ----------------------------------------------------------------------


def test_bear_scenario_metadata(bundled):
    bear = assumptions_mod.load(scenario="bear")
    assert bear.scenario.name == "bear" and bear.scenario.baseline == "base"
    assert bear.scenario.chain == ("base", "bear")
    assert bear.scenario.title.startswith("Bear")
    assert "cloud.ai_revenue.growth.start" in bear.scenario.changed_keys
    for key in bear.scenario.changed_keys:
        assert bear.inputs[key].file == "assumptions/scenarios/bear.yaml"
    assert bundled.scenario.name == "base" and bundled.scenario.changed_keys == ()


def test_scenario_inheritance_applies_the_baseline_first(tmp_path):
    directory = copy_assumptions(tmp_path)
    shutil.copy(FIXTURES / "scenarios" / "bear_plus.yaml", directory / "scenarios")
    bear = assumptions_mod.load(directory, "bear")
    plus = assumptions_mod.load(directory, "bear_plus")
    assert plus.scenario.chain == ("base", "bear", "bear_plus")
    assert plus.scenario.baseline == "bear"
    assert set(plus.scenario.changed_keys) == set(bear.scenario.changed_keys) | {"group.tax.cash_tax_rate"}
    assert plus.inputs["group.tax.cash_tax_rate"].base_value == 0.25
    for key in bear.scenario.changed_keys:
        assert plus.inputs[key].dist == bear.inputs[key].dist


def test_scenario_given_as_a_path(tmp_path):
    path = tmp_path / "bear_plus.yaml"
    shutil.copy(FIXTURES / "scenarios" / "bear_plus.yaml", path)
    a = assumptions_mod.load(scenario=str(path))
    assert a.scenario.chain == ("base", "bear", "bear_plus") and a.scenario.name == "bear_plus"  # named by the stem
    assert a.scenario.paths[0] == path and a.scenario.paths[1].name == "bear.yaml"
    assert "group.tax.cash_tax_rate" in a.scenario.changed_keys


def test_a_scenario_can_override_a_seed_estimate(tmp_path):
    from pivotmodel.model import project

    scenario = tmp_path / "seedy.yaml"
    scenario.write_text(
        'title: "Higher AI base"\nbaseline: base\nrationale: "FY2026Q1 AI revenue above the estimate."\n'
        "changes:\n  cloud.seed.ai_revenue.FY2026Q1: {value: 6000, unit: RMB_mn, basis: estimate, source: "
        "huatai_sep2025}\n",
        encoding="utf-8",
    )
    a = assumptions_mod.load(None, str(scenario))
    assert a.scenario.changed_keys == ("cloud.seed.ai_revenue.FY2026Q1",)
    p = project(a)
    col = p.timeline.position(parse_quarter("FY2026Q1"))
    assert p["cloud.ai_revenue"][0, col] == 6000.0


# --- whole files that are empty, damaged or built to hang the reader (issue 9) -----------------


def test_yaml_anchors_and_aliases_are_refused_before_they_expand(capsys, assumptions_copy):
    overlay("yaml_aliases", assumptions_copy)
    line = line_of(assumptions_copy / "simulation.yaml", "a0: &a0")
    err = validate_fails(capsys, assumptions_copy)
    assert (
        f"assumptions/simulation.yaml:{line}: anchors (&name) and aliases (*name) are not allowed in "
        "assumption files; write each value out"
    ) in err


def test_a_nul_byte_in_a_yaml_file(capsys, assumptions_copy):
    overlay("yaml_nul_byte", assumptions_copy)
    err = validate_fails(capsys, assumptions_copy)
    assert (
        "assumptions/group.yaml:2: holds a NUL byte (a binary or damaged file?); assumption files are plain text" in err
    )


def test_an_empty_segment_file(capsys, assumptions_copy):
    overlay("empty_segment_file", assumptions_copy)
    err = validate_fails(capsys, assumptions_copy)
    assert (
        "assumptions/cloud.yaml: is empty (nothing but comments, blank lines or '---'); it must hold 'cloud:' "
        "with the cloud inputs"
    ) in err
    assert len(err.strip().splitlines()) == 2  # that one problem, not one per missing input


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n", "---\n...\n", "~\n"])
def test_every_empty_form_of_a_segment_file(capsys, assumptions_copy, text):
    (assumptions_copy / "capex.yaml").write_text(text, encoding="utf-8")
    err = validate_fails(capsys, assumptions_copy)
    assert "assumptions/capex.yaml: is empty" in err


def test_a_segment_file_whose_key_holds_no_mapping(capsys, assumptions_copy):
    (assumptions_copy / "capex.yaml").write_text("capex: 3\n", encoding="utf-8")
    err = validate_fails(capsys, assumptions_copy)
    assert "assumptions/capex.yaml:1: capex: must hold the capex inputs as a mapping under 'capex:', found 3" in err


def test_an_empty_claims_file(capsys, assumptions_copy):
    overlay("empty_claims", assumptions_copy)
    err = validate_fails(capsys, assumptions_copy)
    assert (
        "assumptions/claims.yaml: is empty (nothing but comments, blank lines or '---'); it must hold 'claims:'" in err
    )


def test_an_empty_claims_file_stops_simulate_cleanly(capsys, assumptions_copy, tmp_path):
    overlay("empty_claims", assumptions_copy)
    rc = main(
        [
            "simulate",
            "--assumptions",
            str(assumptions_copy),
            "--draws",
            "10",
            "--jobs",
            "1",
            "--out",
            str(tmp_path / "run"),
        ]
    )
    out, err = capsys.readouterr()
    assert rc == 2 and "assumptions/claims.yaml: is empty" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_an_emptied_correlations_file_is_an_error_not_silently_no_correlations(capsys, assumptions_copy):
    overlay("empty_correlations", assumptions_copy)
    err = validate_fails(capsys, assumptions_copy)
    assert (
        "assumptions/correlations.yaml: is empty (nothing but comments, blank lines or '---'); to run without "
        "correlations, write 'correlations: {pairs: []}' (or delete the file)"
    ) in err


def test_an_explicitly_empty_list_of_correlations_is_accepted(capsys, assumptions_copy):
    (assumptions_copy / "correlations.yaml").write_text("correlations:\n  pairs: []\n", encoding="utf-8")
    assert main(["validate", "--assumptions", str(assumptions_copy)]) == 0


def test_a_list_where_correlations_expect_text(capsys, assumptions_copy):
    overlay("correlations_list_for_text", assumptions_copy)
    path = assumptions_copy / "correlations.yaml"
    err = validate_fails(capsys, assumptions_copy)
    assert (
        f"assumptions/correlations.yaml:{line_of(path, 'b: [')}: correlations.pairs[0].b: must be text, got "
        "['capex.plan.total', 'cloud.other_external_revenue.growth.start']"
    ) in err
    assert (
        f"assumptions/correlations.yaml:{line_of(path, 'source: [')}: correlations.pairs[0].source: must be text" in err
    )


@pytest.mark.parametrize(
    "text, message",
    [
        ("correlations:\n  pairs:\n", "correlations.pairs: is empty; write 'pairs: []' to run without correlations"),
        ("correlations:\n  nearest: false\n", "correlations.pairs: missing"),
        ("correlations:\n  nearest: [yes]\n  pairs: []\n", "correlations.nearest: must be true or false"),
    ],
)
def test_correlations_without_usable_pairs(capsys, assumptions_copy, text, message):
    (assumptions_copy / "correlations.yaml").write_text(text, encoding="utf-8")
    err = validate_fails(capsys, assumptions_copy)
    assert message in err


def test_an_impossible_date_and_deep_nesting_are_clean_errors(capsys, assumptions_copy):
    path = assumptions_copy / "group.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "x: " + "[" * 3000 + "]" * 3000 + "\n", encoding="utf-8")
    err = validate_fails(capsys, assumptions_copy)
    assert "assumptions/group.yaml" in err and ": is nested too deeply to be an assumption file" in err
    shutil.copy(assumptions_mod.default_directory() / "group.yaml", path)
    replace_once(assumptions_copy / "sources.yaml", "sources:", "checked: 2025-02-30\nsources:")
    err = validate_fails(capsys, assumptions_copy)
    assert "assumptions/sources.yaml: holds a value that cannot be read: day is out of range for month" in err


def test_a_note_is_required_where_the_source_says_the_arithmetic_is_in_it(capsys, assumptions_copy):
    """sources.yaml marks pivotmodel_calibration notes_required: an input citing it without a
    note is an error naming the file, line and key; citing pivotmodel_judgement is fine."""
    path = assumptions_copy / "cloud.yaml"
    old = (
        "half_life: {dist: triangular, low: 3, mode: 6, high: 10, unit: quarters, basis: estimate, source: "
        "pivotmodel_judgement}"
    )
    replace_once(path, old, old.replace("pivotmodel_judgement", "pivotmodel_calibration"))
    err = validate_fails(capsys, assumptions_copy)
    line = line_of(path, old.replace("pivotmodel_judgement", "pivotmodel_calibration"))
    assert (
        f"assumptions/cloud.yaml:{line}: cloud.ai_revenue.growth.half_life.note: is required: source "
        "'pivotmodel_calibration' says the arithmetic is in the input's note"
    ) in err


def test_every_input_citing_a_notes_required_source_has_a_note(bundled):
    needs = {sid for sid, s in bundled.sources.items() if s.notes_required}
    assert needs == {"pivotmodel_calibration"}
    cited = [i for i in [*bundled.inputs.values(), *bundled.seeds.values()] if i.source in needs]
    assert cited and all(i.note.strip() for i in cited)


def test_yaml_reads_the_same_with_pyyamls_own_parser(monkeypatch, tmp_path):
    """The loader uses libyaml's parser where PyYAML has it, else PyYAML's own: both give the
    same data, lines and refusals."""
    import yaml

    from pivotmodel import yamlio

    files = sorted(assumptions_mod.default_directory().glob("*.yaml"))
    fast = {f.name: yamlio.read_yaml(f) for f in files}
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: 1\nb: &x 2\n", encoding="utf-8")
    with pytest.raises(InputError, match="anchors"):
        yamlio.read_yaml(bad)
    monkeypatch.setattr(yamlio, "_StrictLoader", yamlio._strict_loader(yaml.parser.Parser))
    for f in files:
        slow = yamlio.read_yaml(f)
        assert slow == fast[f.name]
        assert getattr(slow, "lines", None) == getattr(fast[f.name], "lines", None)
    with pytest.raises(InputError, match="anchors"):
        yamlio.read_yaml(bad)

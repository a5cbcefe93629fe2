"""Every YAML file refuses what it would otherwise ignore (issue 24, items 4 and 5): unknown
top-level keys (with did-you-mean, or "indent it" for a setting one level off), settings out of
range (boundary_* finite in [0, 1]), mangled dates, text fields given as lists, timestamps or
binary; and validate notes an optional setting left to its default."""

from __future__ import annotations

import pytest
from conftest import line_of, replace_once
from test_assumptions import validate_fails

from pivotmodel.cli import main

A = "assumptions"


@pytest.mark.parametrize(
    "name, append, message",
    [
        (
            "simulation.yaml",
            "draws: 50000\n",
            "draws: unknown top-level key; valid: simulation; 'draws' belongs under 'simulation': indent it to sit "
            "with the "
            "others there",
        ),
        ("claims.yaml", "claim:\n  - id: x\n", "claim: unknown top-level key; valid: claims (did you mean 'claims'?)"),
        ("correlations.yaml", "pairs: []\n", "pairs: unknown top-level key; valid: correlations"),
        (
            "consensus.yaml",
            "consensuss: {}\n",
            "consensuss: unknown top-level key; valid: consensus (did you mean 'consensus'?)",
        ),
        (
            "sources.yaml",
            "source:\n  x: {title: t, href: h}\n",
            "source: unknown top-level key; valid: sources (did you mean 'sources'?)",
        ),
    ],
)
def test_an_unknown_top_level_key_is_refused_at_its_line(capsys, assumptions_copy, name, append, message):
    path = assumptions_copy / name
    text = path.read_text(encoding="utf-8")
    line = text.count("\n") + 1  # the appended key's line
    path.write_text(text + append, encoding="utf-8")
    err = validate_fails(capsys, assumptions_copy)
    assert f"  {A}/{name}:{line}: {message}" in err.splitlines()


@pytest.mark.parametrize("value, shown", [(".nan", "nan"), ("31", "31.0"), ("-1", "-1.0"), (".inf", "inf")])
def test_boundary_settings_are_finite_in_zero_one(capsys, assumptions_copy, value, shown):
    path = assumptions_copy / "simulation.yaml"
    replace_once(path, "boundary_margin: 0.03", f"boundary_margin: {value}")
    err = validate_fails(capsys, assumptions_copy)
    line = line_of(path, "boundary_margin:")
    assert (
        f"  {A}/simulation.yaml:{line}: simulation.boundary_margin: must be a finite number in [0, 1], got {shown}"
        in err
    )


@pytest.mark.parametrize("date", ['"2026--02"', '"2025-09-null"', '"2026-13"', '"2026-02-30"', "20260220"])
def test_a_mangled_source_date_is_refused(capsys, assumptions_copy, date):
    path = assumptions_copy / "sources.yaml"
    old = 'date: "2026-05-20"'
    text = path.read_text(encoding="utf-8")
    line = text[: text.index(old)].count("\n") + 1  # the first source dated so
    path.write_text(text.replace(old, f"date: {date}", 1), encoding="utf-8")
    err = validate_fails(capsys, assumptions_copy)
    shown = repr(date.strip('"')) if date.startswith('"') else date
    assert (
        f"{line}: sources." in err and f".date: {shown} is not a date like 2026-02 or 2026-02-19 (YYYY-MM[-DD])" in err
    )


@pytest.mark.parametrize(
    "value, kind", [("[a, b]", "list"), ("2026-02-03 10:00:00", "datetime"), ("!!binary aGVsbG8=", "bytes")]
)
def test_a_source_title_must_be_text(capsys, assumptions_copy, value, kind):
    path = assumptions_copy / "sources.yaml"
    text = path.read_text(encoding="utf-8")
    first = next(ln for ln in text.splitlines() if ln.strip().startswith("title:"))
    replace_once(path, first, first.split("title:")[0] + f"title: {value}")
    err = validate_fails(capsys, assumptions_copy)
    assert f".title: must be text, got {kind} " in err


def test_a_truncated_simulation_yaml_is_run_with_its_defaults_noted(capsys, assumptions_copy):
    path = assumptions_copy / "simulation.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("  chunk_size:")], encoding="utf-8")  # cut after horizon
    assert main(["validate", "--assumptions", str(assumptions_copy)]) == 0
    err = capsys.readouterr().err
    line = line_of(path, "simulation:")
    for key, value in (
        ("chunk_size", "50000"),
        ("tolerance", "0"),
        ("boundary_yoy", "0.05"),
        ("boundary_margin", "0.03"),
    ):
        assert f"warning: {A}/simulation.yaml:{line}: simulation.{key}: not set; using {value} (" in err

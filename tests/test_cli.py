"""``pivotmodel`` commands run in-process: tables, CSV output, currency, atomic outputs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import replace_once

from pivotmodel.cli import main, write_atomic
from pivotmodel.model import project
from pivotmodel.schema import SEGMENTS
from pivotmodel.tables import segment_table

FY_COLUMNS = [
    "FY2024 (A)",
    "FY2025 (A)",
    "FY2026 (A)",
    "FY2027 (P)",
    "FY2028 (P)",
    "FY2029 (P)",
    "FY2030 (P)",
    "FY2031 (P)",
]
UNIT = re.compile(r"\((RMB bn|US\$ bn|ratio|RMB per ADS|US\$ per ADS)\)")
FX_FY2024 = (7.2512, 7.296, 7.0999, 7.2203)  # implied RMB per US$, FY2024Q1-Q4
FX_FY2026 = (7.1636, 7.119, 6.9931, 6.8979)
CLOUD_FY2026 = (33_398, 39_824, 43_284, 41_626)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return rc, out, err


def read_table(path: Path) -> pd.DataFrame:
    """A projection written with --out: its first line says pivotmodel wrote it (issue 24)."""
    assert path.read_text(encoding="utf-8").startswith("# written by pivotmodel project;")
    return pd.read_csv(path, index_col=[0, 1], skiprows=1)


@pytest.fixture(scope="module")
def rmb_table(bundled):
    return segment_table(project(bundled))


def test_project_prints_a_table_with_years_and_units(capsys):
    rc, out, err = run(capsys, "project")
    assert rc == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith(
        "pivotmodel deterministic projection, scenario base: reported (A) to FY2026Q4, projected (P) to FY2031Q4"
    )
    header = lines[1]
    positions = [header.index(c) for c in FY_COLUMNS]
    assert positions == sorted(positions)
    assert "FY2023" not in header and "FY2032" not in header
    assert lines[2].split() == ["segment", "item"]
    notes = next(i for i, ln in enumerate(lines) if ln.startswith("n/a:"))
    rows = lines[3:notes]
    assert (
        len(rows) == len(SEGMENTS) * 4 + 8 + 8
    )  # 4 items a segment; group: revenue, EBITA, margin + 5 (FCF and its proxy); + 8 below EBITA (basic EPS)
    for row in rows:
        assert UNIT.search(row), f"row label without a unit: {row!r}"
    cloud_revenue = next(r for r in rows if r.startswith("Cloud Intelligence") and "Revenue (RMB bn)" in r)
    cells = cloud_revenue[UNIT.search(cloud_revenue).end() :].split()
    assert len(cells) == len(FY_COLUMNS)
    assert cells[0] == "106.4" and cells[2] == "158.1"  # FY2024, FY2026 (A)
    assert lines[notes].startswith("n/a: not reported on this basis")
    assert lines[notes + 1].startswith("EPS in an (A) column is the figure as reported")


def test_csv_output_matches_segment_table(capsys, tmp_path, rmb_table):
    out_file = tmp_path / "out" / "base.csv"
    rc, out, _ = run(capsys, "project", "--format", "csv", "--out", str(out_file))
    assert rc == 0 and out.strip() == f"wrote {out_file}"
    table = read_table(out_file)
    assert list(table.columns) == FY_COLUMNS
    assert list(table.index) == list(rmb_table.index)
    np.testing.assert_allclose(table.to_numpy(float), rmb_table.to_numpy(float), rtol=1e-5)  # %.6g
    assert table.loc[("Cloud Intelligence", "Revenue (RMB bn)"), "FY2026 (A)"] == 158.132
    assert table.loc[("China E-commerce", "Revenue (RMB bn)"), "FY2024 (A)"] == 490.101
    assert table.loc[("Group", "Revenue (RMB bn)"), "FY2026 (A)"] == 1023.67
    assert table.loc[("Group", "Capex (RMB bn)"), "FY2024 (A)"] == 32.087  # 20-F cash-flow capex, footnoted
    assert list(tmp_path.joinpath("out").iterdir()) == [out_file]  # no temporary file left


def test_csv_to_stdout(capsys, rmb_table):
    rc, out, _ = run(capsys, "project", "--format", "csv")
    assert rc == 0
    assert out.splitlines()[0] == "segment,item," + ",".join(FY_COLUMNS)
    assert "Cloud Intelligence,Revenue (RMB bn),106.374,118.028,158.132," in out


def test_usd_divides_by_the_exchange_rate(capsys, tmp_path, bundled, rmb_table):
    path = tmp_path / "usd.csv"
    assert run(capsys, "project", "--format", "csv", "--currency", "usd", "--out", str(path))[0] == 0
    usd = read_table(path)
    fx = bundled.inputs["group.fx.usd_rmb"].base_value  # 6.9, the median
    assert fx == pytest.approx(6.9)
    money_rows = [k for k in rmb_table.index if "(RMB bn)" in k[1]]
    assert (
        len(money_rows) == len(SEGMENTS) * 2 + 7 + 5
    )  # + FCF proxy; + net income, attributable (+ the 20-F line), non-GAAP, net cash
    for segment, item in money_rows:
        if "20-F line" in item:  # reported years only (n/a when projected)
            assert usd.loc[(segment, item.replace("(RMB bn)", "(US$ bn)")), FY_COLUMNS[3:]].isna().all()
            continue
        usd_item = item.replace("(RMB bn)", "(US$ bn)")
        for c in FY_COLUMNS[3:]:  # projected years: one rate
            assert usd.loc[(segment, usd_item), c] == pytest.approx(rmb_table.loc[(segment, item), c] / fx, rel=1e-5)
    # a reported year: each quarter at its own rate
    expected = sum(v / r for v, r in zip(CLOUD_FY2026, FX_FY2026)) / 1000
    assert usd.loc[("Cloud Intelligence", "Revenue (US$ bn)"), "FY2026 (A)"] == pytest.approx(expected, rel=1e-5)
    # a year known only as an annual total: at the year's average rate
    expected = 490_101 / np.mean(FX_FY2024) / 1000
    assert usd.loc[("China E-commerce", "Revenue (US$ bn)"), "FY2024 (A)"] == pytest.approx(expected, rel=1e-5)
    # shares and margins do not depend on the currency
    ratio_rows = [k for k in rmb_table.index if k[1].endswith("(ratio)")]
    np.testing.assert_allclose(
        usd.loc[ratio_rows].to_numpy(float)[:, 3:], rmb_table.loc[ratio_rows].to_numpy(float)[:, 3:], rtol=1e-5
    )


def test_calendar_year_columns(capsys):
    rc, out, _ = run(capsys, "project", "--format", "csv", "--basis", "cy")
    assert rc == 0
    header = out.splitlines()[0].split(",")[2:]
    assert header == ["CY2024 (A)", "CY2025 (A)", "CY2026 (1A+3P)"] + [f"CY{y} (P)" for y in range(2027, 2031)]


def test_project_a_scenario(capsys):
    rc, out, _ = run(capsys, "project", "--scenario", "bear")
    assert rc == 0 and "scenario bear:" in out.splitlines()[0]
    rows = {}
    for scenario in ("base", "bear"):
        rc, out, _ = run(capsys, "project", "--format", "csv", "--scenario", scenario)
        row = next(line for line in out.splitlines() if line.startswith("Cloud Intelligence,Revenue (RMB bn),"))
        rows[scenario] = [float(x) for x in row.split(",")[2:]]
    # reported years FY2024-FY2026 alike; bear's slower AI growth lowers every projected year
    assert rows["bear"][:3] == rows["base"][:3] == [106.374, 118.028, 158.132]
    assert all(b < m for b, m in zip(rows["bear"][3:], rows["base"][3:], strict=True)) and len(rows["bear"]) == 8


def test_project_with_bad_input_exits_2(capsys, assumptions_copy):
    replace_once(assumptions_copy / "cloud.yaml", "high: 0.40, unit: ratio,", "high: 0.40, unit: ratios,")
    rc, out, err = run(capsys, "project", "--assumptions", str(assumptions_copy))
    assert rc == 2 and out == ""
    assert "assumptions/cloud.yaml:" in err and "unknown unit 'ratios'" in err


def test_a_failing_run_leaves_an_existing_output_untouched(capsys, assumptions_copy, tmp_path):
    out_file = tmp_path / "projection.csv"
    original = b"# written by pivotmodel project\r\nsegment,item,FY2027 (P)\r\nkept,from an earlier run,1.0\r\n"
    out_file.write_bytes(original)
    replace_once(assumptions_copy / "cloud.yaml", "high: 0.40, unit: ratio,", "high: 0.40, unit: ratios,")
    rc, _, err = run(
        capsys, "project", "--assumptions", str(assumptions_copy), "--format", "csv", "--out", str(out_file)
    )
    assert rc == 2 and "unknown unit" in err
    assert out_file.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["assumptions", "projection.csv"]
    # and a good run replaces it
    assert run(capsys, "project", "--format", "csv", "--out", str(out_file))[0] == 0
    assert out_file.read_bytes() != original


def test_write_atomic_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("old")

    def half_write(tmp: Path) -> None:
        tmp.write_text("partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomic(path, half_write)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--format", "table", "--out", "x.txt"], "--format table prints to the terminal; use csv or xlsx with --out"),
        (["--format", "xlsx"], "xlsx needs --out PATH"),
    ],
)
def test_output_option_mistakes_exit_2(capsys, argv, message):
    rc, _, err = run(capsys, "project", *argv)
    assert rc == 2 and message in err


def test_validate_prints_a_summary(capsys, bundled):
    rc, out, _ = run(capsys, "validate", "--scenario", "bull")
    assert rc == 0
    assert f"OK: {len(bundled.inputs)} inputs" in out and "scenario bull (base, bull)" in out


def test_validate_checks_the_claims_and_correlations(capsys, assumptions_copy):
    replace_once(
        assumptions_copy / "claims.yaml",
        'test: "share(cloud.revenue, group.revenue, CY2026) > 0.30"',
        'test: "share(cloud.revnue, group.revenue, CY2026) > 0.30"',
    )
    replace_once(assumptions_copy / "correlations.yaml", "rho: 0.5", "rho: 1.5")
    line = next(
        i
        for i, text in enumerate((assumptions_copy / "claims.yaml").read_text().splitlines(), 1)
        if "cloud.revnue" in text
    )
    rc, out, err = run(capsys, "validate", "--assumptions", str(assumptions_copy))
    assert rc == 2 and "Traceback" not in out + err
    assert (
        f"assumptions/claims.yaml:{line}: claims[0] (cloud_share_30pct_cy2026).test: unknown series 'cloud.revnue'; "
        "valid series:" in err
    )
    assert (
        "assumptions/correlations.yaml" in err
        and "correlations.pairs[0].rho: must be a number in (-1, 1), got 1.5" in err
    )
    assert "2 problems" in err


def test_validate_reports_claims_count(capsys, bundled):
    n = len(bundled.claims)
    rc, out, _ = run(capsys, "validate")
    assert rc == 0 and n >= 25 and re.search(rf"\b{n} claims\b", out)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--draws", "0"], "argument --draws: must be at least 1, got 0"),
        (["--tolerance", "2"], "argument --tolerance: must be in [0, 1), got 2"),
        (["--seed", "-3"], "argument --seed: must be in [0, "),
        (["--jobs", "0"], "argument --jobs: must be in [1, "),
        (["--jobs", "4096"], "argument --jobs: must be in [1, "),
        (["--draws", "ten"], "argument --draws: must be a whole number, got 'ten'"),
        (["--max-memory", "0"], "argument --max-memory: must be in (0, "),
    ],
)
def test_simulate_rejects_impossible_options(capsys, tmp_path, argv, message):
    rc, out, err = run(capsys, "simulate", "--out", str(tmp_path / "run"), *argv)
    assert rc == 2 and message in err and "Traceback" not in out + err
    assert not (tmp_path / "run").exists()


def test_every_command_help_shows_defaults_and_an_example(capsys):
    import pivotmodel
    from pivotmodel.cli import EXAMPLES, build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert set(commands) == set(EXAMPLES)
    for name, p in commands.items():
        text = p.format_help()
        assert f"example:\n  pivotmodel {name}" in text, name
        assert "(default: None)" not in text, name
        for action in p._actions:  # every option and argument says what it is
            assert action.help, (name, action.dest)
    assert "(default: 10000)" in commands["drivers"].format_help()
    assert "(default: rmb)" in commands["project"].format_help()
    assert main(["--version"]) == 0  # argparse's exit is turned into a return code
    assert capsys.readouterr().out.strip() == f"pivotmodel {pivotmodel.__version__}"


def test_drivers_takes_method_and_the_old_sampling_spelling():
    from pivotmodel.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["drivers", "x", "--method", "lhs"]).method == "lhs"
    assert parser.parse_args(["drivers", "x", "--sampling", "sobol"]).method == "sobol"
    assert parser.parse_args(["drivers", "x"]).method == "mc"
    assert "--sampling" not in parser._subparsers._group_actions[0].choices["drivers"].format_help()


def test_part_reported_years_say_how_many_quarters_are_actual():
    from pivotmodel.periods import parse_period
    from pivotmodel.tables import actual_tag

    fp = parse_period("FY2027Q2").first  # FY2027Q1 is the last reported quarter
    assert actual_tag(parse_period("FY2027"), fp) == "1A+3P"
    assert actual_tag(parse_period("FY2026"), fp) == "A"
    assert actual_tag(parse_period("FY2028"), fp) == "P"
    assert actual_tag(parse_period("CY2026"), fp) == "2A+2P"  # CY2026 is FY2026Q4-FY2027Q3


def test_project_out_suffix_gives_the_format(tmp_path, capsys):
    from openpyxl import load_workbook

    assert main(["project", "--out", str(tmp_path / "p.csv")]) == 0
    assert (tmp_path / "p.csv").read_text().splitlines()[1].startswith("segment,item,FY2024 (A)")
    assert main(["project", "--out", str(tmp_path / "p.xlsx")]) == 0
    wb = load_workbook(tmp_path / "p.xlsx")
    ws = wb["projection"]
    assert ws.freeze_panes == "C2" and ws["C2"].number_format == "#,##0.0" and ws["C3"].number_format == "0.0%"
    # the cells the terminal table marks (d)/(e) are listed on a "notes" sheet with their notes
    notes = [[c.value for c in row] for row in wb["notes"].iter_rows()]
    assert notes[0] == ["segment", "item", "period", "mark", "note"]
    marked = {(r[1], r[2], r[3]) for r in notes[1:]}
    assert ("Basic EPS, GAAP, reported only (RMB per ADS)", "FY2026 (A)", "d") in marked
    assert all(period.endswith("(A)") for _, period, _ in marked)  # projected cells are the model's: never marked
    capsys.readouterr()
    assert main(["project", "--out", str(tmp_path / "p.txt")]) == 2
    assert "cannot tell the format from" in capsys.readouterr().err and not (tmp_path / "p.txt").exists()


def test_help_and_validate_leave_heavy_modules_unimported():
    """`pivotmodel --help` and `validate` start without scipy.stats, pandas, matplotlib, SALib or openpyxl."""
    import subprocess
    import sys

    code = (
        "import sys, contextlib, io\n"
        "from pivotmodel.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        "    for argv in (['--help'], ['validate']):\n"
        "        try:\n"
        "            main(argv)\n"
        "        except SystemExit:\n"
        "            pass\n"
        "print(sorted(m for m in ('scipy.stats', 'pandas', 'matplotlib', 'SALib', 'openpyxl') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr

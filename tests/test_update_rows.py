"""History rows are checked as typed (issue 24, items 2 and 7): known metrics in their unit, plain
ASCII numbers, no control characters, a segment's quarter within the group's, sign and size before
the identities, messages naming the rows file's line; and the mutation test of ``update``.

tests/fixtures/update/next_quarter.csv is SYNTHETIC (FY2026Q4 rows x 1.05, labelled so).
"""

from __future__ import annotations

import contextlib
import csv
import io
import random
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import BUNDLED
from test_assumptions import validate_fails
from test_reliability import tree_digest

from pivotmodel.cli import main

NEXT = Path(__file__).parent / "fixtures" / "update" / "next_quarter.csv"
QUICK = ["--draws", "32", "--jobs", "1"]
CLOUD_REV = "FY2027Q1,Cloud Intelligence Group,revenue,43707,RMB_mn,"  # line 9 of the rows file
CLOUD_EBITA = "FY2027Q1,Cloud Intelligence Group,adjusted_ebita,3997,RMB_mn,"  # line 7


@pytest.fixture()
def folder(tmp_path) -> Path:
    shutil.copytree(BUNDLED, tmp_path / "a")
    return tmp_path / "a"


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), np.errstate(all="warn"):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


def rows_file(tmp_path: Path, old: str, new: str) -> Path:
    text = NEXT.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "rows.csv"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def refused(folder: Path, rows: Path) -> list[str]:
    """Run update; assert exit 2, no traceback, the folder byte-identical; return the problem lines."""
    before = tree_digest(folder)
    rc, out, err = run(["update", str(rows), "--assumptions", str(folder), *QUICK, "--out", str(folder.parent / "o")])
    assert rc == 2, err
    assert "Traceback" not in err and not out
    assert tree_digest(folder) == before and not (folder.parent / "o").exists()
    return [ln.strip() for ln in err.splitlines()[1:]]


@pytest.mark.parametrize(
    "old, new, problems",
    [
        (
            CLOUD_EBITA,
            CLOUD_EBITA.replace("adjusted_ebita", "adjusted_ebitda"),
            [
                "{rows}:7: metric: 'adjusted_ebitda' is not a known metric; did you mean 'adjusted_ebita'? a new "
                "metric is "
                "added to METRIC_UNITS in pivotmodel/history_checks.py with its unit"
            ],
        ),
        (CLOUD_REV, CLOUD_REV.replace("RMB_mn", "pct"), ["{rows}:9: unit: revenue is reported in RMB_mn, not 'pct'"]),
        (
            CLOUD_REV,
            CLOUD_REV.replace("RMB_mn", "count"),
            ["{rows}:9: unit: revenue is reported in RMB_mn, not 'count'"],
        ),
        (
            CLOUD_REV,
            CLOUD_REV.replace("43707", "４３７０７"),
            [
                "{rows}:9: value: '４３７０７' is not a plain number: ASCII digits, one '.', an optional sign "
                "and exponent (no thousands separators, underscores, spaces or full-width digits)"
            ],
        ),
        (
            CLOUD_REV,
            CLOUD_REV.replace("43707", "43_707"),
            [
                "{rows}:9: value: '43_707' is not a plain number: ASCII digits, one '.', an optional sign "
                "and exponent (no thousands separators, underscores, spaces or full-width digits)"
            ],
        ),
        (
            CLOUD_REV,
            CLOUD_REV.replace("RMB_mn,", "RMB_mn\x00,"),
            ["{rows}:9: unit: holds a control character ('\\x00'); retype the cell"],
        ),
        (CLOUD_REV, CLOUD_REV + "\x1b[31m", ["{rows}:9: basis: holds a control character ('\\x1b'); retype the cell"]),
        # typed in RMB thousand: 43,707,000 is above the group's 255,548 of the quarter (not yet beyond 1e8);
        # reported as such, and the identity (which it also breaks) not echoed
        (
            CLOUD_REV,
            CLOUD_REV.replace("43707", "43707000"),
            [
                "{rows}:9: value: FY2027Q1 Cloud Intelligence Group revenue = 43,707,000 is above the group's revenue "
                "of the "
                "quarter (255,548): a unit slip (RMB thousand?) or a typo"
            ],
        ),
        # sign before the identity
        (
            CLOUD_REV,
            CLOUD_REV.replace("43707", "-43707"),
            ["{rows}:9: value: -43707: revenue is never negative (FY2027Q1 Cloud Intelligence Group)"],
        ),
        # size in %g, not 309 digits
        (
            CLOUD_REV,
            CLOUD_REV.replace("43707", "1e308"),
            [
                "{rows}:9: value: 1e+308 RMB_mn for FY2027Q1 Cloud Intelligence Group revenue is beyond any plausible "
                "figure "
                "(limit 1e+08 in absolute value) - is it in RMB rather than RMB million?"
            ],
        ),
        # a cloud EBITA typo (an extra digit) is named as the row, not as an anchored start in cloud.yaml
        (
            CLOUD_EBITA,
            CLOUD_EBITA.replace("3997", "399700"),
            [
                "{rows}:7: value: FY2027Q1 Cloud Intelligence Group adjusted_ebita = 399,700 is larger in size than "
                "the "
                "segment's revenue (43,707): a typo or a unit slip?"
            ],
        ),
        # a period typed far past the horizon: one headline problem, alone
        (
            CLOUD_REV,
            CLOUD_REV.replace("FY2027Q1", "FY2099Q1"),
            [
                "{rows}:9: period: FY2099Q1 does not follow FY2027Q1: update appends the quarters after the last "
                "reported one "
                "(FY2026Q4) in order, FY2027Q2 next; a typo for FY2027Q2? (fix this first, the other checks follow "
                "from it)"
            ],
        ),
    ],
)
def test_a_wrong_row_is_refused_by_its_line_in_the_rows_file(folder, tmp_path, old, new, problems):
    rows = rows_file(tmp_path, old, new)
    assert refused(folder, rows) == [p.format(rows=rows) for p in problems]


def test_the_group_identity_is_checked_once_signs_and_sizes_pass(folder, tmp_path):
    rows = rows_file(tmp_path, CLOUD_REV, CLOUD_REV.replace("43707", "44707"))
    # 128,331 + 37,200 + 68,732 + 44,707 - 22,422 = 256,548 against the group's 255,548
    assert refused(folder, rows) == [
        f"{rows}:11: FY2027Q1,Consolidated,revenue: 255,548 but Alibaba China E-commerce Group + Cloud Intelligence "
        "Group + Alibaba International Digital Commerce Group + All others + Inter-segment elimination = 256,548: "
        "segments "
        "+ elimination must equal the group (within rounding); check the rows"
    ]


def test_a_zero_capex_is_appended_with_a_warning(folder, tmp_path):
    line = "FY2027Q1,Consolidated,capex_purchase_of_ppe_fcf_table,27900,"
    rows = rows_file(tmp_path, line, line.replace("27900", "0"))
    rc, out, err = run(["update", str(rows), "--assumptions", str(folder), *QUICK, "--out", str(tmp_path / "o")])
    assert rc == 0, err
    assert (
        f"warning: {rows}:16: value: FY2027Q1 Consolidated capex_purchase_of_ppe_fcf_table is 0: if the figure "
        "is not known, leave the row out (a gap stays a gap)"
    ) in err
    # the usual rows the quarter lacks, by CSV segment and metric (FY2026Q4 has them; the fixture does not)
    assert (
        f"warning: {rows}: FY2027Q1: lacks 11 row(s) that FY2026Q4 has and the model reads (segment,metric): "
        "Consolidated,free_cash_flow; " in err
    )


def test_an_unknown_metric_in_reported_csv_is_an_error_with_did_you_mean(folder, capsys):
    rep = folder / "history" / "reported.csv"
    text = rep.read_text(encoding="utf-8")
    row = "FY2026Q4,Cloud Intelligence Group,adjusted_ebita,"
    line = 1 + text[: text.index(row)].count("\n")
    rep.write_text(text.replace(row, row.replace("adjusted_ebita", "adjusted_ebitda")), encoding="utf-8")
    err = validate_fails(capsys, folder)
    assert (
        f"a/history/reported.csv:{line}: metric: 'adjusted_ebitda' is not a known metric; did you mean "
        "'adjusted_ebita'?"
    ) in err


# -- mutation test: reported.csv rows deleted, duplicated, renamed; rows files fuzzed ----------

_NAMED = re.compile(r"(:\d+: |FY20\d\dQ\d,[^:]+: )")  # a file's line, or a CSV row by period,segment,metric
_GARBAGE = (
    "４３７０７",
    "43_707",
    "4,3707",
    "1e308",
    "-43707",
    "0",
    "",
    "nan",
    "43707\x00",
    "4.37e7",
    " 43707 ",
    "0x10",
)


def _mutate_reported(text: str, rnd: random.Random) -> str:
    lines = text.splitlines(keepends=True)
    i = rnd.randrange(1, len(lines))
    kind = rnd.choice(("delete", "duplicate", "rename_metric", "rename_segment", "rename_period"))
    cells = next(csv.reader([lines[i]]))
    if kind == "delete":
        del lines[i]
    elif kind == "duplicate":
        lines.insert(rnd.randrange(1, len(lines)), lines[i])
    else:
        col = {"rename_metric": 2, "rename_segment": 1, "rename_period": 0}[kind]
        cells[col] = cells[col][:-1] if rnd.random() < 0.5 else cells[col] + "x"
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(cells)
        lines[i] = buf.getvalue()
    return "".join(lines)


def _fuzz_rows(text: str, rnd: random.Random) -> str:
    lines = text.splitlines(keepends=True)
    i = rnd.randrange(1, len(lines))
    cells = next(csv.reader([lines[i]]))
    col = rnd.choice((0, 1, 2, 3, 3, 3, 4, 5))
    cells[col] = rnd.choice(_GARBAGE) if col == 3 else (cells[col][:-1] if rnd.random() < 0.5 else cells[col] + "1")
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(cells)
    lines[i] = buf.getvalue()
    return "".join(lines)


@pytest.mark.parametrize("case", range(24))
def test_update_after_any_mutation_appends_correctly_or_refuses_leaving_the_folder_unchanged(tmp_path, case):
    """Even cases damage reported.csv (a row deleted, duplicated or renamed) and append the
    synthetic quarter; odd cases append a fuzzed rows file to the intact folder."""
    rnd = random.Random(2400 + case)
    folder = tmp_path / "a"
    shutil.copytree(BUNDLED, folder)
    rep = folder / "history" / "reported.csv"
    rows = tmp_path / "rows.csv"
    if case % 2 == 0:
        rep.write_text(_mutate_reported(rep.read_text(encoding="utf-8"), rnd), encoding="utf-8")
        shutil.copy(NEXT, rows)
    else:
        rows.write_text(_fuzz_rows(NEXT.read_text(encoding="utf-8"), rnd), encoding="utf-8")
    before, old = tree_digest(folder), rep.read_bytes()
    rc, out, err = run(["update", str(rows), "--assumptions", str(folder), *QUICK, "--out", str(tmp_path / "o")])
    assert rc in (0, 2) and "Traceback" not in err, err
    if rc == 2:
        assert tree_digest(folder) == before  # byte-identical after a refusal
        problems = err.splitlines()[1:]
        assert problems and all(_NAMED.search(p) or "is not a folder" in p for p in problems), err
        return
    new = rep.read_bytes()
    assert new.startswith(old)  # the old bytes kept, the rows appended after them
    appended = list(csv.reader(io.StringIO(new[len(old) :].decode("utf-8"))))
    given = list(csv.reader(io.StringIO(rows.read_text(encoding="utf-8"))))[1:]
    assert sorted(appended) == sorted([c.strip() for c in r] for r in given)

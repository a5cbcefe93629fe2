"""The base-quarter check runs on every load: a missing revenue row of a base quarter is one
located error (file, the line where the row goes, the row to add), exit 2, for every command.

The segments come from the registry, so a segment added there is covered without editing this
file; each is found in reported.csv under the name segment_map.csv maps to it (``equals``).
"""

from __future__ import annotations

import pytest
from conftest import copy_assumptions

import pivotmodel.assumptions as assumptions_mod
from pivotmodel.base_quarters import base_quarters
from pivotmodel.cli import main
from pivotmodel.errors import InputError
from pivotmodel.schema import SEGMENTS, base_lines


def _csv_name(bundled, prefix: str) -> str:
    names = [n for n, (p, rel) in bundled.history.segment_relation.items() if p == prefix and rel == "equals"]
    used = {r.segment for r in bundled.history.rows}
    return next(n for n in names if n in used)


def _cases(bundled):
    """(series, quarter label, reported.csv segment name) for every line the model grows from."""
    return [
        (series, q.label, _csv_name(bundled, series.split(".")[0]))
        for series in base_lines()
        for q in base_quarters(bundled.history)
    ]


def _delete(path, period: str, segment: str, metric: str) -> int:
    """Delete the row (period, segment, metric) from the CSV at ``path``; its 1-based line."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    hits = [i for i, line in enumerate(lines) if line.startswith(f"{period},{segment},{metric},")]
    assert len(hits) == 1, (period, segment, metric, hits)
    path.write_text("".join(lines[: hits[0]] + lines[hits[0] + 1 :]), encoding="utf-8")
    return hits[0] + 1


def test_every_registered_segment_and_group_revenue_is_checked(bundled):
    # every segment of the registry, and group revenue (where history ends), in each of 4 quarters
    lines = base_lines()
    assert {s.split(".")[0] for s in lines} == {*(s.id for s in SEGMENTS), "group"}
    assert len(_cases(bundled)) == 4 * len(lines)


def test_each_missing_base_row_is_one_located_error(bundled, tmp_path):
    directory = copy_assumptions(tmp_path)
    csv = directory / "history" / "reported.csv"
    original = csv.read_text(encoding="utf-8")
    last = base_quarters(bundled.history)[-1].label
    for series, quarter, segment in _cases(bundled):
        csv.write_text(original, encoding="utf-8")
        line = _delete(csv, quarter, segment, "revenue")
        with pytest.raises(InputError) as exc:
            assumptions_mod.load(directory)
        (problem,) = exc.value.problems
        assert (problem.file, problem.line, problem.key) == (
            "assumptions/history/reported.csv",
            line,
            f"{quarter},{segment},revenue",
        )
        assert problem.message.startswith(
            f"missing row: the model grows {series} from its reported values in the four "
            f"base quarters {base_quarters(bundled.history)[0].label}..{last}, and {quarter} has none; "
            f"add the row '{quarter},{segment},revenue,<value>,RMB_mn,<basis>,<source>,<note>' before line {line} ("
        )


@pytest.mark.parametrize(
    "command", [["validate"], ["project", "--format", "csv"], ["simulate", "--draws", "64", "--jobs", "1"]]
)
def test_every_command_exits_2_naming_file_line_and_row(bundled, tmp_path, capsys, command):
    directory = copy_assumptions(tmp_path)
    csv = directory / "history" / "reported.csv"
    original = csv.read_text(encoding="utf-8")
    last = base_quarters(bundled.history)[-1].label
    for series in base_lines():
        segment = _csv_name(bundled, series.split(".")[0])
        csv.write_text(original, encoding="utf-8")
        line = _delete(csv, last, segment, "revenue")
        out = tmp_path / "out"
        extra = ["--out", str(out)] if command[0] == "simulate" else []
        assert main([*command, "--assumptions", str(directory), *extra]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and not out.exists()
        assert f"assumptions/history/reported.csv:{line}: {last},{segment},revenue: missing row" in err, err
        assert f"add the row '{last},{segment},revenue,<value>" in err

"""Property test: random damage to a copy of the bundled assumptions never ends in a traceback.

Each example copies ``assumptions/``, applies one mutation to one YAML file or to
``history/reported.csv`` (a deleted key, a wrong type, NaN/inf/huge/negative numbers,
swapped bounds, broken indentation, a duplicated key, truncation, unicode, a NUL byte, or a
harmless edit such as a comment or trailing spaces; in the CSV also a deleted or duplicated row) and runs
``pivotmodel validate`` and a deterministic ``pivotmodel project --format csv`` in process. Every outcome must be

* exit 0 - and, for a harmless edit, the very same projection as the untouched copy; or
* exit 2 with one problem a line, each naming a file of the folder, the damaged one among them;

never another exit code or exception (a traceback), and never slower than the deadline.
Hypothesis runs derandomized (a fixed seed) with a bounded number of examples (90, about 25 s;
``PIVOTMODEL_MUTATIONS=1000`` explores more).
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
from conftest import BUNDLED
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from pivotmodel.cli import main

YAML_FILES = (
    "china_ecommerce.yaml",
    "cloud.yaml",
    "international.yaml",
    "all_others.yaml",
    "capex.yaml",
    "group.yaml",
    "sources.yaml",
    "simulation.yaml",
    "correlations.yaml",
    "claims.yaml",
    "scenarios/bear.yaml",
)
CSV_FILE = "history/reported.csv"
NUMBER = re.compile(r"(?<![\w.])-?\d+(\.\d+)?(e[+-]?\d+)?(?![\w.:])")
BAD_NUMBERS = (
    ".nan",
    ".inf",
    "-.inf",
    "1.0e308",
    "1.0e999",
    "-5",
    "-0.5",
    "0",
    "1e12",
    "'12'",
    "[1, 2]",
    "{a: 1}",
    "null",
    "true",
)
BAD_CSV_VALUES = ("nan", "inf", "-inf", "1e308", "-41626", "4162600000", "", "12,5", "1e-300", "0")
HARMLESS = ("comment", "trailing_spaces", "blank_line")


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), np.errstate(all="warn"):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


@functools.cache
def baseline_projection(scenario: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "assumptions"
        shutil.copytree(BUNDLED, directory)
        rc, out, err = run(["project", "--assumptions", str(directory), "--scenario", scenario, "--format", "csv"])
    assert rc == 0, err
    return out


def mutate_yaml(text: str, kind: str, data: st.DataObject) -> str:
    lines = text.splitlines(keepends=True)
    keyed = [i for i, line in enumerate(lines) if re.match(r"\s*[\w.\-]+:", line)]
    numbered = [i for i, line in enumerate(lines) if NUMBER.search(line) and not line.lstrip().startswith("#")]
    pick = lambda pool: data.draw(st.sampled_from(pool)) if pool else None  # noqa: E731
    if kind == "comment":
        i = data.draw(st.integers(0, len(lines)))
        return "".join(lines[:i] + ["# an analyst's comment: ünïcødé ✓\n"] + lines[i:])
    if kind == "trailing_spaces":
        return "".join(line.rstrip("\n") + "   \n" if line.endswith("\n") else line for line in lines)
    if kind == "blank_line":
        i = data.draw(st.integers(0, len(lines)))
        return "".join(lines[:i] + ["\n"] + lines[i:])
    if kind in ("delete_key", "delete_row") and keyed:
        i = pick(keyed)
        return "".join(lines[:i] + lines[i + 1 :])
    if kind == "bad_number" and numbered:
        i = pick(numbered)
        matches = list(NUMBER.finditer(lines[i]))
        m = matches[data.draw(st.integers(0, len(matches) - 1))]
        lines[i] = lines[i][: m.start()] + data.draw(st.sampled_from(BAD_NUMBERS)) + lines[i][m.end() :]
        return "".join(lines)
    if kind == "swap_bounds":
        candidates = [i for i in numbered if "low:" in lines[i] and "high:" in lines[i]]
        if candidates:
            i = pick(candidates)
            line = lines[i]
            low = re.search(r"low: ([^,}]+)", line)
            high = re.search(r"high: ([^,}]+)", line)
            assert low and high
            line = line.replace(f"low: {low.group(1)}", "low: @@").replace(
                f"high: {high.group(1)}", f"high: {low.group(1)}"
            )
            lines[i] = line.replace("low: @@", f"low: {high.group(1)}")
            return "".join(lines)
    if kind == "indent" and keyed:
        i = pick(keyed)
        delta = data.draw(st.sampled_from([-2, -1, 1, 2, 4]))
        lines[i] = (
            " " * delta + lines[i] if delta > 0 else lines[i][min(-delta, len(lines[i]) - len(lines[i].lstrip())) :]
        )
        return "".join(lines)
    if kind == "duplicate_key" and keyed:
        i = pick(keyed)
        return "".join(lines[: i + 1] + [lines[i]] + lines[i + 1 :])
    if kind in ("truncate", "unicode", "nul"):
        return damage_bytes(text, kind, data)
    return text + "# unchanged\n"


def damage_bytes(text: str, kind: str, data: st.DataObject) -> str:
    """Damage any text file alike: cut it short, insert random unicode, or insert a NUL byte."""
    i = data.draw(st.integers(0, len(text)))
    if kind == "truncate":
        return text[:i]
    if kind == "unicode":
        return text[:i] + data.draw(st.text(min_size=1, max_size=8)) + text[i:]
    return text[:i] + "\x00" + text[i:]


def mutate_csv(text: str, kind: str, data: st.DataObject) -> str:
    lines = text.splitlines(keepends=True)
    body = range(1, len(lines))
    if kind == "comment":  # CSV has no comments: Excel's byte-order mark instead
        return "\ufeff" + text
    if kind == "trailing_spaces":  # Windows line ends
        return text.replace("\n", "\r\n")
    if kind == "blank_line":
        return text + "\n"
    if kind in ("bad_number", "swap_bounds"):
        i = data.draw(st.sampled_from(body))
        fields = lines[i].split(",")
        fields[3] = data.draw(st.sampled_from(BAD_CSV_VALUES))
        lines[i] = ",".join(fields)
        return "".join(lines)
    if kind in ("delete_key", "indent"):
        i = data.draw(st.sampled_from(body))
        fields = lines[i].split(",")
        del fields[data.draw(st.integers(0, 7))]
        lines[i] = ",".join(fields)
        return "".join(lines)
    if kind == "duplicate_key":
        i = data.draw(st.sampled_from(body))
        return "".join(lines[: i + 1] + [lines[i]] + lines[i + 1 :])
    if kind == "delete_row":  # a whole row gone, a revenue row half the time (the base quarters' are checked)
        revenue = [i for i in body if lines[i].split(",")[2:3] == ["revenue"]]
        i = data.draw(st.sampled_from(revenue if data.draw(st.booleans()) else list(body)))
        return "".join(lines[:i] + lines[i + 1 :])
    return damage_bytes(text, kind, data)  # truncate, unicode, nul


KINDS = (
    *HARMLESS,
    "delete_key",
    "delete_row",
    "bad_number",
    "swap_bounds",
    "indent",
    "duplicate_key",
    "truncate",
    "unicode",
    "nul",
)


# No shrinking: a failure is reported as drawn (shrinking a 150 KB input can take minutes).
@settings(
    max_examples=int(os.environ.get("PIVOTMODEL_MUTATIONS", "90")),
    derandomize=True,
    deadline=10_000,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(name=st.sampled_from((*YAML_FILES, CSV_FILE)), kind=st.sampled_from(KINDS), data=st.data())
def test_a_mutated_copy_gives_exit_0_or_a_clean_exit_2(name, kind, data):
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "assumptions"
        shutil.copytree(BUNDLED, directory)
        path = directory / name
        text = path.read_text(encoding="utf-8")
        mutated = (mutate_csv if name == CSV_FILE else mutate_yaml)(text, kind, data)
        path.write_bytes(mutated.encode("utf-8", errors="surrogatepass"))
        scenario = "bear" if name.startswith("scenarios/") else "base"
        for argv in (["validate"], ["project", "--format", "csv"]):
            rc, out, err = run([*argv, "--assumptions", str(directory), "--scenario", scenario])
            assert "Traceback" not in err
            assert rc in (0, 2), (argv, rc, err)
            # A comment line can end a YAML block scalar (a folded rationale); the other harmless
            # edits never change what a file means.
            if kind in HARMLESS and not (kind == "comment" and name != CSV_FILE):
                assert rc == 0, (name, kind, err)
            if rc == 2:
                head, *problems = [line for line in err.splitlines() if not line.startswith("warning: ")]
                assert re.fullmatch(r"pivotmodel: \d+ problems? in the inputs:", head), err
                assert problems, err
                assert Path(name).name in err, (name, kind, err)  # the damaged file is named
                for line in problems:
                    assert line.startswith(("  assumptions/", f"  {directory}")), (name, kind, line)
                break
            if argv[0] == "project" and (kind in HARMLESS or mutated == text):
                assert out == baseline_projection(scenario), (name, kind)

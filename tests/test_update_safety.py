"""The quarterly update is as safe as the output folders (issue 24): no lost edits, one writer per
assumptions folder, nothing written into an installed package, no stale temporaries, and the
warnings ``validate`` would give.

tests/fixtures/update/next_quarter.csv is SYNTHETIC (FY2026Q4 rows x 1.05, labelled so).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import test_reliability
from test_reliability import run
from test_reliability import tree_digest as digest

import pivotmodel.simulate as simulate_mod
from pivotmodel import atomic

work = test_reliability.work  # the fixture: a working folder with my_assumptions/, the current folder
NEXT = Path(__file__).parent / "fixtures" / "update" / "next_quarter.csv"
QUICK = ["--draws", "64", "--jobs", "1"]


def _edit(rep: Path) -> bytes:
    """Correct a past row's note in place, as an analyst's editor would save it."""
    text = rep.read_text(encoding="utf-8")
    line = next(ln for ln in text.splitlines() if ln.startswith("FY2025Q1,") and '"' not in ln)
    edited = text.replace(line + "\n", line + " (corrected)\n", 1)
    assert edited != text
    rep.write_text(edited, encoding="utf-8")
    return edited.encode("utf-8")


def test_an_edit_saved_while_the_update_runs_is_kept_and_the_update_refused(work, capsys, monkeypatch):
    rep = work / "my_assumptions" / "history" / "reported.csv"
    real = simulate_mod.simulate
    saved: list[bytes] = []

    def edit_then_run(*args, **kwargs):  # the first run of the three: the edit lands mid-update
        if not saved:
            saved.append(_edit(rep))
        return real(*args, **kwargs)

    monkeypatch.setattr(simulate_mod, "simulate", edit_then_run)
    rc, out, err = run(capsys, "update", str(NEXT), "--assumptions", "my_assumptions", *QUICK, "--out", "u")
    assert rc == 2
    assert "my_assumptions/history/reported.csv: changed while the update ran" in err and "the edit is kept" in err
    assert rep.read_bytes() == saved[0]  # the correction survives; no row appended
    assert not (work / "u").exists() and "appended" not in out
    assert not list(rep.parent.glob(".reported.csv.*"))


def test_a_second_writer_is_refused_while_the_first_holds_the_folder(work, capsys):
    before = digest(work / "my_assumptions")
    with atomic.writer_lock(work / "my_assumptions", "my_assumptions"):  # another update holds the folder
        rc, _, err = run(capsys, "update", str(NEXT), "--assumptions", "my_assumptions", *QUICK, "--out", "u")
    assert rc == 2 and "another pivotmodel command is writing to my_assumptions; nothing was changed" in err
    assert digest(work / "my_assumptions") == before
    rc, out, _ = run(
        capsys, "update", str(NEXT), "--assumptions", "my_assumptions", *QUICK, "--out", "u"
    )  # lock released
    assert rc == 0 and "appended 15 rows" in out


def test_update_refuses_an_installed_package(work, capsys):
    site = work / "lib" / "python3.11" / "site-packages" / "pivotmodel" / "bundled_assumptions"
    shutil.copytree(work / "my_assumptions", site)
    before = digest(site)
    rc, _, err = run(capsys, "update", str(NEXT), "--assumptions", str(site), *QUICK)
    assert rc == 2 and "is inside an installed package" in err and "--assumptions my_assumptions" in err
    assert digest(site) == before


def test_update_removes_temporaries_of_killed_updates_and_keeps_others(work, capsys, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(work / "tmp"))
    (work / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    dead = work / "tmp" / "pivotmodel-update-999999999.abc"  # its pid is gone, and it carries the marker
    (dead / "my_assumptions").mkdir(parents=True)
    (dead / atomic.MARKER).write_text("x")
    foreign = work / "tmp" / "pivotmodel-update-999999998.keep"  # no marker: not provably ours
    foreign.mkdir()
    stale_file = work / "my_assumptions" / "history" / ".reported.csv.new.999999999.x1"  # a killed swap's temporary
    stale_file.write_text("half")
    rc, _, _ = run(capsys, "update", str(NEXT), "--assumptions", "my_assumptions", *QUICK, "--out", "u")
    assert rc == 0
    assert not dead.exists() and foreign.exists() and not stale_file.exists()
    assert sorted(p.name for p in (work / "tmp").iterdir()) == [foreign.name]  # its own copy removed too


def test_update_prints_the_warnings_validate_gives_afterwards(work, capsys):
    rc, _, err = run(capsys, "update", str(NEXT), "--assumptions", "my_assumptions", *QUICK, "--out", "u")
    assert rc == 0
    warned = {ln for ln in err.splitlines() if ln.startswith("warning: ")}
    rc, _, verr = run(capsys, "validate", "--assumptions", "my_assumptions")
    assert rc == 0
    expected = {ln for ln in verr.splitlines() if ln.startswith("warning: ")}
    assert expected and expected <= warned  # every warning validate now gives was printed by update
    # an appended row's warning names the rows file and its line (line 10 there), not the trial reported.csv
    assert any(ln.startswith(f"warning: {NEXT}:10: FY2027Q1,Consolidated,adjusted_ebita: YoY growth") for ln in warned)


_UPDATE = [
    sys.executable,
    "-m",
    "pivotmodel.cli",
    "update",
    "--assumptions",
    "my_assumptions",
    "--draws",
    "300",
    "--jobs",
    "1",
]


def test_two_updates_and_an_edit_at_once_never_lose_one(work):
    """Update A (FY2027Q1), update B (the same rows) and an analyst's edit, all at once: each
    either lands and is kept, or is refused with exit 2; never a success that lost one."""
    rep = work / "my_assumptions" / "history" / "reported.csv"
    env = {**os.environ, "TMPDIR": str(work / "tmp"), "PYTHONUNBUFFERED": "1"}
    (work / "tmp").mkdir()
    a = subprocess.Popen([*_UPDATE, str(NEXT), "--out", "ua"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.time() + 60
    while not list((work / "tmp").glob("pivotmodel-update-*")) and a.poll() is None and time.time() < deadline:
        time.sleep(0.02)  # A has checked its rows and copied the folder
    b = subprocess.Popen([*_UPDATE, str(NEXT), "--out", "ub"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    edited = _edit(rep)
    results = {name: (p.wait(timeout=300), *(s.decode() for s in p.communicate())) for name, p in (("A", a), ("B", b))}
    final = rep.read_bytes()
    assert all(rc in (0, 2) and "Traceback" not in err for rc, _, err in results.values()), results
    # the edit is kept whatever happened
    assert final.count(b" (corrected)\n") == 1
    winners = [n for n, (rc, _, _) in results.items() if rc == 0]
    assert len(winners) <= 1  # the same quarter cannot be appended twice
    assert final.count(b"\nFY2027Q1,") == 15 * len(winners)  # a success's rows are there, once
    if not winners:
        assert final == edited
    for _, (rc, _, err) in results.items():
        if rc == 2:
            assert (
                "changed while the update ran" in err
                or "another pivotmodel command is writing" in err
                or "is not after the last reported quarter" in err
            ), err
    assert not list((work / "tmp").iterdir())

"""Nothing lost, nothing stale (issue 9): each test reproduces a way the tool could delete,
overwrite or misreport, and checks it no longer does."""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import pivotmodel.assumptions as assumptions_mod
from pivotmodel import atomic
from pivotmodel.cli import main
from pivotmodel.errors import InputError, Problem
from pivotmodel.simulate import estimate_memory

QUICK = ["--draws", "200", "--jobs", "1"]


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` (hidden ones included) with its SHA-256."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture()
def work(tmp_path, monkeypatch):
    """A working folder with a copy of the assumptions, as an analyst would have."""
    shutil.copytree(assumptions_mod.default_directory(), tmp_path / "my_assumptions")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(capsys, *argv):
    capsys.readouterr()
    rc = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return rc, out, err


# -- 1. never delete what the tool did not create -------------------------------------------


def test_simulate_out_onto_the_assumptions_folder_is_refused(work, capsys):
    before = tree_digest(work / "my_assumptions")
    rc, _, err = run(capsys, "simulate", "--assumptions", "my_assumptions", "--out", "my_assumptions", *QUICK)
    assert rc == 2 and "would overwrite or contain the inputs" in err and "my_assumptions" in err
    assert tree_digest(work / "my_assumptions") == before


def test_out_onto_a_folder_that_contains_the_inputs_is_refused(work, capsys):
    rc, _, err = run(capsys, "simulate", "--assumptions", "my_assumptions", "--out", ".", *QUICK)
    assert rc == 2 and "would overwrite or contain the inputs" in err


@pytest.mark.parametrize("command", ["simulate", "report"])
def test_out_onto_a_user_folder_is_refused(work, capsys, command):
    folder = work / "notes"
    folder.mkdir()
    (folder / "draft.md").write_text("my notes")
    rc, _, err = run(capsys, command, "--assumptions", "my_assumptions", "--out", "notes", "--draws", "20")
    assert rc == 2 and "was not made by pivotmodel" in err and ".pivotmodel-output" in err
    assert tree_digest(folder) == {"draft.md": hashlib.sha256(b"my notes").hexdigest()}
    assert sorted(p.name for p in work.iterdir()) == ["my_assumptions", "notes"]  # no temporaries


def test_out_onto_an_existing_file_is_refused(work, capsys):
    (work / "notes.txt").write_text("keep me")
    rc, _, err = run(capsys, "simulate", "--assumptions", "my_assumptions", "--out", "notes.txt", *QUICK)
    assert rc == 2 and "exists and is not a folder" in err
    assert (work / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in work.iterdir()) == ["my_assumptions", "notes.txt"]  # no hidden .old


def test_an_empty_folder_or_a_previous_run_is_replaced(work, capsys):
    (work / "empty").mkdir()
    assert run(capsys, "simulate", "--assumptions", "my_assumptions", "--out", "empty", *QUICK)[0] == 0
    assert (work / "empty" / "claims.csv").is_file() and (work / "empty" / atomic.MARKER).is_file()
    (work / "empty" / "stray.txt").write_text("inside a run folder")
    assert (
        run(capsys, "simulate", "--assumptions", "my_assumptions", "--out", "empty", "--draws", "300", "--jobs", "1")[0]
        == 0
    )
    assert not (work / "empty" / "stray.txt").exists()
    assert json.loads((work / "empty" / "manifest.json").read_text())["draws"] == 300


def test_project_out_refuses_folders_and_foreign_files_but_replaces_its_own(work, capsys):
    (work / "out").mkdir()
    rc, _, err = run(capsys, "project", "--assumptions", "my_assumptions", "--format", "csv", "--out", "out")
    assert rc == 2 and "is a folder" in err
    (work / "mine.csv").write_text("a,b\n1,2\n")
    rc, _, err = run(capsys, "project", "--assumptions", "my_assumptions", "--format", "csv", "--out", "mine.csv")
    assert rc == 2 and "was not written by pivotmodel" in err and (work / "mine.csv").read_text() == "a,b\n1,2\n"
    for fmt, name in (("csv", "p.csv"), ("xlsx", "p.xlsx")):
        for _ in range(2):  # the second write replaces the first: it is pivotmodel's own
            assert run(capsys, "project", "--assumptions", "my_assumptions", "--format", fmt, "--out", name)[0] == 0
    rc, _, err = run(
        capsys, "project", "--assumptions", "my_assumptions", "--format", "csv", "--out", "my_assumptions/claims.yaml"
    )
    assert rc == 2 and "inside the inputs" in err


def test_output_below_a_file_is_refused_before_any_work(work, capsys):
    (work / "afile").write_text("x")
    rc, _, err = run(capsys, "simulate", "--assumptions", "my_assumptions", "--out", "afile/run", *QUICK)
    assert rc == 2 and "is a file" in err


def test_unwritable_output_folder_is_refused_before_any_work(work, capsys, monkeypatch):
    import pivotmodel.simulate as sim

    def no_run(*a, **k):  # the check must come before the simulation
        raise AssertionError("simulated before checking the output folder")

    monkeypatch.setattr(sim, "simulate", no_run)
    monkeypatch.setattr(atomic.os, "access", lambda path, mode: False)
    rc, _, err = run(capsys, "simulate", "--assumptions", "my_assumptions", "--out", "runs/x", *QUICK)
    assert rc == 2 and "permission denied" in err


# -- 2. a scenario given as a path --------------------------------------------------------


def test_scenario_by_absolute_path_writes_beside_not_onto_it(work, capsys):
    scenario = work / "my_bull.yaml"
    shutil.copy(work / "my_assumptions" / "scenarios" / "bull.yaml", scenario)
    text = scenario.read_bytes()
    rc, out, _ = run(capsys, "simulate", "--assumptions", "my_assumptions", "--scenario", str(scenario), *QUICK)
    assert rc == 0 and "wrote runs/my_bull/" in out
    assert scenario.read_bytes() == text and (work / "runs" / "my_bull" / "claims.csv").is_file()
    rc, out, _ = run(capsys, "report", "--assumptions", "my_assumptions", "--scenario", str(scenario), "--draws", "20")
    assert rc == 0 and (work / "reports" / "my_bull" / "index.html").is_file()
    assert scenario.read_bytes() == text


def test_out_onto_the_scenario_file_is_refused(work, capsys):
    scenario = work / "my_bull.yaml"
    shutil.copy(work / "my_assumptions" / "scenarios" / "bull.yaml", scenario)
    rc, _, err = run(
        capsys,
        "simulate",
        "--assumptions",
        "my_assumptions",
        "--scenario",
        str(scenario),
        "--out",
        str(scenario),
        *QUICK,
    )
    assert rc == 2 and "inputs" in err and scenario.is_file()


# -- 3. cached claims are recomputed whenever anything they depend on changed --------------


def _claims(capsys, *extra):
    return run(capsys, "claims", "--assumptions", "my_assumptions", "--jobs", "1", "--out", "run", *extra)


@pytest.mark.parametrize(
    "edit",
    [
        ("scenarios/bull.yaml", "--scenario", "bull"),
        ("simulation.yaml", None, None),
        ("sources.yaml", None, None),
        ("history/reported.csv", None, None),
    ],
)
def test_claims_reruns_when_any_file_read_changed(work, capsys, edit):
    name, flag, value = edit
    scenario = [flag, value] if flag else []
    assert _claims(capsys, "--draws", "200", *scenario)[0] == 0  # first: a new run
    rc, out, err = _claims(capsys, "--draws", "200", *scenario)
    assert rc == 0 and "from the last run" in out
    path = work / "my_assumptions" / name
    path.write_bytes(path.read_bytes() + (b"\n# edited\n" if name.endswith(".yaml") else b""))
    if name.endswith(".csv"):  # a harmless byte change the loader accepts: a trailing blank line
        path.write_bytes(path.read_bytes() + b"\n")
    rc, out, err = _claims(capsys, "--draws", "200", *scenario)
    assert rc == 0 and "running again" in err and "from the last run" not in out


@pytest.mark.parametrize("options", [["--draws", "300"], ["--seed", "7"], ["--method", "mc"], ["--tolerance", "0.5"]])
def test_claims_reruns_when_an_option_changes_the_numbers(work, capsys, options):
    assert _claims(capsys, "--draws", "200")[0] == 0
    rc, out, err = _claims(capsys, "--draws", "200", *options) if options[0] != "--draws" else _claims(capsys, *options)
    assert rc == 0 and "running again" in err
    manifest = json.loads((work / "run" / "manifest.json").read_text())
    flag, value = options
    key = flag.lstrip("-")
    assert str(manifest["options"][key]) == value or manifest["options"][key] == float(value)


def test_claims_reuses_only_an_identical_run(work, capsys):
    assert _claims(capsys, "--draws", "200", "--seed", "5", "--method", "mc")[0] == 0
    rc, out, _ = _claims(capsys, "--draws", "200", "--seed", "5", "--method", "mc")
    assert rc == 0 and "from the last run in run/: the same input files and options" in out


# -- 7. memory is estimated before the work -------------------------------------------------


def test_a_run_too_big_for_memory_is_refused_at_once(work, capsys):
    started = time.time()
    rc, _, err = run(
        capsys, "simulate", "--assumptions", "my_assumptions", "--draws", "500000000000000", "--out", "big"
    )
    assert rc == 2 and "GB" in err and "--max-memory" in err and not (work / "big").exists()
    assert time.time() - started < 60  # refused up front, not after filling memory
    rc, _, err = run(
        capsys,
        "simulate",
        "--assumptions",
        "my_assumptions",
        "--draws",
        "20000",
        "--max-memory",
        "0.01",
        "--out",
        "big",
    )
    assert rc == 2 and "more than the cap you set (0.01 GB)" in err


def test_memory_estimate_is_flat_beyond_the_sample_but_for_the_claim_counts():
    a = assumptions_mod.load()
    claims = len(a.claims)
    # claim counts: two int64 a claim per stretch of 65,536 draws; 1M draws: 16 stretches, 2M: 31
    assert estimate_memory(a, 2_000_000) - estimate_memory(a, 1_000_000) == (31 - 16) * 16 * claims
    # below the sample every kept draw costs its inputs, metrics and totals (about 2.5 kB, with the margin)
    below = (estimate_memory(a, 200_000) - estimate_memory(a, 100_000)) / 100_000
    assert 1_500 < below < 4_000
    assert estimate_memory(a, 10_000) < estimate_memory(a, 100_000) * 10
    assert estimate_memory(a, 10_000_000) < 1.25 * estimate_memory(a, 1_000_000)


# -- 8, 11. options and settings checked before any work ------------------------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        (["sensitivity", "--low", "-1", "--high", "2"], "argument --low: must be in (0, 1)"),
        (["sensitivity", "--low", "0", "--high", "1"], "argument --low: must be in (0, 1)"),
        (["sensitivity", "--low", "0.9", "--high", "0.1"], "must be below --high"),
        (["sensitivity", "--method", "rank", "--draws", "0"], "argument --draws: must be at least 2"),
        (["sensitivity", "--method", "sobol", "--samples", "100"], "must be a power of two"),
        (["drivers", "fcf_negative_fy2027", "--alpha", "1.5"], "argument --alpha: must be in (0, 0.5)"),
        (["drivers", "fcf_negative_fy2027", "--draws", "0"], "argument --draws: must be at least 2"),
        (["drivers", "fcf_negative_fy2027", "--seed", "-1"], "argument --seed: must be in [0, "),
        (
            ["solve", "fcf_negative_fy2027", "--input", "x", "--input", "y", "--size", "0"],
            "argument --size: must be in [2, 201]",
        ),
        (["report", "--draws", "1"], "argument --draws: must be at least 2"),
        (["simulate", "--jobs", "-1"], "argument --jobs: must be in [1, "),
    ],
)
def test_options_out_of_range_are_refused(capsys, argv, message):
    rc, _, err = run(capsys, *argv)
    assert rc == 2 and message in err


def test_negative_seed_in_simulation_yaml_is_an_input_error(work, capsys):
    path = work / "my_assumptions" / "simulation.yaml"
    text = path.read_text()
    path.write_text(
        "\n".join(("  seed: -3" if line.strip().startswith("seed:") else line) for line in text.splitlines()) + "\n"
    )
    rc, _, err = run(capsys, "validate", "--assumptions", "my_assumptions")
    assert (
        rc == 2 and "simulation.yaml" in err and "simulation.seed: must be a whole number in [0, 2**63), got -3" in err
    )


def test_rank_sensitivity_honours_seed_zero(capsys):
    """--seed 0 is a seed like any other, not 'unset': its correlations differ from those of the
    simulation.yaml seed (20260522 in the frozen folder) and repeat exactly."""
    argv = ("sensitivity", "--method", "rank", "--draws", "200", "--top", "3", "--seed")
    rc, out0, _ = run(capsys, *argv, "0")
    assert rc == 0 and "(lhs, seed 0;" in out0
    assert run(capsys, *argv, "0")[1] == out0
    rc, out_default, _ = run(capsys, *argv, "20260522")
    assert rc == 0 and "(lhs, seed 20260522;" in out_default
    assert out_default.split("applied):")[1] != out0.split("applied):")[1]  # other draws, other correlations


def test_input_errors_survive_pickling():
    exc = InputError([Problem("a.yaml", "k", "bad", 3)])
    back = pickle.loads(pickle.dumps(exc))
    assert isinstance(back, InputError) and back.problems == exc.problems and str(back) == "a.yaml:3: k: bad"


def test_the_cli_and_its_parser_import_no_heavy_library():
    """Importing the CLI, building the parser and formatting every command's help import none of
    numpy, pandas, scipy, matplotlib, SALib or openpyxl: the commands import them when they run."""
    code = (
        "import sys, pivotmodel.cli as c\n"
        "p = c.build_parser()\n"
        "texts = [q.format_help() for q in p._subparsers._group_actions[0].choices.values()]\n"
        "print(len(texts), sorted(m for m in ('numpy', 'pandas', 'scipy', 'matplotlib', 'SALib', 'openpyxl') if m in "
        "sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "12 []"  # Ctrl-C while a heavy import runs happens inside main's handler


# -- 10. temporaries, signals, concurrent writers -------------------------------------------


def test_stale_temporaries_of_dead_runs_are_removed_and_others_left(work, capsys):
    runs = work / "runs"
    runs.mkdir()
    dead = runs / ".base.new.999999999.abc"  # no such pid
    dead.mkdir()
    (dead / atomic.MARKER).write_text("x")
    foreign = runs / ".base.new.999999998.keep"  # no marker and not empty: not provably ours
    foreign.mkdir()
    (foreign / "something.txt").write_text("x")
    half = runs / ".base.new.999999997.xyz"  # empty: its writer died as it made it
    half.mkdir()
    rc, _, _ = run(capsys, "simulate", "--assumptions", "my_assumptions", *QUICK)
    assert rc == 0 and not dead.exists() and not half.exists() and foreign.exists()
    assert sorted(p.name for p in runs.iterdir()) == [".base.new.999999998.keep", "base"]


def _writer(target: str, tag: str, rounds: int) -> None:
    for i in range(rounds):

        def write(tmp: Path, i=i) -> None:
            for k in range(5):
                (tmp / f"f{k}.txt").write_text(f"{tag} {i}")

        atomic.write_dir_atomic(Path(target), write)


def test_concurrent_writers_take_turns_and_the_target_is_never_missing(tmp_path):
    target = tmp_path / "out"
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(target), tag, 40)) for tag in ("a", "b")]
    for p in procs:
        p.start()
    seen_missing = 0
    seen_present = 0
    while any(p.is_alive() for p in procs):
        if target.exists():
            seen_present += 1
        elif seen_present:
            seen_missing += 1
    for p in procs:
        p.join()
    assert [p.exitcode for p in procs] == [0, 0]
    assert seen_missing == 0
    texts = {(target / f"f{k}.txt").read_text() for k in range(5)}
    assert len(texts) == 1  # one writer's complete folder, never a mix
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporaries left


# Runs the CLI with every folder write held open after its files are written and before the swap,
# so the signal always lands while a complete temporary folder exists (the hardest case to clean
# up), whatever the speed of the machine. "ready" beside the run says the hold has begun.
_HELD_WRITE = """
import sys, time
from pathlib import Path
from pivotmodel import atomic
from pivotmodel.cli import main

plain = atomic.write_dir_atomic

def held(target, write, *args, **kwargs):
    def write_then_wait(tmp):
        write(tmp)
        Path("ready").write_text(str(tmp))
        time.sleep(120)
    return plain(target, write_then_wait, *args, **kwargs)

atomic.write_dir_atomic = held
sys.exit(main(sys.argv[1:]))
"""


def test_sigterm_during_a_report_leaves_the_previous_report_and_no_temporary(work):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    args = ["report", "--assumptions", "my_assumptions", "--out", "rep", "--draws", "20"]
    subprocess.run([sys.executable, "-m", "pivotmodel.cli", *args], check=True, capture_output=True, env=env)
    before = tree_digest(work / "rep")
    proc = subprocess.Popen(
        [sys.executable, "-c", _HELD_WRITE, *args[:-1], "30"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    deadline = time.time() + 120
    while not (work / "ready").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the report ended before it could be stopped"
    held = Path((work / "ready").read_text())
    assert held.name.startswith(".rep.new.") and (held / atomic.MARKER).is_file()  # a full temporary exists
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM and b"Traceback" not in err and b"stopped by signal" in err
    assert tree_digest(work / "rep") == before
    assert not held.exists() and not list(work.glob(".rep.*"))

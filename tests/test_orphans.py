"""``kill -9`` leaves no orphan (issue 24, item 3): the simulation's pool workers and the report's
chart worker end with the command that started them, and the chart worker holds none of its
output pipes (a harness reading them sees their end as soon as the command is killed)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")


def _children(pid: int) -> set[int]:
    """Live (not zombie) processes whose parent is ``pid``."""
    out = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            state, ppid = stat.rsplit(")", 1)[1].split()[:2]
            if int(ppid) == pid and state != "Z":
                out.add(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _kill_mid_run(tmp_path: Path, argv: list[str], workers: int, ready=lambda: True) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pivotmodel.cli", *argv],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 120
    kids: set[int] = set()
    while len(kids) < workers and time.time() < deadline and proc.poll() is None:
        kids = _children(proc.pid) if ready() else set()
        time.sleep(0.05)
    assert proc.poll() is None and len(kids) >= workers, f"no {workers} workers seen before the command ended"
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)  # the pipes reach their end: no worker holds them
    deadline = time.time() + 5
    while any(_alive(k) for k in kids) and time.time() < deadline:
        time.sleep(0.05)
    assert not [k for k in kids if _alive(k)], "workers survived the killed command"


def test_a_killed_simulate_leaves_no_pool_worker(tmp_path):
    _kill_mid_run(tmp_path, ["simulate", "--jobs", "2", "--draws", "400000", "--out", "run"], workers=2)


def test_a_killed_report_leaves_no_chart_worker(tmp_path):
    if (os.cpu_count() or 1) < 2:
        pytest.skip("the chart worker is used with a spare core")
    # killed once the charts are being drawn (their data files written): the child then is the chart worker
    _kill_mid_run(
        tmp_path,
        ["report", "--draws", "2000", "--out", "rep"],
        workers=1,
        ready=lambda: any(tmp_path.glob(".rep.new.*/data/*.csv")),
    )

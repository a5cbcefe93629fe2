"""The allocator switch of long runs (pivotmodel/allocator.py): applied on glibc Linux, skipped
when PIVOTMODEL_MALLOC=0. Each check runs in a fresh interpreter, so the test process's own
allocator is left as it was."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

CODE = "from pivotmodel.allocator import retain_freed_memory; print(retain_freed_memory())"


def _run(env_value: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PIVOTMODEL_MALLOC"}
    if env_value is not None:
        env["PIVOTMODEL_MALLOC"] = env_value
    return subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None, reason="glibc only")
def test_applied_on_glibc_unless_switched_off():
    assert _run(None) == "True"
    assert _run("1") == "True"
    assert _run("0") == "False"
    assert _run(" 0 ") == "False"

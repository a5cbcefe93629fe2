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
    return subprocess.run(
        [sys.executable, "-c", CODE], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None, reason="glibc only"
)
def test_applied_on_glibc_unless_switched_off():
    assert _run(None) == "True"
    assert _run("1") == "True"
    assert _run("0") == "False"
    assert _run(" 0 ") == "False"


POPULATE = """
import numpy as np
from pivotmodel.allocator import populate, prefault_heap, retain_freed_memory
values = np.arange(3 * 1024 * 1024 + 5, dtype=np.float64)[3:]  # ~24 MB starting inside a page
before = values.copy()
done = populate(values.ctypes.data, values.nbytes)
print(done, np.array_equal(values, before), populate(values.ctypes.data, 100))
print(prefault_heap(64 << 20), retain_freed_memory(), prefault_heap(64 << 20), prefault_heap(0))
"""


def _kernel_populates() -> bool:
    """Whether this kernel populates on request (MADV_POPULATE_WRITE, Linux 5.14+), probed
    apart from pivotmodel: the flag on an anonymous map through Python's own mmap module."""
    import mmap

    region = mmap.mmap(-1, 1 << 20)
    try:
        region.madvise(23)
        return True
    except OSError:
        return False
    finally:
        region.close()


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None, reason="glibc only"
)
def test_populate_keeps_every_value_and_prefault_waits_for_the_retained_heap():
    env = {k: v for k, v in os.environ.items() if k != "PIVOTMODEL_MALLOC"}
    out = subprocess.run(
        [sys.executable, "-c", POPULATE], env=env, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    kernel = _kernel_populates()
    # populated where the kernel can; the values are untouched either way; less than a page: nothing to do
    assert out[0] == f"{kernel} True False"
    # before the thresholds are raised a freed block would go back to the kernel: no prefault
    assert out[1] == f"False True {kernel} False"
    off = subprocess.run(
        [sys.executable, "-c", POPULATE],
        env={**env, "PIVOTMODEL_MALLOC": "0"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    assert off[:2] == ["False True False", "False False False False"]

"""Keep freed memory for reuse during a long Monte Carlo run (glibc's malloc only).

Every chunk of draws allocates the same large arrays again. By default glibc hands each array
over 128 KiB to the kernel on ``free`` and maps fresh zeroed pages for the next one, so a 1M
draw run spends seconds of system time in page faults. Raising the mmap and trim thresholds
keeps freed blocks in the process's heap, where the next chunk reuses them: the same numbers,
less system time, and a resident size that stays at the largest chunk's instead of dropping
between chunks. Applied in simulation worker processes and by the command line; a notebook's
own process is left alone. ``PIVOTMODEL_MALLOC=0`` leaves the allocator as it is.
"""

from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["retain_freed_memory", "ENV"]

ENV = "PIVOTMODEL_MALLOC"
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
# glibc before 2.35 caps the mmap threshold at 32 MiB on 64-bit: asked first for 1 GiB, then that
_THRESHOLDS = (1 << 30, 32 << 20)


def retain_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds in this process; True when applied."""
    if os.environ.get(ENV, "1").strip() == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return False
    for size in _THRESHOLDS:
        if mallopt(_M_MMAP_THRESHOLD, size):
            return bool(mallopt(_M_TRIM_THRESHOLD, 2 * size))
    return False  # pragma: no cover - an allocator refusing both

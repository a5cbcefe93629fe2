"""Keep freed memory for reuse during a long Monte Carlo run (glibc's malloc only).

Every chunk of draws allocates the same large arrays again. By default glibc hands each array
over 128 KiB to the kernel on ``free`` and maps fresh zeroed pages for the next one, so a 1M
draw run spends seconds of system time in page faults. Raising the mmap and trim thresholds
keeps freed blocks in the process's heap, where the next chunk reuses them: the same numbers,
less system time, and a resident size that stays at the largest chunk's instead of dropping
between chunks. Applied in simulation worker processes and by the command line; a notebook's
own process is left alone. ``PIVOTMODEL_MALLOC=0`` leaves the allocator as it is.

Fresh memory is also made resident ahead of use (:func:`populate`, :func:`prefault_heap`),
where Linux offers ``MADV_POPULATE_WRITE`` (5.14 and later). On the virtual machines this was
measured on, a page faulted in one by one on first write cost ~12 microseconds and the same
page populated by one ``madvise`` call ~1.7: a worker's first chunk of 24,576 draws faulted
~28,000 pages (0.32-0.40 s of system time, its wall time 0.59-0.66 s against 0.19-0.23 s for
the next chunk). Populating changes no value in memory (fresh pages read as zero either way).
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys

__all__ = ["retain_freed_memory", "populate", "prefault_heap", "ENV"]

ENV = "PIVOTMODEL_MALLOC"
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
# glibc before 2.35 caps the mmap threshold at 32 MiB on 64-bit: asked first for 1 GiB, then that
_THRESHOLDS = (1 << 30, 32 << 20)
_MADV_POPULATE_WRITE = 23  # <linux/mman.h>, Linux 5.14+; older kernels answer EINVAL
_PAGE = 4096
_retained = False  # whether retain_freed_memory() applied in this process (set once, never unset)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """glibc with the prototypes used here, or None (not Linux, not glibc, or switched off)."""
    if os.environ.get(ENV, "1").strip() == "0" or not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:  # pragma: no cover - not glibc
        return None
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    libc.malloc.argtypes, libc.malloc.restype = [ctypes.c_size_t], ctypes.c_void_p
    libc.free.argtypes, libc.free.restype = [ctypes.c_void_p], None
    return libc


def retain_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds in this process; True when applied."""
    global _retained
    libc = _libc()
    if libc is None:
        return False
    for size in _THRESHOLDS:
        if libc.mallopt(_M_MMAP_THRESHOLD, size):
            _retained = bool(libc.mallopt(_M_TRIM_THRESHOLD, 2 * size))
            return _retained
    return False  # pragma: no cover - an allocator refusing both


def populate(address: int, size: int) -> bool:
    """Make the whole pages inside ``size`` bytes at ``address`` (an allocation this process
    owns, e.g. ``array.ctypes.data, array.nbytes``) resident and writable in one call, their
    contents unchanged; True when the kernel did. A partial page at either end is left to
    fault as usual, so no byte outside the allocation is touched."""
    libc = _libc()
    start = -(-address // _PAGE) * _PAGE
    length = (address + size) // _PAGE * _PAGE - start
    if libc is None or length <= 0:
        return False
    return libc.madvise(start, length, _MADV_POPULATE_WRITE) == 0


def prefault_heap(size: int) -> bool:
    """Grow this process's heap by about ``size`` bytes of resident pages that the next
    allocations reuse: one block allocated, populated and freed. Only after
    :func:`retain_freed_memory` applied (otherwise a block this large is unmapped on free);
    True when the pages were populated."""
    libc = _libc()
    if libc is None or not _retained or size <= 0:
        return False
    block = libc.malloc(size)
    if not block:
        return False
    try:
        return populate(block, size)
    finally:
        libc.free(block)

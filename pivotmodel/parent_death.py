"""Worker processes end when the process that started them dies, even by ``kill -9``.

A pool worker (the simulation's, the report's chart worker) is useless once its parent is
gone, and a forked one holds a copy of the parent's memory (200-300 MB) and, unless it lets go
of them, the parent's stdout and stderr pipes. Each worker calls :func:`exit_with_parent` first
thing: on Linux the kernel sends it SIGKILL when the parent dies (``prctl(PR_SET_PDEATHSIG)``);
elsewhere a daemon thread blocks on the read end of a pipe whose write end only the parent
holds (:func:`parent_pipe`, made before the pool) and exits the worker at end of file, falling
back to watching ``getppid()`` when no pipe was given (a spawned worker).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading

__all__ = ["exit_with_parent", "parent_pipe", "release_parent_output"]

_PR_SET_PDEATHSIG = 1
_PIPE: tuple[int, int] | None = None  # (read, write) of the parent's pipe, inherited by forked workers


def parent_pipe() -> None:
    """Make (once per process) the pipe forked workers watch where there is no PR_SET_PDEATHSIG."""
    global _PIPE
    if _PIPE is None and not sys.platform.startswith("linux"):
        _PIPE = os.pipe()


def _pdeathsig() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    if _PIPE is not None:
        read, write = _PIPE
        os.close(write)  # only the parent keeps the write end: its death is end of file here
        while os.read(read, 1):
            pass
    else:
        import time

        while os.getppid() == parent:
            time.sleep(0.5)
    os._exit(1)


def exit_with_parent(parent: int | None = None) -> None:
    """Called in a worker as it starts: end this process when ``parent`` (default: the current
    parent) dies; if it is already gone, end now."""
    parent = os.getppid() if parent is None else parent
    if not _pdeathsig():
        threading.Thread(target=_watch, args=(parent,), daemon=True, name="exit-with-parent").start()
    if os.getppid() != parent:  # died before the signal was armed
        os._exit(1)


def release_parent_output() -> None:
    """Point this worker's stdout and stderr at the null device, so the parent's pipes are not
    held open by it (a harness reading them sees their end when the parent ends)."""
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in (1, 2):
            os.dup2(null, fd)
    finally:
        os.close(null)

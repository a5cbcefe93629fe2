"""Writing outputs so that nothing is lost: atomic, owned, locked.

Rules (README, "Reliability"):

* An output folder is built in a hidden temporary folder beside its target and swapped into
  place in one step, so a failed or killed run leaves the previous output as it was.
* A folder is only ever replaced if pivotmodel made it: it carries the marker file
  :data:`MARKER`. Anything else (a user's folder, an assumptions folder, a file where a folder
  is asked for) is refused with an :class:`~pivotmodel.errors.InputError` before any work.
* A single output file is only replaced if pivotmodel wrote it (the caller says how to
  recognise its own files).
* Writers to the same target take turns (an advisory lock on the parent folder while
  swapping), and temporaries left by killed runs are removed by the next run.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from pathlib import Path

from .errors import InputError

__all__ = [
    "MARKER",
    "CSV_MARKER",
    "csv_is_ours",
    "write_owned_csv",
    "check_dir_target",
    "check_file_target",
    "write_atomic",
    "write_dir_atomic",
    "writer_lock",
    "scratch_dir",
    "installed_package",
]

MARKER = ".pivotmodel-output"
# First line of a single CSV file pivotmodel writes with --out: the file may be replaced by the
# next run only while it starts so (an analyst's file never does, whatever its header).
CSV_MARKER = "# written by pivotmodel"
_NEW, _OLD = ".new.", ".old."


def _short(name: str) -> str:
    """``name`` as temporaries beside it carry it: cut (with a hash of the whole) when a temporary's
    name would pass the file system's 255-byte limit."""
    if len(name.encode()) <= 200:
        return name
    import hashlib

    return name.encode()[:150].decode(errors="ignore") + "~" + hashlib.sha256(name.encode()).hexdigest()[:12]


def _is_ours(folder: Path) -> bool:
    """A folder pivotmodel made: it holds the marker (or, from before the marker existed, a
    run manifest naming a pivotmodel version)."""
    if (folder / MARKER).is_file():
        return True
    manifest = folder / "manifest.json"
    if manifest.is_file():
        try:
            return "pivotmodel_version" in json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
    return False


def _touches(target: Path, protected: Iterable[Path]) -> Path | None:
    """The protected path that ``target`` is, contains, or lies inside a protected folder of."""
    t = target.resolve()
    for p in protected:
        p = p.resolve()
        if t == p or p.is_relative_to(t) or (p.is_dir() and t.is_relative_to(p)):
            return p
    return None


def _writable_ancestor(target: Path, option: str) -> None:
    """The nearest existing folder above ``target`` must let us create entries."""
    parent = target.resolve().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise InputError.single(option, "", f"{parent} is a file, so {target} cannot be created below it")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError.single(option, "", f"cannot write in {parent} (permission denied); choose another --out")


def check_dir_target(target: Path, protected: Iterable[Path] = (), option: str = "--out") -> None:
    """Refuse, before any work, an output folder this run must not replace."""
    hit = _touches(target, protected)
    if hit is not None:
        raise InputError.single(
            option,
            "",
            f"{target} would overwrite or contain the inputs ({hit}); choose a folder outside the assumptions",
        )
    if target.exists() or target.is_symlink():
        if not target.is_dir() or target.is_symlink():
            raise InputError.single(
                option,
                "",
                f"{target} exists and is not a folder; pivotmodel writes a folder "
                "there and never replaces a file it did not make: choose another --out",
            )
        if any(target.iterdir()) and not _is_ours(target):
            raise InputError.single(
                option,
                "",
                f"{target} exists and was not made by pivotmodel (no {MARKER} "
                "inside); it is never replaced: choose a new or empty folder",
            )
    _writable_ancestor(target, option)


def check_file_target(
    path: Path, is_ours: Callable[[Path], bool], protected: Iterable[Path] = (), option: str = "--out"
) -> None:
    """Refuse an output file path that is an input, a folder, or a file pivotmodel did not write."""
    hit = _touches(path, protected)
    if hit is not None:
        raise InputError.single(
            option,
            "",
            f"{path} would overwrite or sit inside the inputs ({hit}); choose a path outside the assumptions",
        )
    if path.is_dir():
        raise InputError.single(option, "", f"{path} is a folder; give a file name, e.g. {path / 'projection.csv'}")
    if path.is_symlink():
        raise InputError.single(
            option,
            "",
            f"{path} is a symbolic link; pivotmodel never replaces a link or writes "
            "through one: give the path of a file",
        )
    if path.exists() and not is_ours(path):
        raise InputError.single(
            option,
            "",
            f"{path} exists and was not written by pivotmodel; it is never "
            "overwritten: remove it yourself or choose another name",
        )
    _writable_ancestor(path, option)


def csv_is_ours(path: Path) -> bool:
    """A CSV file pivotmodel wrote: its first line is the ownership comment."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.readline().startswith(CSV_MARKER)
    except OSError:
        return False


def write_owned_csv(path: Path, command: str, write_table: Callable[[Path], None]) -> None:
    """Write a CSV (``write_table(tmp)``) atomically, behind the ownership comment line (read it
    back with ``pandas.read_csv(path, skiprows=1)``)."""

    def write(tmp: Path) -> None:
        write_table(tmp)
        body = tmp.read_bytes()
        tmp.write_bytes(
            f"{CSV_MARKER} {command}; replaced by the next run unless this line is removed\n".encode() + body
        )

    write_atomic(path, write)


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place
    (the temporary carries the writer's pid, so the next write removes it if the writer was killed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale(path.parent, path.name)
    fd, tmp = tempfile.mkstemp(prefix=f".{_short(path.name)}{_NEW}{os.getpid()}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        _respect_umask(Path(tmp), 0o666)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _respect_umask(path: Path, full: int) -> None:
    """mkstemp/mkdtemp create owner-only entries; give the outputs the usual permissions."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, full & ~mask)


@contextmanager
def _locked(folder: Path, wait: bool = True):
    """An exclusive advisory lock on ``folder`` (POSIX); a no-op where flock is unavailable.
    With ``wait=False``, BlockingIOError if another process holds it."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            fd = -1
            raise
        yield
    finally:
        if fd >= 0:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


@contextmanager
def writer_lock(folder: Path, label: str):
    """One writer at a time for an assumptions folder: the lock is taken at once or the command
    is refused (InputError naming ``label``); held until the block ends."""
    try:
        with _locked(folder, wait=False):
            yield
    except BlockingIOError:
        raise InputError.single(
            label,
            "",
            f"another pivotmodel command is writing to {folder}; "
            "nothing was changed: run this again when it has finished",
        ) from None


def installed_package(folder: Path) -> bool:
    """``folder`` lies inside an installed Python package (site-packages, dist-packages or the
    interpreter's library folders), where a write is lost on the next upgrade and shared."""
    import sysconfig

    resolved = folder.resolve()
    if {"site-packages", "dist-packages"} & set(resolved.parts):
        return True
    libs = {sysconfig.get_paths().get(k) for k in ("purelib", "platlib", "stdlib", "platstdlib")}
    return any(lib and resolved.is_relative_to(Path(lib).resolve()) for lib in libs)


@contextmanager
def scratch_dir(prefix: str):
    """A private temporary folder ``<tmp>/<prefix><pid>.<random>`` (marked as ours), removed at
    the end; those left by killed runs of the same prefix are removed first."""
    base = Path(tempfile.gettempdir())
    for entry in base.glob(f"{prefix}*"):
        pid = entry.name[len(prefix) :].split(".")[0]
        if pid.isdigit() and not _pid_alive(int(pid)) and entry.is_dir() and (entry / MARKER).is_file():
            shutil.rmtree(entry, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}.", dir=base))
    try:
        (tmp / MARKER).write_text(
            "made by pivotmodel; removed by the next run if its maker is gone\n", encoding="utf-8"
        )
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_stale(parent: Path, name: str) -> None:
    """Remove temporaries of ``name`` left by runs that no longer exist (their writer's pid is in
    their name; they carry our marker, or are empty if the writer died as it made them)."""
    name = _short(name)
    for entry in parent.glob(f".{glob.escape(name)}.*"):
        rest = entry.name[len(name) + 1 :]
        for tag in (_NEW, _OLD):
            if rest.startswith(tag):
                pid = rest[len(tag) :].split(".")[0]
                if not pid.isdigit() or _pid_alive(int(pid)):
                    continue
                if entry.is_dir() and ((entry / MARKER).is_file() or not any(entry.iterdir())):  # ours, or empty
                    shutil.rmtree(entry, ignore_errors=True)
                elif tag == _NEW and entry.is_file() and not entry.is_symlink():  # write_atomic's, named by us
                    entry.unlink(missing_ok=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    try:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def write_dir_atomic(
    target: Path, write: Callable[[Path], None], protected: Iterable[Path] = (), option: str = "--out"
) -> None:
    """Build a folder with ``write(tmp)`` beside ``target``, then swap it into place.

    ``target`` must be new, empty, or a folder pivotmodel made (checked again here, under the
    lock, in case it changed since :func:`check_dir_target`). On any failure, the previous
    folder is left exactly as it was and the temporary is removed."""
    target = Path(target)
    protected = list(protected)
    check_dir_target(target, protected, option)
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp: Path | None = None
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{_short(target.name)}{_NEW}{os.getpid()}.", dir=parent))
        (tmp / MARKER).write_text(
            "made by pivotmodel; a folder holding this file may be replaced by the next run\n", encoding="utf-8"
        )
        write(tmp)
        _respect_umask(tmp, 0o777)
        with _locked(parent):
            _clean_stale(parent, target.name)
            check_dir_target(target, protected, option)
            if target.is_dir() and _exchange(tmp, target):
                shutil.rmtree(tmp)  # the previous output, now at the temporary's name
                return
            if target.is_dir():
                if not any(target.iterdir()):
                    target.rmdir()
                else:
                    old = parent / f".{_short(target.name)}{_OLD}{os.getpid()}"
                    os.replace(target, old)
                    try:
                        os.replace(tmp, target)
                    except BaseException:
                        os.replace(old, target)
                        raise
                    shutil.rmtree(old, ignore_errors=True)
                    return
            os.replace(tmp, target)
    except BaseException:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        raise

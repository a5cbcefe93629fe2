"""Where a run's chunks of draws are computed: in this process, on a local process pool, or on
any ``concurrent.futures``-style executor (a ``dask.distributed`` Client included).

A chunk task is a module-level function ``work(lo, hi)`` that reads its run's state (the
engine's inputs, the design, the claims, ...) from a module global its ``install(state)``
function sets. A local pool installs the state once per worker (forked workers inherit it);
an executor gets the state pickled once a run under a run key, and each worker process
installs it the first time one of its tasks carries that key (a dask Client scatters the bytes
to every worker once; any other executor sends them with each task). Every chunk's result
depends only on the state and its bounds, and results are handed over in chunk order, so a
run's numbers are the same bits on every path.
"""

from __future__ import annotations

import functools
import multiprocessing as mp
import os
import pickle
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

from .parent_death import exit_with_parent, parent_pipe

__all__ = ["run_chunks", "dask_executor", "executor_workers"]

Bounds = tuple[int, int]

# The run key whose state this process holds (set in the parent while its run is in flight,
# so an executor whose workers are threads of this process uses the parent's state as is).
_installed: dict[str, str | None] = {"key": None}
_CONNECT_TIMEOUT = "20s"  # how long to wait for a scheduler to answer
_lock = threading.Lock()


def _remote(
    install: Callable[[dict], None], work: Callable[[int, int], Any], key: str, payload: bytes, lo: int, hi: int
) -> Any:
    """A chunk on an executor's worker: install the run's state if this process does not hold
    it yet (once per process and run), then compute the chunk."""
    if _installed["key"] != key:
        with _lock:
            if _installed["key"] != key:
                install(pickle.loads(payload))
                _installed["key"] = key
    return work(lo, hi)


def _is_dask(executor: Any) -> bool:
    return hasattr(executor, "scatter") and hasattr(executor, "scheduler_info")


def executor_workers(executor: Any, default: int = 1) -> int:
    """How many chunks an executor computes at once: a dask Client's worker threads, a
    ``concurrent.futures`` pool's workers, else ``default``."""
    if _is_dask(executor):
        workers = executor.scheduler_info().get("workers", {})
        return max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))
    return max(1, int(getattr(executor, "_max_workers", default) or default))


def _submitter(executor: Any, install: Callable, work: Callable, state: dict) -> Callable[[int, int], Any]:
    """``submit(lo, hi)`` on an executor, the state pickled once under a fresh run key."""
    key = uuid.uuid4().hex
    payload = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
    _installed["key"] = key  # this process already holds the state (set by the caller)
    if _is_dask(executor):
        shared = executor.scatter(payload, broadcast=True, hash=False)
        return lambda lo, hi: executor.submit(_remote, install, work, key, shared, lo, hi, pure=False)
    return lambda lo, hi: executor.submit(_remote, install, work, key, payload, lo, hi)


def _drain(
    submit: Callable[[int, int], Any],
    bounds: list[Bounds],
    in_flight: int,
    on_result: Callable[[int, int, Any], None],
    after_submit: Callable[[], object] | None,
) -> None:
    """Submit chunks, at most ``in_flight`` at a time (so finished chunks waiting to be stored
    never pile up in memory), and hand each result to ``on_result`` in chunk order."""
    pending: deque = deque()
    todo = iter(bounds)
    for lo, hi in todo:
        pending.append((lo, hi, submit(lo, hi)))
        if len(pending) >= in_flight:
            break
    if after_submit:
        after_submit()
    while pending:
        lo, hi, future = pending.popleft()
        on_result(lo, hi, future.result())
        nxt = next(todo, None)
        if nxt is not None:
            pending.append((*nxt, submit(*nxt)))


def _pool_worker(install: Callable[[dict], None], state: dict, parent: int) -> None:
    """A local pool worker's start: it ends when ``parent`` dies (even by ``kill -9``), then installs the state."""
    exit_with_parent(parent)
    install(state)


def run_chunks(
    bounds: list[Bounds],
    work: Callable[[int, int], Any],
    install: Callable[[dict], None],
    state: dict,
    on_result: Callable[[int, int, Any], None],
    *,
    jobs: int = 1,
    executor: Any = None,
    start_method: str | None = None,
    local_install: Callable[[dict], None] | None = None,
    serial_setup: Callable[[], None] | None = None,
    after_submit: Callable[[], object] | None = None,
) -> str:
    """Compute ``work(lo, hi)`` for every chunk and hand each result to ``on_result`` in chunk
    order; returns where they ran (``serial``, ``local pool``, ``dask``, ``executor``).

    The caller has already installed ``state`` in this process. With ``executor``, the chunks
    run there (workers call ``install``); else on a local process pool of ``jobs`` workers when
    there is more than one chunk (workers call ``local_install``, default ``install``: forked
    workers inherit the state, spawned ones get it pickled once), else here, after
    ``serial_setup``. ``after_submit`` runs once the first chunks are in flight."""
    if executor is not None:
        submit = _submitter(executor, install, work, state)
        try:
            _drain(submit, bounds, 2 * executor_workers(executor, jobs), on_result, after_submit)
        finally:
            _installed["key"] = None
        return "dask" if _is_dask(executor) else "executor"
    if jobs > 1 and len(bounds) > 1:
        method = start_method or ("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        parent_pipe()  # workers end with this process, even if it is killed (pivotmodel.parent_death)
        initargs = ({} if method == "fork" else dict(state), os.getpid())  # fork: the workers inherit the state
        workers = min(jobs, len(bounds))
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=mp.get_context(method),
            initializer=functools.partial(_pool_worker, local_install or install),
            initargs=initargs,
        ) as pool:
            _drain(lambda lo, hi: pool.submit(work, lo, hi), bounds, 2 * workers, on_result, after_submit)
        return "local pool"
    if serial_setup:
        serial_setup()
    for lo, hi in bounds:
        on_result(lo, hi, work(lo, hi))
    return "serial"


@contextmanager
def dask_executor(address: str | None = None, workers: int | None = None) -> Iterator[Any]:
    """A ``dask.distributed`` Client: connected to the scheduler at ``address``, or (no address)
    to a cluster of ``workers`` single-threaded worker processes started on this machine for
    the run. dask is imported here, only when asked for; a missing install is an input error
    naming the extra to install."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        from .errors import InputError

        raise InputError.single(
            "--executor",
            "executor",
            "dask is not installed: pip install 'pivotmodel[distributed]' "
            "(or run with the local pool: --executor local)",
        ) from None
    if address:
        try:
            client = Client(address, timeout=_CONNECT_TIMEOUT)
        except (OSError, ValueError, TimeoutError) as exc:
            from .errors import InputError

            raise InputError.single(
                "--scheduler",
                "scheduler",
                f"cannot connect to a dask scheduler at {address!r} ({exc}); "
                "give the address `dask scheduler` prints, e.g. tcp://10.0.0.5:8786",
            ) from None
        try:
            yield client
        finally:
            client.close()
        return
    n = workers or os.cpu_count() or 1
    with (
        LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        yield client

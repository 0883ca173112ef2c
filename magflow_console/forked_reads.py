"""The TUI's first reads in a forked child, on the machine's other core.

A cold start is CPU-bound: importing Textual and drawing the first screen on one side,
importing the docker SDK, httpx and redis-py and parsing what the sources read on the
other. In one process the interpreter lock runs them one after the other whatever the
number of cores. ``start`` forks the process before it has any other thread; the child
imports and reads while the parent imports Textual, and sends each result back through
a pipe as soon as it has it (bench/bench_tui.py: the first complete dashboard came
~0.2 s sooner, bench/tried.toml).

Safe by construction, or not at all:
- only on Linux, and only while the process has a single thread (a fork copies locks
  that another thread may hold); otherwise ``start`` returns None and the caller reads
  in threads as before;
- the child never returns into the caller's code: it ends with ``os._exit`` whatever
  happens, writes nothing to the terminal (its standard streams are /dev/null), and dies
  of SIGINT like any process instead of raising KeyboardInterrupt;
- each result travels as a pickle between the process and its own child (no other
  reader or writer; the pipe is in memory). A job that fails, a result that does not
  pickle or unpickle, or a child that dies gives None for that job: the caller then
  reads it itself, as a refresh would;
- ``ForkedReads.close`` kills a child that is still reading (the console is closing).

``start_planned`` forks before the jobs are known: the child runs a plan first (the TUI's
loads its profile, so that the UI process imports Textual meanwhile instead of
pydantic-settings) and sends what the plan prepared (``ForkedReads.prepared``) before
the results; a plan that raises sends its exception, and the child ends.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import struct
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import Any, NamedTuple

_LENGTH = struct.Struct(">I")
#: the name of the frame that carries what the plan prepared
_PREPARED = None


class Plan(NamedTuple):
    """What a forked child does: send ``prepared`` first, then run ``jobs``, then
    ``then`` (its clean-up: closing its connections) once every result is sent."""

    prepared: Any
    jobs: Mapping[str, Callable[[], Any]]
    then: Callable[[], None] | None = None


class _Failed(NamedTuple):
    """The plan raised ``error`` (None: an exception that does not pickle)."""

    error: BaseException | None


class ForkedReads:
    """The child's results (``futures``: each set once, to the job's result or None) and
    what its plan prepared (``prepared``: its value, the plan's exception, or None if the
    child ended without sending it)."""

    def __init__(self, pid: int, read_fd: int, names: Sequence[str]) -> None:
        self.pid = pid
        self.prepared: Future[Any] = Future()
        self.futures: dict[str, Future[Any]] = {name: Future() for name in names}
        self._reaped = False
        self._reader = threading.Thread(
            target=self._read, args=(read_fd,), name="forked-reads", daemon=True
        )
        self._reader.start()

    def _read(self, fd: int) -> None:
        try:
            with os.fdopen(fd, "rb") as pipe:
                while header := pipe.read(_LENGTH.size):
                    if len(header) < _LENGTH.size:
                        break
                    blob = pipe.read(_LENGTH.unpack(header)[0])
                    try:
                        name, value = pickle.loads(blob)
                    except Exception:  # a truncated frame (the child died) or a bad one
                        break
                    if name is _PREPARED and isinstance(value, _Failed):
                        if value.error is not None:
                            self.prepared.set_exception(value.error)
                        continue  # an error that did not pickle: as if nothing came
                    future = self.prepared if name is _PREPARED else self.futures.get(name)
                    if future is not None and not future.done():
                        future.set_result(value)
        finally:
            for future in (self.prepared, *self.futures.values()):  # what did not come: None
                if not future.done():
                    future.set_result(None)
            self._reap()

    def _reap(self) -> None:
        if not self._reaped:
            with contextlib.suppress(ChildProcessError):  # reaped by the other thread
                os.waitpid(self.pid, 0)
            self._reaped = True

    def join(self, timeout: float | None = None) -> None:
        """Wait until the child has ended and is reaped (every future is then set)."""
        self._reader.join(timeout)

    def close(self) -> None:
        """Kill the child if it is still reading, and reap it."""
        if self._reaped:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self._reap()


def can_fork() -> bool:
    """Whether forking here is safe: Linux (elsewhere system libraries refuse to run in a
    forked child) and no thread but this one."""
    return sys.platform.startswith("linux") and threading.active_count() == 1


def start(
    jobs: Mapping[str, Callable[[], Any]], *, then: Callable[[], None] | None = None
) -> ForkedReads | None:
    """Run ``jobs`` in a forked child, each in its own thread, then ``then`` (the child's
    clean-up: closing its connections) once every result is sent; None when a fork is not
    safe here or fails (then nothing was started)."""
    return start_planned(lambda: Plan(None, jobs, then), list(jobs))


def start_planned(plan: Callable[[], Plan], names: Sequence[str]) -> ForkedReads | None:
    """Fork a child that runs ``plan()``, sends what it prepared, then runs its jobs as
    ``start`` does; ``names`` are the jobs the plan will have (a result for another name
    is dropped). None when a fork is not safe here or fails."""
    if not can_fork():
        return None
    read_fd, write_fd = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        return None
    if pid == 0:  # the child: never returns
        code = 1
        try:
            os.close(read_fd)
            then = _child(write_fd, plan)
            code = 0
            if then is not None:
                then()
        finally:
            os._exit(code)
    os.close(write_fd)
    return ForkedReads(pid, read_fd, names)


def _child(write_fd: int, plan: Callable[[], Plan]) -> Callable[[], None] | None:
    """The child's work; returns its clean-up."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    with os.fdopen(write_fd, "wb") as pipe:

        def send(name: str | None, value: Any) -> bool:
            try:
                blob = pickle.dumps((name, value))
            except BaseException:  # even SystemExit from a __reduce__: the parent
                return False  # reads this one itself, and the others are still sent
            pipe.write(_LENGTH.pack(len(blob)) + blob)
            pipe.flush()
            return True

        try:
            planned = plan()
        except BaseException as exc:  # the parent raises it (or, unsent, does the work)
            if not send(_PREPARED, _Failed(exc)):
                send(_PREPARED, _Failed(None))
            raise
        if not send(_PREPARED, planned.prepared):
            raise RuntimeError("what the plan prepared does not pickle")
        jobs = planned.jobs
        pool = ThreadPoolExecutor(max_workers=len(jobs) or 1, thread_name_prefix="forked")
        futures = {pool.submit(job): name for name, job in jobs.items()}
        for future in as_completed(futures):
            try:
                result = future.result()
            except BaseException:  # the parent reads this one itself
                continue
            send(futures[future], result)
        pool.shutdown(wait=True)
    return planned.then

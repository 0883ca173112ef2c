"""Child processes the test rig starts itself (redis-server, celery worker and beat).

Every process is ended by the pid the rig started, never by name: ``stop(proc)`` sends
the given signals in turn and waits after each. ``term_with_parent`` (a ``preexec_fn``)
makes the kernel send SIGTERM to the child when the test process dies, so a killed
pytest leaves no server behind.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess


def term_with_parent() -> None:
    """In the child: SIGTERM when the parent dies (Linux prctl(PR_SET_PDEATHSIG))."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop(
    proc: subprocess.Popen[bytes],
    *,
    steps: tuple[tuple[signal.Signals, float], ...] = (
        (signal.SIGTERM, 10.0),
        (signal.SIGKILL, 10.0),
    ),
) -> int | None:
    """End ``proc`` (ours, by its pid): each signal in turn, waiting up to its timeout.
    Returns the exit code (``None`` if it never ended, which should not happen)."""
    for sig, timeout in steps:
        if proc.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)
    return proc.poll()

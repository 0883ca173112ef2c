"""The real program in a pseudo-terminal, as a user at a terminal runs it.

``run_in_pty(argv, env, until=[...], keys=b"q")`` starts ``argv`` on a new pty of the
given size (``TERM=xterm-256color``), reads everything it writes (so it never blocks on
a full terminal), waits until every text in ``until`` has appeared in what it drew
(escape sequences removed), then types ``keys`` and drains the pty until the program
exits. It returns every byte written, the exit code and whether the texts appeared.
The process is ended by its own pid if it does not exit.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from magflow_console.render.text import clean


@dataclass
class PtyRun:
    output: bytes
    returncode: int | None
    seen: bool  # every ``until`` text appeared before the keys were typed

    @property
    def text(self) -> str:
        return clean(self.output.decode("utf-8", "replace"))


def _read(fd: int, wait: float = 0.2) -> bytes | None:
    """What arrived within ``wait`` s (b"" if nothing), None once the pty is closed."""
    ready, _, _ = select.select([fd], [], [], wait)
    if not ready:
        return b""
    try:
        return os.read(fd, 65536) or None
    except OSError:
        return None


def run_in_pty(
    argv: Sequence[str],
    env: dict[str, str],
    *,
    cwd: Path,
    until: Sequence[str],
    keys: bytes = b"q",
    size: tuple[int, int] = (120, 40),
    timeout: float = 180.0,
) -> PtyRun:
    leader, follower = pty.openpty()
    cols, rows = size
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    proc = subprocess.Popen(
        list(argv),
        stdin=follower, stdout=follower, stderr=follower, cwd=cwd, start_new_session=True,
        env=env | {"TERM": "xterm-256color", "COLUMNS": str(cols), "LINES": str(rows)},
    )  # fmt: skip
    os.close(follower)
    out = bytearray()
    seen = False
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            chunk = _read(leader)
            if chunk is None:
                break
            out += chunk
            text = clean(out.decode("utf-8", "replace"))
            if all(u in text for u in until):
                seen = True
                break
        if proc.poll() is None:
            os.write(leader, keys)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            chunk = _read(leader)
            if chunk is None:
                break
            out += chunk
            if proc.poll() is not None and not chunk:
                break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        os.close(leader)
    return PtyRun(bytes(out), proc.returncode, seen)

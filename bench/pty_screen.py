"""Shared helpers of the TUI benchmarks: the real program in a pseudo-terminal, what it
wrote (every byte, time-stamped), a terminal emulator (``pyte``) over it, the dashboard's
panes found on the emulated screen, and the machine the figures were taken on.

- ``PtyProcess`` starts a command in a new pty of a chosen size (``TIOCSWINSZ`` on the
  slave before the child starts, ``TERM=xterm-256color``, the pty as controlling
  terminal) and reads everything it writes from a thread, so the program never blocks
  on a full pty. Each read is kept as a ``Chunk`` (seconds since the spawn, bytes) and
  fed to a live ``pyte`` screen; ``wait_for`` returns the time of the read after which
  a condition on the screen first held (that read's arrival, not a polling tick).
- Nothing answers the program's terminal queries (``DECRQM`` for synchronised output,
  in-band resize): a real xterm does not either.
- ``proc_cpu_seconds`` / ``proc_rss_bytes`` read ``/proc/<pid>/stat`` and
  ``/proc/<pid>/status`` (utime+stime of all the process's threads; VmRSS).
- ``find_panes`` / ``pane_states`` read the dashboard off the emulated screen: each
  pane is the rounded box whose top border carries its title (``1 Containers``,
  ``2 Migrations``, ``3 eMAG sync``, ``4 API``, ``5 Celery``); a pane is ``loading`` while it shows
  ``loading…`` (``widgets/pane.py``: no snapshot yet), ``error`` when it shows the
  ``✗`` sentence, ``data`` when its body shows what its source gave (a table row under
  the column header, the migrations summary's ``current`` line, the sync accounts).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import platform
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyte

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

PANE_TITLES = {
    "containers": "1 Containers",
    "migrations": "2 Migrations",
    "sync": "3 eMAG sync",
    "api": "4 API",
    "celery": "5 Celery",
}
LOADING = "loading…"


# --------------------------------------------------------------------------- machine


def machine_info() -> dict[str, Any]:
    """nproc, CPU model, memory, Python, kernel, the Textual version and the run date."""
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    try:
        from importlib.metadata import version

        textual_version = version("textual")
    except Exception:
        textual_version = "?"
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "python": sys.version.split()[0],
        "kernel": platform.release(),
        "textual": textual_version,
        "date_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "loadavg_at_start": os.getloadavg(),
    }


def machine_lines(info: dict[str, Any]) -> list[str]:
    return [
        f"machine: {info['nproc']} cores ({info['cpu_model']}), {info['memory_gib']} GiB, "
        f"Linux {info['kernel']}, Python {info['python']}, textual {info['textual']}",
        f"run: {info['date_utc']}, load average at start "
        + " ".join(f"{x:.2f}" for x in info["loadavg_at_start"]),
    ]


# --------------------------------------------------------------------------- /proc


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of process ``pid`` (all its threads), in seconds."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14 and 15 of stat(5)


def proc_rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


# --------------------------------------------------------------------------- stats


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


# --------------------------------------------------------------------------- pty


@dataclass(frozen=True)
class Chunk:
    t: float  # seconds since the spawn (monotonic clock)
    data: bytes


@dataclass
class _Watch:
    cond: Callable[[pyte.Screen, float], bool]
    done: threading.Event = field(default_factory=threading.Event)
    at: float | None = None


class PtyProcess:
    """A command running in its own pty of ``cols`` x ``rows``; see the module doc."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cols: int,
        rows: int,
        env: dict[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        live_screen: bool = True,
    ) -> None:
        self.argv = list(argv)
        self.cols, self.rows = cols, rows
        self.chunks: list[Chunk] = []
        self.screen = pyte.Screen(cols, rows)
        self._stream = pyte.ByteStream(self.screen)
        self._live = live_screen
        self._lock = threading.Lock()
        self._watch: _Watch | None = None
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        full_env = dict(os.environ if env is None else env)
        full_env.update(TERM="xterm-256color", COLUMNS=str(cols), LINES=str(rows))
        full_env.pop("TEXTUAL", None)
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            self.argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=full_env,
            cwd=cwd,
            close_fds=True,
            preexec_fn=_controlling_tty,
        )
        os.close(slave)
        self.master = master
        self._closed = threading.Event()
        self._reader = threading.Thread(target=self._read_loop, name="pty-reader", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def now(self) -> float:
        return time.monotonic() - self.started

    def _read_loop(self) -> None:
        while not self._closed.is_set():
            try:
                ready, _, _ = select.select([self.master], [], [], 0.2)
            except (OSError, ValueError):
                return
            if not ready:
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:  # EIO: the child closed the pty
                return
            if not data:
                return
            t = time.monotonic() - self.started
            with self._lock:
                self.chunks.append(Chunk(t, data))
                if self._live:
                    self._stream.feed(data)
                watch = self._watch
                if watch is not None and not watch.done.is_set() and watch.cond(self.screen, t):
                    watch.at = t
                    watch.done.set()

    def wait_for(self, cond: Callable[[pyte.Screen, float], bool], timeout: float) -> float | None:
        """Seconds since the spawn at which ``cond(screen, t)`` first held after a read
        at ``t`` (or already holds now), None after ``timeout``."""
        watch = _Watch(cond)
        with self._lock:
            now = self.now()
            if cond(self.screen, now):
                return now
            self._watch = watch
        try:
            watch.done.wait(timeout)
        finally:
            with self._lock:
                self._watch = None
        return watch.at

    def lines(self) -> list[str]:
        with self._lock:
            return list(self.screen.display)

    def send(self, data: bytes) -> float:
        """Write keys to the program; returns the time of the write (since the spawn)."""
        t = self.now()
        os.write(self.master, data)
        return t

    def bytes_between(self, start: float, end: float) -> int:
        with self._lock:
            return sum(len(c.data) for c in self.chunks if start <= c.t < end)

    def chunks_between(self, start: float, end: float) -> list[Chunk]:
        with self._lock:
            return [c for c in self.chunks if start <= c.t < end]

    def close(self, quit_keys: bytes = b"q", grace: float = 5.0) -> int | None:
        """Quit as a user would (``q``), then SIGTERM, then SIGKILL, by our child's pid."""
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                os.write(self.master, quit_keys)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                for sig in (signal.SIGTERM, signal.SIGKILL):
                    with contextlib.suppress(ProcessLookupError):
                        self.proc.send_signal(sig)
                    try:
                        self.proc.wait(grace)
                        break
                    except subprocess.TimeoutExpired:
                        continue
        self._closed.set()
        self._reader.join(2)
        with contextlib.suppress(OSError):
            os.close(self.master)
        return self.proc.returncode

    def __enter__(self) -> PtyProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _controlling_tty() -> None:
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


# --------------------------------------------------------------------------- panes


@dataclass(frozen=True)
class Box:
    """A pane's border box on the screen (0-based, inclusive)."""

    top: int
    bottom: int
    left: int
    right: int

    def contains(self, row: int, col: int) -> bool:
        return self.top <= row <= self.bottom and self.left <= col <= self.right

    def inner(self, lines: Sequence[str]) -> list[str]:
        return [line[self.left + 1 : self.right] for line in lines[self.top + 1 : self.bottom]]


def find_panes(lines: Sequence[str]) -> dict[str, Box]:
    """The dashboard panes whose titled top border is on the screen."""
    found: dict[str, Box] = {}
    for name, title in PANE_TITLES.items():
        for top, line in enumerate(lines):
            at = line.find(f" {title} ")
            if at < 0:
                continue
            left = line.rfind("╭", 0, at)
            right = line.find("╮", at)
            if left < 0 or right < 0:
                continue
            bottom = next(
                (r for r in range(top + 1, len(lines)) if lines[r][left : left + 1] == "╰"),
                len(lines) - 1,
            )
            found[name] = Box(top, bottom, left, right)
            break
    return found


def _row_under_header(body: list[str], header: str) -> bool:
    for i, line in enumerate(body):
        if line.strip().startswith(header):
            return any(rest.strip() for rest in body[i + 1 :])
    return False


def pane_state(name: str, body: list[str]) -> str:
    """``loading`` | ``error`` | ``data`` | ``empty`` for one pane's inner lines."""
    text = "\n".join(body)
    if LOADING in text:
        return "loading"
    if "✗ " in text:
        return "error"
    has_data = {
        "containers": lambda: _row_under_header(body, "svc"),
        "api": lambda: _row_under_header(body, "check"),
        "migrations": lambda: any(line.strip().startswith("current") for line in body),
        "sync": lambda: _row_under_header(body, "acct") or "no accounts" in text,
        "celery": lambda: any(line.strip().startswith("worker") for line in body),
    }[name]()
    return "data" if has_data else "empty"


def pane_states(lines: Sequence[str]) -> dict[str, str]:
    panes = find_panes(lines)
    return {
        name: pane_state(name, panes[name].inner(lines)) if name in panes else "absent"
        for name in PANE_TITLES
    }


def dashboard_complete(screen: pyte.Screen, t: float = 0.0) -> bool:
    """Every pane shows its data or its error (none is loading, absent or empty)."""
    return all(s in ("data", "error") for s in pane_states(screen.display).values())


def row_owner(panes: dict[str, Box], rows: int, row: int, col_from: int, col_to: int) -> str:
    """What a written span (0-based row, columns) belongs to: a pane, several, or the
    header / footer line."""
    owners = [
        name
        for name, box in panes.items()
        if box.top <= row <= box.bottom and col_from <= box.right and col_to >= box.left
    ]
    if owners:
        return "+".join(owners)
    if row == 0:
        return "header"
    if row == rows - 1:
        return "footer"
    return "other"


# --------------------------------------------------------------------------- output analysis

_CUP = re.compile(rb"\x1b\[(\d+);(\d+)H")
_ESCAPES = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]|[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Piece:
    """Bytes written from one cursor position (``CSI row;col H``) to the next."""

    row: int  # 0-based
    col: int  # 0-based
    nbytes: int
    width: int  # printable characters


def pieces(data: bytes) -> tuple[list[Piece], int]:
    """Split output at absolute cursor moves; returns the pieces and the bytes before
    the first move (mode switches, queries: no row)."""
    moves = list(_CUP.finditer(data))
    head = moves[0].start() if moves else len(data)
    out = []
    for i, m in enumerate(moves):
        end = moves[i + 1].start() if i + 1 < len(moves) else len(data)
        body = data[m.end() : end]
        width = len(_ESCAPES.sub(b"", body).decode("utf-8", "replace"))
        out.append(Piece(int(m.group(1)) - 1, int(m.group(2)) - 1, end - m.start(), width))
    return out, head


def bursts(chunks: Sequence[Chunk], gap: float = 0.015) -> list[list[Chunk]]:
    """Reads grouped into update bursts: a new burst after ``gap`` seconds of silence
    (a frame that fills the pty buffer arrives as several reads in a row)."""
    out: list[list[Chunk]] = []
    last = -1e9
    for c in chunks:
        if not out or c.t - last > gap:
            out.append([])
        out[-1].append(c)
        last = c.t
    return out


def row_cells(screen: pyte.Screen, row: int) -> tuple[tuple[Any, ...], ...]:
    line = screen.buffer[row]
    return tuple(
        (ch.data, ch.fg, ch.bg, ch.bold, ch.italics, ch.underscore, ch.reverse)
        for ch in (line[x] for x in range(screen.columns))
    )

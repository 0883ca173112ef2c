"""Docker source, streams: opening a container's log response, splitting Docker's
(multiplexed) log stream into ``LogLine``s (credentials masked), and closing a blocked stream (log response
or events stream) from another thread when the caller's ``stop`` event is set.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import socket
import struct
import threading
from collections.abc import Iterator
from typing import Any

import docker

from magflow_console.models import LogLine
from magflow_console.render.text import scrub
from magflow_console.sources.docker_parse import parse_docker_time

_MAX_LINE = 64 * 1024  # bytes of one line kept; the rest of a longer line is not shown
#: Docker's log copier cuts a longer line into parts of this many bytes (each its own message)
_PART = 16 * 1024
_STAMP_MAX = 40  # bytes: a timestamp and its space fit in this
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def open_logs(
    client: docker.DockerClient,
    name: str,
    *,
    follow: bool,
    tail: int,
    since: dt.datetime | None,
    timeout: float,
) -> tuple[Any, bool]:
    """The streamed log response of a container (stdout, stderr, timestamps) and
    whether it has a tty (then the stream is not multiplexed)."""
    api: Any = client.api
    attrs = api.inspect_container(name)
    tty = bool((attrs.get("Config") or {}).get("Tty"))
    params: dict[str, Any] = {
        "stdout": 1,
        "stderr": 1,
        "timestamps": 1,
        "follow": int(follow),
        "tail": str(tail) if tail >= 0 else "all",
    }
    if since is not None:  # naive datetimes are taken as UTC
        aware = since if since.tzinfo else since.replace(tzinfo=dt.UTC)
        micros = (aware - _EPOCH) // dt.timedelta(microseconds=1)
        params["since"] = f"{micros // 1_000_000}.{(micros % 1_000_000) * 1000:09d}"
    response = api._get(
        api._url("/containers/{0}/logs", attrs["Id"]),
        params=params,
        stream=True,
        timeout=None if follow else timeout,
    )
    api._raise_for_status(response)
    return response, tty


class _Closer(threading.Thread):
    """Closes ``target`` as soon as ``stop`` is set (``stop.wait`` returns at once then);
    once the reader is ``done`` it ends within ``LINGER`` seconds. A followed stream lives
    as long as the console, so this wakes once a second, not five times (idle CPU)."""

    LINGER = 1.0

    def __init__(self, stop: threading.Event, target: Any) -> None:
        super().__init__(name="docker-stream-closer", daemon=True)
        self.stop, self.target, self.done = stop, target, threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            if self.stop.wait(self.LINGER):
                with contextlib.suppress(Exception):
                    _shutdown(self.target)
                return


def closer_for(stop: threading.Event, target: Any) -> _Closer:
    watcher = _Closer(stop, target)
    watcher.start()
    return watcher


def _shutdown(target: Any) -> None:
    """Unblock a reader: close the events stream / log response from another thread.
    Over ssh:// the stream is a paramiko channel (which the SDK's ``CancellableStream``
    refuses to cancel): closing the channel wakes its reader with an end of stream."""
    response = getattr(target, "_response", target)  # a CancellableStream's response
    channel = getattr(_stream_file(response), "channel", None)
    if channel is not None:
        channel.close()
        return
    if isinstance(target, docker.types.daemon.CancellableStream):
        target.close()
        return
    fp = _stream_file(target)
    sock = getattr(getattr(fp, "raw", None), "_sock", None) or getattr(fp, "_sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    target.close()


def _stream_file(response: Any) -> Any:
    """The file object under a streamed response (a socket file, or over SSH a paramiko
    ``ChannelFile``), or None."""
    raw = getattr(response, "raw", None)
    return getattr(getattr(raw, "_fp", None), "fp", None)


def read_lines(response: Any, tty: bool) -> Iterator[LogLine]:
    """Split Docker's (multiplexed) log stream into lines with their timestamps.

    Docker cuts a line longer than 16 KB into parts, each a log message with its own
    timestamp prefix. The parts are joined *without* those timestamps before the line is
    masked: a secret straddling a part boundary is masked whole. A line longer than
    ``_MAX_LINE`` bytes keeps its first ``_MAX_LINE`` bytes and says how many were cut (the
    rest is never shown, so no cut can split a secret into two lines)."""
    if tty:
        yield from _tty_lines(_raw_chunks(response.raw))
    else:
        yield from _frame_lines(_frames(response.raw))


class _Line:
    """One line of one stream being joined from Docker's messages (bounded)."""

    __slots__ = ("cut", "data", "stream", "when")

    def __init__(self, stream: str | None) -> None:
        self.stream = stream
        self.when: dt.datetime | None = None
        self.data = bytearray()
        self.cut = 0  # bytes beyond _MAX_LINE, dropped

    @property
    def empty(self) -> bool:
        return not self.data and not self.cut

    def add(self, data: bytes | bytearray) -> None:
        room = _MAX_LINE - len(self.data)
        if len(data) <= room:
            self.data += data
        else:
            self.data += data[: max(room, 0)]
            self.cut += len(data) - max(room, 0)

    def emit(self) -> LogLine:
        text = scrub(self.data.decode("utf-8", errors="replace"))
        if self.cut:
            text += f" … [{self.cut:,} more bytes of this line not shown]"
        line = LogLine(self.when, text, self.stream)
        self.when, self.data, self.cut = None, bytearray(), 0
        return line


# Docker's RFC 3339 timestamp with nanoseconds, and the space after it
_STAMP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d) ")


def _stamp(data: bytes, at: int = 0) -> tuple[bytes, int]:
    """(the timestamp that starts ``data[at:]``, b"" if none; where the text after it starts)."""
    match = _STAMP.match(data, at)
    if match is None:
        return b"", at
    return match.group()[:-1], match.end()


def _when(stamp: bytes) -> dt.datetime | None:
    return parse_docker_time(stamp.decode("ascii")) if stamp else None


def _frame_lines(frames: Iterator[tuple[str, bytes]]) -> Iterator[LogLine]:
    """Multiplexed: one frame is one log message ("<timestamp> <text>"); a message without
    a trailing newline is a part of a longer line, continued by the stream's next message
    when that part is a whole 16 KB or the next message has the same timestamp (Docker
    gives every part the first one's). Otherwise the unterminated text is a line of its
    own: the ``local`` driver drops the newline of a long line's last part, and a process
    may exit in the middle of a line."""
    lines: dict[str, _Line] = {}
    parts: dict[str, tuple[bytes, int]] = {}  # stream -> (stamp, size) of its open part
    for stream, chunk in frames:
        line = lines.get(stream) or lines.setdefault(stream, _Line(stream))
        stamp, start = _stamp(chunk)
        if not line.empty:
            open_stamp, open_size = parts[stream]
            if open_size != _PART and not (stamp and stamp == open_stamp):
                yield line.emit()
        while True:
            if line.empty:
                line.when = _when(stamp)
            cut = chunk.find(b"\n", start)
            if cut < 0:
                line.add(chunk[start:])
                parts[stream] = (stamp, len(chunk) - start)
                break
            line.add(chunk[start:cut])
            yield line.emit()
            if cut + 1 >= len(chunk):
                break
            # more than one line in a message (not Docker's own writer): each may carry
            # its own timestamp
            next_stamp, start = _stamp(chunk, cut + 1)
            stamp = next_stamp or stamp
    for line in lines.values():
        if not line.empty:
            yield line.emit()


def _tty_lines(chunks: Iterator[tuple[str, bytes]]) -> Iterator[LogLine]:
    """A tty container's stream has no frames: lines are cut at newlines, and the parts
    of a long line are found by their timestamps at every 16 KB of text."""
    buf = bytearray()
    line = _Line(None)
    fresh = True  # the next bytes start a line (its timestamp first)
    part_left = _PART  # bytes of the current part before the next part's timestamp
    for _stream, chunk in chunks:
        buf += chunk
        while buf:
            if fresh:
                if len(buf) < _STAMP_MAX and b"\n" not in buf:
                    break  # wait for the whole timestamp
                stamp, start = _stamp(bytes(buf[:_STAMP_MAX]))
                line.when = _when(stamp)
                del buf[:start]
                fresh, part_left = False, _PART
                continue
            if part_left == 0:  # a part ended: the next one starts with a timestamp
                if len(buf) < _STAMP_MAX and b"\n" not in buf:
                    break
                _, start = _stamp(bytes(buf[:_STAMP_MAX]))
                del buf[:start]
                part_left = _PART
                continue
            cut = buf.find(b"\n", 0, part_left)
            if cut >= 0:
                line.add(buf[:cut])
                del buf[: cut + 1]
                yield line.emit()
                fresh = True
                continue
            take = min(part_left, len(buf))
            line.add(buf[:take])
            del buf[:take]
            part_left -= take
    if not line.empty or buf:
        line.add(buf)
        yield line.emit()


def _frames(raw: Any) -> Iterator[tuple[str, bytes]]:
    """Docker's multiplexed stream: 8-byte header (stream, size), then the payload."""
    while True:
        header = _read_exactly(raw, 8)
        if len(header) < 8:
            return
        kind, length = struct.unpack(">BxxxL", header)
        chunk = _read_exactly(raw, length)
        if len(chunk) < length:
            if chunk:
                yield ("stderr" if kind == 2 else "stdout"), chunk
            return
        yield ("stderr" if kind == 2 else "stdout"), chunk


def _read_exactly(raw: Any, length: int) -> bytes:
    """``length`` bytes of the stream (fewer only at its end)."""
    data = bytearray()
    while len(data) < length:
        more = raw.read(length - len(data))
        if not more:
            break
        data += more
    return bytes(data)


def _raw_chunks(raw: Any) -> Iterator[tuple[str, bytes]]:
    """A tty container's stream is not multiplexed: plain bytes as they come."""
    for chunk in raw.stream(8192, decode_content=False):
        yield "stdout", chunk

"""Docker source, streams: opening a container's log response, splitting Docker's
(multiplexed) log stream into ``LogLine``s (credentials masked), and closing a blocked stream (log response
or events stream) from another thread when the caller's ``stop`` event is set.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import struct
import threading
from collections.abc import Iterator
from typing import Any

import docker

from magflow_console.models import LogLine
from magflow_console.render.text import scrub
from magflow_console.sources.docker_parse import parse_docker_time

_MAX_LINE = 64 * 1024  # a partial line longer than this is emitted as is (bounded buffer)
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
    def __init__(self, stop: threading.Event, target: Any) -> None:
        super().__init__(name="docker-stream-closer", daemon=True)
        self.stop, self.target, self.done = stop, target, threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            if self.stop.wait(0.2):
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
    """Split Docker's (multiplexed) log stream into lines with their timestamps."""
    buffers: dict[str, bytearray] = {"stdout": bytearray(), "stderr": bytearray()}
    for stream, chunk in _frames(response.raw) if not tty else _raw_chunks(response.raw):
        buf = buffers[stream]
        buf.extend(chunk)
        while True:
            cut = buf.find(b"\n")
            if cut < 0:
                if len(buf) > _MAX_LINE:
                    yield _line(bytes(buf), None if tty else stream)
                    buf.clear()
                break
            yield _line(bytes(buf[:cut]), None if tty else stream)
            del buf[: cut + 1]
    for stream, buf in buffers.items():
        if buf:
            yield _line(bytes(buf), None if tty else stream)


def _frames(raw: Any) -> Iterator[tuple[str, bytes]]:
    """Docker's multiplexed stream: 8-byte header (stream, size), then the payload."""
    while True:
        header = raw.read(8)
        if not header or len(header) < 8:
            return
        kind, length = struct.unpack(">BxxxL", header)
        chunk = raw.read(length) if length else b""
        if length and not chunk:
            return
        yield ("stderr" if kind == 2 else "stdout"), chunk


def _raw_chunks(raw: Any) -> Iterator[tuple[str, bytes]]:
    """A tty container's stream is not multiplexed: plain bytes as they come."""
    for chunk in raw.stream(8192, decode_content=False):
        yield "stdout", chunk


def _line(data: bytes, stream: str | None) -> LogLine:
    text = data.decode("utf-8", errors="replace")
    stamp, sep, rest = text.partition(" ")
    when = parse_docker_time(stamp) if sep else None
    if when is None:
        return LogLine(None, scrub(text), stream)
    return LogLine(when, scrub(rest), stream)

"""A loopback TCP relay that records every Redis command a client sends through it.

``RespRecorder(port)`` listens on 127.0.0.1 (``.port``), relays each connection to
127.0.0.1:``port`` and keeps the client's bytes; ``.commands()`` parses them as RESP
arrays (how every Redis client sends commands, the connection handshake included).
A test points the code under test at the relay to see exactly what it sent.
"""

from __future__ import annotations

import contextlib
import socket
import threading


def parse_commands(data: bytes) -> list[list[bytes]]:
    """RESP arrays of bulk strings -> [[b"LLEN", b"default"], ...] (stops at junk)."""
    commands: list[list[bytes]] = []
    pos = 0
    while pos < len(data) and data[pos : pos + 1] == b"*":
        end = data.index(b"\r\n", pos)
        count = int(data[pos + 1 : end])
        pos = end + 2
        args: list[bytes] = []
        for _ in range(count):
            if data[pos : pos + 1] != b"$":
                return commands
            end = data.index(b"\r\n", pos)
            size = int(data[pos + 1 : end])
            args.append(data[end + 2 : end + 2 + size])
            pos = end + 2 + size + 2
        commands.append(args)
    return commands


class RespRecorder:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self.port = int(self._listener.getsockname()[1])
        self._sent: list[bytearray] = []
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            buffer = bytearray()
            with self._lock:
                self._sent.append(buffer)
                self._sockets += [client, upstream]
            threading.Thread(
                target=self._pump, args=(client, upstream, buffer), daemon=True
            ).start()
            threading.Thread(target=self._pump, args=(upstream, client, None), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, record: bytearray | None) -> None:
        with contextlib.suppress(OSError):
            while chunk := src.recv(65536):
                if record is not None:
                    with self._lock:
                        record.extend(chunk)
                dst.sendall(chunk)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._sent)

    def commands(self) -> list[list[bytes]]:
        with self._lock:
            return [cmd for buf in self._sent for cmd in parse_commands(bytes(buf))]

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()

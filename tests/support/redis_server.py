"""Real redis-server fixtures (a pytest plugin listed in ``tests/conftest.py``).

Configured like MagFlow's Redis (stack sheet §1.1, §11.3): ``requirepass`` (a password
generated per server), ``maxmemory 256mb``, ``maxmemory-policy allkeys-lru``, no
persistence (``save ""``, ``appendonly no``), bound to 127.0.0.1 on a free port, with
its own temp dir. Each server is stopped by the pid the rig started.

Fixtures (the names are a contract):
- ``redis_server`` (session): one server for the session.
- ``make_redis_server`` (function): ``make_redis_server(**options)`` starts another one,
  stopped at the end of the test. Options are redis-server settings with ``_`` for ``-``
  (``maxmemory="1mb"``); ``password=None`` starts one without ``requirepass``.
- ``redis_db`` (function): the session server, its db flushed before the test (the rig
  may write to Redis; the console under test must not).

A missing ``redis-server`` binary fails the test with the Debian package to install
(``scripts/system-deps.sh`` installs it); it never skips.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.support.procs import free_port, stop, term_with_parent

DEBIAN_PACKAGE = "redis-server"
DEFAULTS: dict[str, str] = {
    "maxmemory": "256mb",
    "maxmemory-policy": "allkeys-lru",
    "save": "",
    "appendonly": "no",
}


@dataclass
class RedisServer:
    """One redis-server started by the rig."""

    port: int
    password: str | None
    folder: Path
    proc: subprocess.Popen[bytes]
    options: dict[str, str] = field(default_factory=dict)
    host: str = "127.0.0.1"
    db: int = 0
    _clients: list[redis.Redis] = field(default_factory=list)
    _default: redis.Redis | None = None

    @property
    def url(self) -> str:
        """``redis://:<password>@127.0.0.1:<port>/0`` (what the worker's broker URL holds)."""
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}{self.host}:{self.port}/{self.db}"

    def url_with_password(self, password: str) -> str:
        return f"redis://:{password}@{self.host}:{self.port}/{self.db}"

    def client(self, **kwargs: Any) -> redis.Redis:
        """A client of the rig (closed when the server stops); without arguments the same
        one each time."""
        if not kwargs and self._default is not None:
            return self._default
        options: dict[str, Any] = {"socket_timeout": 5, "socket_connect_timeout": 5}
        options.update(kwargs)
        client = redis.Redis.from_url(self.url, **options)
        self._clients.append(client)
        if not kwargs:
            self._default = client
        return client

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()
        self._default = None
        stop(self.proc)

    def restart(self, timeout: float = 15.0) -> None:
        """Start it again on the same port, with the same password and settings (an empty
        server, as MagFlow's Redis without persistence comes back)."""
        if self.running:
            self.stop()
        fresh = start_redis(
            self.folder,
            password=self.password,
            timeout=timeout,
            port=self.port,
            **{k.replace("-", "_"): v for k, v in self.options.items()},
        )
        self.proc = fresh.proc

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = (self.folder / "redis.log").read_text(errors="replace")
        except OSError:
            return "no log"
        return " | ".join(text.strip().splitlines()[-lines:]) or "empty log"


def _binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail(
            "redis-server is missing: the broker tests need a real Redis. Install the Debian "
            f"package {DEBIAN_PACKAGE} (bash scripts/system-deps.sh, or apt-get install -y "
            f"--no-install-recommends {DEBIAN_PACKAGE}).",
            pytrace=False,
        )
    return binary


def start_redis(
    folder: Path,
    *,
    password: str | None = "",
    timeout: float = 15.0,
    port: int | None = None,
    **options: Any,
) -> RedisServer:
    """Start a redis-server in ``folder`` and wait until it answers PING.

    ``password=""`` (the default) generates one; ``None`` means no ``requirepass``."""
    binary = _binary()
    if password == "":
        password = "rt-" + secrets.token_urlsafe(18)
    settings = dict(DEFAULTS)
    settings.update({k.replace("_", "-"): str(v) for k, v in options.items()})
    port = port or free_port()
    args = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(folder),
        "--daemonize",
        "no",
        "--logfile",
        str(folder / "redis.log"),
    ]
    if password:
        args += ["--requirepass", password]
    for key, value in settings.items():
        args += [f"--{key}", value]
    proc = subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=term_with_parent,
    )
    server = RedisServer(port=port, password=password, folder=folder, proc=proc, options=settings)
    probe = redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=1)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if probe.ping():
                    return server
            except redis.exceptions.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                server.stop()
                pytest.fail(
                    f"redis-server did not answer on 127.0.0.1:{port} within {timeout:.0f} s "
                    f"(exit code {proc.poll()}): {server.log_tail()}",
                    pytrace=False,
                )
            time.sleep(0.05)
    finally:
        probe.close()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    folder = Path(tempfile.mkdtemp(prefix="mfc-redis-"))
    server: RedisServer | None = None
    try:
        server = start_redis(folder)
        yield server
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def make_redis_server() -> Iterator[Callable[..., RedisServer]]:
    made: list[RedisServer] = []

    def factory(**options: Any) -> RedisServer:
        folder = Path(tempfile.mkdtemp(prefix="mfc-redis-"))
        try:
            server = start_redis(folder, **options)
        except BaseException:  # pytest.fail is a BaseException
            shutil.rmtree(folder, ignore_errors=True)
            raise
        made.append(server)
        return server

    yield factory
    for server in made:
        server.stop()
        shutil.rmtree(server.folder, ignore_errors=True)


@pytest.fixture
def redis_db(redis_server: RedisServer) -> RedisServer:
    """The session server with an empty db 0."""
    if not redis_server.running:
        pytest.fail(f"the session redis-server has died: {redis_server.log_tail()}", pytrace=False)
    redis_server.client().flushdb()
    return redis_server

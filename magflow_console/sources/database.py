"""Read side of the MagFlow PostgreSQL database: server and schema facts, Alembic
version tables, the migration lock, long transactions, eMAG sync statistics and
admin users.

``DatabaseSource`` keeps one read-only connection (see ``pg_conn``) and never raises
from its ``fetch_*`` methods: failures come back as snapshots with
``state="error"`` and one human sentence that never contains the password.

No Textual import.
"""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from typing import Any

from magflow_console.models import (
    AdminsSnapshot,
    AdminUser,
    DatabaseSnapshot,
    OrdersSnapshot,
    SyncRun,
    SyncSnapshot,
    error_snapshot,
    utcnow,
)
from magflow_console.sources import orders, sync_stats
from magflow_console.sources.pg_activity import long_transactions, migration_lock_holders
from magflow_console.sources.pg_conn import (
    Conn,
    ReadOnlyConnection,
    SourceError,
    first,
    rows,
    scalar,
)
from magflow_console.sources.sync_stats import aware, qident

VERSION_TABLE = "alembic_version"
#: what passlib's bcrypt handler accepts: $2a$/$2b$/$2y$, a two-digit cost, 53 characters
BCRYPT_SHAPE = r"^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$"
#: the shortest run-id prefix ``sync_run`` accepts (the human tables show 8 characters)
MIN_ID_PREFIX = 6


class DatabaseSource:
    """Snapshots of the MagFlow database. Safe to call from worker threads (one at a time
    per source is the expected use; a lock serialises overlapping calls)."""

    def __init__(
        self,
        url: str,
        *,
        schema: str = "app",
        connect_timeout: float = 3.0,
        statement_timeout_ms: int = 5000,
        running_timeout_minutes: int = 60,
        no_success_hours: float = 24.0,
        recent_limit: int = 50,
        long_transaction_seconds: float = 30.0,
        counts_max_age_seconds: float = 60.0,
        orders_stale_after_seconds: float = orders.STALE_AFTER_SECONDS,
    ) -> None:
        self.schema = schema
        self.running_timeout_minutes = int(running_timeout_minutes)
        self.no_success_hours = float(no_success_hours)
        self.recent_limit = int(recent_limit)
        self.long_transaction_seconds = float(long_transaction_seconds)
        # product/offer counts scan the whole catalogue: reuse them for this long (0 = never)
        self.counts_max_age_seconds = float(counts_max_age_seconds)
        self._counts: tuple[float, dict[str, dict[str, Any]]] | None = None
        #: (when, version rows, tables, enums): see ``_catalog``
        self._catalog_cache: (
            tuple[float, dict[str, tuple[str, ...]], tuple[str, ...], dict[str, tuple[str, ...]]]
            | None
        ) = None
        self.catalog_max_age_seconds = 60.0
        # new orders unacknowledged for longer than this are stale (orders.py)
        self.orders_stale_after_seconds = float(orders_stale_after_seconds)
        self._order_totals = orders.OrderTotalsCache(self.counts_max_age_seconds)
        self.last_error: str | None = None  # set by sync_run(), which returns None on failure
        self._db = ReadOnlyConnection(
            url, connect_timeout=connect_timeout, statement_timeout_ms=statement_timeout_ms
        )

    @property
    def target(self) -> str:
        """``host:port/db`` of the database, safe to show (no user, no password)."""
        return self._db.target

    # ------------------------------------------------------------------ database

    def fetch_database(self) -> DatabaseSnapshot:
        started = time.perf_counter()
        try:
            with self._db.transaction() as conn:
                return self._database(conn, started)
        except SourceError as e:
            return error_snapshot(DatabaseSnapshot, str(e), started, schema=self.schema)
        except Exception as e:  # a bug must not take the caller down
            msg = self._db.error_message(e)
            return error_snapshot(DatabaseSnapshot, msg, started, schema=self.schema)

    def _database(self, conn: Conn, started: float) -> DatabaseSnapshot:
        s = self.schema
        t0 = time.perf_counter()
        scalar(conn, "SELECT 1")
        latency_ms = (time.perf_counter() - t0) * 1000

        info = first(
            conn,
            "SELECT current_setting('server_version') AS version, current_database() AS db,"
            " EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = %(s)s) AS has_schema",
            {"s": s},
        )
        assert info is not None  # one row, always

        version_rows = self._version_rows(conn)
        tables, enums = self._catalog(conn, version_rows)
        version_tables = tuple(version_rows)
        app_table = f"{s}.{VERSION_TABLE}"
        if app_table in version_rows:
            current = version_rows[app_table]
        elif version_tables:
            current = version_rows[version_tables[0]]
        else:
            current = ()

        holders = migration_lock_holders(conn)
        xacts = long_transactions(conn, s, self.long_transaction_seconds)

        error = None
        if not info["has_schema"]:
            error = f'schema "{s}" does not exist in database "{info["db"]}"'
        return DatabaseSnapshot(
            state="ok",
            error=error,
            fetched_at=utcnow(),
            duration_ms=(time.perf_counter() - started) * 1000,
            server_version=info["version"],
            latency_ms=latency_ms,
            schema=s,
            tables=tables,
            enums=enums,
            version_tables=version_tables,
            current_revisions=current,
            version_rows=version_rows,
            lock_holders=holders,
            long_transactions=xacts,
            schema_empty=not any(t != VERSION_TABLE for t in tables),
        )

    def _catalog(
        self, conn: Conn, version_rows: dict[str, tuple[str, ...]]
    ) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
        """The schema's tables and ENUM types. They change with a migration, which changes
        the version rows: reused while those are the same and for at most
        ``catalog_max_age_seconds`` (a refresh every few seconds need not read them)."""
        now = time.monotonic()
        cached = self._catalog_cache
        if (
            cached is not None
            and cached[1] == version_rows
            and now - cached[0] < self.catalog_max_age_seconds
        ):
            return cached[2], cached[3]
        s = self.schema
        tables = tuple(
            r["relname"]
            for r in rows(
                conn,
                "SELECT c.relname FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = %(s)s AND c.relkind IN ('r', 'p') ORDER BY c.relname",
                {"s": s},
            )
        )
        enums = {
            r["typname"]: tuple(r["labels"])
            for r in rows(
                conn,
                "SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder) AS labels"
                " FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid"
                " JOIN pg_namespace n ON n.oid = t.typnamespace"
                " WHERE n.nspname = %(s)s GROUP BY t.typname ORDER BY t.typname",
                {"s": s},
            )
        }
        self._catalog_cache = (now, dict(version_rows), tables, enums)
        return tables, enums

    def _version_rows(self, conn: Conn) -> dict[str, tuple[str, ...]]:
        """Rows of ``<schema>.alembic_version`` and ``public.alembic_version`` (app first)."""
        out: dict[str, tuple[str, ...]] = {}
        for schema in dict.fromkeys((self.schema, "public")):
            present = scalar(
                conn,
                "SELECT to_regclass(quote_ident(%(s)s) || '.' || %(t)s)",
                {"s": schema, "t": VERSION_TABLE},
            )
            if present is None:
                continue
            name = f"{schema}.{VERSION_TABLE}"
            try:
                with conn.transaction():  # a savepoint: a failure here keeps the transaction
                    found = rows(
                        conn,
                        f"SELECT version_num FROM {qident(schema)}.{VERSION_TABLE}"
                        " ORDER BY version_num",
                    )
                out[name] = tuple(str(r["version_num"]) for r in found)
            except Exception:  # e.g. no privilege: the table exists, its rows are unknown
                out[name] = ()
        return out

    # ------------------------------------------------------------------ sync

    def fetch_sync(
        self, *, account: str | None = None, status: str | None = None, limit: int | None = None
    ) -> SyncSnapshot:
        started = time.perf_counter()
        try:
            with self._db.transaction() as conn:
                return self._sync(conn, started, account, status, limit)
        except SourceError as e:
            return error_snapshot(SyncSnapshot, str(e), started)
        except Exception as e:
            return error_snapshot(SyncSnapshot, self._db.error_message(e), started)

    def _sync(
        self,
        conn: Conn,
        started: float,
        account: str | None,
        status: str | None,
        limit: int | None,
    ) -> SyncSnapshot:
        missing = sync_stats.missing_tables(conn, self.schema, sync_stats.SYNC_TABLES_NEEDED)
        if missing:
            raise SourceError(
                f"table{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                f"{'do' if len(missing) > 1 else 'does'} not exist in {self.target} "
                "(is the schema migrated?)"
            )
        timeout = self.running_timeout_minutes
        counts, counts_age = self._product_counts(conn)
        accounts = sync_stats.account_stats(conn, self.schema, counts=counts)
        recent = sync_stats.recent_runs(
            conn,
            self.schema,
            running_timeout=timeout,
            limit=self.recent_limit if limit is None else limit,
            account=account,
            status=status,
        )
        xacts = long_transactions(conn, self.schema, self.long_transaction_seconds)
        found = sync_stats.anomalies(
            conn,
            self.schema,
            accounts,
            running_timeout=timeout,
            no_success_hours=self.no_success_hours,
            long_xacts=xacts,
        )
        return SyncSnapshot(
            state="ok",
            error=None,
            fetched_at=utcnow(),
            duration_ms=(time.perf_counter() - started) * 1000,
            accounts=accounts,
            recent=recent,
            anomalies=found,
            counts_age_seconds=counts_age,
        )

    def _product_counts(self, conn: Conn) -> tuple[dict[str, dict[str, Any]], float]:
        """The product and offer counts (whole-table scans: 0.3 s at a million products)
        and their age, read again once older than ``counts_max_age_seconds``."""
        now = time.monotonic()
        if self._counts is not None and now - self._counts[0] < self.counts_max_age_seconds:
            return self._counts[1], now - self._counts[0]
        counts = sync_stats.product_counts(conn, self.schema)
        self._counts = (now, counts)
        return counts, 0.0

    def sync_run(self, run_id: str) -> SyncRun | None:
        """One run with its full detail (errors jsonb, sync_params, triggered_by).

        ``run_id`` is a full id or a unique prefix of at least ``MIN_ID_PREFIX``
        characters (what the human tables show). ``None`` when the id is unknown or
        malformed, or when the database failed or the prefix is ambiguous; in those two
        cases ``last_error`` says why.
        """
        self.last_error = None
        wanted = str(run_id).strip().lower()
        try:
            wanted = str(uuid.UUID(wanted))
            full = True
        except ValueError:
            full = False
            if not re.fullmatch(rf"[0-9a-f-]{{{MIN_ID_PREFIX},35}}", wanted):
                return None
        try:
            with self._db.transaction() as conn:
                if not full:
                    ids = sync_stats.run_ids_by_prefix(conn, self.schema, wanted)
                    if len(ids) > 1:
                        many = "more than 5" if len(ids) > 5 else str(len(ids))
                        self.last_error = (
                            f"the id prefix {wanted} matches {many} runs "
                            f"({', '.join(i[:13] for i in ids[:5])}); give more of the id"
                        )
                        return None
                    if not ids:
                        return None
                    wanted = ids[0]
                return sync_stats.one_run(conn, self.schema, wanted, self.running_timeout_minutes)
        except SourceError as e:
            self.last_error = str(e)
        except Exception as e:
            self.last_error = self._db.error_message(e)
        return None

    # ------------------------------------------------------------------ orders

    def fetch_orders(self) -> OrdersSnapshot:
        """Order health per account (``orders.py``); the whole-table figures are reused for
        ``counts_max_age_seconds``, their age in ``counts_age_seconds``."""
        started = time.perf_counter()
        try:
            with self._db.transaction() as conn:
                return orders.snapshot(
                    conn,
                    self.schema,
                    self._order_totals,
                    stale_after_seconds=self.orders_stale_after_seconds,
                    started=started,
                )
        except SourceError as e:
            return error_snapshot(OrdersSnapshot, str(e), started)
        except Exception as e:
            return error_snapshot(OrdersSnapshot, self._db.error_message(e), started)

    # ------------------------------------------------------------------ admins

    def fetch_admins(self) -> AdminsSnapshot:
        started = time.perf_counter()
        try:
            with self._db.transaction() as conn:
                items = tuple(_admin(r) for r in rows(conn, self._admins_sql()))
            return AdminsSnapshot(
                state="ok",
                error=None,
                fetched_at=utcnow(),
                duration_ms=(time.perf_counter() - started) * 1000,
                items=items,
            )
        except SourceError as e:
            return error_snapshot(AdminsSnapshot, str(e), started)
        except Exception as e:
            return error_snapshot(AdminsSnapshot, self._db.error_message(e), started)

    def _admins_sql(self) -> str:
        s = qident(self.schema)
        # never select hashed_password: only whether it has bcrypt's shape
        return f"""
            SELECT u.id, u.email, u.full_name, u.is_active, u.is_superuser, u.email_verified,
                   u.last_login, u.failed_login_attempts, u.created_at,
                   coalesce(u.hashed_password ~ '{BCRYPT_SHAPE}', false) AS password_hash_ok,
                   EXISTS (SELECT 1 FROM {s}.user_roles ur JOIN {s}.roles r ON r.id = ur.role_id
                            WHERE ur.user_id = u.id AND r.name = 'admin') AS has_admin_role
              FROM {s}.users u
             WHERE u.is_superuser
                OR EXISTS (SELECT 1 FROM {s}.user_roles ur JOIN {s}.roles r ON r.id = ur.role_id
                            WHERE ur.user_id = u.id AND r.name = 'admin')
             ORDER BY u.id"""

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing must never raise either
            self._db.close()


def _admin(m: Any) -> AdminUser:
    return AdminUser(
        id=int(m["id"]),
        email=m["email"],
        full_name=m["full_name"],
        is_active=bool(m["is_active"]),
        is_superuser=bool(m["is_superuser"]),
        has_admin_role=bool(m["has_admin_role"]),
        email_verified=bool(m["email_verified"]),
        last_login=aware(m["last_login"]),
        failed_login_attempts=int(m["failed_login_attempts"] or 0),
        created_at=aware(m["created_at"]),
        password_hash_ok=bool(m["password_hash_ok"]),
    )

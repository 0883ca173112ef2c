"""What the demo's stand-in API says, read from what the demo really has.

The demo serves the health endpoints (``reference.standin_api``) over these facts:
- the database: the demo's own PostgreSQL, checked at each request as MagFlow's
  ``/health/database`` does (``SELECT 1``, then whether ``app.users``, ``app.audit_logs``
  and ``app.products`` exist), plus the server's version and ``app.alembic_version``;
- Redis: pinged when the demo was given one (the profile's ``redis.url``); otherwise
  unhealthy, saying that the demo has no Redis;
- eMAG: the demo's story is the seeded sync history, where ``main`` syncs and ``fbe``
  lacks its password; ``/api/v1/emag/health`` checks only MAIN, so it is healthy;
- the Celery worker: the demo has none, so ``/api/v1/tasks/ready`` is 503.

No password is ever part of an answer: errors are scrubbed. Never imports textual.
"""

from __future__ import annotations

import time

import psycopg

from magflow_console.reference.standin_api import CHECKED_TABLES, DatabaseFacts, RedisFacts
from magflow_console.reference.urls import to_libpq
from magflow_console.render.text import one_line, scrub

NO_REDIS = "no Redis in the demo: REDIS_URL is not set"
#: seconds the stand-in waits for the database or Redis (below the console's API timeout)
TIMEOUT = 2.0


def _sentence(exc: BaseException) -> str:
    return one_line(scrub(str(exc).strip() or type(exc).__name__), 200)


class DemoFacts:
    """``HealthFacts`` of the demo: its database (``db_url``) and Redis (``redis_url``,
    None: the demo has none)."""

    def __init__(self, db_url: str, redis_url: str | None = None) -> None:
        self.db_url = db_url
        self.redis_url = redis_url

    def database(self) -> DatabaseFacts:
        try:
            with psycopg.connect(
                to_libpq(self.db_url), connect_timeout=int(TIMEOUT), autocommit=True
            ) as conn:
                conn.execute("SELECT 1")
                found = conn.execute(
                    "SELECT t, to_regclass('app.' || t) IS NOT NULL FROM unnest(%s::text[]) t",
                    [list(CHECKED_TABLES)],
                ).fetchall()
                row = conn.execute("SELECT split_part(version(), ' ', 2)").fetchone()
                has_versions = conn.execute(
                    "SELECT to_regclass('app.alembic_version') IS NOT NULL"
                ).fetchone()
                current = None
                if has_versions and has_versions[0]:
                    got = conn.execute(
                        "SELECT version_num FROM app.alembic_version ORDER BY 1 LIMIT 1"
                    ).fetchone()
                    current = got[0] if got else None
        except psycopg.Error as exc:
            return DatabaseFacts(reachable=False, error=_sentence(exc))
        return DatabaseFacts(
            reachable=True,
            missing_tables=tuple(name for name, present in found if not present),
            server_version=f"PostgreSQL {row[0]}" if row else None,
            version_table=bool(has_versions and has_versions[0]),
            current_revision=current,
        )

    def redis(self) -> RedisFacts:
        if not self.redis_url:
            return RedisFacts(ok=False, error=NO_REDIS)
        import redis

        started = time.perf_counter()
        client = redis.Redis.from_url(
            self.redis_url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT
        )
        try:
            client.ping()
        except redis.RedisError as exc:
            return RedisFacts(ok=False, error=_sentence(exc))
        finally:
            client.close()
        return RedisFacts(
            ok=True, response_time_ms=round((time.perf_counter() - started) * 1000, 2)
        )

    def emag_main_error(self) -> str | None:
        return None

    def worker_answers(self) -> bool:
        return False  # the demo runs no Celery worker

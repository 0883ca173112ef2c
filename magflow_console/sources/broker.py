"""Redis read as Celery's broker and result backend (stack sheet §6.4, §9, §11.2, §11.3).

One ``fetch()`` reads, over one connection, what answers "is the worker doing anything,
is beat alive, what is waiting" without ``celery inspect`` (the solo worker cannot answer
it while busy, §11.2):

- ``INFO``: memory, evictions, uptime, clients, persistence (``RedisSnapshot``);
- the backlog of each queue (``default`` and kombu's priority sub-lists) and the message
  the worker takes next: kombu LPUSHes and the worker BRPOPs, so the **tail** of a list is
  its oldest message;
- ``unacked``/``unacked_index``: the messages a worker holds (acks_late), each with its
  delivery time; one whose eta lies in the future is a retry waiting for its delay;
- the newest ``celery-task-meta-*`` results (bounded SCAN), recognised by shape, and the
  newest heartbeat (proof that beat, broker and worker work together).

**Strictly read-only**: INFO, LLEN, LRANGE, HLEN, HSCAN, ZRANGE, SCAN (MATCH, bounded
COUNT) and MGET, nothing else; no KEYS, no write, no CLIENT command: the connection
speaks RESP2 (a plain AUTH, no HELLO and no CLIENT MAINT_NOTIFICATIONS) and the library's
CLIENT SETINFO handshake is switched off. ``fetch`` never raises: a Redis that
is down, refuses or rejects the password gives both snapshots ``state="error"`` with one
sentence naming host:port and the reason, never the password.

No Textual import.
"""

from __future__ import annotations

import datetime as dt
import inspect
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from magflow_console.models import (
    CeleryMessage,
    CeleryResult,
    CelerySnapshot,
    RedisSnapshot,
    error_snapshot,
    utcnow,
)
from magflow_console.render.text import excerpt, scrub
from magflow_console.sources.broker_parse import (
    heartbeat_time,
    load_json,
    parse_message,
    parse_result,
    parse_unacked,
    queue_lists,
    redis_fields,
)

UNACKED = "unacked"
UNACKED_INDEX = "unacked_index"
RESULT_PATTERN = "celery-task-meta-*"
_SCAN_STEP = 500  # COUNT per SCAN/HSCAN call
_MGET_CHUNK = 200
_EPOCH = dt.datetime.min.replace(tzinfo=dt.UTC)
#: redis-py >= 5.? takes ``driver_info``; older ones ``lib_name``/``lib_version``: either
#: way ``None`` keeps it from sending CLIENT SETINFO on connect
_NO_CLIENT_INFO: dict[str, Any] = (
    {"driver_info": None}
    if "driver_info" in inspect.signature(redis.Redis.__init__).parameters
    else {"lib_name": None, "lib_version": None}
)


@dataclass(frozen=True, slots=True)
class Target:
    """Where the URL points, safe to show."""

    host: str
    port: int | None
    db: int
    password: str | None
    display_url: str

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}" if self.port is not None else self.host


class UrlError(ValueError):
    pass


def parse_target(url: str) -> Target:
    """``redis://[user][:password]@host[:port][/db]`` (also ``rediss://`` and
    ``unix://``); raises ``UrlError`` with a sentence that holds no password."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlError("its port is not a number") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("redis", "rediss", "unix"):
        raise UrlError(f"the scheme is {scheme or 'missing'!r}, not redis://, rediss:// or unix://")
    password = unquote(parts.password) if parts.password else None
    display = scrub(url, known=(password,))
    if scheme == "unix":
        return Target(parts.path or "?", None, 0, password, display)
    db = 0
    path = parts.path.strip("/")
    if path:
        try:
            db = int(path)
        except ValueError as exc:
            raise UrlError(f"the database {path!r} is not a number") from exc
    return Target(parts.hostname or "localhost", port or 6379, db, password, display)


def describe_error(exc: BaseException, target: Target, timeout: float) -> str:
    """One sentence: where, and why, without the password."""
    where = f"Redis at {target.where}"
    text = str(exc)
    low = text.lower()
    if "wrongpass" in low or "invalid password" in low or "invalid username-password" in low:
        msg = f"{where} rejected the password in the URL (wrong password or user)."
    elif "noauth" in low or "authentication required" in low:
        msg = f"{where} requires a password and the URL has none."
    elif "without any password configured" in low or "no password is set" in low:
        msg = f"{where} has no password set, but the URL gives one."
    elif isinstance(exc, redis.exceptions.TimeoutError) or "timed out" in low:
        msg = f"{where} did not answer within {timeout:g} s."
    elif "refused" in low:
        msg = f"{where} refused the connection (is it running?)."
    elif "name or service not known" in low or "name resolution" in low or "nodename" in low:
        msg = f"Redis host {target.host} could not be resolved."
    elif "closed by server" in low or "reset by peer" in low:
        msg = f"{where} closed the connection: {text}."
    elif isinstance(exc, redis.exceptions.BusyLoadingError):
        msg = f"{where} is still loading its data set."
    elif isinstance(exc, redis.exceptions.NoPermissionError):
        msg = f"{where} denied a read (ACL): {text}."
    else:
        msg = f"{where} failed: {type(exc).__name__}: {text}."
    return excerpt(scrub(msg, known=(target.password,)), 240)


class BrokerSource:
    """Snapshots of Redis and of Celery's state in it. Safe to call from a worker thread
    (a lock serialises overlapping calls)."""

    def __init__(
        self,
        url: str | None,
        *,
        timeout: float = 3.0,
        results_limit: int = 50,
        scan_budget: int = 2000,
        queues: Sequence[str] = ("default",),
        queue_read_limit: int = 500,
    ) -> None:
        self.url = url.strip() if url else None
        self.timeout = float(timeout)
        self.results_limit = max(0, int(results_limit))
        self.scan_budget = max(1, int(scan_budget))
        self.queues = tuple(queues)
        self.queue_read_limit = max(1, int(queue_read_limit))
        self._client: redis.Redis | None = None
        self._lock = threading.Lock()

    @property
    def display_url(self) -> str | None:
        if not self.url:
            return None
        try:
            return parse_target(self.url).display_url
        except UrlError:
            return scrub(self.url)

    def fetch(self) -> tuple[RedisSnapshot, CelerySnapshot]:
        """Both snapshots; never raises."""
        started = time.perf_counter()
        try:
            with self._lock:
                return self._fetch(started)
        except Exception as exc:  # a bug must not take the caller down
            msg = excerpt(f"Reading Redis failed unexpectedly: {type(exc).__name__}: {exc}")
            return (
                error_snapshot(RedisSnapshot, msg, started, url=self.display_url),
                error_snapshot(CelerySnapshot, msg, started),
            )

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    # ------------------------------------------------------------------ internals

    def _both_failed(
        self, msg: str, started: float, url: str | None
    ) -> tuple[RedisSnapshot, CelerySnapshot]:
        return (
            error_snapshot(RedisSnapshot, msg, started, url=url),
            error_snapshot(CelerySnapshot, msg, started),
        )

    def _ensure_client(self) -> redis.Redis:
        if self._client is None:
            assert self.url
            self._client = redis.Redis.from_url(
                self.url,
                socket_timeout=self.timeout,
                socket_connect_timeout=self.timeout,
                retry=Retry(NoBackoff(), 0),
                health_check_interval=0,
                protocol=2,  # plain AUTH: no HELLO, and no CLIENT MAINT_NOTIFICATIONS (RESP3)
                **_NO_CLIENT_INFO,
            )
        return self._client

    def _fetch(self, started: float) -> tuple[RedisSnapshot, CelerySnapshot]:
        if not self.url:
            return self._both_failed("No Redis URL configured for this profile.", started, None)
        try:
            target = parse_target(self.url)
        except UrlError as exc:
            msg = excerpt(f"The Redis URL {scrub(self.url)!r} is not usable: {exc}.")
            return self._both_failed(msg, started, scrub(self.url))
        try:
            client = self._ensure_client()
        except ValueError as exc:
            msg = describe_error(exc, target, self.timeout)
            return self._both_failed(msg, started, target.display_url)

        try:
            info = client.info()
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            client.connection_pool.disconnect()
            return self._both_failed(
                describe_error(exc, target, self.timeout), started, target.display_url
            )
        except redis.exceptions.RedisError as exc:  # INFO denied (ACL), the rest may work
            redis_snapshot = error_snapshot(
                RedisSnapshot,
                describe_error(exc, target, self.timeout),
                started,
                url=target.display_url,
            )
        else:
            redis_snapshot = RedisSnapshot(
                state="ok",
                error=None,
                fetched_at=utcnow(),
                duration_ms=(time.perf_counter() - started) * 1000,
                url=target.display_url,
                **redis_fields(info, target.db),
            )

        try:
            celery = self._celery(client, started)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            client.connection_pool.disconnect()
            celery = error_snapshot(
                CelerySnapshot, describe_error(exc, target, self.timeout), started
            )
        except redis.exceptions.RedisError as exc:
            msg = describe_error(exc, target, self.timeout)
            celery = error_snapshot(CelerySnapshot, f"Reading Celery's keys: {msg}", started)
        return redis_snapshot, celery

    def _celery(self, client: redis.Redis, started: float) -> CelerySnapshot:
        now = utcnow()
        # lengths in one round trip: every queue list, then the unacked hash
        lists = [(q, key, name) for q in self.queues for key, name in queue_lists(q)]
        pipe = client.pipeline(transaction=False)
        for _, key, _ in lists:
            pipe.llen(key)
        pipe.hlen(UNACKED)
        lengths = pipe.execute(raise_on_error=False)
        for (_, _key, name), n in zip(lists, lengths, strict=False):
            if isinstance(n, Exception):
                raise redis.exceptions.ResponseError(f"the key {name!r} is not a list ({n})")
        if isinstance(lengths[-1], Exception):
            raise redis.exceptions.ResponseError(f"the key 'unacked' is not a hash ({lengths[-1]})")
        queues = {name: int(n) for (_, _, name), n in zip(lists, lengths, strict=False)}

        held = self._held(client, int(lengths[-1]), now)
        queued, oldest = self._queued(client, lists, lengths, now)
        tasks_by_id = {m.id: m.task for m in (*queued, *held) if m.id and m.task}
        delivered = {m.id: m.delivered_at for m in held if m.id and m.delivered_at}
        results, last_heartbeat, complete = self._results(client, tasks_by_id, delivered)
        return CelerySnapshot(
            state="ok",
            error=None,
            fetched_at=utcnow(),
            duration_ms=(time.perf_counter() - started) * 1000,
            queues=queues,
            oldest_queued=oldest,
            executing=held,
            last_heartbeat_at=last_heartbeat,
            results=results,
            results_complete=complete,
        )

    def _held(self, client: redis.Redis, size: int, now: dt.datetime) -> tuple[CeleryMessage, ...]:
        """Messages in ``unacked`` with their delivery times, oldest delivery first."""
        if size <= 0:
            return ()
        values: dict[Any, Any] = {}
        cursor, budget = 0, self.scan_budget
        while budget > 0:
            step = min(_SCAN_STEP, budget)
            reply: Any = client.hscan(UNACKED, cursor, count=step)
            cursor, page = reply
            values.update(page)
            budget -= step
            if cursor == 0:
                break
        index: Any = client.zrange(UNACKED_INDEX, 0, self.scan_budget - 1, withscores=True)
        scores = dict(index)
        messages = [parse_unacked(raw, scores.get(tag), now=now) for tag, raw in values.items()]
        found = [m for m in messages if m is not None]
        found.sort(key=lambda m: m.delivered_at or _EPOCH)
        return tuple(found)

    def _queued(
        self,
        client: redis.Redis,
        lists: list[tuple[str, str, str]],
        lengths: list[Any],
        now: dt.datetime,
    ) -> tuple[list[CeleryMessage], CeleryMessage | None]:
        """The oldest messages of each list (up to ``queue_read_limit`` in all) and the
        one the worker takes next: the tail of the first non-empty list in BRPOP order."""
        queued: list[CeleryMessage] = []
        oldest: CeleryMessage | None = None
        budget = self.queue_read_limit
        for (queue, key, _), n in zip(lists, lengths, strict=False):
            if not n:
                continue
            take = max(1, min(int(n), budget))
            raws = client.lrange(key, -take, -1)
            budget -= take
            parsed = [parse_message(raw, queue=queue, now=now) for raw in raws]
            if oldest is None and parsed and parsed[-1] is not None:
                oldest = parsed[-1]
            queued.extend(m for m in parsed if m is not None)
        return queued, oldest

    def _results(
        self,
        client: redis.Redis,
        tasks_by_id: dict[str, str],
        delivered: dict[str, dt.datetime],
    ) -> tuple[tuple[CeleryResult, ...], dt.datetime | None, bool]:
        """(newest results first, newest heartbeat, whether the SCAN reached the end)."""
        keys: list[Any] = []
        cursor, budget, complete = 0, self.scan_budget, False
        while budget > 0:
            step = min(_SCAN_STEP, budget)
            cursor, page = client.scan(cursor, match=RESULT_PATTERN, count=step)
            keys.extend(page)
            budget -= step
            if cursor == 0:
                complete = True
                break
        keys = list(dict.fromkeys(keys))  # SCAN may return a key twice
        results: list[CeleryResult] = []
        last_heartbeat: dt.datetime | None = None
        for i in range(0, len(keys), _MGET_CHUNK):
            chunk = keys[i : i + _MGET_CHUNK]
            for key, raw in zip(chunk, client.mget(chunk), strict=False):
                if raw is None:  # expired or evicted since the SCAN
                    continue
                meta = load_json(raw)
                beat = heartbeat_time(meta)
                if beat is not None and (last_heartbeat is None or beat > last_heartbeat):
                    last_heartbeat = beat
                name = key.decode("utf-8", "replace")
                parsed = parse_result(meta if meta is not None else raw, tasks_by_id, key=name)
                if parsed is not None:
                    results.append(parsed)

        def newest(r: CeleryResult) -> dt.datetime:
            return r.date_done or delivered.get(r.task_id) or _EPOCH

        results.sort(key=newest, reverse=True)
        return tuple(results[: self.results_limit]), last_heartbeat, complete

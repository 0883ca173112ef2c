"""Pure parsing of Celery's Redis state (``sources/broker_parse.py``) and the URL and
error sentences of ``sources/broker.py``. The samples are shapes captured from a real
Celery 5 worker on kombu's Redis transport (see ``test_broker.py`` for the live run)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from magflow_console.sources import broker_parse as bp
from magflow_console.sources.broker import UrlError, describe_error, parse_target

NOW = dt.datetime(2025, 10, 22, 12, 0, tzinfo=dt.UTC)


def message(
    task: str = "emag.sync_products",
    *,
    task_id: str = "e5e70016-46fa-4f88-9331-d0ba98656faa",
    kwargs: dict[str, Any] | None = None,
    args: list[Any] | None = None,
    eta: str | None = None,
    retries: int = 0,
    reprs: bool = True,
) -> dict[str, Any]:
    """A protocol-2 message as kombu stores it (body base64 of [args, kwargs, embed])."""
    args = args or []
    kwargs = kwargs if kwargs is not None else {}
    body = json.dumps([args, kwargs, {"callbacks": None, "errbacks": None}])
    headers: dict[str, Any] = {
        "lang": "py",
        "task": task,
        "id": task_id,
        "eta": eta,
        "retries": retries,
        "root_id": task_id,
        "parent_id": None,
        "origin": "gen1@vm",
    }
    if reprs:
        headers["argsrepr"] = repr(tuple(args)) if not args else repr(args)
        headers["kwargsrepr"] = repr(kwargs)
    return {
        "body": base64.b64encode(body.encode()).decode(),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": headers,
        "properties": {
            "correlation_id": task_id,
            "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": "default"},
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": "dc25f343-0764-42af-adbc-2beb533e6b57",
        },
    }


def meta(status: str, result: Any, *, task_id: str = "t-1", date_done: str | None = None) -> str:
    return json.dumps(
        {
            "status": status,
            "result": result,
            "traceback": "Traceback (most recent call last):\n  ...\nValueError: secret" if status != "SUCCESS" else None,
            "children": [],
            "date_done": date_done,
            "task_id": task_id,
        }
    )  # fmt: skip


# --------------------------------------------------------------------------- messages


def test_a_queued_message_gives_task_id_account_and_no_delivery() -> None:
    raw = json.dumps(message(kwargs={"account_type": "main", "max_pages_per_account": 3}))
    msg = bp.parse_message(raw.encode(), queue="default", now=NOW)
    assert msg is not None
    assert (msg.task, msg.id, msg.account, msg.queue) == (
        "emag.sync_products",
        "e5e70016-46fa-4f88-9331-d0ba98656faa",
        "main",
        "default",
    )
    assert msg.delivered_at is None and msg.eta is None
    assert msg.retries == 0 and msg.scheduled_retry is False


def test_an_unacked_value_gives_its_delivery_time_and_routing_key() -> None:
    raw = json.dumps([message(kwargs={"account_type": "fbe"}), "", "default"])
    msg = bp.parse_unacked(raw, 1761134400.25, now=NOW)
    assert msg is not None
    assert msg.delivered_at == dt.datetime(2025, 10, 22, 12, 0, 0, 250000, tzinfo=dt.UTC)
    assert msg.account == "fbe" and msg.queue == "default"


def test_an_eta_in_the_future_is_a_scheduled_retry_and_a_past_one_is_not() -> None:
    future = json.dumps([message(eta="2025-10-22T12:05:00.1+00:00", retries=1), "", "default"])
    past = json.dumps([message(eta="2025-10-22T11:59:00+00:00", retries=2), "", "default"])
    waiting = bp.parse_unacked(future, 1761134390, now=NOW)
    due = bp.parse_unacked(past, 1761134390, now=NOW)
    assert waiting is not None and due is not None
    assert waiting.scheduled_retry is True and waiting.retries == 1
    assert waiting.eta == dt.datetime(2025, 10, 22, 12, 5, 0, 100000, tzinfo=dt.UTC)
    assert due.scheduled_retry is False and due.retries == 2


def test_a_naive_or_z_eta_is_taken_as_utc() -> None:
    assert bp.parse_time("2025-10-22T12:00:00") == NOW
    assert bp.parse_time("2025-10-22T12:00:00Z") == NOW
    assert bp.parse_time("2025-10-22T14:00:00+02:00") == NOW
    assert bp.parse_time("not a time") is None
    assert bp.parse_time(True) is None
    assert bp.parse_time(float("nan")) is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"kwargsrepr": "{'account_type': 'main', 'max_pages_per_account': 5}"}, "main"),
        ({"kwargsrepr": "{'max_pages_per_account': 5, 'account_type': 'both'}"}, "both"),
        # saferepr cuts long reprs: not a literal any more, the pattern still finds it
        ({"kwargsrepr": "{'account_type': 'fbe', 'note': 'xxxxxxxx..."}, "fbe"),
        ({"argsrepr": "('fbe', 5)", "kwargsrepr": "{}"}, "fbe"),
        ({"argsrepr": "['first']", "kwargsrepr": "{}"}, None),  # sample.echo: not an account
        ({"argsrepr": "()", "kwargsrepr": "{}"}, None),
        ({}, None),
    ],
)
def test_the_account_comes_from_the_reprs(headers: dict[str, Any], expected: str | None) -> None:
    assert bp.account_of(headers) == expected


def test_without_reprs_the_account_comes_from_the_body() -> None:
    msg = message(kwargs={"account_type": "main"}, reprs=False)
    assert bp.account_of(msg["headers"], msg) == "main"
    msg = message(args=["fbe", 3], reprs=False)
    assert bp.account_of(msg["headers"], msg) == "fbe"


def test_an_account_with_control_characters_is_cleaned() -> None:
    headers = {"kwargsrepr": repr({"account_type": "ma\x1b[31min"})}
    account = bp.account_of(headers)
    assert account is not None and "\x1b" not in account


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json", b"[]", b"{}", b'{"headers": []}', b'{"headers": {}}', b"\xff\xfe", b"null"],
)
def test_what_is_not_a_celery_message_is_none(raw: bytes) -> None:
    assert bp.parse_message(raw, now=NOW) is None
    assert bp.parse_unacked(raw, 1.0, now=NOW) is None


def test_queue_lists_follow_kombus_brpop_order() -> None:
    assert bp.queue_lists("default") == (
        ("default", "default"),
        ("default\x06\x163", "default:3"),
        ("default\x06\x166", "default:6"),
        ("default\x06\x169", "default:9"),
    )


# --------------------------------------------------------------------------- results

HEARTBEAT = {
    "status": "ok",
    "service": "celery-beat",
    "host": "magflow_beat",
    "timestamp": "2025-10-22T11:59:58+00:00",
    "env": {"TZ": "UTC"},
}
PRODUCT_SYNC = {
    "timestamp": "2025-10-22T11:00:00+00:00",
    "account_type": "main",
    "products_synced": 120,
    "created": 20,
    "updated": 100,
    "failed": 3,
    "errors": [],
    "inventory_sync": {"updated": 4},
}
ORDER_SYNC = {
    "timestamp": "2025-10-22T11:55:00+00:00",
    "accounts": {
        "main": {"success": True, "orders_synced": 12, "new_orders": 3, "updated_orders": 9},
        "fbe": {"success": False, "error": "401 for https://user:pw-leak@emag.example/api"},
    },
    "total_orders_synced": 12,
    "total_new_orders": 3,
    "errors": ["fbe: 401"],
}
AUTO_ACK = {
    "timestamp": "2025-10-22T11:50:00+00:00",
    "accounts": {"main": {"success": True, "acknowledged": 2}, "fbe": {"success": True}},
    "total_acknowledged": 2,
    "errors": [],
}


@pytest.mark.parametrize(
    ("result", "kind", "summary"),
    [
        (HEARTBEAT, "heartbeat", "heartbeat from magflow_beat"),
        (PRODUCT_SYNC, "product_sync", "main: 120 synced, 3 failed"),
        ({**PRODUCT_SYNC, "errors": ["a", "b"]}, "product_sync", "main: 120 synced, 3 failed, 2 errors"),
        (ORDER_SYNC, "order_sync", "main: 12 synced (3 new); fbe failed: 401 for https://user:***@emag.example/api, 1 error"),
        (AUTO_ACK, "auto_acknowledge", "2 acknowledged"),
        ({"timestamp": "x", "status": "healthy", "total_orders": 5}, "other", "status healthy"),
        ("first", "other", ""),
        (None, "other", ""),
        ({**HEARTBEAT, "service": "something else"}, "other", "status ok"),
    ],
)  # fmt: skip
def test_success_results_are_recognised_by_shape(result: Any, kind: str, summary: str) -> None:
    parsed = bp.parse_result(meta("SUCCESS", result, date_done="2025-10-22T12:00:00.5+00:00"))
    assert parsed is not None
    assert parsed.kind == kind
    assert parsed.summary == summary
    assert parsed.status == "SUCCESS"
    assert parsed.date_done == dt.datetime(2025, 10, 22, 12, 0, 0, 500000, tzinfo=dt.UTC)


def test_a_failure_shows_type_and_masked_message_never_the_traceback() -> None:
    result = {
        "exc_type": "OperationalError",
        "exc_message": ["could not connect to postgresql://app:Db-pass-4f1c9e@db:5432/magflow"],
        "exc_module": "psycopg",
    }
    parsed = bp.parse_result(
        meta("FAILURE", result, task_id="t-9", date_done="2025-10-22T12:00:00+00:00")
    )
    assert parsed is not None
    assert parsed.kind == "unknown"  # no message names the task
    assert parsed.summary == (
        "OperationalError: could not connect to postgresql://app:***@db:5432/magflow"
    )
    assert "Traceback" not in parsed.summary


def test_a_failure_or_retry_takes_its_kind_from_a_message_with_its_id() -> None:
    retry = meta("RETRY", {"exc_type": "ConnectionError", "exc_message": ["503"]}, task_id="t-2")
    parsed = bp.parse_result(retry, {"t-2": "emag.sync_orders"})
    assert parsed is not None
    assert (parsed.kind, parsed.task, parsed.date_done) == ("order_sync", "emag.sync_orders", None)
    assert parsed.summary == "ConnectionError: 503"
    other = bp.parse_result(retry, {"t-2": "sample.slow"})
    assert other is not None and other.kind == "other"


def test_a_long_failure_message_is_cut_to_one_line() -> None:
    result = {"exc_type": "ValueError", "exc_message": ["line one\nline two " + "x" * 500]}
    parsed = bp.parse_result(meta("FAILURE", result))
    assert parsed is not None
    assert len(parsed.summary) == bp.SUMMARY_MAX
    assert "\n" not in parsed.summary and parsed.summary.endswith("…")


def test_an_unreadable_result_is_shown_as_such_with_its_key() -> None:
    parsed = bp.parse_result(b"\x80\x04pickle", key="celery-task-meta-abc")
    assert parsed is not None
    assert (parsed.kind, parsed.status, parsed.task_id) == ("unknown", "UNREADABLE", "abc")
    assert bp.parse_result(b"\x80\x04pickle") is None


def test_the_heartbeat_time_is_date_done_else_its_timestamp() -> None:
    stored = json.loads(meta("SUCCESS", HEARTBEAT, date_done="2025-10-22T12:00:00+00:00"))
    assert bp.heartbeat_time(stored) == NOW
    stored["date_done"] = None
    assert bp.heartbeat_time(stored) == dt.datetime(2025, 10, 22, 11, 59, 58, tzinfo=dt.UTC)
    assert bp.heartbeat_time(json.loads(meta("SUCCESS", PRODUCT_SYNC))) is None
    assert bp.heartbeat_time(json.loads(meta("FAILURE", HEARTBEAT))) is None


# --------------------------------------------------------------------------- INFO


def test_info_fields() -> None:
    info = {
        "used_memory": 1736896,
        "maxmemory": 268435456,
        "evicted_keys": 4,
        "uptime_in_seconds": 3600,
        "connected_clients": 14,
        "rdb_last_bgsave_status": "ok",
        "aof_enabled": 0,
        "maxmemory_policy": "allkeys-lru",
        "redis_version": "7.0.15",
        "db0": {"keys": 10, "expires": 6, "avg_ttl": 0},
    }
    assert bp.redis_fields(info) == {
        "used_memory": 1736896,
        "maxmemory": 268435456,
        "evicted_keys": 4,
        "uptime_seconds": 3600,
        "connected_clients": 14,
        "rdb_last_bgsave_status": "ok",
        "aof_enabled": False,
        "maxmemory_policy": "allkeys-lru",
        "redis_version": "7.0.15",
        "db_keys": 10,
    }
    assert bp.redis_fields({**info, "aof_enabled": "1"})["aof_enabled"] is True
    assert bp.redis_fields({k: v for k, v in info.items() if k != "db0"})["db_keys"] == 0
    assert bp.redis_fields(info, db=1)["db_keys"] == 0
    assert bp.redis_fields({})["used_memory"] is None


# --------------------------------------------------------------------------- never raises

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=25,
)  # fmt: skip
KEYS = st.sampled_from(
    ["headers", "task", "id", "eta", "retries", "kwargsrepr", "argsrepr", "body", "properties",
     "status", "result", "date_done", "task_id", "exc_type", "exc_message", "accounts",
     "service", "products_synced", "account_type", "total_orders_synced", "total_acknowledged",
     "delivery_info", "routing_key", "body_encoding", "success", "error", "errors", "host"]
)  # fmt: skip
# objects whose keys are the ones the parser looks at, with arbitrary values
SHAPED = st.recursive(
    JSON, lambda inner: st.dictionaries(KEYS, inner, max_size=6) | st.lists(inner, max_size=3),
    max_leaves=30,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(value=SHAPED, score=JSON)
def test_arbitrary_json_never_raises(value: Any, score: Any) -> None:
    raw = json.dumps(value)
    now = NOW
    for parsed in (
        bp.parse_message(raw, now=now),
        bp.parse_message(value if isinstance(value, dict) else raw, now=now),
        bp.parse_unacked(raw, score if not isinstance(score, list | dict) else None, now=now),
        bp.parse_unacked(json.dumps([value, "", "default"]), score, now=now),
    ):
        assert parsed is None or parsed.retries >= 0
    for result in (
        bp.parse_result(raw, {"t": "emag.sync_orders"}, key="celery-task-meta-t"),
        bp.parse_result(json.dumps({"status": "SUCCESS", "result": value})),
        bp.parse_result(json.dumps({"status": "FAILURE", "result": value, "task_id": "t"})),
    ):
        assert result is None or (
            len(result.summary) <= bp.SUMMARY_MAX and "\n" not in result.summary
        )
    bp.heartbeat_time(value)
    bp.redis_fields(value if isinstance(value, dict) else {})
    if isinstance(value, dict):
        bp.account_of(value, value)


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    bp.parse_message(raw)
    bp.parse_unacked(raw, raw)
    bp.parse_result(raw, key="celery-task-meta-x")
    bp.parse_time(raw)


# --------------------------------------------------------------------------- URL, errors


def test_the_display_url_masks_the_password() -> None:
    target = parse_target("redis://:S3cret%2Fpw@redis:6379/0")
    assert (target.host, target.port, target.db, target.password) == ("redis", 6379, 0, "S3cret/pw")
    assert "S3cret" not in target.display_url and "***" in target.display_url
    assert parse_target("redis://cache").where == "cache:6379"
    assert parse_target("rediss://u:p@h:6380/2").db == 2
    with pytest.raises(UrlError):
        parse_target("http://h/0")
    with pytest.raises(UrlError):
        parse_target("redis://h:notaport/0")
    with pytest.raises(UrlError):
        parse_target("redis://h/zero")


@pytest.mark.parametrize(
    ("exc", "sentence"),
    [
        (redis.exceptions.AuthenticationError("invalid username-password pair or user is disabled."), "Redis at redis:6379 rejected the password in the URL (wrong password or user)."),
        (redis.exceptions.ResponseError("WRONGPASS invalid username-password pair"), "Redis at redis:6379 rejected the password in the URL (wrong password or user)."),
        (redis.exceptions.AuthenticationError("Authentication required."), "Redis at redis:6379 requires a password and the URL has none."),
        (redis.exceptions.AuthenticationError("AUTH <password> called without any password configured for the default user."), "Redis at redis:6379 has no password set, but the URL gives one."),
        (redis.exceptions.TimeoutError("Timeout connecting to server"), "Redis at redis:6379 did not answer within 3 s."),
        (redis.exceptions.ConnectionError("Error 111 connecting to redis:6379. Connection refused."), "Redis at redis:6379 refused the connection (is it running?)."),
        (redis.exceptions.ConnectionError("Error -2 connecting to redis:6379. Name or service not known."), "Redis host redis could not be resolved."),
        (redis.exceptions.ConnectionError("boom with S3cret/pw inside"), "Redis at redis:6379 failed: ConnectionError: boom with *** inside."),
    ],
)  # fmt: skip
def test_error_sentences(exc: Exception, sentence: str) -> None:
    target = parse_target("redis://:S3cret%2Fpw@redis:6379/0")
    assert describe_error(exc, target, 3.0) == sentence


def test_the_broker_source_does_not_import_textual() -> None:
    import subprocess
    import sys

    probe = (
        "import sys, magflow_console.sources.broker\n"
        "print(sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.')))"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"

"""Pure parsing of what Celery and kombu keep in Redis (stack sheet §11.3). No I/O.

- ``redis_fields``: ``INFO`` (as redis-py parses it) -> the ``RedisSnapshot`` fields.
- ``parse_message``: a queued kombu message (JSON) -> ``CeleryMessage``.
- ``parse_unacked``: an ``unacked`` hash value (JSON ``[message, exchange, routing_key]``)
  with its ``unacked_index`` score -> ``CeleryMessage``.
- ``parse_result``: a ``celery-task-meta-*`` value -> ``CeleryResult``, recognised by
  shape; a FAILURE/RETRY takes its kind from a known message with the same id.

Every function accepts any bytes/JSON and never raises: what cannot be read becomes
``None`` fields (or ``None`` for a message that is not a kombu message at all). Every text
that reaches a summary is masked with ``scrub``, made one printable line and cut.
"""

from __future__ import annotations

import ast
import base64
import binascii
import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from magflow_console.models import CeleryMessage, CeleryResult, ResultKind
from magflow_console.render.text import excerpt

#: kombu's Redis transport: a queue's priority sub-lists are ``queue + SEP + step``
PRIORITY_SEP = "\x06\x16"
#: kombu's priority steps; 0 is the plain list, and BRPOP reads the steps in this order
PRIORITY_STEPS = (0, 3, 6, 9)
#: MagFlow's task names -> the kind of their results
TASK_KINDS: dict[str, ResultKind] = {
    "maintenance.heartbeat": "heartbeat",
    "emag.sync_products": "product_sync",
    "emag.sync_orders": "order_sync",
    "emag.auto_acknowledge_orders": "auto_acknowledge",
}
SUMMARY_MAX = 160
_FIELD_MAX = 60
_REPR_MAX = 4000  # longer reprs are not literal_eval'd (the regex still looks)
_ACCOUNT_RE = re.compile(r"""['"]account_type['"]\s*:\s*['"]([^'"]{1,40})['"]""")
_FIRST_STRING_ARG = re.compile(r"""^[(\[]\s*['"]([^'"]{1,40})['"]""")
KNOWN_ACCOUNTS = frozenset({"main", "fbe", "both"})


# --------------------------------------------------------------------------- helpers


def queue_lists(queue: str) -> tuple[tuple[str, str], ...]:
    """(Redis key, display name) of ``queue`` and its priority sub-lists, in the order
    kombu's BRPOP reads them: ``default``, ``default:3``, ``default:6``, ``default:9``."""
    return tuple(
        (queue, queue) if step == 0 else (f"{queue}{PRIORITY_SEP}{step}", f"{queue}:{step}")
        for step in PRIORITY_STEPS
    )


def parse_time(value: Any) -> dt.datetime | None:
    """An ISO 8601 string or Unix seconds -> aware UTC (naive values are taken as UTC)."""
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
            if not math.isfinite(value):
                return None
            return dt.datetime.fromtimestamp(float(value), dt.UTC)
        if isinstance(value, bytes):
            value = value.decode("ascii")
        if not isinstance(value, str):
            return None
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        parsed = dt.datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError, UnicodeDecodeError):
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=dt.UTC)
    try:
        return parsed.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        return None


def load_json(raw: Any) -> Any:
    """JSON text or bytes -> Python (anything else is returned as it is); None when it
    is not valid JSON."""
    if isinstance(raw, bytes | bytearray):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            return None
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    if isinstance(value, str | bytes):
        try:
            return int(float(value))
        except (ValueError, OverflowError):
            return None
    return None


def _text(value: Any, limit: int = _FIELD_MAX) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    line = excerpt(value, limit)
    return line or None


# --------------------------------------------------------------------------- redis


def redis_fields(info: Mapping[str, Any], db: int = 0) -> dict[str, Any]:
    """The ``RedisSnapshot`` fields from ``INFO`` (redis-py's parsed dict)."""
    if not isinstance(info, Mapping):
        return {}
    aof = _int(info.get("aof_enabled"))
    keyspace = info.get(f"db{db}")
    db_keys = _int(keyspace.get("keys")) if isinstance(keyspace, Mapping) else None
    if db_keys is None and isinstance(info.get("uptime_in_seconds"), int | str):
        db_keys = 0  # INFO leaves an empty db out of the keyspace section
    return {
        "used_memory": _int(info.get("used_memory")),
        "maxmemory": _int(info.get("maxmemory")),
        "evicted_keys": _int(info.get("evicted_keys")),
        "uptime_seconds": _int(info.get("uptime_in_seconds")),
        "connected_clients": _int(info.get("connected_clients")),
        "rdb_last_bgsave_status": _text(info.get("rdb_last_bgsave_status")),
        "aof_enabled": None if aof is None else bool(aof),
        "maxmemory_policy": _text(info.get("maxmemory_policy")),
        "redis_version": _text(info.get("redis_version")),
        "db_keys": db_keys,
    }


# --------------------------------------------------------------------------- messages


def _literal(text: str) -> Any:
    if len(text) > _REPR_MAX:
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _body(message: Mapping[str, Any]) -> Any:
    """Protocol 2 body ``[args, kwargs, embed]`` (base64 JSON), or None."""
    body = message.get("body")
    if not isinstance(body, str):
        return None
    props = message.get("properties")
    if isinstance(props, Mapping) and props.get("body_encoding") == "base64":
        try:
            body = base64.b64decode(body, validate=False).decode("utf-8")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            return None
    return load_json(body)


def account_of(headers: Mapping[str, Any], message: Mapping[str, Any] | None = None) -> str | None:
    """``account_type`` from ``kwargsrepr`` (``{'account_type': 'main', ...}``), else the
    first positional argument in ``argsrepr`` when it names an account, else the body."""
    kwargsrepr = headers.get("kwargsrepr")
    if isinstance(kwargsrepr, str):
        kwargs = _literal(kwargsrepr)
        if isinstance(kwargs, dict) and isinstance(kwargs.get("account_type"), str):
            return _text(kwargs["account_type"], 40)
        match = _ACCOUNT_RE.search(kwargsrepr)
        if match:
            return _text(match.group(1), 40)
    argsrepr = headers.get("argsrepr")
    if isinstance(argsrepr, str):
        match = _FIRST_STRING_ARG.match(argsrepr.strip())
        if match and match.group(1) in KNOWN_ACCOUNTS:
            return match.group(1)
    if message is not None:
        body = _body(message)
        if isinstance(body, list) and len(body) >= 2:
            args, kwargs = body[0], body[1]
            if isinstance(kwargs, dict) and isinstance(kwargs.get("account_type"), str):
                return _text(kwargs["account_type"], 40)
            if isinstance(args, list) and args and args[0] in KNOWN_ACCOUNTS:
                return str(args[0])
    return None


def parse_message(
    raw: Any,
    *,
    queue: str | None = None,
    delivered_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> CeleryMessage | None:
    """A kombu message (JSON text, bytes or an already decoded dict) -> ``CeleryMessage``;
    ``None`` when it is not an object with Celery headers."""
    message = raw if isinstance(raw, Mapping) else load_json(raw)
    if not isinstance(message, Mapping):
        return None
    headers = message.get("headers")
    if not isinstance(headers, Mapping):
        return None
    task = _text(headers.get("task"), 120)
    task_id = _text(headers.get("id"), 80)
    if task is None and task_id is None:
        return None
    if queue is None:
        props = message.get("properties")
        info = props.get("delivery_info") if isinstance(props, Mapping) else None
        if isinstance(info, Mapping):
            queue = _text(info.get("routing_key"))
    eta = parse_time(headers.get("eta"))
    now = now or dt.datetime.now(dt.UTC)
    return CeleryMessage(
        task=task,
        id=task_id,
        account=account_of(headers, message),
        delivered_at=delivered_at,
        retries=max(0, _int(headers.get("retries")) or 0),
        eta=eta,
        queue=queue,
        scheduled_retry=eta is not None and eta > now,
    )


def parse_unacked(
    raw: Any, score: Any = None, *, now: dt.datetime | None = None
) -> CeleryMessage | None:
    """An ``unacked`` value ``[message, exchange, routing_key]`` with its delivery time
    (the ``unacked_index`` score, Unix seconds)."""
    value = load_json(raw)
    if not isinstance(value, list) or not value:
        return None
    routing_key = value[2] if len(value) >= 3 else None
    return parse_message(
        value[0],
        queue=_text(routing_key) if isinstance(routing_key, str) else None,
        delivered_at=parse_time(score),
        now=now,
    )


# --------------------------------------------------------------------------- results


def result_kind(result: Any) -> ResultKind:
    """What a SUCCESS result is, by its shape (MagFlow stores no task name)."""
    if not isinstance(result, Mapping):
        return "other"
    if result.get("service") == "celery-beat" and result.get("status") == "ok":
        return "heartbeat"
    if "products_synced" in result and "account_type" in result:
        return "product_sync"
    if "total_orders_synced" in result and "accounts" in result:
        return "order_sync"
    if "total_acknowledged" in result and "accounts" in result:
        return "auto_acknowledge"
    return "other"


def failure_summary(result: Any) -> str:
    """``ExcType: message`` of a FAILURE/RETRY result (never the traceback)."""
    if isinstance(result, str):
        return excerpt(result)
    if not isinstance(result, Mapping):
        return "no exception stored"
    exc_type = _text(result.get("exc_type"), 80) or "Exception"
    message = result.get("exc_message")
    if isinstance(message, list | tuple):
        parts = [str(p) for p in message if not isinstance(p, dict | list)]
        message = ", ".join(parts)
    text = f"{exc_type}: {message}" if message not in (None, "") else exc_type
    return excerpt(text)


def _count(value: Any) -> int | str:
    number = _int(value)
    return number if number is not None else "?"


def _errors_suffix(result: Mapping[str, Any]) -> str:
    errors = result.get("errors")
    n = len(errors) if isinstance(errors, list) else 0
    return f", {n} error{'s' if n != 1 else ''}" if n else ""


def _account_parts(accounts: Any, counter: str, label: str, extra: str | None) -> list[str]:
    parts: list[str] = []
    if not isinstance(accounts, Mapping):
        return parts
    for name, value in list(accounts.items())[:4]:
        acct = excerpt(name, 20)
        if isinstance(value, Mapping) and value.get("success") is False:
            why = _text(value.get("error"), 60) or "no reason given"
            parts.append(f"{acct} failed: {why}")
        elif isinstance(value, Mapping):
            text = f"{acct}: {_count(value.get(counter))} {label}"
            if extra and extra in value:
                text += f" ({_count(value.get(extra))} new)"
            parts.append(text)
        elif _int(value) is not None:
            parts.append(f"{acct}: {_int(value)} {label}")
    return parts


def success_summary(kind: ResultKind, result: Any) -> str:
    if not isinstance(result, Mapping):
        return ""
    if kind == "heartbeat":
        return excerpt(f"heartbeat from {_text(result.get('host')) or 'an unknown host'}")
    if kind == "product_sync":
        account = _text(result.get("account_type"), 20) or "?"
        text = (
            f"{account}: {_count(result.get('products_synced'))} synced, "
            f"{_count(result.get('failed'))} failed"
        )
        return excerpt(text + _errors_suffix(result))
    if kind == "order_sync":
        parts = _account_parts(result.get("accounts"), "orders_synced", "synced", "new_orders")
        if not parts:
            parts = [
                f"{_count(result.get('total_orders_synced'))} synced "
                f"({_count(result.get('total_new_orders'))} new)"
            ]
        return excerpt("; ".join(parts) + _errors_suffix(result))
    if kind == "auto_acknowledge":
        text = f"{_count(result.get('total_acknowledged'))} acknowledged"
        parts = _account_parts(result.get("accounts"), "acknowledged", "acknowledged", None)
        failed = [p for p in parts if " failed: " in p]
        if failed:
            text += "; " + "; ".join(failed)
        return excerpt(text + _errors_suffix(result))
    status = result.get("status")
    return excerpt(f"status {status}") if isinstance(status, str) else ""


def parse_result(
    raw: Any, tasks_by_id: Mapping[str, str] | None = None, *, key: str | None = None
) -> CeleryResult | None:
    """A ``celery-task-meta-*`` value -> ``CeleryResult``. ``tasks_by_id`` maps task ids
    to names from held or queued messages (a FAILURE or RETRY has no shape of its own).
    ``None`` only when there is nothing to show (no JSON object and no key)."""
    tasks_by_id = tasks_by_id or {}
    meta = load_json(raw)
    key_id = key.removeprefix("celery-task-meta-") if key else None
    if not isinstance(meta, Mapping):
        if key_id is None:
            return None
        return CeleryResult(
            kind="unknown",
            status="UNREADABLE",
            date_done=None,
            task_id=excerpt(key_id, 80),
            summary="the stored result is not JSON",
            task=tasks_by_id.get(key_id),
        )
    task_id = _text(meta.get("task_id"), 80) or (excerpt(key_id, 80) if key_id else "")
    status = _text(meta.get("status"), 20) or "UNKNOWN"
    result = meta.get("result")
    task = tasks_by_id.get(task_id)
    kind: ResultKind
    if status == "SUCCESS":
        kind = result_kind(result)
        summary = success_summary(kind, result)
        if kind == "other" and task in TASK_KINDS:
            kind = TASK_KINDS[task]
    else:
        kind = TASK_KINDS.get(task, "other") if task else "unknown"
        if status in ("FAILURE", "RETRY", "REVOKED") or isinstance(result, Mapping):
            summary = failure_summary(result)
        else:
            summary = ""
    return CeleryResult(
        kind=kind,
        status=status,
        date_done=parse_time(meta.get("date_done")),
        task_id=task_id,
        summary=summary,
        task=task,
    )


def heartbeat_time(raw: Any) -> dt.datetime | None:
    """When a heartbeat result was stored (``date_done``), else its own ``timestamp``."""
    meta = load_json(raw)
    if not isinstance(meta, Mapping):
        return None
    result = meta.get("result")
    if meta.get("status") != "SUCCESS" or result_kind(result) != "heartbeat":
        return None
    assert isinstance(result, Mapping)
    return parse_time(meta.get("date_done")) or parse_time(result.get("timestamp"))

"""Celery, Redis and the order syncs, as both faces show them: the dashboard's Celery
pane and its detail screen, and ``magflow-console celery`` (rich text, no Textual).

What the worker does comes from Redis alone (sheet §11.2: the solo worker does not answer
``inspect`` while it works): the message it holds and since when, the queue behind it,
the retries waiting for their eta, and the newest heartbeat (beat, broker and worker
alive together).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from rich.text import Text

from magflow_console.models import (
    CeleryMessage,
    CelerySnapshot,
    OrderAccountStats,
    OrdersSnapshot,
    RedisSnapshot,
)
from magflow_console.render import fmt
from magflow_console.render.styles import style_for
from magflow_console.render.text import one_line

#: the task limit of MagFlow's product sync (sheet §6.2): a task held longer is stuck
TASK_LIMIT_SECONDS = 600.0
#: beat sends the heartbeat every CELERY_HEARTBEAT_INTERVAL (60 s); 3 missed = stale
HEARTBEAT_INTERVAL = 60.0
HEARTBEAT_STALE = 3 * HEARTBEAT_INTERVAL
#: retries per task (sheet §11.3)
MAX_RETRIES = {"emag.sync_products": 2, "emag.sync_orders": 3, "emag.auto_acknowledge_orders": 3}
LABEL = 8


def _label(t: Text, label: str) -> None:
    t.append(f"{label:<{LABEL}}", style="dim")


def task_name(message: CeleryMessage, limit: int = 32) -> str:
    name = one_line(message.task or "unknown task", limit)
    return f"{name} [{one_line(message.account, 8)}]" if message.account else name


def held_for(message: CeleryMessage, now: dt.datetime) -> float | None:
    if message.delivered_at is None:
        return None
    return max((now - fmt.as_utc(message.delivered_at)).total_seconds(), 0.0)


def attempt(message: CeleryMessage) -> str:
    """``attempt 2 of 3`` (the first run is attempt 1; m = 1 + the task's retries)."""
    most = MAX_RETRIES.get(message.task or "")
    total = f" of {most + 1}" if most is not None else ""
    return f"attempt {message.retries + 1}{total}"


def short_task(message: CeleryMessage) -> str:
    """``sync_products main``: the task without MagFlow's ``emag.`` prefix, and its
    account (a pane is 37 columns wide)."""
    name = one_line(message.task or "unknown task", 26).removeprefix("emag.")
    return f"{name} {one_line(message.account, 6)}" if message.account else name


def worker_text(celery: CelerySnapshot, now: dt.datetime) -> Text:
    """What the worker is doing, how long first (it must not be cut): ``busy 4m
    sync_products main``; past the 600 s task limit ``STUCK``; else ``idle``."""
    t = Text(no_wrap=True, overflow="ellipsis")
    running = celery.running
    if not running:
        t.append("idle", style="dim")
    for i, message in enumerate(running):
        if i:
            t.append(" · ")
        seconds = held_for(message, now)
        over = seconds is not None and seconds > TASK_LIMIT_SECONDS
        t.append("STUCK " if over else "busy ", style="bold red" if over else "cyan")
        if seconds is not None:
            t.append(f"{fmt.short_span(seconds)} ", style="bold red" if over else "bold")
        t.append(short_task(message))
    if celery.scheduled:
        t.append(f" · {len(celery.scheduled)} retry", style="yellow")
    return t


def backlog_text(celery: CelerySnapshot) -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
    total = celery.queued_total
    if not total:
        t.append("empty", style="green")
        return t
    t.append(f"{total:,} queued", style="bold yellow" if total > 10 else "yellow")
    if celery.oldest_queued is not None:
        t.append(" · next ", style="dim")
        t.append(short_task(celery.oldest_queued))
    return t


def heartbeat_text(celery: CelerySnapshot, now: dt.datetime) -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
    when = celery.last_heartbeat_at
    if when is None:
        t.append("no heartbeat result in Redis", style="bold red")
        return t
    age = (now - fmt.as_utc(when)).total_seconds()
    t.append(f"{fmt.span(age)} ago", style="bold red" if age > HEARTBEAT_STALE else "green")
    t.append(f" ({fmt.hms(when)} UTC)", style="dim")
    return t


def redis_text(redis: RedisSnapshot) -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
    used, most = redis.used_memory, redis.maxmemory
    if used is not None:
        t.append(fmt.size(used))
        if most:
            share = used / most
            t.append(f" / {fmt.size(most)}")
            t.append(f" {fmt.percent(share)}", style="bold red" if share >= 0.9 else "dim")
    if redis.evicted_keys:
        t.append(f" · {redis.evicted_keys:,} evicted", style="bold red")
    if redis.uptime_seconds is not None:
        t.append(f" · up {fmt.span(redis.uptime_seconds)}", style="dim")
    return t


def pane_text(celery: CelerySnapshot, redis: RedisSnapshot | None, now: dt.datetime) -> Text:
    """The dashboard pane: four lines that fit 38 columns."""
    t = Text(no_wrap=True, overflow="ellipsis")
    for label, line in (
        ("worker", worker_text(celery, now)),
        ("backlog", backlog_text(celery)),
        ("beat", heartbeat_text(celery, now)),
    ):
        _label(t, label)
        t.append_text(line)
        t.append("\n")
    _label(t, "redis")
    if redis is None or redis.state == "error":
        t.append("not read", style="dim")
    else:
        t.append_text(redis_text(redis))
    return t


# --------------------------------------------------------------------------- in full


def _section(t: Text, title: str) -> None:
    if t.plain:
        t.append("\n")
    t.append(f"{title}\n", style="bold")


def _messages(t: Text, messages: Iterable[CeleryMessage], now: dt.datetime, retry: bool) -> None:
    for m in messages:
        t.append("  ")
        t.append(task_name(m, 40), style="bold")
        if m.id:
            t.append(f"  id {one_line(m.id, 36)}", style="dim")
        if retry and m.eta is not None:
            t.append(f"\n    retrying at {fmt.hms(m.eta)} UTC ({attempt(m)})", style="yellow")
        else:
            seconds = held_for(m, now)
            since = f" since {fmt.hms(m.delivered_at)} UTC" if m.delivered_at else ""
            took = f" ({fmt.span(seconds)})" if seconds is not None else ""
            t.append(f"\n    delivered{since}{took}, {attempt(m)}")
        t.append("\n")


def celery_detail(
    celery: CelerySnapshot,
    redis: RedisSnapshot | None,
    orders: OrdersSnapshot | None,
    now: dt.datetime,
) -> Text:
    """Everything: queues, executing and scheduled retries, recent results, Redis facts
    and the order syncs per account (the detail screen and ``celery``)."""
    t = Text()
    _section(t, "Worker")
    if celery.running:
        _messages(t, celery.running, now, retry=False)
    else:
        t.append("  idle: no task held\n", style="dim")
    _section(t, "Retries waiting for their eta")
    if celery.scheduled:
        _messages(t, celery.scheduled, now, retry=True)
    else:
        t.append("  none\n", style="dim")
    _section(t, "Queues")
    for name, length in celery.queues.items():
        t.append(f"  {one_line(name, 20):<12}{length:>8,}\n", style="" if length else "dim")
    if celery.oldest_queued is not None:
        t.append("  next: ", style="dim")
        t.append(task_name(celery.oldest_queued, 40) + "\n")
    _section(t, "Beat (heartbeat)")
    t.append("  ")
    t.append_text(heartbeat_text(celery, now))
    t.append("\n")
    _section(t, f"Recent results (newest {len(celery.results)})")
    if not celery.results:
        t.append("  none in Redis (results are kept 24 h)\n", style="dim")
    for r in celery.results:
        t.append(f"  {fmt.stamp(r.date_done):<12}", style="dim")
        known = r.task.removeprefix("emag.") if r.kind == "unknown" and r.task else r.kind
        t.append(f"{one_line(known, 16):<17}")
        t.append(f"{one_line(r.status, 8):<9}", style=_result_style(r.status))
        t.append(one_line(r.summary, 120) + "\n")
    if not celery.results_complete:
        t.append("  (the scan stopped early: older results not read)\n", style="dim")
    _section(t, "Redis")
    if redis is None or redis.state == "error":
        t.append(f"  not read: {one_line(redis.error if redis else '')}\n", style="red")
    else:
        t.append("  memory    ")
        t.append_text(redis_text(redis))
        t.append("\n")
        policy = one_line(redis.maxmemory_policy or "?")
        persist = (
            f"RDB {one_line(redis.rdb_last_bgsave_status or '?')}, "
            f"AOF {'on' if redis.aof_enabled else 'off'}"
        )
        t.append(f"  policy    {policy} · {persist} · {redis.connected_clients or 0} clients\n")
        t.append(f"  version   {one_line(redis.redis_version or '?')} · {one_line(redis.url)}\n")
    _section(t, "Order syncs (app.emag_orders; they write no sync-log rows)")
    t.append_text(orders_text(orders, now))
    return t


def _result_style(status: str) -> str:
    return {"SUCCESS": "green", "FAILURE": "bold red", "RETRY": "yellow"}.get(status, "")


def orders_text(orders: OrdersSnapshot | None, now: dt.datetime) -> Text:
    t = Text()
    if orders is None or orders.state == "error":
        t.append(f"  not read: {one_line(orders.error if orders else '')}\n", style="red")
        return t
    t.append(
        f"  {'account':<8}{'orders':>10}{'new':>6}{'stale':>6}{'errors':>7}"
        f"  {'last sync':<10}{'last ack':<10}\n",
        style="dim",
    )
    for stats in orders.accounts.values():
        t.append_text(_order_row(stats, now))
    if orders.counts_age_seconds:
        t.append(
            f"  (totals and errors read {fmt.span(orders.counts_age_seconds)} ago)\n",
            style="dim",
        )
    return t


def _order_row(s: OrderAccountStats, now: dt.datetime) -> Text:
    t = Text()
    t.append(f"  {one_line(s.account, 8):<8}", style="bold")
    t.append(f"{s.orders_total:>10,}{s.new:>6,}")
    t.append(
        f"{s.new_unacknowledged_stale:>6,}",
        style=style_for("warning") if s.new_unacknowledged_stale else "",
    )
    t.append(f"{s.with_sync_error:>7,}", style=style_for("warning") if s.with_sync_error else "")
    t.append(f"  {fmt.ago(s.last_synced_at, now):<10}{fmt.ago(s.last_acknowledged_at, now):<10}\n")
    return t

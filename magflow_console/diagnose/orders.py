"""Findings about the order sync and the auto-acknowledge, per eMAG account (stack sheet
§11.4). They write only ``app.emag_orders``, never ``emag_sync_logs``, so their health is
read from the orders, with their Celery results as evidence:

- ``orders_sync_stale``: no order of the account synced for more than 3 order-sync
  intervals (``emag.sync_orders`` runs every 300 s), and no recent successful order-sync
  result for the account in Redis (the sync fetches new orders only: a recent success
  with nothing new explains an old ``last_synced_at``);
- ``orders_unacknowledged``: new orders (status 1) left unacknowledged for longer than two
  auto-acknowledge intervals: ``emag.auto_acknowledge_orders`` is not working for that
  account.

Pure: no I/O, no Textual.
"""

from __future__ import annotations

import datetime as dt

from magflow_console.diagnose.celery_tasks import (
    AUTO_ACK,
    DEFAULT_SCHEDULE,
    ORDER_SYNC_STALE_INTERVALS,
    SYNC_ORDERS,
    Schedule,
    hhmm,
    retry_text,
)
from magflow_console.models import CeleryResult, CelerySnapshot, Finding, OrdersSnapshot
from magflow_console.render.fmt import span


def account_part(summary: str, account: str) -> str | None:
    """The part of an order-sync or auto-acknowledge summary about ``account``
    (``main: 3 synced (1 new)`` / ``main failed: ...``), as ``broker_parse`` words it."""
    for part in summary.split("; "):
        if part.startswith((f"{account}: ", f"{account} failed: ")):
            return part
    return None


def _newest(celery: CelerySnapshot | None, kind: str) -> CeleryResult | None:
    if celery is None or celery.state != "ok":
        return None
    return next((r for r in celery.results if r.kind == kind and r.status != "RETRY"), None)


def _evidence(celery: CelerySnapshot | None, kind: str, task: str, account: str) -> str:
    """What Redis says about the newest run of ``task`` for ``account``, as a clause."""
    if celery is None or celery.state != "ok":
        return ""
    for msg in celery.scheduled:
        if msg.task == task:
            return f"; its last attempt failed and it is {retry_text(msg)}"
    newest = _newest(celery, kind)
    if newest is None:
        return f"; Redis holds no {task} result (kept 24 h)"
    when = f" at {hhmm(newest.date_done)} UTC" if newest.date_done else ""
    if newest.status == "FAILURE":
        return f"; its newest run failed{when}: {newest.summary}"
    part = account_part(newest.summary, account)
    if part is not None and " failed: " in part:
        return f"; its newest run{when} says {part}"
    return ""


def _synced_recently(
    celery: CelerySnapshot | None, account: str, now: dt.datetime, window: float
) -> bool:
    """A successful order-sync result newer than ``window`` in which ``account`` did not
    fail: the sync runs, it only found nothing new."""
    if celery is None or celery.state != "ok":
        return False
    for r in celery.results:
        if r.kind != "order_sync" or r.status != "SUCCESS" or r.date_done is None:
            continue
        if (now - r.date_done).total_seconds() > window:
            continue
        part = account_part(r.summary, account)
        if part is None or " failed: " not in part:
            return True
    return False


def order_findings(
    orders: OrdersSnapshot,
    celery: CelerySnapshot | None = None,
    *,
    now: dt.datetime,
    schedule: Schedule = DEFAULT_SCHEDULE,
) -> list[Finding]:
    if orders.state != "ok":
        return []
    interval = schedule.order_sync
    stale_after = ORDER_SYNC_STALE_INTERVALS * interval
    # the whole-table figures may come from a cache: judge them at the time they were read
    read_at = orders.fetched_at - dt.timedelta(seconds=orders.counts_age_seconds or 0.0)
    out: list[Finding] = []
    for name, st in orders.accounts.items():
        last = st.last_synced_at
        if last is not None:
            lag = (read_at - last).total_seconds()
            if lag > stale_after and not _synced_recently(celery, name, now, stale_after):
                out.append(
                    Finding(
                        "orders_sync_stale",
                        "warning",
                        f"No order of {name} synced for {span(lag)} (newest last_synced_at "
                        f"{hhmm(last)} UTC), more than {ORDER_SYNC_STALE_INTERVALS} "
                        f"order-sync intervals ({interval:g} s): {SYNC_ORDERS} is not running, "
                        f"or failing, for {name}"
                        + _evidence(celery, "order_sync", SYNC_ORDERS, name)
                        + ". It fetches new orders only, so a quiet shop looks the same until "
                        "its next new order.",
                        account=name,
                        subject=SYNC_ORDERS,
                        short=f"{name[:8]}: orders unsynced {span(lag)}",
                    )
                )
        if st.new_unacknowledged_stale > 0:
            n = st.new_unacknowledged_stale
            out.append(
                Finding(
                    "orders_unacknowledged",
                    "warning",
                    f"{n} new order(s) of {name} (status 1) have waited longer than two "
                    "auto-acknowledge intervals without being acknowledged: "
                    f"{AUTO_ACK} is not working for {name}"
                    + _evidence(celery, "auto_acknowledge", AUTO_ACK, name)
                    + ".",
                    account=name,
                    subject=AUTO_ACK,
                    short=f"{name[:8]}: {n} new orders unacked"[:32],
                )
            )
    return out

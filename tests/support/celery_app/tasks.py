"""MagFlow's task names, signatures, retry settings and result shapes (sheet §6.4, §11.2,
§11.3), with the work replaced by what the control file asks for (see ``control``)."""

from __future__ import annotations

import builtins
import datetime as dt
import os
import socket
import time
from typing import Any

from celery import Celery, Task

from tests.support.celery_app import control

#: MagFlow's retry settings: (max_retries, default_retry_delay); auto-acknowledge leaves
#: the delay at Celery's default (180 s)
RETRIES: dict[str, tuple[int, int]] = {
    "emag.sync_products": (2, 600),
    "emag.sync_orders": (3, 300),
    "emag.auto_acknowledge_orders": (3, 180),
}


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def _exception(spec: dict[str, Any]) -> BaseException:
    name = str(spec.get("exc", "RuntimeError"))
    cls = getattr(builtins, name, None)
    if not (isinstance(cls, type) and issubclass(cls, Exception)):
        cls = RuntimeError
    return cls(str(spec.get("message", "stand-in failure")))


def _run(task: Task, result: dict[str, Any]) -> dict[str, Any]:
    """Do what the control file says for this task and attempt; return ``result``."""
    attempt = int(task.request.retries or 0)
    spec = control.behaviour(task.name, attempt)
    action = spec.get("action", "succeed")
    if action == "sleep":
        deadline = time.monotonic() + float(spec.get("seconds", 3600))
        while time.monotonic() < deadline:
            time.sleep(0.2)
            if control.behaviour(task.name, attempt).get("action") != "sleep":
                break
    elif action == "fail":
        raise _exception(spec)
    elif action == "retry":
        countdown = spec.get("countdown")
        if countdown is None:
            raise task.retry(exc=_exception(spec))
        raise task.retry(exc=_exception(spec), countdown=float(countdown))
    extra = spec.get("result")
    if isinstance(extra, dict):
        result.update(extra)
    return result


def register(app: Celery) -> None:
    """Define the tasks on ``app`` (the worker's and a test's client app alike)."""

    @app.task(name="maintenance.heartbeat", bind=True)
    def heartbeat(self: Task) -> dict[str, Any]:
        return _run(
            self,
            {
                "status": "ok",
                "service": "celery-beat",
                "host": socket.gethostname(),
                "timestamp": _now(),
                "env": {"TZ": os.environ.get("TZ")},
            },
        )

    retries, delay = RETRIES["emag.sync_products"]

    @app.task(name="emag.sync_products", bind=True, max_retries=retries, default_retry_delay=delay)
    def sync_products(
        self: Task, account_type: str = "both", max_pages_per_account: int = 5
    ) -> dict[str, Any]:
        return _run(
            self,
            {
                "timestamp": _now(),
                "account_type": account_type,
                "products_synced": 0,
                "created": 0,
                "updated": 0,
                "failed": 0,
                "errors": [],
            },
        )

    retries, delay = RETRIES["emag.sync_orders"]

    @app.task(name="emag.sync_orders", bind=True, max_retries=retries, default_retry_delay=delay)
    def sync_orders(self: Task) -> dict[str, Any]:
        accounts = {
            acct: {"success": True, "orders_synced": 0, "new_orders": 0, "updated_orders": 0}
            for acct in ("main", "fbe")
        }
        return _run(
            self,
            {
                "timestamp": _now(),
                "accounts": accounts,
                "total_orders_synced": 0,
                "total_new_orders": 0,
                "errors": [],
            },
        )

    retries, _ = RETRIES["emag.auto_acknowledge_orders"]

    @app.task(name="emag.auto_acknowledge_orders", bind=True, max_retries=retries)
    def auto_acknowledge_orders(self: Task) -> dict[str, Any]:
        accounts = {acct: {"success": True, "acknowledged": 0} for acct in ("main", "fbe")}
        return _run(
            self,
            {"timestamp": _now(), "accounts": accounts, "total_acknowledged": 0, "errors": []},
        )

    @app.task(name="emag.cleanup_old_sync_logs", bind=True)
    def cleanup_old_sync_logs(self: Task, days_to_keep: int = 30) -> dict[str, Any]:
        return _run(self, {"timestamp": _now(), "deleted_count": 0, "days_to_keep": days_to_keep})

    @app.task(name="emag.health_check", bind=True)
    def health_check(self: Task) -> dict[str, Any]:
        return _run(
            self,
            {"timestamp": _now(), "status": "healthy", "total_orders": 0, "recent_syncs": 0},
        )

    @app.task(name="sample.echo", bind=True)
    def echo(self: Task, message: str) -> Any:
        _run(self, {})
        return message

    @app.task(name="sample.add", bind=True)
    def add(self: Task, x: int, y: int) -> Any:
        _run(self, {})
        return x + y

    @app.task(name="sample.slow", bind=True)
    def slow(self: Task, seconds: float = 5) -> Any:
        time.sleep(float(seconds))
        _run(self, {})
        return {"slept": seconds}

"""The stand-in of MagFlow's ``app.worker:celery_app`` (stack sheet §6.4).

Same name, broker and backend resolution, settings and beat schedule as MagFlow, so what
lands in Redis (queue lists, ``unacked``, ``unacked_index``, ``celery-task-meta-*``) has
the shapes the console meets on the real stack.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery

DEFAULT_BROKER = "redis://redis:6379/0"


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _interval(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


def beat_schedule() -> dict[str, dict[str, Any]]:
    """MagFlow's beat entries: task names, intervals (env, default seconds) and args."""
    return {
        "maintenance-heartbeat": {
            "task": "maintenance.heartbeat",
            "schedule": _interval("CELERY_HEARTBEAT_INTERVAL", 60),
        },
        "emag-sync-orders": {
            "task": "emag.sync_orders",
            "schedule": _interval("EMAG_SYNC_ORDERS_INTERVAL", 300),
        },
        "emag-auto-acknowledge-orders": {
            "task": "emag.auto_acknowledge_orders",
            "schedule": _interval("EMAG_AUTO_ACK_INTERVAL", 600),
        },
        "emag-sync-products": {
            "task": "emag.sync_products",
            "schedule": _interval("EMAG_SYNC_PRODUCTS_INTERVAL", 3600),
            "kwargs": {"account_type": "both", "max_pages_per_account": 5},
        },
        "emag-cleanup-sync-logs": {
            "task": "emag.cleanup_old_sync_logs",
            "schedule": _interval("EMAG_CLEANUP_INTERVAL", 86400),
            "kwargs": {"days_to_keep": 30},
        },
        "emag-health-check": {
            "task": "emag.health_check",
            "schedule": _interval("EMAG_HEALTH_CHECK_INTERVAL", 900),
        },
    }


def make_app(broker: str | None = None, backend: str | None = None) -> Celery:
    """``Celery("magflow")``: broker ``CELERY_BROKER_URL`` else ``REDIS_URL`` else the
    compose default; results ``CELERY_RESULT_BACKEND`` else the broker."""
    broker = (
        broker
        or os.environ.get("CELERY_BROKER_URL")
        or os.environ.get("REDIS_URL")
        or DEFAULT_BROKER
    )
    backend = backend or os.environ.get("CELERY_RESULT_BACKEND") or broker
    app = Celery("magflow", broker=broker, backend=backend)
    app.conf.update(
        task_default_queue="default",
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=_flag("CELERY_TASK_ACKS_LATE", True),
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options={"visibility_timeout": 3600},
        result_expires=24 * 3600,
        timezone="UTC",
        enable_utc=True,
        beat_schedule=beat_schedule(),
    )
    return app

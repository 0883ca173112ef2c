"""Celery pane: what the worker is executing (and for how long), the backlog, the age of
beat's heartbeat and Redis's memory, read from Redis (``render.celery``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from textual.app import ComposeResult
from textual.widget import Widget

from magflow_console.models import CelerySnapshot, RedisSnapshot
from magflow_console.render.celery import pane_text
from magflow_console.render.text import tail
from magflow_console.tui.widgets.pane import Pane, Summary


class CeleryPane(Pane):
    source = "celery"
    title = "Celery"
    hotkey = "5"

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        #: the Redis snapshot read with the Celery one (the dashboard sets it)
        self.redis: RedisSnapshot | None = None

    def compose_body(self) -> ComposeResult:
        yield Summary(id="celery-summary")

    @property
    def focus_target(self) -> Widget:
        return self.query_one(Summary)

    def show_snapshot(self, snapshot: CelerySnapshot, now: dt.datetime) -> None:
        self.query_one(Summary).set_text(pane_text(snapshot, self.redis, now))
        url = self.redis.url if self.redis is not None else None
        # host:port/db: the masked password would only take room
        self.set_subtitle(tail(url.rpartition("@")[2].split("://")[-1], 30) if url else "")

    def selected_text(self) -> str:
        return self.query_one(Summary).plain

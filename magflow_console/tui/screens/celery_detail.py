"""Celery in full: the queues, what the worker executes and the retries waiting for their
eta, the recent results (a failure's exception, masked), Redis's own facts and the order
syncs per account (``render.celery.celery_detail``; ``magflow-console celery`` prints the
same). Follows the dashboard's refresh loops."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from magflow_console.render import fmt
from magflow_console.render.celery import celery_detail
from magflow_console.render.text import one_line
from magflow_console.tui.messages import Changed
from magflow_console.tui.screens.base import AppScreen
from magflow_console.tui.widgets.key_bar import KeyBar

#: the sources this screen shows
SHOWN = frozenset({"celery", "redis", "orders"})


class CeleryDetailScreen(AppScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="back"),
        Binding("y", "copy", "Copy", id="copy-celery"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._shown: Text | None = None

    def compose(self) -> ComposeResult:
        yield Static(
            Text(" Celery, Redis and the order syncs", style="bold"), classes="detail-title"
        )
        yield Static(id="celery-status")
        with VerticalScroll(id="celery-scroll"):
            yield Static(Text("loading…", style="dim"), id="celery-detail")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#celery-scroll").focus()
        self.mf.store_changed.subscribe(self, self._store_changed)
        self._store_changed(None)

    def _store_changed(self, changed: Changed) -> None:
        if changed is not None and changed.isdisjoint(SHOWN):
            return
        store = self.mf.store
        celery, redis, orders = store.celery, store.redis, store.orders
        status = Text(no_wrap=True, overflow="ellipsis")
        if celery is None:
            status.append(" waiting for the first read…", style="dim")
        elif celery.state == "error":
            status.append(f" ✗ {one_line(celery.error or '')}", style="red")
        else:
            if celery.state == "stale":
                status.append(f" stale: {one_line(celery.error or '')} · ", style="yellow")
            status.append(f" read {fmt.hms(celery.fetched_at)} UTC", style="dim")
        self.query_one("#celery-status", Static).update(status)
        if celery is None or celery.state == "error":
            return
        text = celery_detail(celery, redis, orders, self.mf.clock())
        if text != self._shown:  # an idle screen is not repainted
            self._shown = text
            self.query_one("#celery-detail", Static).update(text)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_copy(self) -> None:
        if self._shown is not None:
            self.app.copy_to_clipboard(self._shown.plain)
            self.notify("Copied (OSC 52).", timeout=2)

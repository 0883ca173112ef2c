"""A dashboard pane: a bordered box that shows one source and its own error state.

- ``-error``: the source failed and there is nothing to show: the error sentence and the
  next retry time replace the body;
- ``-stale``: a refresh failed after a good one: the last value stays, dimmed, with the
  error beside it;
- ``-absent``: a part the demo does not have (``absent`` snapshots: no Docker engine, no
  Redis): its sentence, as information, in place of the body;
- otherwise the body shows the snapshot.

Subclasses implement ``compose_body`` and ``show_snapshot``; the pane only redraws its
message line when the text changed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Static

from magflow_console.render import fmt
from magflow_console.render.text import one_line
from magflow_console.tui.widgets.partial import PartialRepaint
from magflow_console.tui.widgets.table import LiveTable


class Pane(Vertical):
    """Base class of the dashboard panes."""

    source: str = ""
    title: str = ""
    hotkey: str = ""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.border_title = f"{self.hotkey} {self.title}" if self.hotkey else self.title
        self._message = Text("")
        self._has_data = False

    def compose(self) -> ComposeResult:
        yield Static(classes="pane-message")
        yield from self.compose_body()

    def compose_body(self) -> ComposeResult:
        raise NotImplementedError

    @property
    def focus_target(self) -> Widget:
        """The widget that takes focus for keys 1-4."""
        return self

    def show(self, snapshot: Any, retry_every: float | None, now: dt.datetime) -> None:
        if snapshot is None:
            self._set_message(Text("loading…", style="dim italic"))
            return
        state = snapshot.state
        absent = bool(getattr(snapshot, "absent", False))
        self.set_class(state == "error" and not absent, "-error")
        self.set_class(state == "stale", "-stale")
        self.set_class(absent, "-absent")
        if absent:  # a part the demo does not have: information, not a fault
            message = Text()
            short, _, why = (snapshot.error or "not part of this setup").partition(": ")
            message.append(one_line(short), style="bold")
            if why:
                message.append(" · " + one_line(why), style="dim")
            self._set_message(message)
        elif state in ("error", "stale"):
            message = Text()
            message.append("✗ " if state == "error" else "stale: ", style="bold red")
            message.append(one_line(snapshot.error or "refresh failed"), style="red")
            if retry_every is not None:  # the same text at every retry: not repainted
                message.append(f" · retrying every {fmt.span(retry_every)}", style="dim")
            self._set_message(message)
        else:
            self._set_message(Text(""))
        if state != "error":
            self.show_snapshot(snapshot, now)
            self._has_data = True

    def _set_message(self, message: Text) -> None:
        if message == self._message:
            return
        self._message = message
        line = self.query_one(".pane-message", Static)
        line.update(message)
        line.display = bool(message.plain)

    def show_snapshot(self, snapshot: Any, now: dt.datetime) -> None:
        raise NotImplementedError

    def set_subtitle(self, text: str) -> None:
        """Textual repaints the whole pane on every ``border_subtitle`` assignment, even of
        the same text: assign only a change (an idle dashboard must not repaint)."""
        if self.border_subtitle != text:
            self.border_subtitle = text

    def selected_text(self) -> str:
        """Text for the clipboard (OSC 52) from the pane's selection."""
        return ""


class Summary(PartialRepaint, Static, can_focus=True):
    """A focusable block of text (for panes without a table). The same text is not
    repainted; a text with as many lines repaints only the lines that changed, without a
    layout (it does not wrap, app.tcss: its height is its line count). A whole repaint
    rewrote all four lines of the Celery pane when Redis's memory changed, and a layout
    repainted the runs table's scrollbar beside it (bench_tui, item 4)."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self._last: Text | None = None

    def set_text(self, text: Text) -> None:
        last = self._last
        if last is not None and text == last:
            return
        self._last = text
        new_lines = list(text.split("\n", allow_blank=True))
        old_lines: list[Text] = [] if last is None else list(last.split("\n", allow_blank=True))
        if not self.is_mounted or len(new_lines) != len(old_lines) or not text.plain:
            self.update(text)
            return
        with self.named_repaints():
            self.update(text, layout=False)
        width = self.size.width
        self.refresh(
            *(
                Region(0, y, width, 1)
                for y, (new, old) in enumerate(zip(new_lines, old_lines, strict=True))
                if new != old
            )
        )

    @property
    def plain(self) -> str:
        return self._last.plain if self._last is not None else ""


class TablePane(Pane):
    """A pane whose body is one LiveTable (containers, API)."""

    columns: list[tuple[str, int | None]] = []
    table_id = ""

    def compose_body(self) -> ComposeResult:
        yield LiveTable(self.columns, id=self.table_id)

    @property
    def table(self) -> LiveTable:
        return self.query_one(LiveTable)

    @property
    def focus_target(self) -> Widget:
        return self.table

    def selected_text(self) -> str:
        return self.table.selected_text()

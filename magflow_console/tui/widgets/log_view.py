"""A log viewer: bounded buffer, follow/pause, filter, search, timestamps toggle.

- a bounded buffer (``MAX_LINES``) of sanitised lines (escape sequences stripped, control
  characters made visible: a log line can never style or take over the screen);
- follows the end by default; scrolling up pauses following, reaching the end resumes it;
- ``set_filter`` keeps only lines containing the text (case-insensitive);
- ``search``/``n``/``N`` move to the next/previous matching line and highlight it;
- ``t`` toggles timestamps; ``y`` copies the visible lines (OSC 52).

It renders line by line (``render_line``) so a 10k-line buffer costs only what is visible.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Iterable
from typing import ClassVar

from rich.segment import Segment
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from magflow_console.render.text import one_line

MAX_LINES = 10_000
MAX_WIDTH = 2_000


class LogEntry:
    __slots__ = ("lower", "stream", "text", "timestamp")

    def __init__(self, timestamp: dt.datetime | None, text: str, stream: str | None) -> None:
        self.timestamp = timestamp
        self.text = one_line(text, MAX_WIDTH)
        self.lower = self.text.lower()
        self.stream = stream


class LogView(ScrollView, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "next_match", "Next match", id="log-next"),
        Binding("N", "previous_match", "Prev match", id="log-previous", show=False),
        Binding("t", "toggle_timestamps", "Timestamps", id="log-timestamps"),
        Binding("end,G", "follow", "Follow", id="log-follow", show=False),
        Binding("y", "copy", "Copy lines", id="log-copy", show=False),
    ]

    DEFAULT_CSS = """
    LogView { height: 1fr; scrollbar-size-horizontal: 0; }
    """

    class StatusChanged(Message):
        """Following/paused, counts or search state changed (for the status line)."""

    def __init__(self, *, max_lines: int = MAX_LINES, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.entries: deque[LogEntry] = deque(maxlen=max_lines)
        self.shown: list[LogEntry] = []
        self.filter_text = ""
        self.search_text = ""
        self.match_index: int | None = None  # index into ``visible``
        self.following = True
        self.timestamps = True
        self._max_width = 0

    # ------------------------------------------------------------------ data in

    def add_lines(self, lines: Iterable[object]) -> None:
        """Append ``LogLine``-like objects (``timestamp``, ``text``, ``stream``)."""
        new = [
            LogEntry(
                getattr(x, "timestamp", None),
                str(getattr(x, "text", x)),
                getattr(x, "stream", None),
            )
            for x in lines
        ]
        if not new:
            return
        overflow = len(self.entries) + len(new) - (self.entries.maxlen or 0)
        self.entries.extend(new)
        if overflow > 0 or self.filter_text:
            self._rebuild()
        else:
            self.shown.extend(new)
            self._grow(new)
        self._after_change()

    def clear(self) -> None:
        self.entries.clear()
        self._rebuild()
        self._after_change()

    def set_filter(self, text: str) -> None:
        self.filter_text = text.strip().lower()
        self._rebuild()
        self.match_index = None
        self._after_change()

    def _rebuild(self) -> None:
        needle = self.filter_text
        self.shown = (
            [e for e in self.entries if needle in e.lower] if needle else list(self.entries)
        )
        self._max_width = 0
        self._grow(self.shown)

    def _grow(self, entries: Iterable[LogEntry]) -> None:
        extra = 24 if self.timestamps else 0
        for e in entries:
            self._max_width = max(self._max_width, len(e.text) + extra)
        self.virtual_size = Size(self._max_width, len(self.shown))

    def _after_change(self) -> None:
        if self.following:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.refresh()
        self.post_message(self.StatusChanged())

    # ------------------------------------------------------------------ follow / scroll

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        at_end = new >= self.max_scroll_y
        if at_end != self.following:
            self.following = at_end
            self.post_message(self.StatusChanged())

    def action_follow(self) -> None:
        self.following = True
        self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.post_message(self.StatusChanged())

    # ------------------------------------------------------------------ search

    def search(self, text: str, *, forward: bool = True) -> bool:
        self.search_text = text.strip().lower()
        self.match_index = None
        return self._move_match(forward, start_at_current=True)

    def action_next_match(self) -> None:
        if not self._move_match(True):
            self.app.bell()

    def action_previous_match(self) -> None:
        if not self._move_match(False):
            self.app.bell()

    def _move_match(self, forward: bool, start_at_current: bool = False) -> bool:
        needle = self.search_text
        if not needle or not self.shown:
            self.refresh()
            return False
        count = len(self.shown)
        if self.match_index is None:
            start = int(self.scroll_y) if forward else int(self.scroll_y) + self.size.height - 1
            start = min(max(start, 0), count - 1)
            if not start_at_current:
                start += 1 if forward else -1
        else:
            start = self.match_index + (1 if forward else -1)
        step = 1 if forward else -1
        for i in range(count):
            index = (start + i * step) % count
            if needle in self.shown[index].lower:
                self.match_index = index
                self.scroll_to(
                    y=max(index - self.size.height // 2, 0), animate=False, immediate=True
                )
                # a match holds the view, even near the end (where scrolling would mean
                # "follow"): new lines must not push the line the user looked for away
                self.following = False
                self.refresh()
                self.post_message(self.StatusChanged())
                return True
        self.refresh()
        return False

    def match_count(self) -> int:
        if not self.search_text:
            return 0
        return sum(1 for e in self.shown if self.search_text in e.lower)

    # ------------------------------------------------------------------ misc actions

    def action_toggle_timestamps(self) -> None:
        self.timestamps = not self.timestamps
        self._rebuild()
        self.refresh()
        self.post_message(self.StatusChanged())

    def visible_text(self) -> str:
        top = int(self.scroll_y)
        lines = self.shown[top : top + self.size.height]
        return "\n".join(self._plain(e) for e in lines)

    def action_copy(self) -> None:
        text = self.visible_text()
        if text:
            self.app.copy_to_clipboard(text)
            self.notify(f"Copied {text.count(chr(10)) + 1} lines (OSC 52).", timeout=2)

    # ------------------------------------------------------------------ rendering

    def _plain(self, entry: LogEntry) -> str:
        if self.timestamps and entry.timestamp is not None:
            return f"{entry.timestamp.strftime('%Y-%m-%d %H:%M:%S')} {entry.text}"
        return entry.text

    def _line(self, index: int) -> Text:
        entry = self.shown[index]
        text = Text(no_wrap=True, end="")
        if self.timestamps:
            stamp = entry.timestamp.strftime("%m-%d %H:%M:%S") if entry.timestamp else " " * 14
            text.append(stamp + " ", style="dim")
        text.append(entry.text, style="red" if entry.stream == "stderr" else "")
        if self.search_text:
            offset = len(text.plain) - len(entry.text)
            lower, needle, start = entry.lower, self.search_text, 0
            while (pos := lower.find(needle, start)) >= 0:
                text.stylize("reverse", offset + pos, offset + pos + len(needle))
                start = pos + len(needle)
        if index == self.match_index:
            text.stylize("bold underline")
        return text

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        base = self.rich_style
        if index >= len(self.shown):
            return Strip.blank(width, base)
        segments = list(self._line(index).render(self.app.console))
        strip = Strip(Segment.apply_style(segments, base))
        return strip.crop_extend(scroll_x, scroll_x + width, base)

"""A log viewer: bounded buffer, follow/pause, filter, search, timestamps toggle.

- a bounded buffer (``MAX_LINES``) of sanitised lines (escape sequences stripped, control
  characters made visible: a log line can never style or take over the screen);
- follows the end by default; scrolling up pauses following, reaching the end resumes it;
- ``set_filter`` keeps only lines containing the text (case-insensitive);
- ``search``/``n``/``N`` move to the next/previous matching line and highlight it;
- ``t`` toggles timestamps; ``y`` copies the visible lines (OSC 52).

It renders line by line (``render_line``) so a 10k-line buffer costs only what is visible.

Built for a container writing thousands of lines a second:

- a line is sanitised once, when its ``LogEntry`` is made (the follow worker makes them,
  off the UI thread; ``add_entries`` takes them as they are);
- a ``LogEntry`` is a plain tuple of strings and a datetime, which Python's garbage
  collector stops tracking. A class instance would be tracked: 5,000 a second, each
  living as long as the buffer holds it (2 s), reach the oldest generation and bring
  its full collections (60-200 ms with this app's ~130k objects, a frozen screen) from
  every ~5 s to every ~3 s;
- a batch costs what it adds: the lines that fall off the front of the buffer are
  dropped from the shown list by count (no re-filtering, no re-measuring of the whole
  buffer), and the width is the widest line seen (plus room for the time stamps, shown
  or not: the timestamps toggle is a repaint);
- while paused (scrolled up, or held on a search hit) the view keeps showing the same
  lines as older ones fall off the front, until they fall off themselves;
- ``StatusChanged`` is posted only when what the status line says can have changed;
- a line renders as two segments (time stamp, text), without ``rich.Text``, unless it
  holds a search match. Rendered lines are not kept: while following, every frame shows
  new lines, and kept ``Strip`` objects (16 tracked objects each) would only feed the
  garbage collector's oldest generation.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Iterable, Sequence
from itertools import islice
from typing import ClassVar, Final

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from magflow_console.render.text import one_line

MAX_LINES = 10_000
MAX_WIDTH = 2_000
#: room kept for the time stamps, shown or not: the toggle is then a repaint, not a
#: layout pass (which put the new status line one frame later)
STAMP_WIDTH = 24
_DIM = Style(dim=True)
_STDERR = Style(color="red")
_NO_STAMP = " " * 15


#: One log line as the view keeps it: ``(timestamp, text, lower, stream)``, the text
#: sanitised (one line, at most ``MAX_WIDTH``) and lower-cased for the filter and the
#: search. A plain tuple on purpose (see the module doc): the garbage collector does not
#: track it.
LogEntry = tuple[dt.datetime | None, str, str, str | None]
STAMP: Final = 0
TEXT: Final = 1
LOWER: Final = 2
STREAM: Final = 3


def log_entry(line: object) -> LogEntry:
    """The entry of a ``LogLine``-like object (``timestamp``, ``text``, ``stream``) or a
    string; made by whoever has the line (the follow worker, off the UI thread)."""
    text = one_line(str(getattr(line, "text", line)), MAX_WIDTH)
    return (getattr(line, "timestamp", None), text, text.lower(), getattr(line, "stream", None))


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
        self.max_lines = max_lines
        self.entries: deque[LogEntry] = deque(maxlen=max_lines)
        #: the entries the filter keeps, oldest first (all of them without a filter)
        self.shown: list[LogEntry] = []
        self.filter_text = ""
        self.search_text = ""
        self.match_index: int | None = None  # index into ``shown``
        self.following = True
        self.timestamps = True
        self._widest = 0  # the widest text of ``shown`` (since the last rebuild)
        self._counts = (0, 0)  # (shown, entries) when ``StatusChanged`` was last posted
        self._frame_style: Style | None = None

    # ------------------------------------------------------------------ data in

    def add_lines(self, lines: Iterable[object]) -> None:
        """Append ``LogLine``-like objects (``timestamp``, ``text``, ``stream``) or strings."""
        self.add_entries([log_entry(x) for x in lines])

    def add_entries(self, new: Sequence[LogEntry]) -> None:
        """Append entries made beforehand (``LogEntry``: already sanitised). Costs what
        is added, whatever the size of the buffer."""
        if not new:
            return
        if len(new) >= self.max_lines:  # the whole buffer is replaced
            dropped = len(self.shown)
            self.entries.clear()
            self.entries.extend(new[-self.max_lines :])
            self.shown.clear()
            kept: Sequence[LogEntry] = self.entries
        else:
            overflow = len(self.entries) + len(new) - self.max_lines
            dropped = 0
            if overflow > 0:
                needle = self.filter_text
                gone = islice(self.entries, overflow)
                dropped = sum(needle in e[LOWER] for e in gone) if needle else overflow
                del self.shown[:dropped]
            self.entries.extend(new)
            kept = new
        needle = self.filter_text
        added = [e for e in kept if needle in e[LOWER]] if needle else kept
        self.shown.extend(added)
        if added:
            self._widest = max(self._widest, max(len(e[TEXT]) for e in added))
        self._shifted(dropped)
        self._resize()
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
            [e for e in self.entries if needle in e[LOWER]] if needle else list(self.entries)
        )
        self._widest = max((len(e[TEXT]) for e in self.shown), default=0)
        self._resize()

    def _shifted(self, dropped: int) -> None:
        """``dropped`` shown lines fell off the front: indices into ``shown`` move up;
        a paused view keeps showing the lines it showed."""
        if not dropped:
            return
        if self.match_index is not None:
            self.match_index = self.match_index - dropped if self.match_index >= dropped else None
        if not self.following and self.scroll_y > 0:
            self.scroll_to(y=max(self.scroll_y - dropped, 0), animate=False, immediate=True)

    def _resize(self) -> None:
        size = Size(self._widest + STAMP_WIDTH, len(self.shown))
        if size != self.virtual_size:
            self.virtual_size = size

    def _after_change(self) -> None:
        if self.following:
            if self.allow_vertical_scroll:
                self.scroll_end(animate=False, immediate=True, x_axis=False)
            else:  # no scrollbar before the next layout (the first lines that overflow
                # the view): until then the view cannot scroll (and stayed at the top)
                self.call_after_refresh(self._end_if_following)
        self.refresh()
        counts = (len(self.shown), len(self.entries))
        if counts != self._counts or self.search_text:
            self._counts = counts
            self.post_message(self.StatusChanged())

    # ------------------------------------------------------------------ follow / scroll

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        at_end = new >= self.max_scroll_y
        if at_end != self.following:
            self.following = at_end
            self.post_message(self.StatusChanged())

    def _end_if_following(self) -> None:
        if self.following:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

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
            if needle in self.shown[index][LOWER]:
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
        return sum(1 for e in self.shown if self.search_text in e[LOWER])

    # ------------------------------------------------------------------ misc actions

    def action_toggle_timestamps(self) -> None:
        self.timestamps = not self.timestamps
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
        stamp, text, _, _ = entry
        if self.timestamps and stamp is not None:
            return f"{stamp:%Y-%m-%d %H:%M:%S} {text}"
        return text

    def _text(self, entry: LogEntry, is_match: bool) -> Text:
        """The line with its search highlights (only lines that match take this way)."""
        _, plain, lower, stream = entry
        text = Text(no_wrap=True, end="")
        if self.timestamps:
            text.append(self._stamp(entry), style="dim")
        text.append(plain, style="red" if stream == "stderr" else "")
        if self.search_text:
            offset = len(text.plain) - len(plain)
            needle, start = self.search_text, 0
            while (pos := lower.find(needle, start)) >= 0:
                text.stylize("reverse", offset + pos, offset + pos + len(needle))
                start = pos + len(needle)
        if is_match:
            text.stylize("bold underline")
        return text

    @staticmethod
    def _stamp(entry: LogEntry) -> str:
        stamp = entry[STAMP]
        return f"{stamp:%m-%d %H:%M:%S} " if stamp is not None else _NO_STAMP

    def _strip(self, entry: LogEntry, is_match: bool, base: Style) -> Strip:
        """The whole line, styled."""
        _, text, lower, stream = entry
        if is_match or (self.search_text and self.search_text in lower):
            segments = list(self._text(entry, is_match).render(self.app.console))
        else:
            segments = [Segment(self._stamp(entry), _DIM)] if self.timestamps else []
            segments.append(Segment(text, _STDERR if stream == "stderr" else None))
        return Strip(Segment.apply_style(segments, base))

    def render_lines(self, crop: Region) -> list[Strip]:
        self._frame_style = self.rich_style  # once a frame, not once a line
        try:
            return super().render_lines(crop)
        finally:
            self._frame_style = None

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        base = self.rich_style if self._frame_style is None else self._frame_style
        if index >= len(self.shown):
            return Strip.blank(width, base)
        strip = self._strip(self.shown[index], index == self.match_index, base)
        return strip.crop_extend(scroll_x, scroll_x + width, base)

"""The key bar: the screen's keys on one line, drawn as text.

Textual's ``Footer`` builds one widget per key and recomposes them all at each bindings
update, four times in the dashboard's first second; without it the first complete
dashboard came 23-62 ms sooner (bench/tried.toml). This bar is one widget: it reads the
active bindings when they change and repaints only when the keys it shows changed.

At 80 columns not every key fits. A key is shown whole or not at all, and help (``?``)
is always shown: it lists the rest. The command palette's key sits at the right edge.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, ClassVar, NamedTuple

from rich.style import Style
from rich.text import Text
from textual import events
from textual.widget import Widget

if TYPE_CHECKING:
    from textual.app import App
    from textual.binding import ActiveBinding, Binding
    from textual.screen import Screen

#: what separates the command palette's key from the others
PALETTE_EDGE = "▏"


class Key(NamedTuple):
    """One key as the bar shows it."""

    key: str  # what a click presses
    display: str  # how the key is written (``?``, ``^p``, ``⏎``)
    description: str
    enabled: bool
    action: str

    @property
    def width(self) -> int:
        return len(self.display) + len(self.description) + 3  # " k description "


class Placed(NamedTuple):
    key: Key
    start: int  # the first column


def shown_keys(
    active: Mapping[str, ActiveBinding], app: App[object], *, skip: str = ""
) -> list[Key]:
    """The keys a bar shows for ``active`` (a screen's active bindings): those marked
    ``show``, one per action (its first key), in binding order, without ``skip``."""
    keys: dict[str, Key] = {}
    for key, (_node, binding, enabled, _tooltip) in active.items():
        if binding.show and binding.action not in keys and key != skip:
            keys[binding.action] = key_of(key, binding, enabled, app)
    return list(keys.values())


def key_of(key: str, binding: Binding, enabled: bool, app: App[object]) -> Key:
    return Key(key, app.get_key_display(binding), binding.description, enabled, binding.action)


def place(keys: Iterable[Key], width: int, *, keep: str = "help") -> list[Placed]:
    """Where each key starts on a line of ``width`` columns: whole keys, in order, as
    many as fit; the key whose action ends with ``keep`` displaces the last ones if it
    would not fit otherwise."""
    order = list(keys)
    kept = [k for k in order if k.action.rsplit(".", 1)[-1] == keep][:1]
    fitted: list[Key] = []
    used = 0
    for key in order:
        if used + key.width > width:
            break
        fitted.append(key)
        used += key.width
    if kept and kept[0] not in fitted:
        room = width - kept[0].width
        while fitted and sum(k.width for k in fitted) > room:
            fitted.pop()
        if room >= 0:
            fitted.append(kept[0])
    placed: list[Placed] = []
    column = 0
    for key in fitted:
        placed.append(Placed(key, column))
        column += key.width
    return placed


class KeyBar(Widget):
    """The bottom line of every screen: its keys, and the command palette's at the right."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES: ClassVar[set[str]] = {"key-bar--key", "key-bar--description"}
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
    }
    KeyBar > .key-bar--key {
        color: $footer-key-foreground;
        background: $footer-key-background;
        text-style: bold;
    }
    KeyBar > .key-bar--description {
        color: $footer-description-foreground;
        background: $footer-description-background;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.keys: list[Key] = []
        self.palette: Key | None = None
        #: where each shown key is, as last drawn (a click presses the key under it)
        self._placed: list[Placed] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)
        self.bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen: Screen[object]) -> None:
        """Read the keys again; repaint only when what the bar shows changed."""
        if not self.is_attached or screen is not self.screen:
            return
        active = screen.active_bindings
        palette_key = self.app.COMMAND_PALETTE_BINDING
        keys = shown_keys(active, self.app, skip=palette_key)
        palette = None
        if self.app.ENABLE_COMMAND_PALETTE and palette_key in active:
            _node, binding, enabled, _tooltip = active[palette_key]
            palette = key_of(palette_key, binding, enabled, self.app)
        if keys != self.keys or palette != self.palette:
            self.keys, self.palette = keys, palette
            self.refresh()

    def render(self) -> Text:
        width = self.size.width
        key_style = self.get_component_rich_style("key-bar--key")
        text_style = self.get_component_rich_style("key-bar--description")
        line = Text(no_wrap=True, overflow="crop", end="")
        tail = Text(no_wrap=True, end="")
        if self.palette is not None and self.palette.width + 1 < width:
            tail.append(PALETTE_EDGE, style=Style(dim=True))
            self._draw(tail, self.palette, key_style, text_style)
        self._placed = place(self.keys, width - len(tail))
        for placed in self._placed:
            self._draw(line, placed.key, key_style, text_style)
        line.pad_right(width - len(tail) - len(line))
        line.append_text(tail)
        if self.palette is not None and len(tail):
            self._placed.append(Placed(self.palette, width - self.palette.width))
        return line

    @staticmethod
    def _draw(line: Text, key: Key, key_style: Style, text_style: Style) -> None:
        dim = Style(dim=not key.enabled)
        line.append(f" {key.display} ", style=key_style + dim)
        line.append(f"{key.description} ", style=text_style + dim)

    def on_click(self, event: events.Click) -> None:
        for placed in self._placed:
            if placed.start <= event.x < placed.start + placed.key.width:
                if placed.key.enabled:
                    self.app.simulate_key(placed.key.key)
                else:
                    self.app.bell()
                return

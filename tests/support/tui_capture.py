"""What a running TUI shows and holds, captured for a secret search.

``Recorder.capture(label)`` keeps, for the screen on top: the text the terminal shows
(``screen_text``), the exported SVG screenshot (also written to a folder, if given), and the full content of every widget of
the screen, including what is scrolled out of view (every row of every table, every
line of a log view, every static text, inputs that are not password fields, tooltips).
``Recorder.copied(label)`` keeps what the last copy put on the clipboard (OSC 52), and
``notifications()`` every notification shown (recorded as they come: toasts expire).
The screen classes seen are kept in ``visited``.

``screen_classes()`` finds every screen class the TUI defines by walking
``magflow_console.tui.screens`` (base classes that other screens extend are left out),
so a new screen is one a tour must visit.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path
from typing import Any

from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, DataTable, Input, Log, OptionList, Static

from magflow_console.tui import screens
from magflow_console.tui.widgets.log_view import TEXT, LogView
from tests.support.secret_search import Outputs
from tests.tui.helpers import screen_text


def screen_classes() -> set[type[Screen[Any]]]:
    found: set[type[Screen[Any]]] = set()
    for info in pkgutil.iter_modules(screens.__path__):
        module = importlib.import_module(f"{screens.__name__}.{info.name}")
        for obj in vars(module).values():
            if (
                isinstance(obj, type)
                and issubclass(obj, Screen)
                and obj.__module__ == module.__name__
            ):
                found.add(obj)
    return {cls for cls in found if not any(o is not cls and issubclass(o, cls) for o in found)}


def _plain(value: object) -> str:
    plain = getattr(value, "plain", None)
    return plain if isinstance(plain, str) else str(value)


def widget_texts(widget: Widget) -> list[str]:
    """Everything ``widget`` and its descendants hold to show."""
    out: list[str] = []
    for w in [widget, *widget.query("*")]:
        if isinstance(w, DataTable):
            out += [_plain(c.label) for c in w.columns.values()]
            for index in range(w.row_count):
                out.append("\t".join(_plain(c) for c in w.get_row_at(index)))
        elif isinstance(w, LogView):
            out += [e[TEXT] for e in w.entries]
        elif isinstance(w, Log):
            out += list(w.lines)
        elif isinstance(w, OptionList):
            out += [_plain(w.get_option_at_index(i).prompt) for i in range(w.option_count)]
        elif isinstance(w, Input):
            out.append(w.placeholder)
            if not w.password:
                out.append(w.value)
        elif isinstance(w, Static | Button):
            out.append(_plain(w.render()))
        if isinstance(w.tooltip, str):
            out.append(w.tooltip)
        if w.border_title:
            out.append(_plain(w.border_title))
    return out


class Recorder:
    def __init__(self, app: Any, outputs: Outputs, folder: Path | None = None) -> None:
        """``folder``: where each capture's SVG screenshot is also written, to look at."""
        self.app = app
        self.outputs = outputs
        self.folder = folder
        self.visited: set[type[Screen[Any]]] = set()
        self.labels: list[str] = []
        self.notes: list[str] = []
        notify = app.notify

        def recording_notify(message: Any, *args: Any, **kwargs: Any) -> None:
            self.notes.append(f"{kwargs.get('title', '')}: {message}")
            notify(message, *args, **kwargs)

        app.notify = recording_notify  # every notification, also those gone by the end

    def capture(self, label: str) -> str:
        """Keep what the top screen shows and holds; returns the text shown."""
        screen = self.app.screen
        self.visited.add(type(screen))
        self.labels.append(label)
        shown = screen_text(self.app)
        name = f"TUI {label} [{type(screen).__name__}]"
        self.outputs.add(f"{name} (screen)", shown)
        svg = self.app.export_screenshot(title=label)
        self.outputs.add(f"{name} (SVG)", svg)
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            stem = re.sub(r"[^A-Za-z0-9.-]+", "-", label).strip("-")
            (self.folder / f"{len(self.labels):03d}-{stem}.svg").write_text(svg)
        self.outputs.add(f"{name} (widgets)", "\n".join(widget_texts(screen)))
        return shown

    def copied(self, label: str) -> str:
        text = str(self.app.clipboard)
        self.outputs.add(f"TUI {label} (clipboard)", text)
        return text

    def notifications(self) -> None:
        self.outputs.add("TUI notifications", "\n".join(self.notes))

"""Help (``?`` / ``f1``): built from the bindings active on the screen it was opened from."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from magflow_console.render.text import one_line
from magflow_console.tui.screens.base import AppModal


def binding_rows(screen: Screen[object]) -> list[tuple[str, str, str]]:
    """(keys, description, binding id) of every described binding active on ``screen``:
    the screen's and the app's own bindings first, then those of the focused widget."""
    app = screen.app
    # ``active_bindings`` keeps one binding per key (the focused widget's "enter" hides the
    # screen's), so walk the whole chain it is built from: help lists shadowed ones too.
    chain = sorted(
        screen._modal_binding_chain,
        key=lambda item: 0 if item[0] is screen else 1 if item[0] is app else 2,
    )
    rows: dict[tuple[str, str], list[str]] = {}
    for node, bindings in chain:
        for key, b in bindings:
            if not b.description or app._check_action_state(b.action, node) is False:
                continue
            keys = rows.setdefault((b.description, b.id or ""), [])
            shown = app.get_key_display(b.with_key(key))
            if shown not in keys:
                keys.append(shown)
    return [(" ".join(keys), desc, bid) for (desc, bid), keys in rows.items()]


def bindings_table(screen: Screen[object]) -> Table:
    """Key, action description and binding id (what to put in ``[profiles.X.keys]``)."""
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False, expand=True)
    table.add_column("key", no_wrap=True)
    table.add_column("action")
    table.add_column("id (remap in profile keys)", style="dim", no_wrap=True)
    for keys, description, binding_id in binding_rows(screen):
        table.add_row(Text(keys, style="bold"), Text(one_line(description)), binding_id)
    return table


class HelpScreen(AppModal[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close", id="help-close"),
    ]

    def __init__(self, source: Screen[object]) -> None:
        super().__init__()
        self.source = source
        self.rows = binding_rows(source)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = f"Keys: {type(self.source).__name__.removesuffix('Screen')}"
            box.border_subtitle = "esc closes · ctrl+p lists every command"
            profile = getattr(getattr(self.app, "backend", None), "profile", None)
            if profile is not None and profile.read_only:
                yield Static(
                    Text("Read-only profile: actions are listed but refused.", style="bold"),
                    id="help-read-only",
                )
            yield Static(bindings_table(self.source), id="help-table")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)

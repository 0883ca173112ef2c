"""Help (``?`` / ``f1``): built from the bindings active on the screen it was opened from."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from magflow_console.tui.sanitize import one_line


def bindings_table(screen: Screen[object]) -> Table:
    """Key, action description and binding id (what to put in ``[profiles.X.keys]``)."""
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False, expand=True)
    table.add_column("key", no_wrap=True)
    table.add_column("action")
    table.add_column("id (remap in profile keys)", style="dim", no_wrap=True)
    rows: dict[tuple[str, str], list[str]] = {}
    app = screen.app
    # the screen's and the app's own bindings first, then those of the focused widget
    active = sorted(
        screen.active_bindings.items(),
        key=lambda item: 0 if item[1].node is screen else 1 if item[1].node is app else 2,
    )
    for key, binding in active:
        b = binding.binding
        if not b.description:
            continue
        rows.setdefault((b.description, b.id or ""), []).append(
            app.get_key_display(b.with_key(key))
        )
    for (description, binding_id), keys in rows.items():
        table.add_row(Text(" ".join(keys), style="bold"), Text(one_line(description)), binding_id)
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close", id="help-close"),
    ]

    def __init__(self, source: Screen[object]) -> None:
        super().__init__()
        self.source = source

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = f"Keys: {type(self.source).__name__.removesuffix('Screen')}"
            box.border_subtitle = "esc closes · ctrl+p lists every command"
            yield Static(bindings_table(self.source), id="help-table")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)

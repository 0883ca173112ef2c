"""Error modal: an unexpected failure with its details to read and copy (never a raw
traceback painted over the dashboard)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static, TextArea

from magflow_console.render.styles import literal
from magflow_console.render.text import clean
from magflow_console.tui.screens.base import AppModal


class ErrorScreen(AppModal[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close", id="error-close"),
        Binding("y", "copy", "Copy details", id="error-copy"),
    ]

    def __init__(self, title: str, details: str) -> None:
        super().__init__()
        self.title_text = clean(title)
        self.details = clean(details)

    def compose(self) -> ComposeResult:
        with Vertical(id="error-box") as box:
            box.border_title = "Unexpected error"
            yield Static(literal(self.title_text, "bold", single_line=True), id="error-title")
            yield TextArea(self.details, read_only=True, id="error-details", soft_wrap=False)
            with Horizontal(id="error-buttons"):
                yield Button("Copy details", id="copy")
                yield Button("Close", id="close", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    @on(Button.Pressed, "#copy")
    def action_copy(self) -> None:
        self.app.copy_to_clipboard(f"{self.title_text}\n\n{self.details}")
        self.notify("Details copied to the clipboard (OSC 52).", timeout=2)

    @on(Button.Pressed, "#close")
    def _close(self) -> None:
        self.dismiss(None)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)

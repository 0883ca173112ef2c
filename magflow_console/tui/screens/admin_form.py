"""The new admin user's email and full name (the password is asked for next, masked).

The email syntax and a non-empty name are checked here so a typo is fixed in place; the
action layer checks both again in its plan (and audits a refusal). Dismisses with
``(email, full_name)`` or ``None`` when cancelled.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static

from magflow_console.actions.admins import InvalidInput, normalise_email
from magflow_console.tui.screens.base import AppModal

AdminFormResult = tuple[str, str]


class AdminFormScreen(AppModal[AdminFormResult | None]):
    DEFAULT_CSS = """
    AdminFormScreen { align: center middle; }
    AdminFormScreen > Vertical {
        width: 64; height: auto; border: round $accent; padding: 0 1; background: $surface;
    }
    AdminFormScreen Input { margin: 0 0 1 0; }
    AdminFormScreen #admin-form-error { color: $error; height: auto; }
    AdminFormScreen #admin-form-buttons { height: auto; align-horizontal: right; }
    AdminFormScreen Button { margin-left: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="admin-form-cancel"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Create admin user"
            yield Static(Text("Email", style="bold"))
            yield Input(placeholder="name@example.com", id="admin-email")
            yield Static(Text("Full name", style="bold"))
            yield Input(placeholder="First Last", id="admin-full-name")
            yield Static("", id="admin-form-error")
            with Horizontal(id="admin-form-buttons"):
                yield Button("Cancel", id="admin-form-cancel-button")
                yield Button("Next", id="admin-form-ok", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#admin-email", Input).focus()

    @on(Input.Submitted, "#admin-email")
    def _next(self) -> None:
        self.query_one("#admin-full-name", Input).focus()

    @on(Input.Submitted, "#admin-full-name")
    @on(Button.Pressed, "#admin-form-ok")
    def _submit(self) -> None:
        email = self.query_one("#admin-email", Input).value.strip()
        name = self.query_one("#admin-full-name", Input).value.strip()
        error = self.query_one("#admin-form-error", Static)
        try:
            email = normalise_email(email)
        except InvalidInput as exc:
            error.update(Text(str(exc)))
            self.query_one("#admin-email", Input).focus()
            return
        if not name:
            error.update(Text("The full name must not be empty."))
            self.query_one("#admin-full-name", Input).focus()
            return
        self.dismiss((email, name))

    @on(Button.Pressed, "#admin-form-cancel-button")
    def action_cancel(self) -> None:
        self.dismiss(None)

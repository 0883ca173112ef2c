"""A new password, typed twice in masked fields (admin create / reset password).

The password is checked with ``admins.check_password`` (minimum length, both entries
equal); the error shown never contains it. The screen dismisses with the password (or
``None`` when cancelled) and clears both fields first, so the value does not linger in a
widget, a screenshot or an export. Nothing here logs it.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static

from magflow_console.actions.admins import MIN_PASSWORD_LENGTH, InvalidInput, check_password
from magflow_console.render.text import one_line
from magflow_console.tui.screens.base import AppModal


class PasswordScreen(AppModal[str | None]):
    DEFAULT_CSS = """
    PasswordScreen { align: center middle; }
    PasswordScreen > Vertical {
        width: 64; height: auto; border: round $accent; padding: 0 1; background: $surface;
    }
    PasswordScreen Input { margin: 0 0 1 0; }
    PasswordScreen #password-error { color: $error; height: auto; }
    PasswordScreen #password-buttons { height: auto; align-horizontal: right; }
    PasswordScreen Button { margin-left: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="password-cancel"),
    ]

    def __init__(self, email: str, *, purpose: str = "New password") -> None:
        super().__init__()
        self.email = email
        self.purpose = purpose

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.purpose
            yield Static(
                Text.assemble(
                    ("for ", "dim"),
                    (one_line(self.email), "bold"),
                    (f"  (at least {MIN_PASSWORD_LENGTH} characters)", "dim"),
                )
            )
            yield Input(password=True, placeholder="password", id="password-first")
            yield Input(password=True, placeholder="repeat the password", id="password-second")
            yield Static("", id="password-error")
            with Horizontal(id="password-buttons"):
                yield Button("Cancel", id="password-cancel-button")
                yield Button("OK", id="password-ok", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#password-first", Input).focus()

    def _clear(self) -> None:
        for field in self.query(Input):
            field.value = ""

    @on(Input.Submitted, "#password-first")
    def _next(self) -> None:
        self.query_one("#password-second", Input).focus()

    @on(Input.Submitted, "#password-second")
    @on(Button.Pressed, "#password-ok")
    def _submit(self) -> None:
        first = self.query_one("#password-first", Input).value
        second = self.query_one("#password-second", Input).value
        try:
            check_password(first, second)
        except InvalidInput as exc:
            self.query_one("#password-error", Static).update(Text(str(exc)))
            self.query_one("#password-second", Input).value = ""
            return
        self._clear()
        self.dismiss(first)

    @on(Button.Pressed, "#password-cancel-button")
    def action_cancel(self) -> None:
        self._clear()
        self.dismiss(None)

"""Generic confirmation modal for actions (migrate, trigger sync, restart, create admin).

Shows the operation, the target profile and what will change. The default (focused)
button is Cancel; escape cancels. On a ``protected`` profile the Confirm button stays
disabled until the profile name is typed exactly. Dismisses with ``True`` to proceed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static

from magflow_console.render.text import one_line
from magflow_console.tui.screens.base import AppModal


class ConfirmScreen(AppModal[bool]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="confirm-cancel"),
    ]

    def __init__(
        self,
        operation: str,
        *,
        profile: str,
        changes: Sequence[str],
        protected: bool = False,
        confirm_label: str = "Confirm",
    ) -> None:
        super().__init__()
        self.operation = operation
        self.profile = profile
        self.changes = tuple(changes)
        self.protected = protected
        self.confirm_label = confirm_label

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box") as box:
            box.border_title = "Confirm"
            if self.protected:
                box.add_class("-protected")
            head = Text()
            head.append(one_line(self.operation), style="bold")
            head.append("\non profile ")
            head.append(one_line(self.profile), style="bold reverse" if self.protected else "bold")
            if self.protected:
                head.append("  PROTECTED", style="bold red")
            yield Static(head, id="confirm-head")
            changes = Text("What will change:\n", style="bold")
            for line in self.changes:
                changes.append("  • ", style="")
                changes.append(one_line(line) + "\n", style="")
            yield Static(changes, id="confirm-changes")
            if self.protected:
                yield Static(
                    Text(f"Type the profile name ({one_line(self.profile)}) to confirm:"),
                    id="confirm-hint",
                )
                yield Input(placeholder=one_line(self.profile), id="confirm-name")
            with Horizontal(id="confirm-buttons"):
                yield Button("Cancel", id="cancel", variant="primary")
                yield Button(
                    self.confirm_label, id="confirm", variant="error", disabled=self.protected
                )

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    @on(Input.Changed, "#confirm-name")
    def _typed(self, event: Input.Changed) -> None:
        self.query_one("#confirm", Button).disabled = event.value != self.profile

    @on(Input.Submitted, "#confirm-name")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value == self.profile:
            self.dismiss(True)

    @on(Button.Pressed, "#confirm")
    def _confirm(self) -> None:
        if not self.protected or self.query_one("#confirm-name", Input).value == self.profile:
            self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)

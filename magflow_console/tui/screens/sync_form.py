"""Which eMAG account to sync (main, fbe or both) and how many pages at most; with the api
strategy also the mode and whether inactive offers are included (the Celery task takes the
account and the page limit only, sheet §6).

The request is validated with ``SyncRequest.validate`` for the profile's strategy before
the form closes (the plan validates it again). Dismisses with a ``SyncFormResult`` or
``None`` when cancelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, Input, RadioButton, RadioSet, Static

from magflow_console.actions.sync_request import ACCOUNT_CHOICES, MODES, SyncRequest
from magflow_console.tui.screens.base import AppModal


@dataclass(frozen=True)
class SyncFormResult:
    request: SyncRequest
    wait: bool  # watch for the outcome after triggering


class SyncFormScreen(AppModal[SyncFormResult | None]):
    DEFAULT_CSS = """
    SyncFormScreen { align: center middle; }
    SyncFormScreen > Vertical {
        width: 64; height: auto; border: round $accent; padding: 0 1; background: $surface;
    }
    SyncFormScreen RadioSet { width: 100%; margin: 0 0 1 0; layout: horizontal; }
    SyncFormScreen Input { margin: 0 0 1 0; }
    SyncFormScreen #sync-form-error { color: $error; height: auto; }
    SyncFormScreen #sync-form-buttons { height: auto; align-horizontal: right; }
    SyncFormScreen Button { margin-left: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="sync-form-cancel"),
    ]

    def __init__(self, *, strategy: str, account: str = "main", max_pages: int = 5) -> None:
        super().__init__()
        self.strategy = strategy
        self.account = account if account in ACCOUNT_CHOICES else "main"
        self.max_pages = max_pages

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"Trigger eMAG product sync ({self.strategy})"
            yield Static(Text("Account", style="bold"))
            with RadioSet(id="sync-account-choice"):
                for account in ACCOUNT_CHOICES:
                    yield RadioButton(account, value=account == self.account, id=f"acc-{account}")
            yield Static(Text("Max pages per account", style="bold"))
            yield Input(str(self.max_pages), type="integer", id="sync-max-pages")
            if self.strategy == "api":
                yield Static(Text("Mode", style="bold"))
                with RadioSet(id="sync-mode-choice"):
                    for mode in MODES:
                        yield RadioButton(mode, value=mode == "full", id=f"mode-{mode}")
                yield Checkbox("Include inactive offers", value=False, id="sync-inactive")
            yield Checkbox("Wait for the outcome", value=True, id="sync-wait")
            yield Static("", id="sync-form-error")
            with Horizontal(id="sync-form-buttons"):
                yield Button("Cancel", id="sync-form-cancel-button")
                yield Button("Next", id="sync-form-ok", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#sync-account-choice", RadioSet).focus()

    def selected_account(self) -> str:
        pressed = self.query_one("#sync-account-choice", RadioSet).pressed_button
        return str(pressed.label) if pressed is not None else self.account

    def _api_options(self) -> tuple[str, bool]:
        """(mode, include inactive): the api strategy's choices; the defaults otherwise."""
        if self.strategy != "api":
            return "full", False
        pressed = self.query_one("#sync-mode-choice", RadioSet).pressed_button
        mode = str(pressed.label) if pressed is not None else "full"
        return mode, self.query_one("#sync-inactive", Checkbox).value

    @on(Input.Submitted, "#sync-max-pages")
    @on(Button.Pressed, "#sync-form-ok")
    def _submit(self) -> None:
        raw = self.query_one("#sync-max-pages", Input).value.strip()
        error = self.query_one("#sync-form-error", Static)
        try:
            pages = int(raw)
        except ValueError:
            error.update(Text("Max pages must be a whole number >= 1."))
            return
        mode, inactive = self._api_options()
        req = SyncRequest(
            account=self.selected_account(), max_pages=pages, mode=mode, include_inactive=inactive
        )
        problems = req.validate(self.strategy)
        if problems:
            error.update(Text("; ".join(problems) + "."))
            return
        self.dismiss(SyncFormResult(req, self.query_one("#sync-wait", Checkbox).value))

    @on(Button.Pressed, "#sync-form-cancel-button")
    def action_cancel(self) -> None:
        self.dismiss(None)

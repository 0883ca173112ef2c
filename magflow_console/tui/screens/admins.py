"""Admin users (superusers and holders of the ``admin`` role). Never shows password hashes:
the source does not even read them.

Read when the screen opens and after an admin action; the status line says when. A read
that fails keeps the rows from before, says when it failed, and is tried again at every
refresh of the app's database loop until one succeeds."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from magflow_console.models import AdminUser
from magflow_console.render import fmt
from magflow_console.render.text import one_line
from magflow_console.tui.messages import AdminsRead, Changed
from magflow_console.tui.screens.base import AppScreen
from magflow_console.tui.widgets.key_bar import KeyBar
from magflow_console.tui.widgets.table import LiveTable, Row

if TYPE_CHECKING:
    pass

COLUMNS: list[tuple[str, int | None]] = [
    ("email", 26),
    ("name", 16),
    ("active", 7),
    ("hash", 5),
    ("super", 6),
    ("role", 6),
    ("verified", 9),
    ("last login", 12),
    ("fails", 6),
]


def _flag(value: bool, bad_when_false: bool = False) -> Text:
    if value:
        return Text("yes", style="green")
    return Text("no", style="red" if bad_when_false else "dim")


def admin_row(user: AdminUser) -> Row:
    return (
        str(user.id),
        [
            Text(one_line(user.email, 25), style="bold"),
            Text(one_line(user.full_name or "", 15)),
            _flag(user.is_active, bad_when_false=True),
            Text("ok", style="green") if user.password_hash_ok else Text("BAD", style="bold red"),
            _flag(user.is_superuser),
            _flag(user.has_admin_role),
            _flag(user.email_verified),
            Text(fmt.stamp(user.last_login)),
            Text(
                str(user.failed_login_attempts),
                style="red" if user.failed_login_attempts else "dim",
            ),
        ],
    )


class AdminsScreen(AppScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="back"),
        Binding("y", "copy", "Copy row", id="copy-admin"),
        Binding("A", "app.create_admin", "Create admin", id="create-admin"),
        Binding("P", "app.reset_password", "Reset password", id="reset-password"),
        Binding("D", "app.deactivate_admin", "Deactivate", id="deactivate-admin"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.users: dict[str, AdminUser] = {}
        self._failed = False  # the last read failed: read again at the next refresh

    def compose(self) -> ComposeResult:
        yield Static(Text(" Admin users", style="bold"), classes="detail-title")
        yield Static(Text(" loading…", style="dim"), id="admins-status")
        yield LiveTable(COLUMNS, id="admins")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(LiveTable).focus()
        self._load()
        self.mf.store_changed.subscribe(self, self._store_changed)

    def _store_changed(self, changed: Changed) -> None:
        if self._failed and changed is not None and "database" in changed:
            self._load()

    def reload(self) -> None:
        self._load()

    def selected_email(self) -> str | None:
        key = self.query_one(LiveTable).selected_key
        user = self.users.get(key) if key is not None else None
        return user.email if user is not None else None

    @work(thread=True, exclusive=True, exit_on_error=False, group="detail:admins")
    def _load(self) -> None:
        self.post_message(AdminsRead(self.mf.backend.admins()))

    @on(AdminsRead)
    def _admins_read(self, message: AdminsRead) -> None:
        snap = message.snapshot
        status = self.query_one("#admins-status", Static)
        self._failed = snap.state == "error"
        if self._failed:
            before = "the rows below are from before; " if self.users else ""
            status.update(
                Text(
                    f" ✗ {one_line(snap.error or '')} (at {fmt.hms(snap.fetched_at)} UTC; "
                    f"{before}retried at every refresh)",
                    style="red",
                )
            )
            return
        status.update(
            Text(
                f" {len(snap.items)} admin users · read {fmt.hms(snap.fetched_at)} UTC",
                style="dim",
            )
        )
        self.users = {str(u.id): u for u in snap.items}
        self.query_one(LiveTable).set_rows([admin_row(u) for u in snap.items])

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_copy(self) -> None:
        text = self.query_one(LiveTable).selected_text()
        if text:
            self.app.copy_to_clipboard(text)
            self.notify("Copied (OSC 52).", timeout=2)

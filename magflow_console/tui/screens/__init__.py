"""One screen per module. ``ALL_SCREENS`` lists them (for the keymap validation)."""

from __future__ import annotations

from typing import Any

from textual.screen import Screen

from magflow_console.tui.screens.action_run import ActionRunScreen
from magflow_console.tui.screens.admin_form import AdminFormScreen
from magflow_console.tui.screens.admins import AdminsScreen
from magflow_console.tui.screens.audit import AuditScreen
from magflow_console.tui.screens.confirm import ConfirmScreen
from magflow_console.tui.screens.container_detail import ContainerDetailScreen
from magflow_console.tui.screens.dashboard import DashboardScreen
from magflow_console.tui.screens.error import ErrorScreen
from magflow_console.tui.screens.help import HelpScreen
from magflow_console.tui.screens.migration_detail import MigrationDetailScreen
from magflow_console.tui.screens.password import PasswordScreen
from magflow_console.tui.screens.sync_detail import SyncDetailScreen
from magflow_console.tui.screens.sync_form import SyncFormScreen

ALL_SCREENS: tuple[type[Screen[Any]], ...] = (
    DashboardScreen,
    ContainerDetailScreen,
    MigrationDetailScreen,
    SyncDetailScreen,
    AdminsScreen,
    HelpScreen,
    ErrorScreen,
    ConfirmScreen,
    ActionRunScreen,
    AdminFormScreen,
    AuditScreen,
    PasswordScreen,
    SyncFormScreen,
)

__all__ = [
    "ALL_SCREENS",
    "ActionRunScreen",
    "AdminFormScreen",
    "AdminsScreen",
    "AuditScreen",
    "ConfirmScreen",
    "ContainerDetailScreen",
    "DashboardScreen",
    "ErrorScreen",
    "HelpScreen",
    "MigrationDetailScreen",
    "PasswordScreen",
    "SyncDetailScreen",
    "SyncFormScreen",
]

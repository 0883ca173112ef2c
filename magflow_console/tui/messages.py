"""Messages: one past-tense fact each, typed. Workers post them; they never touch widgets.

A screen's worker posts to its screen, which handles the fact with ``@on``; the refresh
loops post to the app, which files the snapshot in the ``Store``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from textual.message import Message

from magflow_console.actions.audit_view import AuditRows
from magflow_console.environments import ProfileStatus
from magflow_console.models import (
    AdminsSnapshot,
    ApiSnapshot,
    CelerySnapshot,
    ContainerInfo,
    ContainersSnapshot,
    DatabaseSnapshot,
    Finding,
    MigrationsSnapshot,
    OrdersSnapshot,
    RedisSnapshot,
    SyncRun,
    SyncSnapshot,
)

#: the snapshots the refresh loops keep fresh (``tui.loops``)
Source = Literal["containers", "database", "migrations", "sync", "orders", "api", "redis", "celery"]
SOURCES: tuple[Source, ...] = (
    "containers", "database", "migrations", "sync", "orders", "api", "redis", "celery",
)  # fmt: skip
Snapshot = (
    ContainersSnapshot
    | DatabaseSnapshot
    | MigrationsSnapshot
    | SyncSnapshot
    | OrdersSnapshot
    | ApiSnapshot
    | RedisSnapshot
    | CelerySnapshot
)


#: what changed in the store (``MagflowApp.store_changed``): the sources just read, or
#: None for everything (a profile switch, a pause, the findings screen's own reads)
Changed = frozenset[str] | None


@dataclass
class SnapshotsReady(Message):
    """A refresh loop read its sources (each snapshot may be in the error state), in
    order: the app files them together, so a refresh of a loop that reads two sources
    builds one report and redraws once. ``generation``: the loops that read them (the
    app ignores a profile it switched away from)."""

    snapshots: tuple[tuple[Source, Snapshot], ...]
    generation: int = 0

    @property
    def sources(self) -> tuple[Source, ...]:
        return tuple(source for source, _ in self.snapshots)


@dataclass
class FirstReadArrived(Message):
    """A loop's first read, started before the app (``Backend.prefetch``), has arrived:
    the app applies it (``RefreshLoops.first_read_arrived``)."""

    loop: str
    generation: int = 0


@dataclass
class StackEventReceived(Message):
    """A Docker event for one of the stack's containers (coalesced: only the last counts)."""

    kind: str
    name: str

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StackEventReceived)


@dataclass
class EventStreamOpened(Message):
    """The Docker event stream of the stack is open (again): events arrive as they happen."""

    generation: int = 0


@dataclass
class EventStreamLost(Message):
    """The Docker event stream broke or could not be opened (``error`` says why); the
    watcher re-opens it by itself."""

    error: str
    generation: int = 0


@dataclass
class ContainerInspected(Message):
    """One container's full detail was read (``None``: it is gone or the engine is, and
    ``error`` says which)."""

    name: str
    info: ContainerInfo | None
    error: str | None = None


@dataclass
class LogStreamOpened(Message):
    """A container detail's log stream is open (again): new lines arrive as written."""


@dataclass
class LogStreamLost(Message):
    """A container detail's log stream broke or could not be opened (``error`` says why);
    its follower opens it again by itself."""

    error: str


@dataclass
class LogFindingsRead(Message):
    """What the containers' recent logs say (the findings screen) or one container's
    followed log says (its detail screen)."""

    findings: list[Finding]


@dataclass
class AdminsRead(Message):
    """The admin users were read."""

    snapshot: AdminsSnapshot


@dataclass
class SyncRunsRead(Message):
    """The sync runs matching a screen's filters were read."""

    snapshot: SyncSnapshot


@dataclass
class SyncRunRead(Message):
    """One sync run in full was read (``None``: deleted, or the database is down)."""

    run_id: str
    run: SyncRun | None


@dataclass
class AuditRead(Message):
    """The newest audit-log entries were read from ``path``, with what could not be
    shown (skipped lines, or why the file could not be read)."""

    path: str
    rows: AuditRows


@dataclass
class ProfileRead(Message):
    """A profile answered (or was given up on) in the environments screen's ``round`` of
    reads (``environments.AllProfiles``)."""

    round: int
    line: ProfileStatus

"""Messages posted by workers (past-tense facts). Workers never touch widgets."""

from __future__ import annotations

from typing import Any

from textual.message import Message

#: the refresh loops; each one is a thread-worker group ``src:<name>``
SOURCES: tuple[str, ...] = ("containers", "database", "migrations", "sync", "api")


class SnapshotReady(Message):
    """A source finished a fetch (the snapshot may be in the error state)."""

    def __init__(self, source: str, snapshot: Any) -> None:
        super().__init__()
        self.source = source
        self.snapshot = snapshot


class StackEventReceived(Message):
    """A Docker event for one of the stack's containers (coalesced: only the last counts)."""

    def __init__(self, kind: str, name: str) -> None:
        super().__init__()
        self.kind = kind
        self.name = name

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StackEventReceived)


class LogLinesArrived(Message):
    """A batch of log lines for the container detail screen (already batched by the worker)."""

    def __init__(self, name: str, lines: list[Any], *, initial: bool = False) -> None:
        super().__init__()
        self.name = name
        self.lines = lines
        self.initial = initial


class DetailLoaded(Message):
    """An on-demand fetch for a detail screen finished (``value`` may be ``None``)."""

    def __init__(self, what: str, value: Any) -> None:
        super().__init__()
        self.what = what
        self.value = value

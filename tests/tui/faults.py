"""Helpers of the fault tests: what the running console read, and when.

``SourceLog.hook`` is a ``run_test(message_hook=...)``: it notes every ``SnapshotsReady``
the app dispatches with the monotonic time (and the console's other messages: stack
events, stream states), so a test can say, without asserting any duration, how the console's reads went around a fault (the first read after it, the
other sources still read meanwhile) and *measure* how long the console took to show a
backend healthy again (``recovered_after``: recorded in the reliability ledger, never
asserted).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from textual.message import Message
from textual.pilot import Pilot

from magflow_console.tui.messages import SnapshotsReady
from magflow_console.tui.screens.error import ErrorScreen
from magflow_console.tui.screens.help import HelpScreen
from tests.tui.helpers import wait_for


@dataclass(frozen=True)
class Read:
    at: float  # time.monotonic() when the app handled it
    source: str
    state: str  # the snapshot's own state (ok | error), before the store marks it stale
    error: str | None
    snapshot: Any


@dataclass
class SourceLog:
    reads: list[Read] = field(default_factory=list)
    #: the console's other messages (``tui.messages``: stack events, stream states...),
    #: with the monotonic time the app handled them
    messages: list[tuple[float, Message]] = field(default_factory=list)

    def hook(self, message: Message) -> None:
        if isinstance(message, SnapshotsReady):
            at = time.monotonic()
            for source, snap in message.snapshots:
                self.reads.append(Read(at, source, snap.state, snap.error, snap))
        elif type(message).__module__ == SnapshotsReady.__module__:
            self.messages.append((time.monotonic(), message))

    def between(self, source: str, start: float, end: float | None = None) -> list[Read]:
        return [
            r
            for r in self.reads
            if r.source == source and start <= r.at and (end is None or r.at <= end)
        ]

    def states(self, source: str, start: float, end: float | None = None) -> list[str]:
        return [r.state for r in self.between(source, start, end)]

    def recovered_after(
        self,
        sources: tuple[str, ...],
        since: float,
        healthy: Callable[[Read], bool] = lambda r: r.state == "ok",
    ) -> float | None:
        """Seconds from ``since`` until every source in ``sources`` had a ``healthy`` read
        again (default: state ``ok``; ``None`` if one has not)."""
        firsts = []
        for source in sources:
            ok = [r.at for r in self.between(source, since) if healthy(r)]
            if not ok:
                return None
            firsts.append(ok[0])
        return max(firsts) - since


def failed_within_one_read(log: SourceLog, source: str, start: float, end: float) -> None:
    """After a fault began at ``start``, the source's reads until ``end``: at most the
    first may still be ``ok`` (a read already under way when the fault began); every
    later one is an error. That is "within one refresh interval", counted in reads."""
    states = log.states(source, start, end)
    assert states, f"{source} was not read at all between the fault and its end"
    assert "error" in states, f"{source} never reported the fault: {states}"
    assert all(s == "error" for s in states[1:]), f"{source} read ok during the fault: {states}"


async def assert_responsive(pilot: Pilot[Any], app: Any) -> None:
    """A key is handled: ``?`` opens the help over the current screen, ``escape`` closes it."""
    before = app.screen
    await pilot.press("question_mark")
    await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "the help screen (a key)")
    await pilot.press("escape")
    await wait_for(pilot, lambda: app.screen is before, "back from the help screen")


def assert_no_error_modal(app: Any) -> None:
    """No worker failed unexpectedly: the error modal (a traceback) never opened."""
    assert not any(isinstance(s, ErrorScreen) for s in app.screen_stack), "an error modal opened"

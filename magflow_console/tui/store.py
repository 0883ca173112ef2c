"""What the screens show: the latest snapshot of every source, stale handling, retry intervals.

Pure state (no widgets): the app feeds it snapshots, screens read it when the app's
``store_changed`` signal fires. A failed refresh after a good one keeps the good value
(``models.mark_stale``) with the new error beside it. What ``doctor`` reads beyond the
refresh loops (admin logins, the containers' logs) is kept here too once the findings
screen has read it, so the header and that screen count the same findings
(``advice()``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from magflow_console.diagnose.backlog import BacklogSeen, observe_backlog
from magflow_console.diagnose.doctor import Advice, advise, extra_findings
from magflow_console.diagnose.report import build_report
from magflow_console.models import (
    ApiSnapshot,
    CelerySnapshot,
    ContainersSnapshot,
    DatabaseSnapshot,
    Finding,
    MigrationsSnapshot,
    OrdersSnapshot,
    RedisSnapshot,
    StatusReport,
    SyncSnapshot,
    mark_stale,
)
from magflow_console.tui.messages import SOURCES


@dataclass
class Store:
    profile: str
    snapshots: dict[str, Any] = field(default_factory=dict)
    #: each source's refresh interval (seconds), set by the loops: an error says when the
    #: next try comes
    retry_every: dict[str, float] = field(default_factory=dict)
    last_good: dt.datetime | None = None
    versions: dict[str, int] = field(default_factory=dict)
    report: StatusReport | None = None
    #: what the findings screen read beyond the loops (``rules.admin_findings``, and the
    #: containers' logs); empty until it has
    admin_findings: list[Finding] = field(default_factory=list)
    #: what the refreshes saw of Celery's queue (is it growing, how old is its head)
    backlog: BacklogSeen | None = None
    no_success_hours: float = 24.0
    log_findings: list[Finding] = field(default_factory=list)
    #: config or secret files other users can read (``doctor.secret_file_findings``),
    #: checked once at start-up as ``doctor`` does
    file_findings: list[Finding] = field(default_factory=list)
    #: why the Docker event stream is not open (None: open, or not watched), and since
    #: when: meanwhile the containers are only polled
    events_error: str | None = None
    events_lost_at: dt.datetime | None = None

    def event_stream(self, error: str | None, now: dt.datetime) -> None:
        """The event stream opened (``error`` None) or was lost (keeps the first time)."""
        if error is None:
            self.events_lost_at = None
        elif self.events_error is None:
            self.events_lost_at = now
        self.events_error = error

    def update(self, source: str, snapshot: Any, now: dt.datetime) -> None:
        """Record one read."""
        self.update_many(((source, snapshot),), now)

    def update_many(self, snapshots: Iterable[tuple[str, Any]], now: dt.datetime) -> None:
        """Record a loop's reads, in order (the database before its migrations), and build
        the report once."""
        for source, snapshot in snapshots:
            self._file(source, snapshot)
        self._rebuild_report(now)
        if self.all_ok():
            self.last_good = now

    def _file(self, source: str, snapshot: Any) -> None:
        previous = self.snapshots.get(source)
        database = self.snapshots.get("database")
        if (
            source == "migrations"
            and snapshot.state == "ok"
            and database is not None
            and database.state in ("error", "stale")
        ):
            # the graph was read, but where the database stands is unknown: not "ok"
            snapshot = dataclasses.replace(snapshot, state="error", error=database.error)
        if (
            getattr(snapshot, "state", "ok") == "error"
            and previous is not None
            and previous.state in ("ok", "stale")
        ):
            snapshot = mark_stale(previous, snapshot.error or "refresh failed")
        self.snapshots[source] = snapshot
        self.versions[source] = self.versions.get(source, 0) + 1
        if source == "celery":
            self.backlog = observe_backlog(self.backlog, snapshot)

    def extra(self) -> list[Finding]:
        """What ``doctor`` adds to the status findings, as read so far."""
        if self.report is None:
            return []
        return [
            *extra_findings(self.report, self.admin_findings, self.log_findings),
            *self.file_findings,
        ]

    def advice(self) -> list[Advice]:
        """Every finding worst first with its steps, as ``doctor`` lists them."""
        return advise(self.report, self.extra()) if self.report is not None else []

    def all_read(self) -> bool:
        """Every source has a snapshot, good or not."""
        return all(name in self.snapshots for name in SOURCES)

    def all_ok(self) -> bool:
        """Every source read (a part the demo does not have, ``absent``, counts as read:
        there is nothing more to read of it)."""
        return all(
            name in self.snapshots
            and (
                self.snapshots[name].state == "ok" or getattr(self.snapshots[name], "absent", False)
            )
            for name in SOURCES
        )

    def _rebuild_report(self, now: dt.datetime) -> None:
        s = self.snapshots
        if not all(name in s for name in SOURCES):
            self.report = None
            return
        self.report = build_report(
            self.profile,
            s["containers"],
            s["database"],
            s["migrations"],
            s["sync"],
            s["api"],
            celery=s["celery"],
            redis=s["redis"],
            orders=s["orders"],
            backlog=self.backlog,
            no_success_hours=self.no_success_hours,
            now=now,
        )

    # typed accessors -------------------------------------------------------------

    @property
    def containers(self) -> ContainersSnapshot | None:
        return self.snapshots.get("containers")

    @property
    def database(self) -> DatabaseSnapshot | None:
        return self.snapshots.get("database")

    @property
    def migrations(self) -> MigrationsSnapshot | None:
        return self.snapshots.get("migrations")

    @property
    def sync(self) -> SyncSnapshot | None:
        return self.snapshots.get("sync")

    @property
    def api(self) -> ApiSnapshot | None:
        return self.snapshots.get("api")

    @property
    def orders(self) -> OrdersSnapshot | None:
        return self.snapshots.get("orders")

    @property
    def redis(self) -> RedisSnapshot | None:
        return self.snapshots.get("redis")

    @property
    def celery(self) -> CelerySnapshot | None:
        return self.snapshots.get("celery")

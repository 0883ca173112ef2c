"""Every environment at a glance: each profile's verdict, worst finding and data age.

``status --all`` and the TUI's environments screen (``e``) read every profile of the
config file at once: one thread per profile, each its own ``Backend`` (opened, read once,
closed), with a bound on the time each may take. A profile that cannot be loaded (a
config error) or does not answer in time is UNKNOWN with the reason; it never holds up
the others.

A profile is loaded by a ``ProfileLoader`` (``cli.common.profile_loader``): the config
file and the environment, as ``--profile NAME`` would, keeping ``--read-only`` but not
the flags that name one stack's endpoints.

No Textual import.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from magflow_console.config import DEFAULT_PROFILE_NAME, LoadedConfig, Settings
from magflow_console.config_sources import ConfigError
from magflow_console.diagnose.doctor import advise
from magflow_console.models import StatusReport, Verdict
from magflow_console.render import fmt
from magflow_console.render.text import one_line, scrub

ProfileLoader = Callable[[str], LoadedConfig]

#: seconds a profile may take before it is reported as not answering
DEFAULT_TIMEOUT = 15.0


def profile_names(settings: Settings) -> list[str]:
    """The profiles of the config, sorted; the implicit ``local`` when it defines none."""
    return sorted(settings.profiles) or [DEFAULT_PROFILE_NAME]


@dataclass(frozen=True)
class Profiles:
    """The profiles a session can reach: their names and how to load one."""

    names: tuple[str, ...]
    load: ProfileLoader
    #: name -> (protected, read only) as the config file says, for a profile that then
    #: fails to load: its line still says PROTECTED
    marks: Mapping[str, tuple[bool, bool]] = field(default_factory=dict)

    @classmethod
    def only(cls, loaded: LoadedConfig) -> Profiles:
        """Just ``loaded`` (the demo: its profile is not one of the config file's)."""

        def load(name: str) -> LoadedConfig:
            if name != loaded.profile_name:
                raise ConfigError(f"profile '{name}' is not available here")
            return loaded

        return cls((loaded.profile_name,), load)

    @classmethod
    def of(cls, settings: Settings, load: ProfileLoader) -> Profiles:
        """Every profile of ``settings`` (``profile_names``), loaded by ``load``."""
        marks = {n: (p.protected, p.read_only) for n, p in settings.profiles.items()}
        return cls(tuple(profile_names(settings)), load, marks)


@dataclass(frozen=True)
class ProfileStatus:
    """One profile's line: its verdict, its worst finding (code and words) and when its
    data was read; ``error`` when it could not be read at all."""

    profile: str
    verdict: Verdict
    worst: str = ""
    worst_code: str | None = None
    read_at: dt.datetime | None = None
    took_s: float | None = None
    protected: bool = False
    read_only: bool = False
    error: str | None = None
    report: StatusReport | None = None

    def age_s(self, now: dt.datetime) -> float | None:
        """Seconds since its data was read (None: no data)."""
        return None if self.read_at is None else max(0.0, (now - self.read_at).total_seconds())

    def to_json(self, now: dt.datetime) -> dict[str, object]:
        age = self.age_s(now)
        return {
            "profile": self.profile,
            "verdict": self.verdict.label,
            "exit_code": int(self.verdict),
            "worst": self.worst or None,
            "worst_code": self.worst_code,
            "read_at": self.read_at.isoformat() if self.read_at else None,
            "age_seconds": None if age is None else round(age, 1),
            "took_seconds": None if self.took_s is None else round(self.took_s, 2),
            "protected": self.protected,
            "read_only": self.read_only,
            "error": self.error,
        }


def from_report(
    name: str, loaded: LoadedConfig | None, report: StatusReport, took_s: float | None
) -> ProfileStatus:
    """A profile's line from its status report (the TUI gives the live one of the profile
    it shows).

    A section whose last read failed after a good one is *stale* (only the TUI's live
    report has them: it keeps the last good value): then the line does not pass for
    fresh. Its data is as old as the oldest stale section, the verdict is at least
    UNKNOWN (what a read now would say: a section could not be read) and the worst says
    which sections are stale, since when and why."""
    advice = [a for a in advise(report) if a.level != "INFO"]
    worst = advice[0] if advice else None
    profile = loaded.profile if loaded is not None else None
    words = (
        f"{worst.finding.code}: {one_line(worst.finding.short or worst.finding.message)}"
        if worst
        else ""
    )
    code = worst.finding.code if worst else None
    verdict, read_at = report.verdict, report.generated_at
    stale = stale_sections(report)
    if stale:
        since = min(snap.fetched_at for _, snap in stale)
        verdict, read_at, code = Verdict.worst(verdict, Verdict.UNKNOWN), since, "stale"
        names = ", ".join(section for section, _ in stale)
        why = one_line(stale[0][1].error or "refresh failed")
        words = f"stale since {fmt.hms(since)} UTC: {names} ({why})"
    return ProfileStatus(
        profile=name,
        verdict=verdict,
        worst=words,
        worst_code=code,
        read_at=read_at,
        took_s=took_s,
        protected=bool(profile and profile.protected),
        read_only=bool(profile and profile.read_only),
        report=report,
    )


def stale_sections(report: StatusReport) -> list[tuple[str, Any]]:
    """(section, snapshot) of the report's stale sections, oldest data first."""
    sections: dict[str, Any] = {
        "containers": report.containers,
        "database": report.database,
        "migrations": report.migrations,
        "sync": report.sync,
        "orders": report.orders,
        "api": report.api,
        "redis": report.redis,
        "celery": report.celery,
    }
    stale = [(n, s) for n, s in sections.items() if s is not None and s.state == "stale"]
    return sorted(stale, key=lambda item: item[1].fetched_at)


def unreadable(
    name: str,
    error: str,
    loaded: LoadedConfig | None = None,
    marks: tuple[bool, bool] = (False, False),
) -> ProfileStatus:
    """An UNKNOWN line; PROTECTED and read-only from ``loaded``, else from ``marks`` (what
    the config file says of a profile that did not load)."""
    if loaded is not None:
        marks = (loaded.profile.protected, loaded.profile.read_only)
    return ProfileStatus(
        profile=name,
        verdict=Verdict.UNKNOWN,
        worst=error,
        protected=marks[0],
        read_only=marks[1],
        error=error,
    )


def read_profile(loaded: LoadedConfig) -> ProfileStatus:
    """Read ``loaded``'s status once and close everything it opened."""
    from magflow_console.backend import Backend

    name = loaded.profile_name
    started = time.perf_counter()
    backend = Backend(loaded)
    try:
        report = backend.status()
    except Exception as exc:  # a defect: one profile's line, never the others'
        return unreadable(name, scrub(one_line(f"{type(exc).__name__}: {exc}")), loaded)
    finally:
        backend.close()
    return from_report(name, loaded, report, time.perf_counter() - started)


class AllProfiles:
    """Every profile read at once, each in a daemon thread, each bounded by ``timeout``.

    ``wait()`` returns one line per profile (``names``, default all of ``profiles``, in
    that order) once all have answered
    or the time is up; ``on_line`` is called (from the reading thread) as each answers.
    A profile still reading at the deadline is UNKNOWN ("no answer within N s"); its
    thread goes on in the background and closes what it opened when it ends
    (``stragglers()`` says whether any is left, e.g. to exit without waiting for it).
    """

    def __init__(
        self,
        profiles: Profiles,
        names: Sequence[str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        on_line: Callable[[ProfileStatus], None] | None = None,
        read: Callable[[LoadedConfig], ProfileStatus] = read_profile,
    ) -> None:
        self.names = list(profiles.names if names is None else names)
        self.timeout = timeout
        self._marks = profiles.marks
        self._lines: dict[str, ProfileStatus] = {}
        self._loaded: dict[str, LoadedConfig] = {}
        self._lock = threading.Lock()
        self._all_in = threading.Event()
        self._on_line = on_line
        self._read = read
        self._loader = profiles.load
        self._threads = [
            threading.Thread(target=self._one, args=(n,), name=f"profile {n}", daemon=True)
            for n in self.names
        ]
        self._started = time.monotonic()
        for t in self._threads:
            t.start()
        if not self.names:
            self._all_in.set()

    def _one(self, name: str) -> None:
        try:
            loaded = self._loader(name)
        except ConfigError as exc:
            why = f"config error: {scrub(one_line(str(exc)))}"
            line = unreadable(name, why, marks=self._marks.get(name, (False, False)))
        else:
            with self._lock:
                self._loaded[name] = loaded
            try:
                line = self._read(loaded)
            except Exception as exc:  # read_profile catches; a custom reader may not
                line = unreadable(name, scrub(one_line(f"{type(exc).__name__}: {exc}")), loaded)
        with self._lock:
            if name in self._lines:  # already reported as not answering
                return
            self._lines[name] = line
            if len(self._lines) == len(self.names):
                self._all_in.set()
        if self._on_line is not None:
            self._on_line(line)

    def wait(self) -> list[ProfileStatus]:
        left = self.timeout - (time.monotonic() - self._started)
        self._all_in.wait(max(0.0, left))
        late: list[ProfileStatus] = []
        with self._lock:
            for name in self.names:
                if name not in self._lines:
                    why = f"no answer within {self.timeout:g} s"
                    marks = self._marks.get(name, (False, False))
                    line = unreadable(name, why, self._loaded.get(name), marks)
                    self._lines[name] = line
                    late.append(line)
            lines = [self._lines[n] for n in self.names]
        if self._on_line is not None:
            for line in late:
                self._on_line(line)
        return lines

    def stragglers(self) -> bool:
        return any(t.is_alive() for t in self._threads)


def worst_verdict(lines: Sequence[ProfileStatus]) -> Verdict:
    """The exit code of ``status --all``: the worst profile's, as ``Verdict.worst`` ranks
    them (an UNKNOWN profile does not hide a CRITICAL one)."""
    return Verdict.worst(*(line.verdict for line in lines))

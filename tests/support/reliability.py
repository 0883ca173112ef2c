"""The ledger behind RELIABILITY.md: what the reliability tests did and what they saw.

A test takes the ``reliability`` fixture and records, as it goes, what it injected and
what it measured:

- ``fault(backend, fault, surface, recovered_s)``: a fault injected into a running
  console (PostgreSQL stopped, engine restarted...) and how long the console took to
  show it recovered, measured by the test;
- ``race(case, contenders, winner, others)``: two consoles doing the same thing at once,
  who won and what the others were told;
- ``hostile(kind, tried)``: hostile inputs fed through the product;
- ``secrets(planted, searched)``: secrets planted and outputs searched for them.

What a record *proves* comes from pytest, not from the test: a record counts as held
only when its test passed; a failed test turns its records into failures (a hostile input
that crashed, a fault not recovered, a secret found). At the end of a run that selected
the whole suite (no ``-k``/``-m``, no file or node arguments) the plugin writes
``RELIABILITY.md``; a partial run leaves it alone and says so.
"""

from __future__ import annotations

import datetime as dt
import platform
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "RELIABILITY.md"


@dataclass
class Fault:
    backend: str
    fault: str
    surface: str
    recovered_s: float | None


@dataclass
class Race:
    case: str
    contenders: int
    winner: str
    others: str


@dataclass
class CaseRecords:
    """What one test recorded, and (after it ran) whether it passed."""

    nodeid: str
    faults: list[Fault] = field(default_factory=list)
    races: list[Race] = field(default_factory=list)
    hostile: dict[str, int] = field(default_factory=dict)
    planted: int = 0
    searched: int = 0
    passed: bool | None = None  # None: the test did not finish its call phase


class Recorder:
    """The fixture's object: one per test."""

    def __init__(self, records: CaseRecords) -> None:
        self._r = records

    def fault(self, backend: str, fault: str, surface: str, recovered_s: float | None) -> None:
        """``recovered_s``: seconds from the fault's end until the console showed the
        backend healthy again (None when the case has no recovery, e.g. a refused action)."""
        self._r.faults.append(Fault(backend, fault, surface, recovered_s))

    def race(self, case: str, contenders: int, winner: str, others: str) -> None:
        self._r.races.append(Race(case, contenders, winner, others))

    def hostile(self, kind: str, tried: int = 1) -> None:
        self._r.hostile[kind] = self._r.hostile.get(kind, 0) + tried

    def secrets(self, planted: int, searched: int) -> None:
        self._r.planted += planted
        self._r.searched += searched


_LEDGER: dict[str, CaseRecords] = {}


@pytest.fixture
def reliability(request: pytest.FixtureRequest) -> Iterator[Recorder]:
    records = _LEDGER.setdefault(request.node.nodeid, CaseRecords(request.node.nodeid))
    yield Recorder(records)


@pytest.hookimpl(trylast=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    records = _LEDGER.get(report.nodeid)
    if records is None:
        return
    if report.when == "call":
        records.passed = report.passed
    elif report.failed:  # set-up or tear-down failed: nothing it recorded is proven
        records.passed = False


def _whole_suite(config: pytest.Config) -> bool:
    opt = config.option
    if getattr(opt, "keyword", "") or getattr(opt, "markexpr", "") or getattr(opt, "lf", False):
        return False
    args = [a for a in config.args if a]
    return args in ([], ["tests"], [str(ROOT / "tests")]) or all(
        Path(a).resolve() == ROOT / "tests" for a in args
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _LEDGER:
        return
    if not _whole_suite(session.config):
        return
    REPORT.write_text(render(list(_LEDGER.values()), dt.datetime.now(dt.UTC)))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not _LEDGER:
        return
    if _whole_suite(config):
        terminalreporter.write_line(f"reliability figures written to {REPORT.name}")
    else:
        terminalreporter.write_line(
            f"{REPORT.name} not rewritten: only the whole suite (`make test`) writes it"
        )


# --------------------------------------------------------------------------- the report


def _secs(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} s"


def _held(records: CaseRecords) -> str:
    return {True: "held", False: "FAILED", None: "did not finish"}[records.passed]


def render(ledger: list[CaseRecords], now: dt.datetime) -> str:
    """RELIABILITY.md from the run's records (pure: tested on its own)."""
    out = [
        "# Reliability",
        "",
        "Written by the test suite (`make test`; `tests/support/reliability.py`) from what",
        "the reliability tests injected and measured, against the real PostgreSQL, Docker",
        "engine, Redis and API stand-in. A case is *held* only when its test passed.",
        f"Last run: {now:%Y-%m-%d %H:%M} UTC on {platform.node() or 'this machine'},"
        f" Python {platform.python_version()}.",
        "Recovery times are what one run measured (not asserted by any test; on these",
        "shared machines they vary by a third from run to run).",
        "",
    ]
    faults = [(r, f) for r in ledger for f in r.faults]
    out += ["## Faults injected into a running console", ""]
    if faults:
        out += [
            "| backend | fault | where | recovered after | result |",
            "|---|---|---|---|---|",
        ]
        for r, f in sorted(faults, key=lambda rf: (rf[1].backend, rf[1].fault, rf[1].surface)):
            out.append(
                f"| {f.backend} | {f.fault} | {f.surface} | {_secs(f.recovered_s)} | {_held(r)} |"
            )
        held = sum(1 for r, _ in faults if r.passed)
        out += ["", f"{len(faults)} faults injected, {held} recovered as expected.", ""]
    else:
        out += ["No fault was injected in this run.", ""]
    races = [(r, c) for r in ledger for c in r.races]
    out += ["## Concurrency", ""]
    if races:
        out += [
            "| case | contenders | winner | the others were told | result |",
            "|---|---|---|---|---|",
        ]
        for r, c in sorted(races, key=lambda rc: rc[1].case):
            out.append(f"| {c.case} | {c.contenders} | {c.winner} | {c.others} | {_held(r)} |")
        out.append("")
    else:
        out += ["No concurrency case ran in this run.", ""]
    kinds: dict[str, list[int]] = {}
    for r in ledger:
        for kind, n in r.hostile.items():
            tried_failed = kinds.setdefault(kind, [0, 0])
            tried_failed[0] += n
            tried_failed[1] += 0 if r.passed else n
    out += ["## Hostile inputs", ""]
    if kinds:
        out += ["| kind | inputs tried | crashes or misrenders |", "|---|---|---|"]
        for kind in sorted(kinds):
            tried, failed = kinds[kind]
            out.append(f"| {kind} | {tried} | {failed} |")
        total = sum(t for t, _ in kinds.values())
        bad = sum(f for _, f in kinds.values())
        out += ["", f"{total} hostile inputs tried, {bad} crashes or misrenders found.", ""]
    else:
        out += ["No hostile input was tried in this run.", ""]
    planted = sum(r.planted for r in ledger)
    searched = sum(r.searched for r in ledger)
    leaking = [r.nodeid for r in ledger if (r.planted or r.searched) and not r.passed]
    out += ["## Secrets", ""]
    if planted or searched:
        out.append(
            f"{planted} secrets planted, {searched} outputs searched (screens, stdout and "
            f"stderr, JSON, the audit log, files the console wrote): "
            f"{'hits in ' + ', '.join(leaking) if leaking else '0 hits'}."
        )
    else:
        out.append("No secret search ran in this run.")
    out.append("")
    return "\n".join(out)

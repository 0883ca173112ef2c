"""A byte that is not UTF-8 in the audit log costs that line, never the log (issue 13, #7).

``audit`` crashed on it and the TUI's audit view (``L``) stayed on "loading…" for ever.
The line is skipped and counted: ``audit`` and the audit view show the readable entries
and say how many lines were skipped. The real program in a subprocess, and the real TUI.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from magflow_console.actions.audit import AuditLog
from magflow_console.backend import Backend
from magflow_console.config import load_config
from magflow_console.tui.app import MagflowApp
from magflow_console.tui.screens.audit import AuditScreen
from magflow_console.tui.widgets.table import LiveTable
from tests.support.cli import run_cli
from tests.tui.helpers import table_rows, wait_for


def _audit_with_a_foreign_byte(path: Path) -> AuditLog:
    log = AuditLog(path)
    log.record(profile="prod", action="migrate", params={}, outcome="ok", detail="first")
    with path.open("ab") as f:
        f.write(b'{"at": "2025-10-21T20:46:52+00:00", "detail": "caf\xe9"}\n')  # latin-1
        f.write(b"\xff\xfe garbage\n")
    log.record(profile="prod", action="sync", params={}, outcome="failed", detail="second")
    return log


def test_audit_skips_and_counts_what_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "state" / "magflow-console" / "audit.jsonl"
    path.parent.mkdir(parents=True)
    _audit_with_a_foreign_byte(path)
    proc = run_cli(["audit"], {}, tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "second" in proc.stdout and "first" in proc.stdout
    assert "2 unreadable lines skipped" in proc.stdout, proc.stdout
    doc = json.loads(run_cli(["audit", "--json"], {}, tmp_path).stdout)
    assert [e["detail"] for e in doc["entries"]] == ["second", "first"]
    assert doc["skipped"] == 2 and doc["error"] is None


def test_audit_of_a_file_that_cannot_be_read(tmp_path: Path) -> None:
    path = tmp_path / "state" / "magflow-console" / "audit.jsonl"
    path.mkdir(parents=True)  # a directory where the file should be
    proc = run_cli(["audit"], {}, tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "cannot be read" in proc.stdout, proc.stdout
    doc = json.loads(run_cli(["audit", "--json"], {}, tmp_path).stdout)
    assert doc["entries"] == [] and "cannot be read" in doc["error"]


@pytest.mark.anyio
async def test_the_audit_view_shows_what_it_can_read(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _audit_with_a_foreign_byte(path)
    loaded = load_config(
        environ={"XDG_CONFIG_HOME": "/nonexistent", "MAGFLOW_CONSOLE_AUDIT_LOG": str(path)},
        overrides={
            "database.url": "postgresql://app@127.0.0.1:9/x",
            "docker.host": "unix:///nonexistent.sock",
            "api.url": "http://127.0.0.1:9",
            "redis.url": "redis://127.0.0.1:9/0",
        },
    )
    app = MagflowApp(Backend(loaded), refresh_loops=False, watch_events=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, AuditScreen), "the audit view")
        table = app.screen.query_one(LiveTable)
        await wait_for(pilot, lambda: len(table._shown) == 2, "the two readable entries")
        assert [r[5] for r in table_rows(table).values()] == ["second", "first"]
        status = str(app.screen.query_one("#audit-status").render())
        assert "2 entries" in status and "2 unreadable lines skipped" in status, status

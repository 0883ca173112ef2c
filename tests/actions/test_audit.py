"""The audit log records every attempt (who, when, profile, action, params, outcome) and
never a secret; ``audit_view`` turns it into rows, newest first."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import socket
from pathlib import Path

import psycopg
import pytest

from magflow_console.actions import admins
from magflow_console.actions.audit import AuditLog
from magflow_console.actions.audit_view import AuditRows, audit_rows, format_table, to_row
from magflow_console.actions.guard import ActionRefused, ActionResult
from magflow_console.reference.urls import to_libpq
from tests.actions.test_admins import PASSWORD, audit_entries, make_ctx

pytestmark = pytest.mark.postgres


def test_every_attempt_is_audited_with_who_when_profile_params_and_no_secret(
    tmp_path: Path, head_db_url: str
) -> None:
    ctx = make_ctx(tmp_path, head_db_url)
    email = "audited@magflow.example"
    plan = admins.plan_create_admin(ctx, email, "Audited Admin")
    ctx.cancelled(plan)  # the user said no first
    assert admins.execute_create_admin(ctx, plan, PASSWORD).ok
    reset = admins.plan_reset_password(ctx, email)
    with pytest.raises(ActionRefused):
        admins.execute_reset_password(ctx, reset, "short")  # refused: too short
    ro = make_ctx(tmp_path, head_db_url, read_only=True)
    with pytest.raises(ActionRefused):
        admins.plan_deactivate_admin(ro, email)
    failing = admins.plan_deactivate_admin(ctx, email)
    result = ctx.execute(failing, lambda: ActionResult(False, "the database went away"))
    assert not result.ok

    entries = audit_entries(tmp_path)
    assert [(e["action"], e["outcome"]) for e in entries] == [
        ("admin.create", "cancelled"),
        ("admin.create", "ok"),
        ("admin.reset_password", "refused"),
        ("admin.deactivate", "refused"),
        ("admin.deactivate", "failed"),
    ]
    who = f"{getpass.getuser()}@{socket.gethostname()}"
    for e in entries:
        assert e["who"] == who and e["profile"] == "test"
        when = dt.datetime.fromisoformat(e["at"])
        assert when.tzinfo is not None
        assert abs(dt.datetime.now(dt.UTC) - when) < dt.timedelta(hours=1)
    assert entries[1]["params"] == {
        "email": email, "full_name": "Audited Admin", "exists": False
    }  # fmt: skip
    assert "read-only" in entries[3]["detail"]
    assert entries[4]["detail"] == "the database went away"

    with psycopg.connect(to_libpq(head_db_url)) as conn:
        row = conn.execute(
            "SELECT hashed_password FROM app.users WHERE email = %s", [email]
        ).fetchone()
    assert row is not None
    raw = (tmp_path / "audit.jsonl").read_text()
    assert PASSWORD not in raw and row[0] not in raw and "$2b$" not in raw and "short" not in raw


def test_rows_are_newest_first_limited_and_cleaned(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    for i in range(5):
        log.record(
            profile="prod", action=f"act.{i}", params={"n": i}, outcome="ok", detail=f"did {i}"
        )
    log.record(
        profile="prod",
        action="admin.create",
        params={"email": "x@y.ro", "full_name": "X Y"},
        outcome="refused",
        detail="bad\x1b[31m red\x07 text\nsecond line",
    )
    rows = audit_rows(log, limit=3)
    assert [r.action for r in rows] == ["admin.create", "act.4", "act.3"]
    # the escape sequence goes; the bell is made visible, not rung (render.text.clean)
    assert rows[0].detail == "bad red\\x07 text second line"
    assert rows[0].params == "email=x@y.ro full_name='X Y'"
    assert rows[0].outcome == "refused" and rows[0].profile == "prod"
    assert rows[0].when.endswith("Z") and len(rows[0].when) == 20
    table = format_table(rows)
    assert table[0].split()[:5] == ["WHEN", "WHO", "PROFILE", "ACTION", "OUTCOME"]
    assert "admin.create" in table[1] and "[email=x@y.ro full_name='X Y']" in table[1]
    assert audit_rows(tmp_path / "missing.jsonl") == []
    assert format_table(AuditRows([])) == ["(no audit entries)"]


def test_foreign_lines_are_scrubbed_again_on_display(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    entry = {
        "at": "2025-10-21T20:46:52+00:00",
        "who": "ops@host",
        "profile": "prod",
        "action": "admin.reset_password",
        "params": {"email": "a@b.ro", "password": "hunter2-hunter2", "api_token": "tok-123"},
        "outcome": "ok",
        "detail": "",
    }
    path.write_text(json.dumps(entry) + "\nnot json\n")
    rows = audit_rows(path)
    assert len(rows) == 1
    shown = rows[0].params + json.dumps(rows[0].entry)
    assert "hunter2" not in shown and "tok-123" not in shown
    assert to_row(entry).entry["params"]["password"] == "***"

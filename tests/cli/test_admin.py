"""Headless ``admin``, ``sync`` and ``audit`` commands: exit codes 0 ok / 2 failed /
3 refused, passwords only from stdin (or a TTY), never echoed."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from passlib.context import CryptContext

from magflow_console import main as program
from magflow_console.reference.urls import to_libpq
from tests.actions.test_admins import OTHER_PASSWORD, PASSWORD, audit_entries
from tests.support.fake_api import FakeMagflowApi

pytestmark = pytest.mark.postgres

REPO = Path(__file__).resolve().parents[2]
API_USER_ENV = "MFC_TEST_CLI_API_USER"
API_PASS_ENV = "MFC_TEST_CLI_API_PASSWORD"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(str(value))


def write_config(tmp_path: Path, db_url: str, **profile: Any) -> Path:
    """A config file with one profile ``test`` and the audit log in ``tmp_path``."""
    lines = [
        f"audit_log = {_toml(tmp_path / 'audit.jsonl')}",
        'default_profile = "test"',
        "[profiles.test]",
    ]
    sections = {"database": {"url": db_url}}
    for key, value in profile.items():
        if isinstance(value, dict):
            sections[key] = value
        else:
            lines.append(f"{key} = {_toml(value)}")
    for name, values in sections.items():
        lines.append(f"[profiles.test.{name}]")
        lines += [f"{k} = {_toml(v)}" for k, v in values.items()]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_cli(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    config: Path,
    *argv: str,
    stdin: str = "",
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))  # not a TTY
    try:
        code = program.main(["--config", str(config), *argv])
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def user(db_url: str, email: str) -> tuple[Any, ...] | None:
    with psycopg.connect(to_libpq(db_url)) as conn:
        return conn.execute(
            "SELECT hashed_password, is_active, full_name FROM app.users WHERE email = %s",
            [email],
        ).fetchone()


@pytest.fixture
def config(tmp_path: Path, head_db_url: str) -> Path:
    return write_config(tmp_path, head_db_url)


def test_admin_create_with_password_stdin_and_yes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], config: Path,
    head_db_url: str, tmp_path: Path,
) -> None:  # fmt: skip
    email = "cli.admin@magflow.example"
    code, out, err = run_cli(
        monkeypatch, capsys, config, "admin", "create", "--email", email,
        "--full-name", "CLI Admin", "--password-stdin", "--yes", stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert code == 0, err
    assert f"OK: Created admin user {email}" in out
    assert "Operation: create admin user" in err
    row = user(head_db_url, email)
    assert row is not None and row[2] == "CLI Admin"
    assert CryptContext(schemes=["bcrypt"]).verify(PASSWORD, row[0])
    assert PASSWORD not in out + err and row[0] not in out + err
    # a second create reports that it exists (exit 0) and reads no password
    code, out, _ = run_cli(
        monkeypatch, capsys, config, "admin", "create", "--email", email,
        "--full-name", "Other", "--password-stdin", "--yes", stdin=OTHER_PASSWORD + "\n",
    )  # fmt: skip
    assert code == 0 and "already exists" in out
    assert user(head_db_url, email) == row
    assert [e["outcome"] for e in audit_entries(tmp_path)] == ["ok", "ok"]


def test_no_tty_and_no_yes_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], config: Path,
    head_db_url: str, tmp_path: Path,
) -> None:  # fmt: skip
    code, _, err = run_cli(
        monkeypatch, capsys, config, "admin", "create", "--email", "nope@magflow.example",
        "--full-name", "Nope", "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert code == 3
    assert "refused: No TTY to confirm on and no --yes" in err
    assert user(head_db_url, "nope@magflow.example") is None
    assert audit_entries(tmp_path)[-1]["outcome"] == "refused"


def test_password_is_never_an_argument_and_needs_stdin_without_tty(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], config: Path,
    head_db_url: str,
) -> None:  # fmt: skip
    code, _, err = run_cli(
        monkeypatch, capsys, config, "admin", "create", "--email", "arg@magflow.example",
        "--full-name", "Arg", "--password", PASSWORD, "--yes",
    )  # fmt: skip
    assert code == 3 and "unrecognized arguments" in err
    code, _, err = run_cli(
        monkeypatch, capsys, config, "admin", "create", "--email", "arg@magflow.example",
        "--full-name", "Arg", "--yes",
    )  # fmt: skip
    assert code == 3 and "use --password-stdin" in err
    code, _, err = run_cli(
        monkeypatch, capsys, config, "admin", "create", "--email", "arg@magflow.example",
        "--full-name", "Arg", "--password-stdin", "--yes", stdin="short\n",
    )  # fmt: skip
    assert code == 3 and "at least 12 characters" in err and "short\n" not in err
    assert user(head_db_url, "arg@magflow.example") is None


def test_reset_deactivate_and_list(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], config: Path,
    head_db_url: str,
) -> None:  # fmt: skip
    email = "cycle@magflow.example"
    base = ("--email", email, "--yes")
    assert run_cli(monkeypatch, capsys, config, "admin", "create", *base, "--full-name",
                   "Cycle", "--password-stdin", stdin=PASSWORD)[0] == 0  # fmt: skip
    old = user(head_db_url, email)
    code, out, err = run_cli(
        monkeypatch, capsys, config, "admin", "reset-password", *base, "--password-stdin",
        stdin=OTHER_PASSWORD + "\r\n",
    )  # fmt: skip
    assert code == 0, err
    assert "No Redis URL (" in out and OTHER_PASSWORD not in out + err
    new = user(head_db_url, email)
    assert new is not None and old is not None and new[0] != old[0]
    assert CryptContext(schemes=["bcrypt"]).verify(OTHER_PASSWORD, new[0])

    code, out, _ = run_cli(monkeypatch, capsys, config, "admin", "list", "--json")
    assert code == 0
    doc = json.loads(out)
    listed = {a["email"]: a for a in doc["admins"]}
    assert listed[email]["is_active"] is True and listed[email]["has_admin_role"] is True
    assert "$2b$" not in out and "hashed_password" not in out

    code, out, _ = run_cli(monkeypatch, capsys, config, "admin", "deactivate", *base)
    assert code == 0 and f"Deactivated {email}" in out
    assert user(head_db_url, email)[1] is False  # type: ignore[index]
    code, out, _ = run_cli(monkeypatch, capsys, config, "admin", "list")
    assert code == 0 and email in out and "INACTIVE" in out

    code, _, err = run_cli(
        monkeypatch, capsys, config, "admin", "deactivate", "--email", "ghost@magflow.example",
        "--yes",
    )  # fmt: skip
    assert code == 3 and "No user with email ghost@magflow.example" in err


@pytest.mark.parametrize(
    "argv",
    [
        ("admin", "create", "--email", "ro@magflow.example", "--full-name", "RO",
         "--password-stdin", "--yes", "--read-only"),
        ("--read-only", "admin", "deactivate", "--email", "ro@magflow.example", "--yes"),
        ("admin", "reset-password", "--read-only", "--email", "ro@magflow.example",
         "--password-stdin", "--yes"),
        ("sync", "--account", "main", "--yes", "--read-only"),
    ],
)  # fmt: skip
def test_read_only_refuses_every_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], config: Path,
    argv: tuple[str, ...], tmp_path: Path,
) -> None:  # fmt: skip
    code, _, err = run_cli(monkeypatch, capsys, config, *argv, stdin=PASSWORD)
    assert code == 3 and "read-only" in err
    assert audit_entries(tmp_path)[-1]["outcome"] == "refused"


def test_protected_profile_needs_confirm_with_yes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    head_db_url: str,
) -> None:  # fmt: skip
    config = write_config(tmp_path, head_db_url, protected=True)
    args = ("admin", "create", "--email", "prot@magflow.example", "--full-name", "P",
            "--password-stdin", "--yes")  # fmt: skip
    code, _, err = run_cli(monkeypatch, capsys, config, *args, stdin=PASSWORD)
    assert code == 3 and "--confirm test" in err
    code, _, err = run_cli(monkeypatch, capsys, config, *args, "--confirm", "test", stdin=PASSWORD)
    assert code == 0, err
    assert user(head_db_url, "prot@magflow.example") is not None


def test_sync_command_api_strategy(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    head_db_url: str, fake_api: FakeMagflowApi,
) -> None:  # fmt: skip
    monkeypatch.setenv(API_USER_ENV, fake_api.credentials.email)
    monkeypatch.setenv(API_PASS_ENV, fake_api.credentials.password)
    config = write_config(
        tmp_path, head_db_url, sync={"strategy": "api"},
        api={"url": fake_api.base_url, "username_env": API_USER_ENV, "password_env": API_PASS_ENV},
    )  # fmt: skip
    code, _, err = run_cli(monkeypatch, capsys, config, "sync", "--account", "fbe")
    assert code == 3 and "No TTY to confirm on" in err and fake_api.sync_requests == []
    code, out, err = run_cli(
        monkeypatch, capsys, config, "sync", "--account", "fbe", "--max-pages", "2", "--yes"
    )
    assert code == 0, err
    assert "not waiting for the outcome" in out
    assert fake_api.sync_requests[-1]["account_type"] == "fbe"
    assert fake_api.sync_requests[-1]["max_pages"] == 2
    code, out, err = run_cli(
        monkeypatch, capsys, config, "sync", "--account", "main", "--sync-call", "--wait", "--yes"
    )
    assert code == 2 and "0 items" in err
    code, _, err = run_cli(monkeypatch, capsys, config, "sync", "--account", "all", "--yes")
    assert code == 3 and "invalid choice" in err
    assert fake_api.credentials.password not in (tmp_path / "audit.jsonl").read_text()


def test_audit_command_shows_the_newest_entries(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], config: Path,
) -> None:  # fmt: skip
    for email in ("a1@magflow.example", "a2@magflow.example"):
        run_cli(monkeypatch, capsys, config, "admin", "create", "--email", email,
                "--full-name", "A", "--password-stdin", "--yes", stdin=PASSWORD)  # fmt: skip
    run_cli(monkeypatch, capsys, config, "admin", "deactivate", "--email", "a1@magflow.example")
    code, out, _ = run_cli(monkeypatch, capsys, config, "audit", "--json", "--limit", "2")
    assert code == 0
    entries = json.loads(out)["entries"]
    assert [(e["action"], e["outcome"]) for e in entries] == [
        ("admin.deactivate", "refused"),
        ("admin.create", "ok"),
    ]
    assert entries[1]["params"]["email"] == "a2@magflow.example"
    code, out, _ = run_cli(monkeypatch, capsys, config, "audit")
    assert code == 0 and out.splitlines()[0].startswith("WHEN")
    assert len(out.splitlines()) == 4 and PASSWORD not in out


def test_end_to_end_in_a_subprocess(tmp_path: Path, head_db_url: str) -> None:
    """The installed entry point, a real pipe on stdin (not a TTY)."""
    config = write_config(tmp_path, head_db_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAGFLOW_CONSOLE_")}
    proc = subprocess.run(
        [sys.executable, "-m", "magflow_console", "--config", str(config), "admin", "create",
         "--email", "sub@magflow.example", "--full-name", "Sub", "--password-stdin", "--yes"],
        input=PASSWORD + "\n", capture_output=True, text=True, cwd=REPO, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Created admin user sub@magflow.example" in proc.stdout
    assert PASSWORD not in proc.stdout + proc.stderr
    assert user(head_db_url, "sub@magflow.example") is not None

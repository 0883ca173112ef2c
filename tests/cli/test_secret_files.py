"""A config file naming a secret, or a secret file, that other users can read: said once
by ``info`` and ``doctor`` (a finding with the ``chmod``) and marked in the TUI's header.

Real files with real modes; the real program in a subprocess; the real TUI.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.text import Text

from magflow_console.backend import Backend
from magflow_console.config import load_config
from magflow_console.config_sources import exposed_secret_files
from magflow_console.diagnose.doctor import to_act_on
from magflow_console.tui.app import MagflowApp
from magflow_console.tui.screens.findings import FindingsScreen
from magflow_console.tui.widgets.header import SECRETS_MARKER, StatusHeader, with_marker
from tests.support.cli import run_cli
from tests.tui.helpers import wait_for, wait_loaded

PASSWORD = "pw-in-a-file-7361"
#: nothing listens there: doctor's sections fail fast
UNREACHABLE = [
    "--db-url", "postgresql://app@127.0.0.1:9/magflow",
    "--docker-host", "unix:///nonexistent/docker.sock",
    "--api-url", "http://127.0.0.1:9",
    "--redis-url", "redis://127.0.0.1:9/0",
]  # fmt: skip


def setup_files(tmp_path: Path, config_mode: int, secret_mode: int) -> tuple[Path, Path]:
    secret = tmp_path / "db-password"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(secret_mode)
    config = tmp_path / "config.toml"
    config.write_text(f'[profiles.local.database]\npassword_file = "{secret}"\n')
    config.chmod(config_mode)
    return config, secret


def test_which_files_are_exposed(tmp_path: Path) -> None:
    config, secret = setup_files(tmp_path, 0o644, 0o640)
    profile = {"database": {"password_file": str(secret)}, "api": {"password_file": None}}
    found = {e.path: e for e in exposed_secret_files(config, profile)}
    assert set(found) == {config, secret}
    assert found[config].mode == 0o644 and "names a secret file" in found[config].what
    assert found[secret].what == "a secret file (database.password_file)"
    assert found[secret].warning() == (
        f"{secret} is readable by other users (mode 0640): it is a secret file "
        f"(database.password_file); run `chmod 600 {secret}`"
    )
    config.chmod(0o600)
    secret.chmod(0o600)
    assert exposed_secret_files(config, profile) == []
    # a config file that names no secret may be world-readable
    plain = tmp_path / "plain.toml"
    plain.write_text("[profiles.local]\nread_only = true\n")
    plain.chmod(0o644)
    assert exposed_secret_files(plain, {}) == []
    # one that holds a password in a URL may not; a file that does not exist is not reported
    inline = tmp_path / "inline.toml"
    inline.write_text('[profiles.local.database]\nurl = "postgresql://app:pw@db/magflow"\n')
    inline.chmod(0o604)
    assert [e.path for e in exposed_secret_files(inline, {})] == [inline]
    assert exposed_secret_files(None, {"api": {"password_file": str(tmp_path / "gone")}}) == []


def test_info_and_doctor_say_it_once(tmp_path: Path) -> None:
    config, secret = setup_files(tmp_path, 0o644, 0o644)
    info = run_cli(["--config", str(config), "info"], {"COLUMNS": "400"}, tmp_path)
    assert info.returncode == 0, info.stderr
    warnings = [line for line in info.stdout.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 2, info.stdout
    assert f"run `chmod 600 {config}`" in warnings[0] and str(secret) in warnings[1]
    doc = json.loads(
        run_cli(["--config", str(config), "doctor", "--json", *UNREACHABLE], {}, tmp_path).stdout
    )
    found = [f for f in doc["findings"] if f["code"] == "secret_file_readable"]
    assert [(f["level"], f["subject"]) for f in found] == [
        ("WARNING", str(config)),
        ("WARNING", str(secret)),
    ]
    assert f"`chmod 600 {secret}`" in found[1]["next"][0]
    human = run_cli(["--config", str(config), "doctor", *UNREACHABLE], {"COLUMNS": "200"}, tmp_path)
    assert human.stdout.count("secret_file_readable:") == 2, human.stdout
    for proc in (info, human):
        assert PASSWORD not in proc.stdout + proc.stderr
    # fixed: nothing said
    config.chmod(0o600)
    secret.chmod(0o600)
    info = run_cli(["--config", str(config), "info"], {}, tmp_path)
    assert "Warning:" not in info.stdout
    doc = json.loads(
        run_cli(["--config", str(config), "doctor", "--json", *UNREACHABLE], {}, tmp_path).stdout
    )
    assert "secret_file_readable" not in {f["code"] for f in doc["findings"]}


def test_the_marker_goes_after_the_profile() -> None:
    text = Text(" magflow prod │ ● OK │ read 12:00 UTC", no_wrap=True, overflow="ellipsis")
    marked = with_marker(text, SECRETS_MARKER)
    assert marked.plain == f" magflow prod {SECRETS_MARKER} │ ● OK │ read 12:00 UTC"
    assert marked.no_wrap and with_marker(text, "") is text


@pytest.mark.anyio
async def test_the_tui_header_marks_it(tmp_path: Path) -> None:
    config, secret = setup_files(tmp_path, 0o600, 0o644)
    loaded = load_config(
        config_path=str(config),
        environ={},
        overrides={
            "database.url": "postgresql://app@127.0.0.1:9/magflow",
            "docker.host": "unix:///nonexistent/docker.sock",
            "api.url": "http://127.0.0.1:9",
            "redis.url": "redis://127.0.0.1:9/0",
        },
    )
    app = MagflowApp(Backend(loaded), watch_events=False)
    async with app.run_test(size=(120, 30)) as pilot:
        header = app.screen.query_one(StatusHeader)

        def shown() -> str:
            return str(header.render())

        await wait_for(pilot, lambda: SECRETS_MARKER in shown(), "the header's marker")
        assert shown().count(SECRETS_MARKER) == 1
        assert header.tooltip == (
            f"{secret} is readable by other users (mode 0644): it is a secret file "
            f"(database.password_file); run `chmod 600 {secret}`"
        )
        # the findings screen lists it as doctor does, and the header counts it
        await wait_loaded(pilot, app)
        await pilot.press("d")
        screen = app.screen
        assert isinstance(screen, FindingsScreen)
        await wait_for(
            pilot,
            lambda: "secret_file_readable" in {a.finding.code for a in screen.advice},
            "the findings screen to list secret_file_readable",
        )
        assert [
            a.finding.subject for a in screen.advice if a.finding.code == "secret_file_readable"
        ] == [str(secret)]
        assert to_act_on(screen.advice) == to_act_on(app.store.advice())


def test_a_secret_file_that_cannot_be_read_is_a_config_error(tmp_path: Path) -> None:
    """Missing or not UTF-8: one line naming the config file and the key, exit 3, before
    any source runs (it was a ``database_unreachable`` finding, or a traceback)."""
    config, secret = setup_files(tmp_path, 0o600, 0o600)
    secret.write_bytes(b"\xff\xfe" + PASSWORD.encode() + b"\n")
    for args in (["status"], ["doctor", "--json"], ["audit"]):
        proc = run_cli(["--config", str(config), *args, *UNREACHABLE[:2]], {}, tmp_path)
        assert proc.returncode == 3, (args, proc.stdout, proc.stderr)
        assert proc.stderr.splitlines() == [
            f"magflow-console: config error: {config}: profiles.local.database.password_file: "
            f"{secret} is not UTF-8 text"
        ], proc.stderr
        assert proc.stdout == "" and PASSWORD not in proc.stderr
    secret.unlink()
    proc = run_cli(["--config", str(config), "status"], {}, tmp_path)
    assert proc.returncode == 3 and proc.stderr.strip().endswith(
        f"profiles.local.database.password_file: cannot read {secret}: No such file or directory"
    ), proc.stderr

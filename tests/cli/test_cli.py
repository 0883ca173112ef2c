"""The CLI as a user meets it: real processes, exit codes, stderr, and no Textual import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MAGFLOW_CONSOLE_")}
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "magflow_console", *args],
        capture_output=True,
        text=True,
        env=base,
        cwd=cwd or ROOT,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def xdg(tmp_path: Path) -> dict[str, str]:
    return {
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "HOME": str(tmp_path),
    }


def test_info_lists_paths_profile_and_sources_with_password_masked(
    tmp_path: Path, xdg: dict[str, str]
) -> None:
    conf = tmp_path / "c.toml"
    conf.write_text(
        'default_profile = "prod"\n[profiles.prod]\nprotected = true\n'
        '[profiles.prod.database]\nurl = "postgresql://app:sup3rsecret@db:5433/magflow"\n'
    )
    proc = run(
        "info", "--config", str(conf), "--api-url", "http://api:8000", env=xdg | {"COLUMNS": "200"}
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert str(conf) in out and "found" in out
    assert "Active profile: prod" in out
    assert "sup3rsecret" not in out + proc.stderr
    assert "postgresql://app:***@db:5433/magflow" in out
    lines = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") >= 3}
    assert "cli" in lines["api.url"]
    assert str(conf) in lines["protected"]
    assert "default" in lines["sync.strategy"]


def test_info_searches_the_xdg_default(xdg: dict[str, str]) -> None:
    proc = run("info", env=xdg)
    assert proc.returncode == 0
    assert str(Path(xdg["XDG_CONFIG_HOME"]) / "magflow-console" / "config.toml") in proc.stdout
    assert "not found" in proc.stdout


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("[profiles.x\n", "malformed TOML"),
        ("[profiles.x]\nrefresh_intervall = 3\n", "profiles.x.refresh_intervall: unknown key"),
        ("[profiles.x]\nread_only = 'maybe'\n", "profiles.x.read_only"),
    ],
)
@pytest.mark.parametrize("command", ["info", "status", "migrations", "containers", "sync-logs"])
def test_broken_config_is_one_line_and_exit_3(
    tmp_path: Path, xdg: dict[str, str], content: str, needle: str, command: str
) -> None:
    conf = tmp_path / "bad.toml"
    conf.write_text(content)
    proc = run(command, "--config", str(conf), env=xdg)
    assert proc.returncode == 3
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert str(conf) in lines[0] and needle in lines[0]
    assert "Traceback" not in proc.stderr


def test_unknown_env_key_and_unknown_profile_exit_3(xdg: dict[str, str]) -> None:
    proc = run("status", env=xdg | {"MAGFLOW_CONSOLE_DATABSE__URL": "x"})
    assert proc.returncode == 3 and "MAGFLOW_CONSOLE_DATABSE__URL: unknown key" in proc.stderr
    proc = run("status", "--profile", "nope", env=xdg)
    assert proc.returncode == 3 and "profile 'nope' is not defined" in proc.stderr


def test_usage_error_exit_3(xdg: dict[str, str]) -> None:
    proc = run("frobnicate", env=xdg)
    assert proc.returncode == 3
    assert "invalid choice" in proc.stderr


def test_headless_commands_never_import_textual(xdg: dict[str, str], tmp_path: Path) -> None:
    """Textual never; and a cold `status --json` stays off the heavy imports it does not
    need (SQLAlchemy, rich, paramiko): start-up is most of its time (bench/)."""
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['magflow-console', 'status', '--json', '--db-url', "
        "'postgresql://nobody@127.0.0.1:1/none', '--docker-host', 'unix:///nonexistent.sock', "
        "'--api-url', 'http://127.0.0.1:1']\n"
        "try:\n    runpy.run_module('magflow_console', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print('TEXTUAL:', bad, file=sys.stderr)\n"
        "heavy = sorted(m for m in ('sqlalchemy', 'rich', 'paramiko') if m in sys.modules)\n"
        "print('HEAVY:', heavy, file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAGFLOW_CONSOLE_")} | xdg
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60
    )
    assert "TEXTUAL: []" in proc.stderr, proc.stderr
    assert "HEAVY: []" in proc.stderr, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["database"]["state"] == "error"


def test_status_json_with_everything_down_is_a_clean_document(xdg: dict[str, str]) -> None:
    proc = run(
        "status",
        "--json",
        "--db-url",
        "postgresql://app:pw-never-shown@127.0.0.1:1/magflow",
        "--docker-host",
        "unix:///nonexistent/docker.sock",
        "--api-url",
        "http://127.0.0.1:1",
        env=xdg,
    )
    assert "Traceback" not in proc.stderr
    assert "pw-never-shown" not in proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert proc.returncode == 2  # database unreachable is critical
    assert doc["verdict"] == "critical"
    for section in ("containers", "database", "migrations", "sync", "api"):
        assert doc[section]["state"] == "error", section
        assert doc[section]["error"], section
    assert "nonexistent/docker.sock" in doc["containers"]["error"]
    # the scripts come from the app container by default: the error says so, and why
    assert doc["migrations"]["error"].startswith(
        "The migrations are read from container magflow_app; Docker engine at "
        "unix:///nonexistent/docker.sock is not reachable"
    ), doc["migrations"]["error"]


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["status", "--help"]])
def test_version_and_help_do_not_load_the_config_stack(argv: list[str]) -> None:
    """What a person types first answers at once: argparse exits before pydantic loads."""
    probe = (
        "import sys, runpy\n"
        f"sys.argv = ['magflow-console', *{argv!r}]\n"
        "try:\n    runpy.run_module('magflow_console', run_name='__main__')\n"
        "except SystemExit as exc:\n    code = exc.code\n"
        "heavy = sorted(m for m in ('pydantic', 'pydantic_settings', 'psycopg', 'docker')"
        " if m in sys.modules)\n"
        "print('EXIT:', code, 'HEAVY:', heavy, file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert "EXIT: 0 HEAVY: []" in proc.stderr, proc.stderr
    assert proc.stdout.strip()

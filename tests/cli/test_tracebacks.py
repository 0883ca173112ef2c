"""Hostile input the console must answer with one line, never a traceback (issue 13, #7).

A database URL with a malformed IPv6 host, a config file that is not UTF-8, a terminal
that only takes ASCII: one line on stderr and exit 3 (the audit log's bad lines:
tests/actions/test_audit_unreadable.py). The real program in a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import ROOT, run_cli

SECRET = "s3cr3t-pw"


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 3, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert SECRET not in proc.stderr + proc.stdout
    return lines[0]


@pytest.mark.parametrize(
    ("url", "why"),
    [
        (f"postgresql://app:{SECRET}@[::1/magflow", "IPv6"),
        (f"postgresql://app:{SECRET}@::1]/magflow", "IPv6"),
        (f"postgresql://app:{SECRET}@[db-host]/magflow", "IPv6"),
        (f"postgresql://app:{SECRET}@db:54x/magflow", "port"),
    ],
)
def test_a_database_url_no_parser_takes_is_a_config_error(
    url: str, why: str, tmp_path: Path
) -> None:
    for args, env in (
        (["status", "--db-url", url], {}),
        (["doctor", "--json"], {"MAGFLOW_CONSOLE_DATABASE__URL": url}),
        ([], {"MAGFLOW_CONSOLE_DATABASE__URL_ENV": "PROD_DB", "PROD_DB": url}),  # the TUI
    ):
        line = one_error_line(run_cli(args, env, tmp_path))
        assert line.startswith("magflow-console: config error: "), line
        assert "database.url" in line and why in line, line
    env_line = one_error_line(
        run_cli(
            ["status"], {"MAGFLOW_CONSOLE_DATABASE__URL_ENV": "PROD_DB", "PROD_DB": url}, tmp_path
        )
    )
    assert "PROD_DB" in env_line, env_line


def test_other_urls_are_checked_as_well(tmp_path: Path) -> None:
    for flag, key in (
        ("--api-url", "api.url"),
        ("--redis-url", "redis.url"),
        ("--docker-host", "docker.host"),
    ):
        proc = run_cli(["status", flag, f"tcp://u:{SECRET}@[::1:2375"], {}, tmp_path)
        assert key in one_error_line(proc)


def test_a_config_file_that_is_not_utf8(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(b"[profiles.local]\nread_only = true\n# caf\xe9\n")
    for args in (["--config", str(config), "info"], ["--config", str(config)]):
        line = one_error_line(run_cli(args, {}, tmp_path))
        assert str(config) in line and "not UTF-8" in line and "0xe9" in line, line


def test_an_ascii_only_terminal(tmp_path: Path) -> None:
    ascii_only = {"PYTHONIOENCODING": "ascii"}
    line = one_error_line(run_cli(["info"], ascii_only, tmp_path))
    assert "encoding (ascii)" in line and "PYTHONIOENCODING=utf-8" in line, line
    # JSON is ASCII: it works
    proc = run_cli(
        ["status", "--json", "--db-url", "postgresql://app@127.0.0.1:9/x",
         "--docker-host", "unix:///nonexistent.sock", "--api-url", "http://127.0.0.1:9"],
        ascii_only, tmp_path,
    )  # fmt: skip
    assert json.loads(proc.stdout)["verdict"] in ("critical", "unknown"), proc.stderr
    # an error line that is not ASCII itself still prints, escaped
    line = one_error_line(
        run_cli(["--config", "/nonexistent/café.toml", "info"], ascii_only, tmp_path)
    )
    assert "caf\\xe9.toml" in line, line


def test_an_ascii_only_terminal_does_not_get_a_garbled_tui(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAGFLOW_CONSOLE_")}
    env |= {"XDG_CONFIG_HOME": str(tmp_path), "PYTHONIOENCODING": "ascii", "TERM": "xterm"}
    proc = subprocess.run(
        [sys.executable, "-m", "magflow_console", "--db-url", "postgresql://app@127.0.0.1:9/x"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=30, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    line = one_error_line(proc)
    assert "cannot show the TUI" in line, line

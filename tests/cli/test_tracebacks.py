"""Hostile input the console must answer with one line, never a traceback (issue 13, #7).

A database URL with a malformed IPv6 host, a config file that is not UTF-8: one line on
stderr and exit 3 (the audit log's bad lines:
tests/actions/test_audit_unreadable.py). The real program in a subprocess.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.cli import run_cli

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

"""Headless ``migrate``: confirmation policy, exit codes and the audit trail, in a real
subprocess against a real PostgreSQL (local strategy on the reference schema)."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

from magflow_console.reference import DEMO_TARGET, HEAD, SCRIPTS_DIR, current_revisions


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAGFLOW_CONSOLE_")}
    env.update(XDG_STATE_HOME=str(tmp_path / "state"), XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    return env


def _config(tmp_path: Path, url: str, *, protected: bool = False) -> Path:
    path = tmp_path / "console.toml"
    path.write_text(
        'default_profile = "prod"\n[profiles.prod]\n'
        f"protected = {'true' if protected else 'false'}\n"
        f'[profiles.prod.database]\nurl = "{url}"\n'
        f'[profiles.prod.alembic]\nstrategy = "local"\nscripts = "{SCRIPTS_DIR}"\n'
    )
    return path


def cli(
    tmp_path: Path, url: str, *args: str, protected: bool = False
) -> subprocess.CompletedProcess[str]:
    conf = _config(tmp_path, url, protected=protected)
    return subprocess.run(
        [sys.executable, "-m", "magflow_console", *args, "--config", str(conf)],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, env=_env(tmp_path), timeout=180,
    )  # fmt: skip


def audit(tmp_path: Path) -> list[dict[str, object]]:
    path = tmp_path / "state" / "magflow-console" / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_migrate_yes_applies_and_streams(tmp_path: Path, demo_db_url: str) -> None:
    res = cli(tmp_path, demo_db_url, "migrate", "--yes")
    assert res.returncode == 0, res.stderr
    assert f"Running upgrade {DEMO_TARGET} -> {HEAD}" in res.stdout
    assert f"OK: Migrated to {HEAD}" in res.stdout
    assert f"apply {HEAD}" in res.stderr  # the plan
    assert current_revisions(demo_db_url) == (HEAD,)
    res = cli(tmp_path, demo_db_url, "migrate", "--yes")
    assert res.returncode == 0 and "Nothing to do" in res.stdout
    assert [e["outcome"] for e in audit(tmp_path)] == ["ok", "ok"]


def test_migrate_without_tty_and_without_yes_is_refused(tmp_path: Path, demo_db_url: str) -> None:
    res = cli(tmp_path, demo_db_url, "migrate")
    assert res.returncode == 3
    assert "No TTY" in res.stderr
    assert current_revisions(demo_db_url) == (DEMO_TARGET,)
    assert audit(tmp_path)[-1]["outcome"] == "refused"


def test_protected_profile_needs_its_name(tmp_path: Path, demo_db_url: str) -> None:
    res = cli(tmp_path, demo_db_url, "migrate", "--yes", protected=True)
    assert res.returncode == 3 and "--confirm prod" in res.stderr
    assert current_revisions(demo_db_url) == (DEMO_TARGET,)
    res = cli(tmp_path, demo_db_url, "migrate", "--yes", "--confirm", "prod", protected=True)
    assert res.returncode == 0, res.stderr
    assert current_revisions(demo_db_url) == (HEAD,)


def test_read_only_global_and_command_forms(tmp_path: Path, demo_db_url: str) -> None:
    for args in (("--read-only", "migrate", "--yes"), ("migrate", "--read-only", "--yes")):
        res = cli(tmp_path, demo_db_url, *args)
        assert res.returncode == 3 and "read-only" in res.stderr
    assert current_revisions(demo_db_url) == (DEMO_TARGET,)


def test_unknown_target_is_refused(tmp_path: Path, demo_db_url: str) -> None:
    res = cli(tmp_path, demo_db_url, "migrate", "--to", "nope_nope", "--yes")
    assert res.returncode == 3 and "No revision 'nope_nope'" in res.stderr


def test_answer_other_than_yes_on_a_tty_cancels(tmp_path: Path, demo_db_url: str) -> None:
    conf = _config(tmp_path, demo_db_url)
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "magflow_console", "migrate", "--config", str(conf)],
        stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(tmp_path),
    )  # fmt: skip
    os.close(slave)
    try:
        os.write(master, b"no\n")  # typed ahead: waits in the terminal until input() reads it
        out, err = proc.communicate(timeout=120)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    assert b"Type 'yes' to proceed" in out
    assert proc.returncode == 3, err
    assert b"Cancelled" in err
    assert current_revisions(demo_db_url) == (DEMO_TARGET,)
    assert audit(tmp_path)[-1]["outcome"] == "cancelled"

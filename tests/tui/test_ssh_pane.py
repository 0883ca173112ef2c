"""The TUI's containers pane with an ``ssh://`` Docker host: a real sshd in front of the
real test engine (``tests/support/ssh_server.py``), the demo database and the fake API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from magflow_console.tui.widgets.containers_pane import ContainersPane
from tests.support.ssh_server import SshDocker
from tests.tui.helpers import real_app, real_config, screen_text, table_rows, wait_for, wait_loaded

pytestmark = [pytest.mark.anyio, pytest.mark.docker, pytest.mark.postgres]


async def test_containers_pane_over_ssh(
    ssh_home: SshDocker,
    docker_engine: Any,
    demo_db_url: str,
    stack_containers: Any,
    fake_api: Any,
) -> None:
    loaded = real_config(
        db_url=demo_db_url,
        docker_engine=docker_engine,
        stack=stack_containers,
        api_url=fake_api.base_url,
        **{"docker.host": ssh_home.url},  # not the socket: through SSH
    )
    app = real_app(loaded)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_loaded(pilot, app)
        pane = app.screen.query_one(ContainersPane)
        assert app.store.containers is not None and app.store.containers.state == "ok", (
            app.store.containers.error if app.store.containers else None
        )
        rows = table_rows(pane.table)
        names = stack_containers.names
        assert rows[names["app"]][:3] == ["app", "running", "healthy"]
        assert rows[names["worker"]][:3] == ["worker", "running", "unhealthy"]
        assert "5 containers" in str(pane.border_subtitle)


async def test_containers_pane_says_why_ssh_fails(
    ssh_home: SshDocker,
    docker_engine: Any,
    demo_db_url: str,
    stack_containers: Any,
    fake_api: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOME", str(ssh_home.make_home(tmp_path / "h", known_host=False)))
    loaded = real_config(
        db_url=demo_db_url,
        docker_engine=docker_engine,
        stack=stack_containers,
        api_url=fake_api.base_url,
        **{"docker.host": ssh_home.url},  # not the socket: through SSH
    )
    app = real_app(loaded)
    async with app.run_test(size=(200, 40)) as pilot:
        await wait_loaded(pilot, app)
        pane = app.screen.query_one(ContainersPane)
        await wait_for(pilot, lambda: pane.has_class("-error"), "the pane in its error state")
        message = " ".join(str(pane.query_one(".pane-message").render()).split())
        assert message.startswith(f"✗ Docker engine at {ssh_home.url} is not reachable: ")
        assert f"the SSH host key of [127.0.0.1]:{ssh_home.port} is unknown" in message
        shown = screen_text(app)
        assert "[127.0.0.1]" in shown and "Traceback" not in shown

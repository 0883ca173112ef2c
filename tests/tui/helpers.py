"""Helpers for the TUI pilot tests: real-backend configs and waiting on the app's state."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from magflow_console.backend import Backend
from magflow_console.config import LoadedConfig, load_config
from magflow_console.reference import SCRIPTS_DIR
from magflow_console.tui.app import MagflowApp
from magflow_console.tui.messages import SOURCES
from magflow_console.tui.widgets.table import LiveTable


def real_config(
    *,
    db_url: str,
    docker_engine: Any,
    stack: Any,
    api_url: str,
    **extra: Any,
) -> LoadedConfig:
    overrides: dict[str, Any] = {
        "database.url": db_url,
        "docker.host": docker_engine.base_url,
        "docker.project": stack.project,
        "docker.prefix": stack.prefix,
        "docker.services": stack.service_map,
        "alembic.scripts": str(SCRIPTS_DIR),
        "api.url": api_url,
        "refresh_interval": 1.0,
    }
    overrides.update(extra)
    return load_config(environ={"XDG_CONFIG_HOME": "/nonexistent"}, overrides=overrides)


def real_app(loaded: LoadedConfig, **kw: Any) -> MagflowApp:
    return MagflowApp(Backend(loaded), **kw)


async def wait_for(
    pilot: Pilot[Any], predicate: Callable[[], bool], what: str, timeout: float = 30.0
) -> None:
    """Let the app run until ``predicate()`` holds; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause()
        if predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for: {what}")


async def wait_loaded(pilot: Pilot[Any], app: MagflowApp, timeout: float = 45.0) -> None:
    await wait_for(
        pilot,
        lambda: all(s in app.store.snapshots for s in SOURCES),
        "every source to report once",
        timeout,
    )
    await pilot.pause()


def table_rows(table: LiveTable) -> dict[str, list[str]]:
    """Shown rows (after filtering): key -> plain cell texts."""
    return {key: [c.plain.strip() for c in cells] for key, cells in table._shown}


def screen_text(app: MagflowApp) -> str:
    """What the terminal shows, as plain text lines (from the exported screenshot)."""
    import html
    import re

    svg = app.export_screenshot()
    lines: dict[float, list[tuple[float, str]]] = {}
    for x, y, text in re.findall(r'<text[^>]*x="([\d.]+)" y="([\d.]+)"[^>]*>([^<]*)</text>', svg):
        lines.setdefault(float(y), []).append((float(x), html.unescape(text).replace("\xa0", " ")))
    return "\n".join("".join(t for _, t in sorted(parts)) for _, parts in sorted(lines.items()))

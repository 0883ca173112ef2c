"""Regenerate ``screenshots/``: SVG pictures of the TUI, converted to PNG with rsvg-convert.

    .venv/bin/python scripts/make_screenshots.py [--out screenshots] [--docker-host URL]
        [--api-url URL] [--redis-url URL]

The database side (migrations, eMAG sync, admins) is the real thing: an embedded PostgreSQL
(``EmbeddedPostgres``) migrated one revision behind head and seeded by
``prepare_demo_database``. This machine has no MagFlow containers, so unless
``--docker-host`` / ``--api-url`` point at real ones, the containers and API panes show the
fixed sample snapshots of ``tests/support/fake_backend.py`` (a worker unhealthy and busy,
redis crash-looping); the Celery pane likewise unless ``--redis-url`` names a real Redis.
These pictures show a whole stack with its faults, so they keep the sample API rather
than the stand-in ``magflow-console demo`` serves (``reference.standin_api``): that one
answers from the demo database and, with no Redis here, says /health/redis is unhealthy,
which would contradict the sample Celery pane.

rsvg-convert (Debian ``librsvg2-bin``) is needed for the PNGs. It draws the spaces at the
start of a ``<text>`` run after the text (it honours ``textLength`` but not leading
no-break spaces), so the PNGs are made from a copy of each SVG whose runs are trimmed and
shifted instead; the SVGs themselves are kept as Textual wrote them.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import html
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from magflow_console.backend import Backend  # noqa: E402
from magflow_console.config import LoadedConfig, load_config  # noqa: E402
from magflow_console.models import (  # noqa: E402
    ApiSnapshot,
    CelerySnapshot,
    ContainerInfo,
    ContainersSnapshot,
    RedisSnapshot,
    utcnow,
)
from magflow_console.reference import SCRIPTS_DIR  # noqa: E402
from magflow_console.reference.embedded import (  # noqa: E402
    EmbeddedPostgres,
    prepare_demo_database,
)
from magflow_console.sources.container_env import env_facts  # noqa: E402
from magflow_console.tui.app import MagflowApp  # noqa: E402
from magflow_console.tui.messages import SOURCES  # noqa: E402
from magflow_console.tui.widgets.log_view import LogView  # noqa: E402

#: (file name, terminal size, keys pressed on the dashboard)
SHOTS: list[tuple[str, tuple[int, int], tuple[str, ...]]] = [
    ("dashboard-80x24", (80, 24), ()),
    ("dashboard-120x40", (120, 40), ()),
    ("container-detail", (80, 24), ("down", "down", "down", "enter")),
    ("migration-detail", (80, 24), ("2", "enter")),
    ("sync-detail", (80, 24), ("3", "down", "enter")),
    ("admins", (80, 24), ("a",)),
    ("findings", (80, 24), ("d",)),
    ("help", (80, 24), ("question_mark",)),
    ("celery-detail", (80, 24), ("5", "enter")),
    ("dashboard-light-80x24", (80, 24), ()),
    ("confirm-migrate", (80, 24), ("m",)),
]


class DemoBackend(Backend):
    """Real database; sample containers / API unless real ones were given."""

    def __init__(
        self, loaded: LoadedConfig, *, real_docker: bool, real_api: bool, real_redis: bool
    ) -> None:
        super().__init__(loaded)
        self.real_docker = real_docker
        self.real_api = real_api
        self.real_redis = real_redis

    def containers(self) -> ContainersSnapshot:
        if self.real_docker:
            return super().containers()
        from tests.support.fake_backend import CONTAINERS

        return _rebased(CONTAINERS)

    def container_detail(self, name: str) -> ContainerInfo | None:
        if self.real_docker:
            return super().container_detail(name)
        return next((c for c in self.containers().items if c.name == name), None)

    def follow(self, name: str, stop: threading.Event, **kw: Any) -> Iterator[Any]:
        if self.real_docker:
            return super().follow(name, stop, **kw)
        from tests.support.fake_backend import NOW, FakeBackend

        shift = utcnow() - NOW  # the sample lines are stamped before the frozen NOW
        lines = FakeBackend.follow(self, name, stop, **kw)  # type: ignore[arg-type]
        return (
            dataclasses.replace(line, timestamp=line.timestamp + shift)
            if line.timestamp is not None
            else line
            for line in lines
        )

    def events(self, stop: threading.Event) -> Iterator[Any]:
        if self.real_docker:
            return super().events(stop)
        stop.wait()
        return iter(())

    def api(self) -> ApiSnapshot:
        if self.real_api:
            return super().api()
        from tests.support.fake_backend import API

        return API

    def broker(self) -> tuple[RedisSnapshot, CelerySnapshot]:
        if self.real_redis:
            return super().broker()
        from tests.support.fake_backend import CELERY, NOW, REDIS

        return REDIS, shifted(CELERY, utcnow() - NOW)


def shifted(value: Any, shift: dt.timedelta) -> Any:
    """``value`` (a snapshot) with every time in it moved by ``shift``."""
    if isinstance(value, dt.datetime):
        return value + shift
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: shifted(getattr(value, f.name), shift) for f in dataclasses.fields(value)
        }
        return dataclasses.replace(value, **changes)
    if isinstance(value, tuple):
        return tuple(shifted(v, shift) for v in value)
    if isinstance(value, dict):
        return {k: shifted(v, shift) for k, v in value.items()}
    return value


#: the sample app and worker environment, as the Docker source keeps it (names, and the
#: few public values): the demo's story, where fbe syncs 0 items for want of its password
SAMPLE_ENV = env_facts(
    [
        "DATABASE_URL=postgresql+asyncpg://app:sample@db:5432/magflow",
        "REDIS_HOST=redis",
        "ENVIRONMENT=development",
        "EMAG_MAIN_USERNAME=main",
        "EMAG_MAIN_PASSWORD=sample",
        "EMAG_FBE_USERNAME=fbe",
    ]
)


def _rebased(snap: ContainersSnapshot) -> ContainersSnapshot:
    """The sample containers' times moved to "now" (they are frozen for the snapshot tests)."""
    from tests.support.fake_backend import NOW

    shift = utcnow() - NOW

    def move(value: dt.datetime | None) -> dt.datetime | None:
        return value + shift if value is not None else None

    items = tuple(
        dataclasses.replace(
            c,
            **(SAMPLE_ENV if c.service in ("app", "worker") else {}),
            started_at=move(c.started_at),
            finished_at=move(c.finished_at),
            health_log=tuple(
                dataclasses.replace(p, start=move(p.start), end=move(p.end)) for p in c.health_log
            ),
        )
        for c in snap.items
    )
    return dataclasses.replace(snap, items=items, fetched_at=utcnow())


async def shoot(
    backend: Backend, size: tuple[int, int], keys: tuple[str, ...], out: Path, light: bool
) -> None:
    app = MagflowApp(backend, refresh_interval=3600)
    async with app.run_test(size=size) as pilot:
        if light:
            app.theme = "textual-light"
        for _ in range(300):
            await pilot.pause(0.05)
            if all(s in app.store.snapshots for s in SOURCES):
                break
        for key in keys:
            await pilot.press(key)
            await pilot.pause(0.5)
        for log in app.screen.query(LogView):
            for _ in range(100):
                if log.entries:
                    break
                await pilot.pause(0.05)
        await pilot.pause(0.5)
        app.save_screenshot(str(out))


_TEXT = re.compile(
    r'(<text [^>]*?x=")([\d.]+)("[^>]*?textLength=")([\d.]+)("[^>]*>)([^<]*)(</text>)'
)
_NBSP = "&#160;"


def _fix_run(m: re.Match[str]) -> str:
    pre, x, mid, length, post, body, end = m.groups()
    chars = len(html.unescape(body))
    if not chars:
        return m.group(0)
    cell = float(length) / chars
    lead = 0
    while body.startswith(_NBSP):
        body, lead = body[len(_NBSP) :], lead + 1
    trail = 0
    while body.endswith(_NBSP):
        body, trail = body[: -len(_NBSP)], trail + 1
    rest = chars - lead - trail
    if rest <= 0:
        return ""
    return f"{pre}{float(x) + lead * cell:.1f}{mid}{rest * cell:.1f}{post}{body}{end}"


def to_png(svg: Path) -> Path:
    fixed = svg.with_suffix(".rsvg.svg")
    fixed.write_text(_TEXT.sub(_fix_run, svg.read_text()))
    png = svg.with_suffix(".png")
    subprocess.run(["rsvg-convert", str(fixed), "-o", str(png)], check=True)
    fixed.unlink()
    return png


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "screenshots"))
    parser.add_argument("--docker-host")
    parser.add_argument("--api-url")
    parser.add_argument("--redis-url")
    args = parser.parse_args()
    if shutil.which("rsvg-convert") is None:
        print("rsvg-convert is missing: apt-get install librsvg2-bin", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with EmbeddedPostgres() as pg:
        prepare_demo_database(pg.url)
        overrides: dict[str, Any] = {
            "database.url": pg.url,
            "alembic.scripts": str(SCRIPTS_DIR),
            "alembic.strategy": "local",  # the demo migrates with the local scripts
            "docker.host": args.docker_host,
            "api.url": args.api_url or "http://localhost:8000",
            "redis.url": args.redis_url,
        }
        loaded = load_config(environ={"XDG_CONFIG_HOME": "/nonexistent"}, overrides=overrides)
        for name, size, keys in SHOTS:
            backend = DemoBackend(
                loaded,
                real_docker=bool(args.docker_host),
                real_api=bool(args.api_url),
                real_redis=bool(args.redis_url),
            )
            try:
                svg = out / f"{name}.svg"
                asyncio.run(shoot(backend, size, keys, svg, light="light" in name))
                print(f"{svg} -> {to_png(svg).name}")
            finally:
                backend.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Command palette (ctrl+p): every action is reachable here.

The commands are generated from the bindings of the screen the palette was opened on and
of the app (so a new action added as a binding shows up here by itself), plus navigation
entries: one per container (open its detail), migrations, sync runs and admins, and one
per other profile of the config (switch to it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from magflow_console.tui.app import MagflowApp

Command = tuple[str, str, Callable[[], Any]]


class MagflowCommands(Provider):
    def _commands(self) -> Iterator[Command]:
        app = cast("MagflowApp", self.app)
        screen = self.screen
        seen: set[str] = set()
        for active in screen.active_bindings.values():
            b = active.binding
            if not b.description or b.action in seen or b.action == "command_palette":
                continue
            seen.add(b.action)
            key = app.get_key_display(b)
            yield (b.description, f"key {key}", partial(app.run_action, b.action, active.node))
        yield ("Open migration detail", "revision graph and pending list", app.open_migrations)
        yield ("Open sync runs", "all recent eMAG sync runs", app.open_sync)
        yield ("Open admin users", "admin accounts (no hashes)", app.open_admins)
        yield ("Open Celery", "worker, queues, retries, results, Redis, orders", app.open_celery)
        for name in app.profiles.names:
            if name != app.backend.profile_name:
                yield (
                    f"Switch to profile {name}",
                    "its panes, loops, actions and guards; the current profile's connections close",
                    partial(app.switch_profile, name),
                )
        containers = app.store.containers
        for c in containers.items if containers else ():
            yield (
                f"Open container {c.name}",
                f"{c.service or ''} {c.state} {c.health or ''}".strip(),
                partial(app.open_container, c.name),
            )

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)

"""The command palette's state, for pilot tests that type a command and press enter.

Typing starts a search whose results arrive a moment later; pressing enter before they
do runs whatever is highlighted then (or nothing). Wait for ``highlighted_command`` to
be the one typed (``wait_for``) instead of pausing a fixed time.
"""

from __future__ import annotations

from typing import Any

from textual.command import Command, CommandInput, CommandList, CommandPalette


def highlighted_command(app: Any) -> str | None:
    """The plain title of the option enter would run, or None (no palette, no list)."""
    palette = app.screen
    if not isinstance(palette, CommandPalette):
        return None
    commands = palette.query_one(CommandList)
    if commands.highlighted is None or commands.option_count == 0:
        return None
    option = commands.get_option_at_index(commands.highlighted)
    return option.hit.text if isinstance(option, Command) else None


def palette_query(app: Any) -> str | None:
    """What is typed in the palette (None: it is not open)."""
    palette = app.screen
    if not isinstance(palette, CommandPalette):
        return None
    return palette.query_one(CommandInput).value


async def type_command(pilot: Any, query: str, title: str) -> None:
    """Type ``query`` in the open palette and wait until enter would run ``title``."""
    from tests.tui.helpers import wait_for

    await pilot.press(*query)
    await wait_for(
        pilot,
        lambda: palette_query(pilot.app) == query and highlighted_command(pilot.app) == title,
        f"the palette to offer {title!r} for {query!r}",
    )

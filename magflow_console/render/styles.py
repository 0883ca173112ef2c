"""One style per state, used by both faces: a failed run, a crash-looping container or
a critical finding looks the same in ``status`` and on the dashboard.

Style names are Rich's (theme-neutral: Rich resolves them to the terminal palette, and
Textual maps them through the active theme's ANSI colours). ``literal`` is the one way
either face turns outside text into a ``rich.text.Text`` (never markup).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from magflow_console.render.text import clean, one_line

if TYPE_CHECKING:
    from rich.style import Style
    from rich.text import Text

#: state / outcome / health / severity / verdict word -> Rich style
STATE_STYLES: dict[str, str] = {
    # containers
    "running": "green",
    "healthy": "green",
    "starting": "yellow",
    "restarting": "bold red",
    "unhealthy": "bold red",
    "exited": "red",
    "dead": "red",
    "paused": "yellow",
    "created": "yellow",
    "missing": "red",
    # sync outcomes / statuses
    "success": "green",
    "completed": "green",
    "partial": "yellow",
    "empty": "red",
    "failed": "bold red",
    "running_sync": "cyan",
    "stale_running": "yellow",
    # a section kept on screen after a failed refresh / not readable
    "stale": "yellow",
    "error": "bold red",
    # severities and verdicts
    "critical": "bold red",
    "warning": "yellow",
    "info": "cyan",
    "ok": "bold green",
    "unknown": "bold magenta",
}


def style_for(word: str | None) -> str:
    return STATE_STYLES.get((word or "").lower(), "")


def verdict_style(label: str) -> str:
    """A verdict (ok / warning / critical / unknown) stands out: its state style, bold."""
    style = style_for(label)
    return style if style.startswith("bold") or not style else f"bold {style}"


def rate_style(value: float | None) -> str:
    """A success rate: green from 90 %, yellow from 60 %, else bold red."""
    if value is None:
        return "dim"
    if value >= 0.9:
        return "green"
    if value >= 0.6:
        return "yellow"
    return "bold red"


def literal(text: object, style: str | Style = "", *, single_line: bool = False) -> Text:
    """A ``Text`` holding ``text`` verbatim (no markup, no emoji codes, no escapes)."""
    from rich.text import Text

    s = one_line(text) if single_line else clean(text)
    return Text(s, style=style, no_wrap=single_line, overflow="ellipsis" if single_line else None)

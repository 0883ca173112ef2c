"""One-line header: profile (PROTECTED stands out), a mark for a secret file other users
can read, verdict, last good refresh, paused."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static

from magflow_console.config_sources import ExposedFile
from magflow_console.models import Verdict
from magflow_console.render import fmt
from magflow_console.render.text import one_line

VERDICT_STYLES = {
    Verdict.OK: "bold green",
    Verdict.WARNING: "bold yellow",
    Verdict.CRITICAL: "bold red",
    Verdict.UNKNOWN: "bold magenta",
}


def header_text(
    *,
    profile: str,
    protected: bool,
    read_only: bool,
    verdict: Verdict | None,
    last_good: dt.datetime | None,
    paused: bool,
    findings: int = 0,
    all_read: bool = True,
) -> Text:
    """The dashboard's first line. ``last_good`` is when every source last answered
    (``all_read``: they all did at the last refresh): it says how fresh the data is, not
    when the stack was last healthy, so it is worded as a read time."""
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(" magflow ", style="bold")
    t.append(f"{one_line(profile, 20)} ", style="bold reverse" if protected else "bold")
    if protected:
        t.append(" PROTECTED ", style="bold reverse")
        t.append(" ")
    if read_only:
        t.append("read-only ", style="italic")
    t.append("│ ")
    if verdict is None:
        t.append("checking…", style="dim")
    else:
        t.append(f"● {verdict.label.upper()}", style=VERDICT_STYLES[verdict])
        if findings:
            t.append(f" ({findings} finding{'s' if findings != 1 else ''}: d)", style="dim")
    t.append(" │ ")
    # to the minute: a header that changed at every refresh would be rewritten over SSH
    # several times every 5 s for nothing (bench/bench_tui.py)
    if all_read and last_good is not None:
        t.append("read ", style="dim")
        t.append(f"{fmt.hm(last_good)} UTC")
    elif last_good is not None:
        t.append("partly stale since ", style="yellow")
        t.append(f"{fmt.hm(last_good)} UTC", style="yellow")
    else:
        t.append("not every source readable", style="dim")
    if paused:
        t.append(" │ ")
        t.append("PAUSED", style="bold reverse")
    return t


#: the header's mark for a config or secret file other users can read (its tooltip and
#: ``magflow-console info`` or ``doctor`` say which and the ``chmod``)
SECRETS_MARKER = "⚠ secret file readable"


def with_marker(text: Text, marker: str | None) -> Text:
    """``text`` with ``marker`` after the profile (before the first ``│``), where a
    narrow terminal does not cut it off."""
    if not marker:
        return text
    at = text.plain.find("│")
    left, right = (text, Text()) if at < 0 else text.divide([at])
    out = Text(no_wrap=text.no_wrap, overflow=text.overflow)
    out.append_text(left)
    out.append(marker, style="bold yellow")
    out.append(" ")
    out.append_text(right)
    return out


class StatusHeader(Static):
    """The dashboard's header line; ``-protected`` gives it the error colour. It marks
    ``exposed``, config or secret files other users can read, with their warnings as its
    tooltip."""

    def __init__(
        self, *, protected: bool, exposed: Sequence[ExposedFile] = (), **kw: object
    ) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.set_class(protected, "-protected")
        self._last: Text | None = None
        self._marker = SECRETS_MARKER if exposed else ""
        if exposed:
            self.tooltip = "\n".join(e.warning() for e in exposed)

    def set_text(self, text: Text) -> None:
        """A change repaints the line without a layout: its size is fixed (app.tcss)."""
        if self._last is not None and text == self._last:
            return
        first = self._last is None
        self._last = text
        self.update(with_marker(text, self._marker), layout=first)

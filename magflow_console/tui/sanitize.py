"""Text that comes from containers, the database or the API is shown literally.

Nothing from the outside may style, move the cursor or take over the terminal: we never
build Rich markup strings from data (``rich.text.Text`` is always used), and every
escape sequence and control character is removed or made visible first.

- CSI (``ESC [ ... final``), OSC (``ESC ] ... BEL|ST``), DCS/SOS/PM/APC strings and
  two-character escapes are removed entirely;
- C0/C1 control characters (other than tab) become a visible ``\\xNN`` / U+FFFD-free
  form, so a stray ``\\x07`` or ``\\r`` is seen rather than acted upon;
- tabs become spaces; new lines are the caller's business (``one_line`` joins them).
"""

from __future__ import annotations

import re

from rich.style import Style
from rich.text import Text

# ESC-introduced sequences, and their 8-bit C1 equivalents (CSI = \x9b, OSC = \x9d, ...)
_ANSI = re.compile(
    r"""
    (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]                               # CSI ... final byte
  | (?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?             # OSC ... BEL or ST
  | (?:\x1b[PX^_]|[\x90\x98\x9e\x9f])[^\x1b\x9c]*(?:\x1b\\|\x9c)?   # DCS / SOS / PM / APC
  | \x1b[ -/]*[0-~]                                                 # other 2-char escapes
  | \x1b                                                            # a lone ESC
    """,
    re.VERBOSE,
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_TAB = 4


def _visible(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def clean(text: object) -> str:
    """Remove escape sequences and make other control characters visible (keeps ``\\n``)."""
    s = "" if text is None else str(text)
    s = _ANSI.sub("", s)
    s = s.replace("\r\n", "\n").replace("\t", " " * _TAB)
    return _CONTROL.sub(_visible, s)


def one_line(text: object, limit: int | None = None) -> str:
    """``clean`` and fold to one line; with ``limit`` cut with an ellipsis."""
    s = " ".join(clean(text).split("\n")).strip()
    if limit is not None and len(s) > limit:
        s = s[: max(limit - 1, 0)] + "…"
    return s


def literal(text: object, style: str | Style = "", *, single_line: bool = False) -> Text:
    """A ``Text`` holding ``text`` verbatim (no markup, no emoji codes, no escapes)."""
    s = one_line(text) if single_line else clean(text)
    return Text(s, style=style, no_wrap=single_line, overflow="ellipsis" if single_line else None)


def tail(text: object, limit: int) -> str:
    """``one_line`` keeping the end (paths): ``…/reference/alembic``."""
    s = one_line(text)
    return s if len(s) <= limit else "…" + s[-(limit - 1) :]

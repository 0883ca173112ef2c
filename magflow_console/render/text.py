"""Text from the outside (containers, the database, the API, logs), made safe to show:
the one sanitizer and the one masker.

**Sanitizer.** Nothing from the outside may style, move the cursor or take over the
terminal. ``clean`` removes escape sequences entirely (CSI ``ESC [ ... final``, OSC
``ESC ] ... BEL|ST``, DCS/SOS/PM/APC strings, two-character escapes and their 8-bit C1
forms) and makes every other C0/C1 control character visible (``\\x07``), so a stray bell
or carriage return is seen rather than acted upon, and so are the bidirectional controls
(``\\u202e``), which would reorder what is shown; tabs become spaces. Rich markup is
never built from data (the faces wrap data in ``rich.text.Text``), so ``[bold]`` in data
stays literal.

**Masker.** ``scrub`` masks credentials wherever they appear: URL passwords
(``scheme://user:***@host``), ``user:pass@host`` outside a URL, bearer/basic/token
credentials, and the values of secret-looking keys (``password=x``, ``"token": "x"``);
``known`` secrets (a password the caller holds, e.g. the database URL's) are replaced
wherever they appear first.

No rich, no Textual: sources, actions and diagnosis use these too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# --------------------------------------------------------------------------- sanitizer

# ESC-introduced sequences, and their 8-bit C1 equivalents (CSI = \x9b, OSC = \x9d, ...)
_ESCAPES = re.compile(
    r"""
    (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]                               # CSI ... final byte
  | (?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?             # OSC ... BEL or ST
  | (?:\x1b[PX^_]|[\x90\x98\x9e\x9f])[^\x1b\x9c]*(?:\x1b\\|\x9c)?   # DCS / SOS / PM / APC
  | \x1b[ -/]*[0-~]                                                 # other 2-char escapes
  | \x1b                                                            # a lone ESC
    """,
    re.VERBOSE,
)
# C0 and C1 controls (but newline and tab), and the bidirectional controls: embeddings
# and overrides (U+202A-202E), isolates (U+2066-2069), the marks (U+200E/200F, U+061C).
# A U+202E in a container name or a log line reverses what follows it on screen
# ("Trojan Source"); shown as "\u202e" it cannot.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
TAB = 4


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def clean(text: object) -> str:
    """Remove escape sequences and make other control characters visible (keeps ``\\n``)."""
    s = "" if text is None else str(text)
    s = _ESCAPES.sub("", s)
    s = s.replace("\r\n", "\n").replace("\t", " " * TAB)
    return _CONTROL.sub(_visible, s)


def one_line(text: object, limit: int | None = None) -> str:
    """``clean`` and fold to one line; with ``limit`` cut with an ellipsis."""
    s = " ".join(clean(text).split("\n")).strip()
    if limit is not None and len(s) > limit:
        s = s[: max(limit - 1, 0)] + "…"
    return s


def tail(text: object, limit: int) -> str:
    """``one_line`` keeping the end (paths): ``…/reference/alembic``."""
    s = one_line(text)
    return s if len(s) <= limit else "…" + s[-(limit - 1) :]


#: how much of a line from a log a finding quotes
EXCERPT_MAX = 160


def excerpt(text: object, limit: int = EXCERPT_MAX) -> str:
    """One line quoted from a log or a payload: cleaned, credentials masked, cut."""
    return one_line(scrub(clean(text)), limit)


# --------------------------------------------------------------------------- masker

# scheme://user:password@host -> scheme://user:***@host; a password may hold "/", "?", "#"
# or "@" unencoded (https://u:S@e/cr#3?t@host), so the mask runs to the last "@" before a
# space or a quote (more rather than less: https://h:8443/x?e=a@b.c loses its port too)
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^\s/@:]*):[^\s\"'`<>]*@")
# user:password@host outside a URL
_BARE_CREDENTIALS = re.compile(r"(?<![/\w])([\w.\-]+):[^\s@/:]+@(?=[\w.\-\[])")
# Authorization headers and bearer/basic credentials, however they are quoted
_AUTH_SCHEME = re.compile(r"(?i)\b(bearer|basic|token)(\s+)[A-Za-z0-9._~+/=\-]{8,}")
# keys that hold secrets, quoted (JSON, Python reprs) or not: password=..., "token": "..."
_KEYS = (
    r"password|passwd|pwd|secret|token|access_token|refresh_token|api_key|apikey|"
    r"authorization|client_secret|private_key"
)
_QUOTED_SECRET = re.compile(
    rf"""(?i)(["'](?:[\w\-]*?(?:{_KEYS}))["']\s*[:=]\s*)(["'])(?:(?!\2).)*\2"""
)
_KEYWORD_SECRET = re.compile(rf"(?i)\b({_KEYS})(\s*[=:]\s*)(?![\"'])(\S+)")
#: every pattern above needs an ``@`` or one of these words, in any case (a superset,
#: without their word boundaries): a text with neither cannot match any of them and is
#: returned as is (most log lines: following 5,000 lines/s spent most of its time here)
_TRIGGERS = ("@", "bearer", "basic", *_KEYS.split("|"))
#: the letters ``re.IGNORECASE`` matches to an ASCII letter that ``str.lower`` does not
#: turn into it (found by scanning every code point: tests/render/test_text.py)
FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s"})
MASK = "***"
#: the patterns and their replacements, applied in this order
MASKS: tuple[tuple[re.Pattern[str], str], ...] = (
    (_URL_PASSWORD, rf"\1:{MASK}@"),
    (_BARE_CREDENTIALS, rf"\1:{MASK}@"),
    (_AUTH_SCHEME, rf"\1\2{MASK}"),
    (_QUOTED_SECRET, rf"\1\2{MASK}\2"),
    (_KEYWORD_SECRET, rf"\1\2{MASK}"),
)


def scrub(text: str, known: Iterable[str | None] = ()) -> str:
    """Mask ``known`` secrets, URL passwords, ``user:pass@host``, bearer/basic
    credentials and the values of secret-looking keys (``password=x``, ``"token": "x"``,
    ``'Authorization': '...'``)."""
    for secret in known:
        if secret:
            text = text.replace(secret, MASK)
    low = text.translate(FOLD).lower()
    if not any(word in low for word in _TRIGGERS):
        return text
    for pattern, replacement in MASKS:
        text = pattern.sub(replacement, text)
    return text


#: a key or setting name that holds a secret: it ends with one of the words
SECRET_NAME = re.compile(rf"(?i)[\w\-]*?(?:{_KEYS})")
#: nesting ``scrub_json`` follows; deeper containers become a note (nothing shows them)
SCRUB_DEPTH = 100


def scrub_json(value: Any, _depth: int = 0) -> Any:
    """``scrub`` through a JSON value (what a jsonb column holds): every string and key
    masked, and whatever stands under a secret-named key (``"password": ...``) replaced
    by ``MASK``. Containers nested deeper than ``SCRUB_DEPTH`` become a note."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict | list | tuple) and _depth >= SCRUB_DEPTH:
        return f"(nested deeper than {SCRUB_DEPTH} levels: not shown)"
    if isinstance(value, dict):
        return {
            scrub(str(k)): (
                MASK
                if v is not None and SECRET_NAME.fullmatch(str(k))
                else scrub_json(v, _depth + 1)
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub_json(v, _depth + 1) for v in value]
    return value

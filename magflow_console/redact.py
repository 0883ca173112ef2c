"""One place that removes credentials from text before it is shown, logged or audited."""

from __future__ import annotations

import re

# scheme://user:password@host -> scheme://user:***@host
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^\s/@:]*):[^\s/@]*@")
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


def scrub(text: str) -> str:
    """Mask URL passwords, ``user:pass@host``, bearer/basic credentials and the values of
    secret-looking keys (``password=x``, ``"token": "x"``, ``'Authorization': '...'``)."""
    text = _URL_PASSWORD.sub(r"\1:***@", text)
    text = _BARE_CREDENTIALS.sub(r"\1:***@", text)
    text = _AUTH_SCHEME.sub(r"\1\2***", text)
    text = _QUOTED_SECRET.sub(r"\1\2***\2", text)
    return _KEYWORD_SECRET.sub(r"\1\2***", text)

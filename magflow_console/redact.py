"""One place that removes credentials from text before it is shown, logged or audited."""

from __future__ import annotations

import re

# scheme://user:password@host -> scheme://user:***@host
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^\s/@:]*):[^\s/@]*@")
# user:password@host outside a URL
_BARE_CREDENTIALS = re.compile(r"(?<![/\w])([\w.\-]+):[^\s@/:]+@(?=[\w.\-\[])")
# password=..., token: ..., secret=...
_KEYWORD_SECRET = re.compile(r"(?i)\b(password|passwd|pwd|secret|token)(\s*[=:]\s*)(\S+)")


def scrub(text: str) -> str:
    """Mask URL passwords, ``user:pass@host`` and ``password=`` style values."""
    text = _URL_PASSWORD.sub(r"\1:***@", text)
    text = _BARE_CREDENTIALS.sub(r"\1:***@", text)
    return _KEYWORD_SECRET.sub(r"\1\2***", text)

"""Searching what a program showed and wrote for secrets it was given.

A ``Secret`` is a value planted somewhere the program reads (a URL, a file, a container's
environment) with the name of where it was planted. ``forms(value)`` is every shape it
could take on the way out: as is, URL-encoded (``quote`` and ``quote_plus``),
HTML-escaped (an SVG screenshot), JSON-escaped, and its distinctive fragments (the parts
between punctuation, 6+ characters), so that a secret cut at a ``#`` or an ``@`` by a
careless parser is still found. A masked secret (``***``) has none of these forms.

``Outputs`` collects what was captured (screens, stdout and stderr, files: text or
bytes) by name; ``hits(outputs, secrets)`` lists every form of every secret found, with
a little context, and is empty when nothing leaked.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, quote_plus

from magflow_console.render.text import clean

FRAGMENT_MIN = 6
_SEPARATORS = re.compile(r"[^A-Za-z0-9_\-]+")


@dataclass(frozen=True)
class Secret:
    name: str  # e.g. "database password"
    value: str
    where: str  # where it was planted: "the working database URL", "/app/.env" ...


def forms(value: str) -> dict[str, str]:
    """form name -> the text to look for (distinct texts only)."""
    found: dict[str, str] = {}
    candidates = [
        ("raw", value),
        ("url-encoded", quote(value, safe="")),
        ("form-encoded", quote_plus(value, safe="")),
        ("html-escaped", html.escape(value)),
        ("json-escaped", json.dumps(value)[1:-1]),
        ("svg-spaces", html.escape(value).replace(" ", "&#160;")),
    ]
    fragments = [f for f in _SEPARATORS.split(value) if len(f) >= FRAGMENT_MIN and f != value]
    candidates += [(f"fragment {f!r}", f) for f in fragments]
    for name, text in candidates:
        if text and text not in found.values():
            found[name] = text
    return found


@dataclass
class Outputs:
    """Everything captured, by name (a name given twice gets a numbered suffix)."""

    items: dict[str, bytes] = field(default_factory=dict)

    def add(self, name: str, content: str | bytes) -> None:
        data = content.encode("utf-8", "surrogateescape") if isinstance(content, str) else content
        key, n = name, 1
        while key in self.items:
            n += 1
            key = f"{name} #{n}"
        self.items[key] = data

    def add_terminal(self, name: str, raw: bytes) -> None:
        """What a program wrote to its terminal: the bytes, and the text with the escape
        sequences removed (a secret drawn in two colours is split by them)."""
        self.add(name, raw)
        self.add(f"{name} (escape sequences removed)", clean(raw.decode("utf-8", "replace")))

    def add_files(self, root: Path, since: float, exclude: Iterable[Path] = ()) -> list[Path]:
        """Every regular file below ``root`` modified at or after ``since`` (a time.time()),
        except ``exclude`` (files, or folders with all they hold); returns the files
        added."""
        skip = [p.resolve() for p in exclude]
        added = []
        for folder, _dirs, files in os.walk(root):
            for name in files:
                path = Path(folder, name)
                try:
                    if path.is_symlink() or not path.is_file():
                        continue
                    if any(path.resolve().is_relative_to(s) for s in skip):
                        continue
                    if path.stat().st_mtime < since:
                        continue
                    data = path.read_bytes()
                except OSError:
                    continue
                self.add(f"file {path.relative_to(root)}", data)
                added.append(path)
        return added

    def __len__(self) -> int:
        return len(self.items)


def _context(data: bytes, at: int, size: int) -> str:
    start, end = max(0, at - 60), min(len(data), at + size + 60)
    return data[start:end].decode("utf-8", "replace").replace("\n", "⏎")


def hits(outputs: Outputs, secrets: Iterable[Secret]) -> list[str]:
    """One line per (secret, form, output) found: what, where it was planted, in which
    output, and the text around it."""
    found = []
    for secret in secrets:
        for form, text in forms(secret.value).items():
            needle = text.encode()
            for name, data in outputs.items.items():
                at = data.find(needle)
                if at >= 0:
                    found.append(
                        f"{secret.name} ({form}; planted in {secret.where}) in {name}: "
                        f"…{_context(data, at, len(needle))}…"
                    )
    return found

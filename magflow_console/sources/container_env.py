"""What a container's environment and its /app/.env say, reduced to what may be kept:
the names of the watched settings that are set (never their values), and the values of
a short allow-list of non-secret settings (URLs cut to scheme://host[:port]/path, or
dropped when that cannot be told).

``env_facts`` reads an inspect's ``Config.Env``; ``dotenv_facts`` reads the app's
/app/.env (the bind-mounted checkout's, which MagFlow's pydantic settings read) as a
stream, dropping every value outside the allow-list as soon as it is read.
"""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

from magflow_console.render.text import one_line, scrub

#: environment names the diagnosis looks at (besides every ``EMAG_*``); only whether they
#: are set is kept
ENV_WATCHED = frozenset(
    {
        "APP_ENV",
        "AUTO_PROVISION_DEV_ADMIN",
        "CELERY_BROKER_URL",
        "DATABASE_URL",
        "DEFAULT_ADMIN_EMAIL",
        "DEFAULT_ADMIN_PASSWORD",
        "ENVIRONMENT",
        "REDIS_HOST",
        "REDIS_PASSWORD",
        "REDIS_URL",
    }
)
#: settings whose values are not secret and say where things go (sheet §5, §9)
ENV_PUBLIC = (
    "EMAG_ENVIRONMENT",
    "ENVIRONMENT",
    "APP_ENV",
    "EMAG_BASE_URL",
    "EMAG_MAIN_BASE_URL",
    "EMAG_FBE_BASE_URL",
    "AUTO_PROVISION_DEV_ADMIN",
    "DEFAULT_ADMIN_EMAIL",
    "REDIS_HOST",
)
_PUBLIC_MAX = 80


def watched(name: str) -> bool:
    """A setting whose presence the diagnosis looks at (every ``EMAG_*`` and ``ENV_WATCHED``)."""
    return name.startswith("EMAG_") or name in ENV_WATCHED


def env_facts(env: object) -> dict[str, Any]:
    """``env_set``, ``env_empty`` and ``env_public`` of ``ContainerInfo`` from an inspect's
    ``Config.Env`` ("NAME=value" strings). Values outside ``ENV_PUBLIC`` are dropped here
    and go no further."""
    names: set[str] = set()
    empty: set[str] = set()
    public: dict[str, str] = {}
    for item in env if isinstance(env, list) else ():
        name, sep, value = str(item).partition("=")
        if not sep or not watched(name):
            continue
        if not value.strip():
            empty.add(name)
            continue
        names.add(name)
        shown = public_value(name, value) if name in ENV_PUBLIC else None
        if shown is not None:
            public[name] = shown
    return {
        "env_set": tuple(sorted(names)),
        "env_empty": tuple(sorted(empty - names)),
        "env_public": {n: public[n] for n in ENV_PUBLIC if n in public},
    }


# --------------------------------------------------------------------------- /app/.env

#: the settings file of MagFlow's pydantic settings (``env_file=".env"`` in the working
#: directory /app, the bind-mounted checkout; sheet §11.5)
DOTENV_PATH = "/app/.env"
DOTENV_MAX_BYTES = 1 << 20  # a settings file larger than this is not read
_PUBLIC_KEPT = 4096  # characters of a public value kept before ``public_value`` cuts it
_DOTENV_LINE = re.compile(
    r"[ \t]*(?:export[ \t]+)?(?:'([^']+)'|([^=#\s']+))[ \t]*(?:(=)([ \t]*)(.*))?", re.S
)


class DotenvUnreadable(Exception):
    """/app/.env exists but could not be taken in; ``str()`` says why (never a value)."""


@dataclass
class _Quoted:
    """A quoted value still open at the end of a line (python-dotenv allows newlines)."""

    name: str
    quote: str
    line: int
    kept: list[str] | None  # the text so far, for a public name only


def _closing(text: str, quote: str) -> int:
    """Index of the quote that closes a value in ``text`` (backslash escapes), or -1."""
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return i
        i += 1
    return -1


def _rest_is_comment(text: str) -> bool:
    rest = text.strip()
    return not rest or rest.startswith("#")


def dotenv_facts(lines: Iterable[bytes | str]) -> dict[str, Any]:
    """``dotenv_set`` and ``dotenv_public`` of ``ContainerInfo`` from the lines of a .env
    file, read as python-dotenv reads it for pydantic settings: ``export``, quotes (a quoted
    value may span lines), comments, the last assignment wins, names match whatever their
    case. Streaming: a line is parsed and forgotten; the value of a name outside
    ``ENV_PUBLIC`` is never kept, only whether it is empty. Raises ``DotenvUnreadable`` on
    a quote that never closes (then what pydantic read cannot be told)."""
    is_set: dict[str, bool] = {}
    public: dict[str, str] = {}
    open_value: _Quoted | None = None
    number = 0

    def assign(name: str, value: str | None, nonempty: bool) -> None:
        if not watched(name):
            return
        is_set[name] = nonempty
        public.pop(name, None)
        shown = public_value(name, value) if nonempty and value is not None else None
        if shown is not None and name in ENV_PUBLIC:
            public[name] = shown

    for raw in lines:
        number += 1
        line = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        line = line.rstrip("\n").rstrip("\r")
        if open_value is not None:
            end = _closing(line, open_value.quote)
            if end < 0:
                if open_value.kept is not None and sum(map(len, open_value.kept)) < _PUBLIC_KEPT:
                    open_value.kept.append(line)
                continue
            if _rest_is_comment(line[end + 1 :]):  # a value with a newline is not empty
                kept = open_value.kept
                assign(
                    open_value.name, None if kept is None else " ".join([*kept, line[:end]]), True
                )
            open_value = None
            continue
        if _rest_is_comment(line):
            continue
        match = _DOTENV_LINE.fullmatch(line)
        if match is None:  # python-dotenv skips what it cannot parse
            continue
        name = (match.group(1) or match.group(2)).upper()
        if match.group(3) is None:  # a bare NAME: no value, the setting keeps its default
            assign(name, None, False)
            continue
        rest = match.group(5)
        if match.group(4) and rest.startswith("#"):  # "NAME= # comment": an empty value
            assign(name, None, False)
            continue
        if rest[:1] in ("'", '"'):
            end = _closing(rest[1:], rest[0])
            if end < 0:
                keep = watched(name) and name in ENV_PUBLIC
                open_value = _Quoted(name, rest[0], number, [rest[1:]] if keep else None)
                continue
            if _rest_is_comment(rest[end + 2 :]):
                value = rest[1 : end + 1]
                assign(name, value[:_PUBLIC_KEPT], bool(value))
            continue
        value = re.sub(r"\s+#.*", "", rest).rstrip()
        assign(name, value[:_PUBLIC_KEPT], bool(value))
    if open_value is not None:
        raise DotenvUnreadable(
            f"the quote opened on its line {open_value.line} never closes, so what MagFlow "
            "reads from it cannot be told"
        )
    return {
        "dotenv_state": "read",
        "dotenv_set": tuple(sorted(n for n, v in is_set.items() if v)),
        "dotenv_public": {n: public[n] for n in ENV_PUBLIC if n in public},
    }


class _Chunks(io.RawIOBase):
    """A file over an iterable of byte chunks (for ``tarfile``'s stream mode)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


def dotenv_from_tar(stream: Iterable[bytes] | IO[bytes]) -> dict[str, Any]:
    """``dotenv_facts`` of the one file in a tar stream (what the archive API returns for
    /app/.env: an iterable of chunks or a file), read as it arrives, never to disk.
    Raises ``DotenvUnreadable`` for anything but a regular file of a sane size."""
    fileobj: Any = stream if hasattr(stream, "read") else _Chunks(stream)
    try:
        with tarfile.open(fileobj=fileobj, mode="r|") as archive:
            member = archive.next()
            if member is None:
                raise DotenvUnreadable("the archive the engine sent is empty")
            if member.isdir():
                raise DotenvUnreadable("it is a folder, not a file")
            if member.issym() or member.islnk():
                raise DotenvUnreadable("it is a link to another link")
            if not member.isfile():
                raise DotenvUnreadable("it is not a regular file")
            if member.size > DOTENV_MAX_BYTES:
                raise DotenvUnreadable(f"it is larger than {DOTENV_MAX_BYTES >> 20} MiB")
            content = archive.extractfile(member)
            if content is None:
                raise DotenvUnreadable("its content is not in the archive")
            return dotenv_facts(content)
    except (tarfile.TarError, EOFError) as exc:
        raise DotenvUnreadable(f"the archive the engine sent is broken ({exc})") from None


def public_value(name: str, value: str) -> str | None:
    """A public setting's value, safe to show, or ``None`` when it cannot be made so. A URL
    (any name: ``REDIS_HOST=redis://:pw@redis:6379/0`` is one) keeps only
    scheme://host[:port]/path; another value loses what stands before an "@" and after a
    "?" or "#" (``u:pw@host/x?token=1`` -> ``host/x``), except the admin email's. Pure
    string work: it cannot fail, whatever the value."""
    value = one_line(value)
    if _SCHEME.match(value):
        kept = url_public(value)
    elif name == "DEFAULT_ADMIN_EMAIL":
        kept = value
    else:
        kept = _bare(value)
    if not kept:
        return None
    return scrub(kept)[:_PUBLIC_MAX]


_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*)://(.*)", re.S)
#: host[:port]: a name or address (letters of any script), or an IPv6 literal in brackets
_HOST_PORT = re.compile(r"(?:\[[0-9A-Fa-f:.]+(?:%[\w.~\-]+)?\]|[\w.~%\-]+)(?::\d{1,5})?")
_AUTHORITY_END = re.compile(r"[/?#]")


def _split_authority(text: str) -> tuple[str, str]:
    """(what stands before the first "/", "?" or "#", the rest)."""
    end = _AUTHORITY_END.search(text)
    return (text, "") if end is None else (text[: end.start()], text[end.start() :])


def _path(tail: str) -> str:
    return tail.split("?", 1)[0].split("#", 1)[0] if tail.startswith("/") else ""


def url_public(value: str) -> str | None:
    """scheme://host[:port]/path of a URL, never its user, password, query or fragment;
    ``None`` when no host can be told.

    A password may hold "/", "?", "#" or "@" (``https://user:Secr3t#x@host/api-3``): when
    an "@" follows the authority of the usual reading (which ends at the first "/", "?"
    or "#"), the user part runs to the last "@" instead, unless the usual reading has a
    valid host followed by a path and every such "@" is in the query
    (``https://host/x?email=a@b.c``). With a ":" in that host as well
    (``https://user:0000/?@host``, or ``https://host:8443/?e=a@b.c``) the two readings
    cannot be told apart: ``None``."""
    match = _SCHEME.fullmatch(value.strip())
    if match is None:
        return None
    scheme, rest = match.groups()
    authority, tail = _split_authority(rest)
    host = authority.rpartition("@")[2]
    if "@" in tail:
        usual = bool(_HOST_PORT.fullmatch(host)) and tail.startswith("/") and _only_in_query(tail)
        if usual and ":" in authority:
            # host:8443/?e=a@b or user:0000/?@host (a password holding "/?"): the two
            # readings cannot be told apart, and one of them shows a piece of a password
            return None
        if not usual:
            host, tail = _split_authority(rest.rpartition("@")[2])
    if not _HOST_PORT.fullmatch(host):
        return None
    return f"{scheme.lower()}://{host}{_path(tail)}"


def _only_in_query(tail: str) -> bool:
    """Every "@" of ``tail`` (a path on) stands after its "?", with no "#" before that."""
    before, mark, _query = tail.partition("?")
    return bool(mark) and "@" not in before and "#" not in before


def _bare(value: str) -> str:
    """A value that is no URL: the text after its last "@" and before any "?" or "#"."""
    return value.rpartition("@")[2].split("?", 1)[0].split("#", 1)[0].strip()

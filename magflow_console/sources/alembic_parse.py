"""Static reading of Alembic migration scripts: ``ast`` only, never import or execute.

The MagFlow migration files import the application (``from app.db import Base``), so
loading them the way Alembic does would run application code inside the console.
Instead each file is parsed with :mod:`ast` and only literal module-level assignments
are read: ``revision``, ``down_revision``, ``branch_labels`` and ``depends_on``
(plain or annotated, the last assignment wins as it would at import time), plus
the module docstring's first line, ``Revision ID:`` and ``Revises:`` lines.

Scripts come from a local folder (:func:`parse_scripts`), from a tar stream
(:func:`parse_tar`, what ``container.get_archive`` returns) or straight from a
container (:func:`read_scripts_from_container`). None of them raises: a bad file
becomes a :class:`~magflow_console.models.Finding` in ``parse_problems`` and an
unreadable location becomes ``ScriptGraph.error``.

:class:`ScriptGraph` and its structural queries (heads, roots, cycles, ...) live in
:mod:`magflow_console.sources.alembic_structure` and are still importable from here.
"""

from __future__ import annotations

import ast
import io
import posixpath
import re
from collections.abc import Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from magflow_console.models import Finding, Revision
from magflow_console.sources.alembic_structure import (
    ScriptGraph,
    closure,
    dependencies,
    find_cycles,
    heads,
    merge_points,
    normalized_parents,
    real_heads,
    resolve_name,
    roots,
)

if TYPE_CHECKING:
    import docker

__all__ = [
    "ScriptGraph",
    "closure",
    "dependencies",
    "find_cycles",
    "heads",
    "merge_points",
    "normalized_parents",
    "parse_scripts",
    "parse_source",
    "parse_tar",
    "read_scripts_from_container",
    "real_heads",
    "resolve_name",
    "roots",
]

MAX_SCRIPT_BYTES = 2 * 1024 * 1024  # one migration file; larger ones are refused
MAX_ARCHIVE_BYTES = 64 * 1024 * 1024  # a whole alembic folder read from a container

_DOC_REVISION_ID = re.compile(r"^\s*Revision ID:[ \t]*(.*?)\s*$", re.MULTILINE)
_DOC_REVISES = re.compile(r"^\s*Revises:[ \t]*(.*?)\s*$", re.MULTILINE)
_VARIABLES = ("revision", "down_revision", "branch_labels", "depends_on")


# --------------------------------------------------------------------------- one file


def _as_str_tuple(value: Any) -> tuple[str, ...] | None:
    """None/str/tuple/list of str -> tuple; anything else -> None (unreadable)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, tuple | list | set | frozenset) and all(isinstance(v, str) for v in value):
        return tuple(dict.fromkeys(value))
    return None


def _module_assignments(tree: ast.Module) -> dict[str, ast.expr]:
    found: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id in _VARIABLES:
                    found[target.id] = node.value
        elif (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id in _VARIABLES
            and node.value is not None
        ):
            found[node.target.id] = node.value
    return found


def _docstring_fields(doc: str | None) -> tuple[str | None, str | None, str | None]:
    if not doc:
        return None, None, None
    lines = [line.strip() for line in doc.splitlines() if line.strip()]
    message = lines[0] if lines else None
    rid = _DOC_REVISION_ID.search(doc)
    revises = _DOC_REVISES.search(doc)
    return message, (rid.group(1) if rid else None), (revises.group(1) if revises else None)


def parse_source(source: str | bytes, path: str) -> tuple[Revision | None, list[Finding]]:
    """Read one migration script's text; ``path`` is only used in messages and ``Revision.path``.

    Returns the revision (None when the file has no usable ``revision``) and problems.
    """
    problems: list[Finding] = []
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as exc:
        where = f" (line {exc.lineno})" if exc.lineno else ""
        problems.append(
            Finding(
                "script_parse_error",
                "critical",
                f"Migration file {path} is not valid Python{where}: {exc.msg}; "
                "Alembic cannot load the history until it is fixed.",
                subject=path,
            )
        )
        return None, problems
    except ValueError as exc:  # null bytes, bad encoding declarations
        problems.append(
            Finding(
                "script_parse_error",
                "critical",
                f"Migration file {path} cannot be read as Python source ({exc}); "
                "Alembic cannot load the history until it is fixed.",
                subject=path,
            )
        )
        return None, problems

    values: dict[str, tuple[str, ...]] = {}
    for name, node in _module_assignments(tree).items():
        try:
            literal = ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            literal = _Unreadable
        parsed = None if literal is _Unreadable else _as_str_tuple(literal)
        if parsed is None:
            problems.append(
                Finding(
                    "script_unreadable_value",
                    "warning" if name != "revision" else "critical",
                    f"Migration file {path} sets {name} to something that is not a plain "
                    "string, tuple or None, so the console cannot read it without running "
                    "the file.",
                    subject=path,
                )
            )
            continue
        values[name] = parsed

    revision = values.get("revision", ())
    if len(revision) != 1 or not revision[0]:
        if "revision" in values or not any(p.code == "script_unreadable_value" for p in problems):
            problems.append(
                Finding(
                    "script_missing_revision",
                    "critical",
                    f"Migration file {path} does not define a revision id (a module-level "
                    "revision = '...'); Alembic refuses to load the history with it.",
                    subject=path,
                )
            )
        return None, problems

    message, doc_id, doc_revises = _docstring_fields(ast.get_docstring(tree, clean=True))
    return (
        Revision(
            revision=revision[0],
            down_revisions=values.get("down_revision", ()),
            path=path,
            branch_labels=values.get("branch_labels", ()),
            depends_on=values.get("depends_on", ()),
            message=message,
            doc_revision_id=doc_id,
            doc_revises=doc_revises,
        ),
        problems,
    )


class _UnreadableType:
    pass


_Unreadable = _UnreadableType()


def _is_script_name(name: str) -> bool:
    """Alembic's rule: ``*.py`` files except ``__init__.py`` and editor lock files."""
    return name.endswith(".py") and not name.startswith(("__init__", ".#"))


def _build(location: str, files: Iterable[tuple[str, bytes | None]]) -> ScriptGraph:
    """``files`` are (name, content or None when too large) in any order."""
    revisions: list[Revision] = []
    problems: list[Finding] = []
    names: list[str] = []
    for name, content in sorted(files, key=lambda item: item[0]):
        names.append(name)
        if content is None:
            problems.append(
                Finding(
                    "script_parse_error",
                    "critical",
                    f"Migration file {name} is larger than {MAX_SCRIPT_BYTES // 1024} KiB and "
                    "was not read.",
                    subject=name,
                )
            )
            continue
        rev, found = parse_source(content, name)
        problems.extend(found)
        if rev is not None:
            revisions.append(rev)
    return ScriptGraph(location, tuple(revisions), tuple(problems), None, tuple(names))


def _error_graph(location: str, message: str) -> ScriptGraph:
    return ScriptGraph(location=location, revisions=(), parse_problems=(), error=message)


# --------------------------------------------------------------------------- local folder


def parse_scripts(folder: Path | str) -> ScriptGraph:
    """Parse the scripts of an Alembic folder (the one holding ``versions/``) or of
    ``versions/`` itself. Never raises: a missing or unreadable folder gives a graph
    with ``error`` set and no revisions.
    """
    root = Path(folder)
    location = str(root)
    try:
        if not root.is_dir():
            return _error_graph(location, f"Migration folder {location} does not exist.")
        versions = root / "versions"
        base = versions if versions.is_dir() else root
        files: list[tuple[str, bytes | None]] = []
        for entry in base.iterdir():
            if not entry.is_file() or not _is_script_name(entry.name):
                continue
            if entry.stat().st_size > MAX_SCRIPT_BYTES:
                files.append((entry.name, None))
            else:
                files.append((entry.name, entry.read_bytes()))
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return _error_graph(location, f"Migration folder {location} could not be read: {reason}.")
    return _build(str(base), files)


# --------------------------------------------------------------------------- tar archives


def _read_stream(chunks: Iterable[bytes] | IO[bytes]) -> bytes:
    if hasattr(chunks, "read"):
        data = chunks.read(MAX_ARCHIVE_BYTES + 1)
    else:
        buf = bytearray()
        for chunk in chunks:
            buf.extend(chunk)
            if len(buf) > MAX_ARCHIVE_BYTES:
                break
        data = bytes(buf)
    if len(data) > MAX_ARCHIVE_BYTES:
        raise ValueError(f"archive larger than {MAX_ARCHIVE_BYTES // (1024 * 1024)} MiB")
    return bytes(data)


def _versions_dir(dirs: set[str]) -> str:
    """Pick the folder holding the scripts inside an archive.

    ``get_archive('/app/alembic')`` yields ``alembic/env.py``, ``alembic/versions/*.py``;
    ``get_archive('/app/alembic/versions')`` yields ``versions/*.py``. Prefer the
    shallowest ``versions`` folder at most one level deep, else the top folder.
    """
    candidates = sorted(
        (d for d in dirs if posixpath.basename(d) == "versions" and d.count("/") <= 1),
        key=lambda d: (d.count("/"), d),
    )
    if candidates:
        return candidates[0]
    tops = sorted({d.split("/", 1)[0] for d in dirs}, key=lambda d: (d != "", d))
    return tops[0] if tops else ""


def parse_tar(chunks: Iterable[bytes] | IO[bytes], *, location: str) -> ScriptGraph:
    """Parse the scripts inside a tar stream (an iterable of byte chunks or a file-like).

    Nothing is extracted to disk; symlinks and other non-regular members are ignored.
    Never raises: a broken archive gives a graph with ``error`` set. ``tarfile`` is
    imported here: reading a local scripts folder (``status``, each refresh) never needs
    it, and its import is ~10 ms of a cold ``status``'s CPU (bench/tried.toml).
    """
    import tarfile

    try:
        data = _read_stream(chunks)
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            members: dict[str, list[tarfile.TarInfo]] = {}
            for member in archive.getmembers():
                name = posixpath.normpath(member.name.lstrip("/"))
                if not member.isfile() or name.startswith(".."):
                    continue
                parent, base = posixpath.split(name)
                if parent == ".":
                    parent = ""
                members.setdefault(parent, [])
                if _is_script_name(base):
                    members[parent].append(member)
            chosen = _versions_dir(set(members))
            files: list[tuple[str, bytes | None]] = []
            for member in members.get(chosen, []):
                base = posixpath.basename(member.name)
                if member.size > MAX_SCRIPT_BYTES:
                    files.append((base, None))
                    continue
                handle = archive.extractfile(member)
                files.append((base, handle.read() if handle is not None else b""))
    except (tarfile.TarError, OSError, ValueError, EOFError) as exc:
        return _error_graph(location, f"Migration archive from {location} is unreadable: {exc}.")
    shown = f"{location.rstrip('/')}/{chosen}" if chosen and ":" not in location else location
    return _build(shown, files)


# --------------------------------------------------------------------------- container


def read_scripts_from_container(
    client: docker.DockerClient, container: str, path: str
) -> ScriptGraph:
    """Read the migration scripts at ``path`` inside ``container`` via the archive API.

    ``path`` is the alembic folder (holding ``versions/``) or ``versions/`` itself.
    Never raises; the location is ``"<container>:<path>"``.
    """
    import docker.errors

    location = f"{container}:{path}"
    try:
        target = client.containers.get(container)
    except docker.errors.NotFound:
        return _error_graph(
            location, f"Container {container} does not exist, so its migrations cannot be read."
        )
    except Exception as exc:  # APIError, DockerException, requests errors
        return _error_graph(location, f"Docker could not look up {container}: {_why(exc)}.")
    try:
        stream, _stat = target.get_archive(path)
    except docker.errors.NotFound:
        return _error_graph(
            location, f"Container {container} has no {path}, so its migrations cannot be read."
        )
    except Exception as exc:
        return _error_graph(location, f"Docker could not read {location}: {_why(exc)}.")
    try:
        return parse_tar(stream, location=location)
    except Exception as exc:  # a stream broken mid-transfer surfaces here
        return _error_graph(location, f"Reading {location} failed: {_why(exc)}.")


def _why(exc: BaseException) -> str:
    import requests.exceptions

    if isinstance(exc, requests.exceptions.ConnectionError) or isinstance(
        exc.__cause__, requests.exceptions.ConnectionError
    ):
        return "the Docker engine is not reachable"
    if isinstance(exc, requests.exceptions.Timeout):
        return "the Docker engine did not answer in time"
    explanation = getattr(exc, "explanation", None)
    text = explanation if isinstance(explanation, str) and explanation else str(exc)
    return text.strip().rstrip(".") or type(exc).__name__

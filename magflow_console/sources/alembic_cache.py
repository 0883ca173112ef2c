"""A parsed migration folder, kept on disk between runs (``$XDG_CACHE_HOME``).

Parsing MagFlow's scripts is a tenth of a cold ``status``'s own work; they rarely change.
The cache entry of a folder holds its files' names, sizes and modification times next
to the parsed graph, and is used only when all of them still match: a changed, added or
removed script means a fresh parse (and a new entry). Any problem with the cache (no
home, a read-only disk, a damaged file) falls back to parsing: it never raises.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from magflow_console import paths
from magflow_console.models import Finding, Revision
from magflow_console.sources.alembic_structure import ScriptGraph

#: bump when the parse (or this format) changes what a graph holds
FORMAT = 1


def signature(folder: Path) -> list[list[Any]] | None:
    """[name, size, mtime_ns] of every file of the folder's ``versions`` (or itself)."""
    try:
        base = folder / "versions" if (folder / "versions").is_dir() else folder
        out = []
        for entry in sorted(base.iterdir()):
            if entry.is_file():
                st = entry.stat()
                out.append([entry.name, st.st_size, st.st_mtime_ns])
        return out
    except OSError:
        return None


def cache_file(folder: Path) -> Path:
    key = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:24]
    return paths.cache_dir() / "alembic" / f"{key}.json"


def cached_parse(folder: Path | str) -> ScriptGraph:
    """``parse_scripts(folder)``, from the cache when the files are unchanged."""
    from magflow_console.sources.alembic_parse import parse_scripts  # on a miss only

    root = Path(folder).expanduser()
    sig = signature(root)
    if sig is None:
        return parse_scripts(root)
    where = cache_file(root)
    with contextlib.suppress(Exception):
        doc = json.loads(where.read_text())
        if doc.get("format") == FORMAT and doc.get("signature") == sig:
            return _graph(doc["graph"])
    graph = parse_scripts(root)
    if graph.error is None:
        with contextlib.suppress(Exception):
            _write(where, {"format": FORMAT, "signature": sig, "graph": _doc(graph)})
    return graph


def _doc(graph: ScriptGraph) -> dict[str, Any]:
    def revision(r: Revision) -> dict[str, Any]:
        return {
            "revision": r.revision,
            "down_revisions": list(r.down_revisions),
            "path": r.path,
            "branch_labels": list(r.branch_labels),
            "depends_on": list(r.depends_on),
            "message": r.message,
            "doc_revision_id": r.doc_revision_id,
            "doc_revises": r.doc_revises,
        }

    def finding(f: Finding) -> dict[str, Any]:
        return {
            "code": f.code,
            "severity": f.severity,
            "message": f.message,
            "revisions": list(f.revisions),
            "account": f.account,
            "subject": f.subject,
            "short": f.short,
            "evidence": f.evidence,
        }

    return {
        "location": graph.location,
        "revisions": [revision(r) for r in graph.revisions],
        "parse_problems": [finding(f) for f in graph.parse_problems],
        "file_names": list(graph.file_names),
    }


def _graph(doc: dict[str, Any]) -> ScriptGraph:
    revisions = tuple(
        Revision(
            revision=r["revision"],
            down_revisions=tuple(r["down_revisions"]),
            path=r["path"],
            branch_labels=tuple(r["branch_labels"]),
            depends_on=tuple(r["depends_on"]),
            message=r["message"],
            doc_revision_id=r["doc_revision_id"],
            doc_revises=r["doc_revises"],
        )
        for r in doc["revisions"]
    )
    problems = tuple(
        Finding(
            code=f["code"],
            severity=f["severity"],
            message=f["message"],
            revisions=tuple(f["revisions"]),
            account=f["account"],
            subject=f["subject"],
            short=f["short"],
            evidence=f["evidence"],
        )
        for f in doc["parse_problems"]
    )
    return ScriptGraph(
        location=doc["location"],
        revisions=revisions,
        parse_problems=problems,
        file_names=tuple(doc["file_names"]),
    )


def _write(where: Path, doc: dict[str, Any]) -> None:
    where.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=where.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(doc, out)
        os.replace(tmp, where)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise

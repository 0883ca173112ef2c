"""The Alembic history as a graph: heads, roots, merges, pending upgrades, problems.

Everything here is pure (no I/O) except the re-exported readers from
:mod:`magflow_console.sources.alembic_parse`. The pending order reproduces
Alembic's own (``ScriptDirectory._upgrade_revs`` -> ``RevisionMap._topological_sort``),
which walks heads in file order and emits a branch as deep as it can before moving
to a head that depends on it; the tests cross-check it against Alembic.

Decisions (documented for the callers):

- ``current=None`` means the database was not checked: no pending list, no
  database findings. ``current=()`` means nothing applied: everything is pending.
- Current rows not in the scripts give ``unknown_current_revision`` (critical) and
  are ignored for the pending list; when *every* current row is unknown the pending
  list is empty, because nobody can tell what the database already has.
- With a cycle the pending list is empty (Alembic refuses to load such a history);
  a missing parent is ignored for ordering (Alembic fails with KeyError, reported).
- ``version_table_missing``: critical when the schema holds tables (an upgrade
  would try to create them again), warning when it is empty or unknown.
- :func:`build_snapshot` with a database snapshot in the error state keeps
  ``state="ok"`` for the script part, sets ``db_checked=False`` and adds a
  ``database_unchecked`` warning naming the database error.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from magflow_console.models import (
    DatabaseSnapshot,
    Finding,
    MigrationsSnapshot,
    error_snapshot,
    utcnow,
)
from magflow_console.sources.alembic_parse import (
    ScriptGraph,
    closure,
    find_cycles,
    heads,
    merge_points,
    normalized_parents,
    parse_scripts,
    parse_source,
    parse_tar,
    read_scripts_from_container,
    real_heads,
    resolve_name,
    roots,
)

VERSION_NUM_WIDTH = 32  # app.alembic_version.version_num is varchar(32)
APP_VERSION_TABLE = "app.alembic_version"
_VALID_ID = re.compile(r"[A-Za-z0-9_]+")
ALEMBIC_ILLEGAL_CHARS = "@-+:"  # alembic.script.revision._revision_illegal_chars
_SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}

__all__ = [
    "VERSION_NUM_WIDTH",
    "GraphAnalysis",
    "ScriptGraph",
    "analyze",
    "build_snapshot",
    "find_cycles",
    "heads",
    "merge_points",
    "parse_scripts",
    "parse_source",
    "parse_tar",
    "pending_for_target",
    "pending_upgrade",
    "read_scripts_from_container",
    "real_heads",
    "roots",
]


@dataclass(frozen=True)
class GraphAnalysis:
    heads: tuple[str, ...]
    roots: tuple[str, ...]
    merges: tuple[str, ...]
    current: tuple[str, ...]  # as given (unknown ones included)
    unknown_current: tuple[str, ...]
    pending: tuple[str, ...]  # apply order of `alembic upgrade heads`; () when not checked
    findings: tuple[Finding, ...]


# --------------------------------------------------------------------------- pending


def _topological(
    graph: ScriptGraph, parents: Mapping[str, tuple[str, ...]], todo: set[str], targets: list[str]
) -> list[str]:
    """Port of ``RevisionMap._topological_sort`` (newest first)."""
    order = {rid: n for n, rid in enumerate(graph.ids)}
    plain = {  # one versioned parent and no normalized depends_on
        rid: len(graph.by_id[rid].down_revisions) == 1
        and not set(parents[rid]) - set(graph.by_id[rid].down_revisions)
        for rid in graph.ids
    }

    def ancestors(rid: str) -> set[str]:
        return closure(graph, [rid], parents.__getitem__)

    current = sorted({t for t in targets if t in todo}, key=order.__getitem__)
    anc = [ancestors(h) for h in current]
    out: list[str] = []
    idx = 0
    while current:
        candidate = current[idx]
        for other, seen in enumerate(anc):
            if other != idx and candidate in seen:
                idx = other
                break
        else:
            if candidate in todo:
                out.append(candidate)
                todo.discard(candidate)
            add = [r for r in parents[candidate] if r in todo and r not in current]
            if not add:
                del current[idx]
                del anc[idx]
                idx = max(idx - 1, 0)
            elif plain[candidate]:
                current[idx] = add[0]
                anc[idx].discard(candidate)
            else:
                current[idx] = add[0]
                current.extend(add[1:])
                anc[idx] = ancestors(add[0])
                anc.extend(ancestors(h) for h in add[1:])
    return out


def _pending(graph: ScriptGraph, current: Sequence[str], targets: Sequence[str]) -> tuple[str, ...]:
    if find_cycles(graph):
        return ()
    parents = normalized_parents(graph)
    known = [c for c in current if c in graph.by_id]
    if current and not known:
        return ()
    required = closure(graph, targets, parents.__getitem__)
    applied = closure(graph, known, parents.__getitem__)
    needs = required - applied
    return tuple(reversed(_topological(graph, parents, set(needs), list(targets))))


def pending_upgrade(graph: ScriptGraph, current: Sequence[str]) -> tuple[str, ...]:
    """Revisions ``alembic upgrade heads`` would apply, in apply order."""
    return _pending(graph, current, real_heads(graph))


def _resolve_target(graph: ScriptGraph, target: str) -> tuple[str, ...]:
    label, _, ident = target.rpartition("@")
    if label:
        rid = resolve_name(graph, label)
        if rid is None:
            raise ValueError(f"No branch labelled '{label}' in the migration history.")
        line = closure(graph, [rid], lambda r: graph.children[r]) | closure(
            graph, [rid], lambda r: graph.by_id[r].down_revisions
        )
        if ident in ("head", "heads"):
            found = tuple(h for h in heads(graph) if h in line)
            if ident == "head" and len(found) > 1:
                raise ValueError(
                    f"Branch '{label}' has several heads ({', '.join(found)}); name one."
                )
            return found
        return _resolve_target(graph, ident)
    if target == "heads":
        return real_heads(graph)
    if target == "head":
        found = heads(graph)
        if len(found) > 1:
            raise ValueError(
                f"Multiple head revisions are present ({', '.join(found)}); "
                "'upgrade head' fails, name one head or use 'heads'."
            )
        return found
    if target == "base":
        return ()
    if target in graph.by_id:
        return (target,)
    rid = resolve_name(graph, target)
    if rid is not None:
        return (rid,)
    if target.startswith(("+", "-")) or re.fullmatch(r".*[+-]\d+", target):
        raise ValueError(f"Relative target '{target}' is not supported; name a revision.")
    matches = [r for r in graph.ids if len(r) > 3 and r.startswith(target)]
    if len(matches) == 1:
        return (matches[0],)
    if matches:
        shown = ", ".join(matches[:3])
        raise ValueError(
            f"Target '{target}' is ambiguous: several revisions start with it ({shown})."
        )
    hint = " (at least four characters are needed for a prefix)" if len(target) < 4 else ""
    raise ValueError(f"No revision '{target}' in the migration history{hint}.")


def pending_for_target(graph: ScriptGraph, current: Sequence[str], target: str) -> tuple[str, ...]:
    """Revisions ``alembic upgrade <target>`` would apply, in apply order.

    ``target`` may be a revision id, a unique prefix (4+ chars), a branch label,
    ``label@head``, ``head`` or ``heads``. Raises ValueError for an unknown or
    ambiguous target, for ``head`` with several heads and for a cyclic history.
    An unknown current revision raises ValueError too (Alembic would fail).
    """
    if find_cycles(graph):
        raise ValueError("The migration history contains a cycle; no upgrade order exists.")
    unknown = [c for c in current if c not in graph.by_id]
    if unknown:
        raise ValueError(
            f"The database is at {', '.join(unknown)}, which no migration file defines; "
            "Alembic cannot upgrade from there."
        )
    return _pending(graph, current, _resolve_target(graph, target))


# --------------------------------------------------------------------------- problems


def _names(ids: Iterable[str]) -> str:
    return ", ".join(ids)


def _sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: _SEVERITY_ORDER.get(f.severity, 3))


def _split_revises(text: str) -> set[str]:
    return {part for part in re.split(r"[\s,()'\"]+", text) if part and part != "None"}


def _script_findings(
    graph: ScriptGraph,
    graph_heads: Sequence[str],
    cycles: Sequence[tuple[str, ...]],
    *,
    pending: Sequence[str],
    db_checked: bool,
) -> list[Finding]:
    out: list[Finding] = []
    if len(graph_heads) > 1:
        out.append(
            Finding(
                "multiple_heads",
                "critical",
                f"The migrations have {len(graph_heads)} heads ({_names(graph_heads)}), so "
                "'alembic upgrade head' fails with \"Multiple head revisions\"; merge them "
                "with 'alembic merge heads'.",
                tuple(graph_heads),
            )
        )
    graph_roots = roots(graph)
    if len(graph_roots) > 1:
        out.append(
            Finding(
                "multiple_roots",
                "warning",
                f"The migrations have {len(graph_roots)} roots ({_names(graph_roots)}); "
                "only one should start the history.",
                graph_roots,
            )
        )
    stems = {r.path.removesuffix(".py"): r.revision for r in graph.revisions}
    missing: dict[str, list[str]] = {}
    for rid in graph.ids:
        rev = graph.by_id[rid]
        for ref in (*rev.down_revisions, *rev.depends_on):
            if ref not in graph.by_id and resolve_name(graph, ref) is None:
                missing.setdefault(ref, []).append(rid)
    for ref, users in missing.items():
        hint = (
            f"; that is the file name of revision {stems[ref]}, not its id" if ref in stems else ""
        )
        out.append(
            Finding(
                "missing_parent",
                "critical",
                f"Revision {_names(users)} names parent {ref}, which no migration defines{hint}; "
                f"Alembic fails with KeyError '{ref}'.",
                (*users, ref),
            )
        )
    for rid in graph.ids:
        files = [r.path for r in graph.revisions if r.revision == rid]
        if len(files) > 1:
            out.append(
                Finding(
                    "duplicate_revision",
                    "critical",
                    f"Revision {rid} is defined by {len(files)} files ({_names(files)}); "
                    "Alembic keeps only the last one and reports multiple heads.",
                    (rid,),
                )
            )
    for cycle in cycles:
        out.append(
            Finding(
                "cycle",
                "critical",
                f"Revisions {_names(cycle)} form a cycle through their down_revision values; "
                "Alembic cannot load this history.",
                cycle,
            )
        )
    pend = set(pending)
    for rid in graph.ids:
        if len(rid) > VERSION_NUM_WIDTH:
            urgent = not db_checked or rid in pend
            out.append(
                Finding(
                    "revision_id_too_long",
                    "critical" if urgent else "warning",
                    f"Revision id {rid} has {len(rid)} characters but alembic_version.version_num "
                    f"holds {VERSION_NUM_WIDTH}, so stamping it fails (StringDataRightTruncation)"
                    + ("." if urgent else "; the database is already past it, a fresh one is not."),
                    (rid,),
                )
            )
        if not _VALID_ID.fullmatch(rid):
            refused = sorted(set(rid) & set(ALEMBIC_ILLEGAL_CHARS))
            consequence = (
                f"Alembic refuses to load the history (characters {' '.join(refused)} are "
                "not allowed in revision ids)"
                if refused
                else "no MagFlow revision id has ever done so"
            )
            out.append(
                Finding(
                    "invalid_revision_id",
                    "critical" if refused else "warning",
                    f"Revision id {rid!r} contains characters other than letters, digits and "
                    f"underscores; {consequence}.",
                    (rid,),
                )
            )
    for rev in graph.revisions:
        diffs = []
        if rev.doc_revision_id is not None and rev.doc_revision_id != rev.revision:
            diffs.append(f"Revision ID: {rev.doc_revision_id}")
        if rev.doc_revises is not None and _split_revises(rev.doc_revises) != set(
            rev.down_revisions
        ):
            diffs.append(f"Revises: {rev.doc_revises or '(empty)'}")
        if diffs:
            actual = _names(rev.down_revisions) or "None"
            out.append(
                Finding(
                    "docstring_mismatch",
                    "info",
                    f"The docstring of {rev.path} says {' and '.join(diffs)}, but the code says "
                    f"revision {rev.revision} revises {actual}; the code is what Alembic uses.",
                    (rev.revision,),
                    subject=rev.path,
                )
            )
    return out


def _database_findings(
    graph: ScriptGraph,
    *,
    current: Sequence[str],
    unknown: Sequence[str],
    pending: Sequence[str],
    version_tables: Sequence[str] | None,
    schema_empty: bool | None,
) -> list[Finding]:
    out: list[Finding] = []
    for rid in unknown:
        out.append(
            Finding(
                "unknown_current_revision",
                "critical",
                f"The database is stamped with revision {rid}, which no migration file defines "
                f"(deleted or renamed); Alembic fails with \"Can't locate revision identified by "
                f"'{rid}'\" until the database is stamped with a known revision.",
                (rid,),
            )
        )
    tables = tuple(version_tables or ())
    if version_tables is not None and APP_VERSION_TABLE not in tables:
        only = (
            f" (only {_names(tables)} exists, which the app's Alembic does not read)"
            if tables
            else ""
        )
        if schema_empty is False:
            out.append(
                Finding(
                    "version_table_missing",
                    "critical",
                    f"The app schema has tables but no {APP_VERSION_TABLE}{only}; 'alembic upgrade' "
                    'would try to create everything again and fail with "already exists", so '
                    "stamp the matching revision first.",
                )
            )
        else:
            state = "is empty" if schema_empty else "may be empty"
            out.append(
                Finding(
                    "version_table_missing",
                    "warning",
                    f"There is no {APP_VERSION_TABLE}{only} and the schema {state}: the database "
                    "was never migrated, or a fresh 'upgrade head' failed and rolled back.",
                )
            )
    if len(tables) > 1:
        out.append(
            Finding(
                "version_table_ambiguous",
                "warning",
                f"Several version tables exist ({_names(tables)}); some tool stamped the wrong "
                f"schema, and the app reads only {APP_VERSION_TABLE}.",
            )
        )
    if pending:
        shown = _names(pending[:12]) + (
            f" and {len(pending) - 12} more" if len(pending) > 12 else ""
        )
        where = _names(current) if current else "no revision"
        out.append(
            Finding(
                "pending_migrations",
                "warning",
                f"The database is at {where} and {len(pending)} migration(s) are not applied: "
                f"{shown}.",
                tuple(pending),
            )
        )
    return out


# --------------------------------------------------------------------------- analysis


def analyze(
    graph: ScriptGraph,
    *,
    current: Sequence[str] | None,
    version_tables: Sequence[str] | None,
    schema_empty: bool | None = None,
) -> GraphAnalysis:
    """Structure, pending list and every problem of ``graph`` against the database state.

    ``current=None`` means the database was not checked (``--no-db``).
    """
    graph_heads = heads(graph)
    cycles = find_cycles(graph)
    cur = tuple(current) if current is not None else ()
    unknown = tuple(c for c in cur if c not in graph.by_id)
    pending = pending_upgrade(graph, cur) if current is not None else ()
    findings = list(graph.parse_problems)
    findings += _script_findings(
        graph, graph_heads, cycles, pending=pending, db_checked=current is not None
    )
    if current is not None:
        findings += _database_findings(
            graph,
            current=cur,
            unknown=unknown,
            pending=pending,
            version_tables=version_tables,
            schema_empty=schema_empty,
        )
    return GraphAnalysis(
        heads=graph_heads,
        roots=roots(graph),
        merges=merge_points(graph),
        current=cur,
        unknown_current=unknown,
        pending=pending,
        findings=tuple(_sort_findings(findings)),
    )


def build_snapshot(
    graph_or_error: ScriptGraph | str, db: DatabaseSnapshot | None, *, started: float
) -> MigrationsSnapshot:
    """The migrations pane/JSON snapshot; never raises (see module docstring for rules)."""
    try:
        return _build_snapshot(graph_or_error, db, started)
    except Exception as exc:  # a bug here must not take the console down
        return error_snapshot(
            MigrationsSnapshot,
            f"Migration analysis failed unexpectedly ({type(exc).__name__}).",
            started,
            db_checked=db is not None,
        )


def _build_snapshot(
    graph_or_error: ScriptGraph | str, db: DatabaseSnapshot | None, started: float
) -> MigrationsSnapshot:
    db_ok = db is not None and db.state != "error"
    extra = {
        "db_checked": db_ok,
        "current": db.current_revisions if db_ok and db is not None else (),
        "version_tables": db.version_tables if db_ok and db is not None else (),
        "lock_holders": db.lock_holders if db is not None else (),
    }
    if isinstance(graph_or_error, str):
        return error_snapshot(MigrationsSnapshot, graph_or_error, started, **extra)
    graph = graph_or_error
    if graph.error is not None:
        return error_snapshot(
            MigrationsSnapshot, graph.error, started, scripts_location=graph.location, **extra
        )
    if db_ok and db is not None:
        result = analyze(
            graph,
            current=db.current_revisions,
            version_tables=db.version_tables,
            schema_empty=db.schema_empty,
        )
    else:
        result = analyze(graph, current=None, version_tables=None)
    problems = result.findings
    if db is not None and not db_ok:
        reason = (db.error or "unknown error").rstrip(".")
        problems = (
            Finding(
                "database_unchecked",
                "warning",
                f"The current revision and pending migrations are unknown because the "
                f"database could not be read ({reason}).",
            ),
            *problems,
        )
    return MigrationsSnapshot(
        state="ok",
        error=None,
        fetched_at=utcnow(),
        duration_ms=(time.perf_counter() - started) * 1000,
        scripts_location=graph.location,
        revisions=graph.revisions,
        heads=result.heads,
        roots=result.roots,
        merges=result.merges,
        pending=result.pending,
        problems=problems,
        **extra,  # type: ignore[arg-type]
    )

"""The Alembic history as a graph: heads, roots, merges, pending upgrades, problems.

Everything here is pure (no I/O) except the re-exported readers from
:mod:`magflow_console.sources.alembic_parse`. The pending order reproduces
Alembic's own (``ScriptDirectory._upgrade_revs`` -> ``RevisionMap._topological_sort``),
which walks heads in file order and emits a branch as deep as it can before moving
to a head that depends on it; the tests cross-check it against Alembic. The problem
checks behind :func:`analyze` (the stable finding codes) live in
:mod:`magflow_console.sources.alembic_problems`.

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from magflow_console.models import (
    DatabaseSnapshot,
    Finding,
    MigrationsSnapshot,
    error_snapshot,
    utcnow,
)
from magflow_console.sources.alembic_parse import (
    parse_scripts,
    parse_source,
    parse_tar,
    read_scripts_from_container,
)
from magflow_console.sources.alembic_problems import ALEMBIC_ILLEGAL_CHARS as ALEMBIC_ILLEGAL_CHARS
from magflow_console.sources.alembic_problems import APP_VERSION_TABLE as APP_VERSION_TABLE
from magflow_console.sources.alembic_problems import (
    VERSION_NUM_WIDTH,
    database_findings,
    script_findings,
    sort_findings,
)
from magflow_console.sources.alembic_structure import (
    ScriptGraph,
    closure,
    find_cycles,
    heads,
    merge_points,
    normalized_parents,
    real_heads,
    resolve_name,
    roots,
)

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
    findings += script_findings(
        graph, graph_heads, cycles, pending=pending, db_checked=current is not None
    )
    if current is not None:
        findings += database_findings(
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
        findings=tuple(sort_findings(findings)),
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

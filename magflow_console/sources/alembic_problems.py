"""Problem detection for an Alembic history: the stable finding codes and their checks.

Pure (no I/O). :func:`script_findings` checks the scripts alone (``multiple_heads``,
``multiple_roots``, ``missing_parent``, ``duplicate_revision``, ``cycle``,
``revision_id_too_long``, ``invalid_revision_id``, ``docstring_mismatch``);
:func:`database_findings` checks them against the database
(``unknown_current_revision``, ``version_table_missing``, ``version_table_ambiguous``,
``pending_migrations``). :func:`magflow_console.sources.alembic_graph.analyze` runs
both; the constants are re-exported from there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from magflow_console.models import Finding, worst_first
from magflow_console.sources.alembic_structure import ScriptGraph, resolve_name, roots

__all__ = [
    "ALEMBIC_ILLEGAL_CHARS",
    "APP_VERSION_TABLE",
    "VERSION_NUM_WIDTH",
    "database_findings",
    "script_findings",
    "sort_findings",
]

VERSION_NUM_WIDTH = 32  # app.alembic_version.version_num is varchar(32)
APP_VERSION_TABLE = "app.alembic_version"
_VALID_ID = re.compile(r"[A-Za-z0-9_]+")
ALEMBIC_ILLEGAL_CHARS = "@-+:"  # alembic.script.revision._revision_illegal_chars


def _names(ids: Iterable[str]) -> str:
    return ", ".join(ids)


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    return worst_first(findings)


def _split_revises(text: str) -> set[str]:
    return {part for part in re.split(r"[\s,()'\"]+", text) if part and part != "None"}


def script_findings(
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
                short=f"{len(graph_heads)} heads: merge them",
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
                short=f"{len(graph_roots)} roots",
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
                short=f"missing parent {ref}",
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
                    short=f"{rid} defined {len(files)} times",
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
                short=f"cycle through {len(cycle)} revisions",
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
                    short=f"id longer than {VERSION_NUM_WIDTH}: {rid}",
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
                    short=f"invalid id {rid!r}",
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
                    short=f"docstring disagrees with the code: {rev.path}",
                )
            )
    return out


def database_findings(
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
                short=f"database at unknown revision {rid}",
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
                    short=f"no {APP_VERSION_TABLE}, but the schema has tables",
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
                    short=f"no {APP_VERSION_TABLE}: never migrated?",
                )
            )
    if len(tables) > 1:
        out.append(
            Finding(
                "version_table_ambiguous",
                "warning",
                f"Several version tables exist ({_names(tables)}); some tool stamped the wrong "
                f"schema, and the app reads only {APP_VERSION_TABLE}.",
                short=f"{len(tables)} version tables",
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
                short=f"{len(pending)} migration(s) not applied",
            )
        )
    return out

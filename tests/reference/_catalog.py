"""Catalog queries (pg_catalog / information_schema) shared by the reference tests."""

from __future__ import annotations

from typing import Any

import psycopg

from magflow_console.reference.urls import to_libpq


def query(url: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(to_libpq(url)) as conn:
        return list(conn.execute(sql, params))


def columns(url: str, table: str) -> dict[str, tuple[str, bool, str | None]]:
    """column -> (format_type, not_null, default expression) for ``app.<table>``."""
    rows = query(
        url,
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,"
        " pg_get_expr(d.adbin, d.adrelid)"
        " FROM pg_attribute a"
        " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
        " WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped",
        [f"app.{table}"],
    )
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def constraint_def(url: str, table: str, name: str) -> tuple[str, str] | None:
    """(contype, definition) of a named constraint on ``app.<table>``."""
    rows = query(
        url,
        "SELECT contype::text, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = to_regclass(%s) AND conname = %s",
        [f"app.{table}", name],
    )
    return (rows[0][0], rows[0][1]) if rows else None


def indexes(url: str, table: str) -> dict[str, str]:
    rows = query(
        url,
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'app' AND tablename = %s",
        [table],
    )
    return {r[0]: r[1] for r in rows}


def app_tables(url: str) -> set[str]:
    rows = query(
        url,
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_schema = 'app' AND table_type = 'BASE TABLE'",
    )
    return {r[0] for r in rows}


def version_rows(url: str) -> list[str]:
    return [r[0] for r in query(url, "SELECT version_num FROM app.alembic_version")]

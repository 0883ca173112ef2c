"""The reference MagFlow schema: an Alembic tree that reproduces the 13-revision chain of
MagFlow's main line (2025-10-22) for the tables the console touches, a seeder and an embedded
PostgreSQL for demos and tests.

Never imports Textual. Alembic and SQLAlchemy are imported lazily by the functions below.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config

SCRIPTS_DIR: Path = Path(__file__).resolve().parent / "alembic"
"""The Alembic script location (holds ``env.py`` and ``versions/``)."""

HEAD = "20251021_eliminated_suggest"
DEMO_TARGET = "20251021_add_price_fields"
VERSION_TABLE_SCHEMA = "app"
MIGRATION_LOCK_ID = 123456789

# The current chain, root first (sheet §3.1).
REVISIONS: tuple[str, ...] = (
    "86f7456767fd",
    "6d303f2068d4",
    "20251010_add_auxiliary",
    "20251013_fix_all_tz",
    "20251013_fix_account_type",
    "20251014_create_emag_orders",
    "32b7be1a5113",
    "bf06b4dee948",
    "f6bd35df0c64",
    "72ba0528563c",
    "20251020_add_supplier_id",
    "20251021_add_price_fields",
    "20251021_eliminated_suggest",
)

__all__ = [
    "DEMO_TARGET",
    "HEAD",
    "MIGRATION_LOCK_ID",
    "REVISIONS",
    "SCRIPTS_DIR",
    "alembic_config",
    "current_revisions",
    "is_at_or_after",
    "upgrade",
]


def alembic_config(url: str) -> Config:
    """An Alembic ``Config`` built in code: no ini file, the URL passed through attributes
    (never interpolated into ini options, so ``%`` in passwords is harmless)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS_DIR))
    cfg.attributes["sqlalchemy.url"] = url
    return cfg


def upgrade(url: str, target: str = "head") -> None:
    """``alembic upgrade <target>`` against ``url`` (``postgresql+psycopg://...``)."""
    from alembic import command

    command.upgrade(alembic_config(url), target)


def current_revisions(url: str) -> tuple[str, ...]:
    """Rows of ``app.alembic_version`` (empty when the table does not exist)."""
    import psycopg

    from magflow_console.reference.urls import to_libpq

    with psycopg.connect(to_libpq(url)) as conn:
        row = conn.execute("SELECT to_regclass('app.alembic_version') IS NOT NULL").fetchone()
        if row is None or not row[0]:
            return ()
        return tuple(r[0] for r in conn.execute("SELECT version_num FROM app.alembic_version"))


def is_at_or_after(revision: str, target: str) -> bool:
    """True when ``revision`` is ``target`` or a descendant of it in the reference chain
    (unknown ids count as not after)."""
    if revision not in REVISIONS or target not in REVISIONS:
        return False
    return REVISIONS.index(revision) >= REVISIONS.index(target)

"""Builders for Alembic script folders shaped like MagFlow's real history (sheet §3).

``write_tree(tmp_path, "current")`` writes ``<tmp>/alembic/{env.py,script.py.mako,
versions/*.py}`` and returns the alembic folder. Files look like real migrations
(docstring with ``Revision ID:``/``Revises:``/``Create Date:``, ``from alembic import
op``, ``import sqlalchemy as sa``, typed or old-style identifiers, an ``upgrade`` that
touches schema ``app``).

``importable=True`` (the default) keeps the imports to alembic and sqlalchemy so
Alembic's own ``ScriptDirectory`` can load the folder for cross-checks;
``importable=False`` adds ``from app.db import Base`` and a module-level
``raise SystemExit`` so any code that imports the files fails loudly.

``SHAPES`` maps a shape name to its migrations; ``SHAPE_FACTS`` gives the expected
heads/roots/merges; ``ALEMBIC_LOADABLE`` lists the shapes Alembic can load.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path


@dataclass(frozen=True)
class Mig:
    revision: str
    down: str | tuple[str, ...] | None
    file: str | None = None  # stem of the file name; default "<revision>_<slug>"
    message: str = ""
    doc_revision_id: str | None = None  # docstring override (None = same as code)
    doc_revises: str | None = None
    branch_labels: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    typed: bool = True  # `revision: str = ...` vs `revision = ...`

    @property
    def parents(self) -> tuple[str, ...]:
        if self.down is None:
            return ()
        return (self.down,) if isinstance(self.down, str) else self.down

    @property
    def filename(self) -> str:
        if self.file:
            return f"{self.file}.py"
        slug = "_".join(self.message.lower().split()[:5]) or "migration"
        slug = "".join(c for c in slug if c.isalnum() or c == "_")
        return (
            f"{self.revision}_{slug}.py"
            if not self.revision.startswith("2025")
            else (f"{self.revision}.py")
        )


def _lit(value: str | tuple[str, ...] | None) -> str:
    if value is None:
        return "None"
    if isinstance(value, str):
        return repr(value)
    return "(" + ", ".join(repr(v) for v in value) + ("," if len(value) == 1 else "") + ")"


def render(m: Mig, *, importable: bool = True) -> str:
    doc_id = m.doc_revision_id or m.revision
    doc_revises = m.doc_revises if m.doc_revises is not None else ", ".join(m.parents)
    extra = "" if importable else "from app.db import Base  # noqa: F401\n"
    poison = "" if importable else "\nraise SystemExit('migration file was executed')\n"
    ann = (": str", ": str | Sequence[str] | None") if m.typed else ("", "")
    return f'''"""{m.message or "migration " + m.revision}

Revision ID: {doc_id}
Revises: {doc_revises}
Create Date: 2025-10-13 10:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
{extra}
# revision identifiers, used by Alembic.
revision{ann[0]} = {m.revision!r}
down_revision{ann[1]} = {_lit(m.down)}
branch_labels{ann[1]} = {_lit(m.branch_labels or None)}
depends_on{ann[1]} = {_lit(m.depends_on or None)}
{poison}

def upgrade() -> None:
    conn = op.get_bind()
    if not sa.inspect(conn).has_table("audit_logs", schema="app"):
        op.add_column("users", sa.Column("note", sa.String(50)), schema="app")


def downgrade() -> None:
    pass
'''


def _chain(ids: Sequence[str], first_down: str | None) -> list[Mig]:
    out, prev = [], first_down
    for rid in ids:
        out.append(Mig(rid, prev, message=f"step {rid}"))
        prev = rid
    return out


# --------------------------------------------------------------------------- §3.1

CURRENT: tuple[Mig, ...] = (
    Mig(
        "86f7456767fd",
        None,
        "86f7456767fd_initial_database_schema_with_users",
        "initial database schema with users",
    ),
    Mig(
        "6d303f2068d4",
        "86f7456767fd",
        "6d303f2068d4_create_emag_offer_tables",
        "create emag offer tables",
        doc_revises="1519392e1e24",
    ),
    Mig(
        "20251010_add_auxiliary",
        "6d303f2068d4",
        "20251010_add_auxiliary_tables",
        "add auxiliary tables",
        typed=False,
    ),
    Mig(
        "20251013_fix_all_tz",
        "20251010_add_auxiliary",
        "20251013_fix_all_timezone_columns",
        "fix all timezone columns",
        doc_revision_id="20251013_fix_all_timezone_columns",
    ),
    Mig(
        "20251013_fix_account_type",
        "20251013_fix_all_tz",
        "20251013_fix_emag_sync_logs_account_type",
        "fix emag sync logs account type",
    ),
    Mig(
        "20251014_create_emag_orders",
        "20251013_fix_account_type",
        "20251014_create_emag_orders_table",
        "create emag orders table",
        doc_revises="20251013_fix_emag_sync_logs_account_type",
    ),
    Mig(
        "32b7be1a5113",
        "20251014_create_emag_orders",
        "32b7be1a5113_change_emag_order_id_to_bigint",
        "change emag order id to bigint",
        doc_revises="20251013_fix_account_type",
    ),
    Mig(
        "bf06b4dee948",
        "32b7be1a5113",
        "bf06b4dee948_change_customer_id_to_bigint",
        "change customer id to bigint",
    ),
    Mig(
        "f6bd35df0c64",
        "bf06b4dee948",
        "f6bd35df0c64_add_price_fields_to_emag_offers",
        "add price fields to emag offers",
    ),
    Mig(
        "72ba0528563c",
        "f6bd35df0c64",
        "72ba0528563c_add_price_fields_to_offers_v2",
        "add price fields to offers v2",
    ),
    Mig(
        "20251020_add_supplier_id",
        "72ba0528563c",
        "20251020_add_supplier_id_to_sheets",
        "add supplier id to supplier sheets",
    ),
    Mig(
        "20251021_add_price_fields",
        "20251020_add_supplier_id",
        "20251021_add_price_fields_to_supplier_products",
        "add price fields to supplier products",
    ),
    Mig(
        "20251021_eliminated_suggest",
        "20251021_add_price_fields",
        "20251021_add_eliminated_suggestions",
        "add eliminated suggestions",
        doc_revision_id="20251021_add_eliminated_suggestions",
    ),
)
CURRENT_IDS = tuple(m.revision for m in CURRENT)
DOCSTRING_MISMATCHES = (
    "6d303f2068d4",
    "20251013_fix_all_tz",
    "20251014_create_emag_orders",
    "32b7be1a5113",
    "20251021_eliminated_suggest",
)


def _with(base: Sequence[Mig], **changes: dict[str, object]) -> tuple[Mig, ...]:
    """Copy ``base`` replacing fields of the revisions named as keys."""
    return tuple(
        replace(m, **changes[m.revision]) if m.revision in changes else m  # type: ignore[arg-type]
        for m in base
    )


# --------------------------------------------------------------------------- §3.2


def _shape_0927() -> tuple[Mig, ...]:
    ids = [
        "86f7456767fd",
        "4242d9721c62",
        "ee01e67b1bcc",
        "1519392e1e24",
        "9a5e6b7c8d01",
        "0b1c2d3e4f50",
        "a1b2c3d4e5f6",
        "c0ffee123456",
        "d00dfeed0001",
    ]
    migs = _chain(ids, None)
    return tuple(
        replace(m, message="merge heads") if m.revision == "1519392e1e24" else m for m in migs
    )


def _shape_0929() -> tuple[Mig, ...]:
    out = _chain(["86f7456767fd", "4242d9721c62"], None)
    out += _chain(["a00000000001", "a00000000002"], "4242d9721c62")
    out += _chain(
        ["20250928_add_fulfillment_channel", "20250929_add_enhanced_emag_models"], "4242d9721c62"
    )
    out += _chain(["b00000000001", "b00000000002"], "4242d9721c62")
    out.append(
        Mig(
            "ab12cd34ef56",
            ("a00000000002", "20250929_add_enhanced_emag_models", "b00000000002"),
            message="merge three heads",
        )
    )
    out += _chain([f"c0000000000{i}" for i in range(1, 7)], "ab12cd34ef56")
    return tuple(out)


LONG_44 = "20251001_add_unique_constraint_sync_progress"


def _shape_1002() -> tuple[Mig, ...]:
    out = _chain(["86f7456767fd", "a10000000001", "a10000000002", "a10000000003"], None)
    out += _chain(["b10000000001", "b10000000002"], "a10000000003")
    out += _chain(["c10000000001"], "a10000000003")
    out += _chain(["d10000000001", "d10000000002"], "a10000000003")
    out.append(Mig("0eae9be5122f", ("b10000000002", "c10000000001", "d10000000002")))
    out += _chain(["e10000000001", "e10000000002"], "0eae9be5122f")
    out += _chain(["f10000000001"], "e10000000002")
    out += _chain(["f20000000001"], "e10000000002")
    out.append(Mig("940c1544dd7b", ("f10000000001", "f20000000001")))
    out += _chain(["h10000000001", "h10000000002"], "940c1544dd7b")
    out += [Mig("add_emag_v449_fields", None), Mig("add_invoice_names", None)]
    out.append(Mig("3880b6b52d31", ("h10000000002", "add_emag_v449_fields", "add_invoice_names")))
    out += _chain(["i10000000001", "i10000000002"], "3880b6b52d31")
    out += [
        Mig(x, "i10000000002") for x in ("j10000000001", "k10000000001", "l10000000001", LONG_44)
    ]
    out.append(Mig("supplier_matching_001", None))
    out.append(
        Mig(
            "9986388d397d",
            ("j10000000001", "k10000000001", "l10000000001", LONG_44, "supplier_matching_001"),
            message="merge five heads",
        )
    )
    out += _chain(["t10000000001", "t10000000002", "t10000000003"], "9986388d397d")
    return tuple(out)


def _shape_1013b() -> tuple[Mig, ...]:
    out = [Mig("86f7456767fd", None)]
    prev = "86f7456767fd"
    for k in range(1, 6):
        x, y, m = f"d{k}0000000001", f"d{k}0000000002", f"d{k}000000000m"
        out += [Mig(x, prev), Mig(y, prev), Mig(m, (x, y), message=f"merge diamond {k}")]
        prev = m
    out.append(Mig("c8e960008812", prev))
    tails = []
    names = [
        "20250928_add_fulfillment_channel",
        "8ee48849d280",
        "add_section8_fields",
        "f5a8d2c7d4ab",
        "eef6ff065ce9",
        "20251011_enhanced_po_adapted",
        "add_emag_v449_fields",
        "add_invoice_names",
        "supplier_matching_001",
        "e1aa00000001",
        "e1bb00000001",
    ]
    for n, tip in enumerate(names):
        length = 3 if n < 4 else 2
        chain = [f"br{n:02d}{i:07d}" for i in range(1, length)] + [tip]
        out += _chain(chain, "c8e960008812")
        tails.append(tip)
    out.append(Mig("20251013_merge_heads", tuple(tails), message="merge heads"))
    return tuple(out)


HEADS_1013C = (
    "20250928_add_fulfillment_channel",
    "20250929_add_enhanced_emag_models",
    "20251013_merge_heads",
    "8ee48849d280",
    "add_section8_fields",
    "f5a8d2c7d4ab",
)


def _shape_1013c() -> tuple[Mig, ...]:
    out = _chain(["86f7456767fd", "c8e960008812"], None)
    branch = [f"m{i}0000000001" for i in range(9)]
    out += [Mig(b, "c8e960008812") for b in branch]
    out.append(Mig("20251013_merge_heads", tuple(branch), message="merge heads"))
    for n, head in enumerate(h for h in HEADS_1013C if h != "20251013_merge_heads"):
        out += _chain([f"p{n}0000000001", head], "86f7456767fd" if n % 2 else "c8e960008812")
    return tuple(out)


# --------------------------------------------------------------------------- broken states

SHAPES: dict[str, tuple[Mig, ...]] = {
    "current": CURRENT,
    "0924_single": (Mig("complete_migration_fix", None, message="complete migration fix"),),
    "0927_linear": _shape_0927(),
    "0929_three_parent_merge": _shape_0929(),
    "1002_four_roots": _shape_1002(),
    "1013b_eleven_parent_merge": _shape_1013b(),
    "1013c_six_heads": _shape_1013c(),
    "1013d_consolidation": CURRENT[:4],
    "fork_at_fix_account_type": _with(
        CURRENT, **{"32b7be1a5113": {"down": "20251013_fix_account_type"}}
    ),
    "fork_at_add_supplier_id": _with(
        CURRENT, **{"20251021_eliminated_suggest": {"down": "20251020_add_supplier_id"}}
    ),
    "missing_parent_filename": _with(
        CURRENT,
        **{"20251014_create_emag_orders": {"down": "20251013_fix_emag_sync_logs_account_type"}},
    ),
    "missing_parent_nonexistent": _with(
        CURRENT, **{"20251020_add_supplier_id": {"down": "20251020_add_emag_price_columns"}}
    ),
    "long_id_35": _with(
        CURRENT,
        **{"20251021_eliminated_suggest": {"revision": "20251021_add_eliminated_suggestions"}},
    ),
    "duplicate_revision": (
        *CURRENT,
        Mig(
            "20251021_eliminated_suggest",
            "20251021_add_price_fields",
            "20251021_eliminated_suggest_copy",
            "copy",
        ),
    ),
    "cycle": (
        *CURRENT[:3],
        Mig("c1c1c1c1c1c1", "c3c3c3c3c3c3"),
        Mig("c2c2c2c2c2c2", "c1c1c1c1c1c1"),
        Mig("c3c3c3c3c3c3", "c2c2c2c2c2c2"),
    ),
    "hyphenated_id": _with(
        CURRENT[:11], **{"20251020_add_supplier_id": {"revision": "20251020-add-supplier-id"}}
    ),
    "depends_on": (
        *CURRENT[:3],
        Mig("x1x1x1x1x1x1", None, branch_labels=("extras",)),
        Mig("x2x2x2x2x2x2", "20251010_add_auxiliary", depends_on=("x1x1x1x1x1x1",)),
    ),
}

ALEMBIC_LOADABLE = tuple(
    s
    for s in SHAPES
    if s not in ("missing_parent_filename", "missing_parent_nonexistent", "cycle", "hyphenated_id")
)

# expected (heads, roots count, merges count, number of files)
SHAPE_FACTS: dict[str, tuple[tuple[str, ...], int, int, int]] = {
    "current": (("20251021_eliminated_suggest",), 1, 0, 13),
    "0924_single": (("complete_migration_fix",), 1, 0, 1),
    "0927_linear": (("d00dfeed0001",), 1, 0, 9),
    "0929_three_parent_merge": (("c00000000006",), 1, 1, 15),
    "1002_four_roots": (("t10000000003",), 4, 4, 31),
    "1013b_eleven_parent_merge": (("20251013_merge_heads",), 1, 6, 44),
    "1013c_six_heads": (HEADS_1013C, 1, 1, 22),
    "1013d_consolidation": (("20251013_fix_all_tz",), 1, 0, 4),
}


def write_tree(
    root: Path,
    shape: str | Sequence[Mig],
    *,
    importable: bool = True,
    name: str = "alembic",
) -> Path:
    """Write ``<root>/<name>/versions/*.py`` (+ env.py, script.py.mako); return ``<root>/<name>``."""
    migs = SHAPES[shape] if isinstance(shape, str) else tuple(shape)
    folder = root / name
    versions = folder / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    (folder / "env.py").write_text("from app.db import Base\nraise SystemExit('env.py ran')\n")
    (folder / "script.py.mako").write_text('"""${message}"""\n')
    (versions / "__init__.py").write_text("raise SystemExit('__init__ ran')\n")
    (versions / "README").write_text("not a migration\n")
    cache = versions / "__pycache__"
    cache.mkdir(exist_ok=True)
    (cache / "stale.cpython-311.py").write_text("revision = 'from_pycache'\n")
    for m in migs:
        (versions / m.filename).write_text(render(m, importable=importable))
    return folder


def tar_tree(folder: Path, *, arcname: str | None = None) -> bytes:
    """The tar bytes ``container.get_archive(<folder>)`` would return for ``folder``."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as archive:
        archive.add(folder, arcname=arcname or folder.name)
    return buf.getvalue()

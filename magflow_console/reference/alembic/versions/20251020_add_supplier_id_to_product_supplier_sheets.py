"""add supplier_id to product_supplier_sheets

Revision ID: 20251020_add_supplier_id
Revises: 72ba0528563c
Create Date: 2025-10-20 15:33:48.000000

Links each Google-Sheets supplier row to app.suppliers and backfills the link by supplier
name. Not idempotent.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "20251020_add_supplier_id"
down_revision: str | None = "72ba0528563c"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    op.add_column(
        "product_supplier_sheets",
        sa.Column("supplier_id", sa.Integer(), nullable=True),
        schema="app",
    )
    op.create_foreign_key(
        "fk_product_supplier_sheets_supplier_id",
        "product_supplier_sheets",
        "suppliers",
        ["supplier_id"],
        ["id"],
        source_schema="app",
        referent_schema="app",
        ondelete="SET NULL",
    )
    op.create_index(
        "ix_app_product_supplier_sheets_supplier_id",
        "product_supplier_sheets",
        ["supplier_id"],
        schema="app",
    )
    op.execute(
        "UPDATE app.product_supplier_sheets AS sh SET supplier_id = s.id "
        "FROM app.suppliers AS s WHERE lower(trim(s.name)) = lower(trim(sh.supplier_name)) "
        "AND sh.supplier_id IS NULL"
    )


def downgrade() -> None:
    op.drop_index(
        "ix_app_product_supplier_sheets_supplier_id", "product_supplier_sheets", schema="app"
    )
    op.drop_constraint(
        "fk_product_supplier_sheets_supplier_id", "product_supplier_sheets", schema="app"
    )
    op.drop_column("product_supplier_sheets", "supplier_id", schema="app")

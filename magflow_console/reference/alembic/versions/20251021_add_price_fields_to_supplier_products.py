"""add price fields to supplier_products

Revision ID: 20251021_add_price_fields
Revises: 20251020_add_supplier_id
Create Date: 2025-10-21 09:05:27.000000

supplier_price / supplier_currency / last_price_update, backfilled from price_cny.
Not idempotent.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "20251021_add_price_fields"
down_revision: str | None = "20251020_add_supplier_id"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    op.add_column(
        "supplier_products", sa.Column("supplier_price", sa.Float(), nullable=True), schema="app"
    )
    op.add_column(
        "supplier_products",
        sa.Column("supplier_currency", sa.String(3), nullable=True),
        schema="app",
    )
    op.add_column(
        "supplier_products",
        sa.Column("last_price_update", sa.DateTime(), nullable=True),
        schema="app",
    )
    op.execute(
        "UPDATE app.supplier_products SET supplier_price = price_cny, supplier_currency = 'CNY', "
        "last_price_update = now() AT TIME ZONE 'utc' WHERE price_cny IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_column("supplier_products", "last_price_update", schema="app")
    op.drop_column("supplier_products", "supplier_currency", schema="app")
    op.drop_column("supplier_products", "supplier_price", schema="app")

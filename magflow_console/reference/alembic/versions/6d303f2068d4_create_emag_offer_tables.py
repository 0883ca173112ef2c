"""create emag offer tables

Revision ID: 6d303f2068d4
Revises: 1519392e1e24
Create Date: 2025-10-13 10:02:17.448120

Legacy (v1) eMAG offer tables, created only when missing: emag_products (the FK target),
emag_product_offers and emag_offer_syncs.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "6d303f2068d4"
down_revision: str | None = "86f7456767fd"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

S = "app"


def _missing(table: str) -> bool:
    found = op.get_bind().execute(sa.text("SELECT to_regclass(:t)"), {"t": f"{S}.{table}"})
    return found.scalar() is None


def upgrade() -> None:
    if _missing("emag_products"):
        op.create_table(
            "emag_products",
            sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
            sa.Column("emag_id", sa.String(100), nullable=False),
            sa.Column("name", sa.String(255), nullable=False),
            sa.Column("part_number", sa.String(100), nullable=True),
            sa.Column("description", sa.Text(), nullable=True),
            sa.Column("brand", sa.String(100), nullable=True),
            sa.Column("price", sa.Float(), nullable=True),
            sa.Column("currency", sa.String(3), nullable=False),
            sa.Column("is_active", sa.Boolean(), nullable=False),
            sa.Column("account_type", sa.String(10), nullable=False),
            sa.Column("raw_data", postgresql.JSONB(), nullable=True),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.Column("updated_at", sa.DateTime(), nullable=False),
            schema=S,
        )
        op.create_index("ix_app_emag_products_emag_id", "emag_products", ["emag_id"], schema=S)
    if _missing("emag_product_offers"):
        # min/max/recommended price arrive with f6bd35df0c64; the timestamps become
        # timestamptz with 20251013_fix_all_tz.
        op.create_table(
            "emag_product_offers",
            sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
            sa.Column("emag_product_id", sa.String(100), nullable=False),
            sa.Column("emag_offer_id", sa.Integer(), nullable=False),
            sa.Column(
                "product_id", sa.Integer(), sa.ForeignKey(f"{S}.emag_products.id"), nullable=True
            ),
            sa.Column("price", sa.Float(), nullable=True),
            sa.Column("sale_price", sa.Float(), nullable=True),
            sa.Column("currency", sa.String(3), nullable=False),
            sa.Column("stock", sa.Integer(), nullable=False),
            sa.Column("stock_status", sa.String(50), nullable=True),
            sa.Column("handling_time", sa.Integer(), nullable=True),
            sa.Column("status", sa.String(50), nullable=True),
            sa.Column("is_available", sa.Boolean(), nullable=True),
            sa.Column("is_visible", sa.Boolean(), nullable=True),
            sa.Column("vat_rate", sa.Float(), nullable=True),
            sa.Column("vat_included", sa.Boolean(), nullable=True),
            sa.Column("warehouse_id", sa.Integer(), nullable=True),
            sa.Column("warehouse_name", sa.String(100), nullable=True),
            sa.Column("account_type", sa.String(10), nullable=False),
            sa.Column("warranty", sa.Integer(), nullable=True),
            sa.Column("last_imported_at", sa.DateTime(), nullable=True),
            sa.Column("emag_updated_at", sa.DateTime(), nullable=True),
            sa.Column("import_batch_id", sa.String(50), nullable=True),
            sa.Column("raw_data", postgresql.JSONB(), nullable=True),
            sa.Column("metadata", postgresql.JSONB(), nullable=False),
            sa.UniqueConstraint(
                "emag_offer_id",
                "account_type",
                name="uq_emag_product_offers_offer_id_account_type",
            ),
            schema=S,
        )
    if _missing("emag_offer_syncs"):
        op.create_table(
            "emag_offer_syncs",
            sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
            sa.Column("sync_id", sa.String(50), nullable=False),
            sa.Column("account_type", sa.String(10), nullable=False),
            sa.Column("operation_type", sa.String(50), nullable=False),
            sa.Column("status", sa.String(20), nullable=False),
            sa.Column("started_at", sa.DateTime(), nullable=True),
            sa.Column("completed_at", sa.DateTime(), nullable=True),
            sa.Column("total_offers_processed", sa.Integer(), nullable=False),
            sa.Column("offers_created", sa.Integer(), nullable=False),
            sa.Column("offers_updated", sa.Integer(), nullable=False),
            sa.Column("offers_failed", sa.Integer(), nullable=False),
            sa.Column("errors", postgresql.JSONB(), nullable=False),
            sa.Column("filters", postgresql.JSONB(), nullable=False),
            sa.Column("metadata", postgresql.JSONB(), nullable=False),
            sa.UniqueConstraint("sync_id", name="uq_emag_offer_syncs_sync_id"),
            schema=S,
        )


def downgrade() -> None:
    op.drop_table("emag_offer_syncs", schema=S)
    op.drop_table("emag_product_offers", schema=S)
    op.drop_table("emag_products", schema=S)

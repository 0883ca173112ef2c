"""add min/max/recommended price to emag_product_offers_v2

Revision ID: 72ba0528563c
Revises: f6bd35df0c64
Create Date: 2025-10-19 10:14:02.734451

Not idempotent: on a database whose offers_v2 already has these columns it fails with
DuplicateColumn.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "72ba0528563c"
down_revision: str | None = "f6bd35df0c64"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    op.add_column(
        "emag_product_offers_v2",
        sa.Column("min_sale_price", sa.Float(), nullable=True),
        schema="app",
    )
    op.add_column(
        "emag_product_offers_v2",
        sa.Column("max_sale_price", sa.Float(), nullable=True),
        schema="app",
    )
    op.add_column(
        "emag_product_offers_v2",
        sa.Column("recommended_price", sa.Float(), nullable=True),
        schema="app",
    )


def downgrade() -> None:
    op.drop_column("emag_product_offers_v2", "recommended_price", schema="app")
    op.drop_column("emag_product_offers_v2", "max_sale_price", schema="app")
    op.drop_column("emag_product_offers_v2", "min_sale_price", schema="app")

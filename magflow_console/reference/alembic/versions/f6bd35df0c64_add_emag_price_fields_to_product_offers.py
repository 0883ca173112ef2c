"""add min/max/recommended price to emag_product_offers

Revision ID: f6bd35df0c64
Revises: bf06b4dee948
Create Date: 2025-10-18 17:26:40.552113

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "f6bd35df0c64"
down_revision: str | None = "bf06b4dee948"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

COLUMNS = ("min_sale_price", "max_sale_price", "recommended_price")


def upgrade() -> None:
    bind = op.get_bind()
    existing = set(
        bind.execute(
            sa.text(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'app' AND table_name = 'emag_product_offers'"
            )
        ).scalars()
    )
    for column in COLUMNS:
        if column not in existing:
            op.add_column(
                "emag_product_offers", sa.Column(column, sa.Float(), nullable=True), schema="app"
            )


def downgrade() -> None:
    for column in reversed(COLUMNS):
        op.drop_column("emag_product_offers", column, schema="app")

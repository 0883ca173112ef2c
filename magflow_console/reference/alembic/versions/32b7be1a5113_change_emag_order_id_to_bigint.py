"""change emag_order_id to bigint

Revision ID: 32b7be1a5113
Revises: 20251013_fix_account_type
Create Date: 2025-10-14 12:41:09.318270

eMAG order ids exceed 2**31-1 ("integer out of range" on insert).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "32b7be1a5113"
down_revision: str | None = "20251014_create_emag_orders"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    op.alter_column(
        "emag_orders",
        "emag_order_id",
        existing_type=sa.Integer(),
        type_=sa.BigInteger(),
        existing_nullable=False,
        schema="app",
    )


def downgrade() -> None:
    op.alter_column(
        "emag_orders",
        "emag_order_id",
        existing_type=sa.BigInteger(),
        type_=sa.Integer(),
        existing_nullable=False,
        schema="app",
    )

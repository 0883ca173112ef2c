"""change customer_id to bigint

Revision ID: bf06b4dee948
Revises: 32b7be1a5113
Create Date: 2025-10-14 13:02:55.901877

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "bf06b4dee948"
down_revision: str | None = "32b7be1a5113"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    op.alter_column(
        "emag_orders",
        "customer_id",
        existing_type=sa.Integer(),
        type_=sa.BigInteger(),
        existing_nullable=True,
        schema="app",
    )


def downgrade() -> None:
    op.alter_column(
        "emag_orders",
        "customer_id",
        existing_type=sa.BigInteger(),
        type_=sa.Integer(),
        existing_nullable=True,
        schema="app",
    )

"""add eliminated_suggestions table

Revision ID: 20251021_add_eliminated_suggestions
Revises: 20251021_add_price_fields
Create Date: 2025-10-21 18:44:10.000000

Supplier-matching suggestions a user dismissed, so they are not proposed again. The id in
the docstring (35 characters) could not be stamped into varchar(32); the variable is short.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "20251021_eliminated_suggest"
down_revision: str | None = "20251021_add_price_fields"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    op.create_table(
        "eliminated_suggestions",
        sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
        sa.Column(
            "local_product_id",
            sa.Integer(),
            sa.ForeignKey("app.products.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "supplier_product_id",
            sa.Integer(),
            sa.ForeignKey("app.supplier_products.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("eliminated_at", sa.DateTime(), nullable=False),
        sa.Column(
            "eliminated_by",
            sa.Integer(),
            sa.ForeignKey("app.users.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.UniqueConstraint(
            "local_product_id", "supplier_product_id", name="uq_eliminated_suggestion"
        ),
        schema="app",
    )
    op.create_index(
        "idx_eliminated_local_product", "eliminated_suggestions", ["local_product_id"], schema="app"
    )
    op.create_index(
        "idx_eliminated_supplier_product",
        "eliminated_suggestions",
        ["supplier_product_id"],
        schema="app",
    )


def downgrade() -> None:
    op.drop_table("eliminated_suggestions", schema="app")

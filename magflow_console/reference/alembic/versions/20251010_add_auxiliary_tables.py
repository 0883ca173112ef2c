"""add auxiliary tables (audit_logs, product_variants, product_genealogy)

Revision ID: 20251010_add_auxiliary
Revises: 6d303f2068d4
Create Date: 2025-10-10 14:31:05.000000

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "20251010_add_auxiliary"
down_revision: str | None = "6d303f2068d4"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

S = "app"


def _missing(table: str) -> bool:
    found = op.get_bind().execute(sa.text("SELECT to_regclass(:t)"), {"t": f"{S}.{table}"})
    return found.scalar() is None


def upgrade() -> None:
    if _missing("audit_logs"):
        op.create_table(
            "audit_logs",
            sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
            sa.Column("user_id", sa.Integer(), sa.ForeignKey(f"{S}.users.id"), nullable=True),
            sa.Column("action", sa.String(100), nullable=False),
            sa.Column("resource", sa.String(100), nullable=False),
            sa.Column("resource_id", sa.String(100), nullable=True),
            sa.Column("details", postgresql.JSONB(), nullable=True),
            sa.Column("ip_address", sa.String(45), nullable=True),
            sa.Column("user_agent", sa.String(500), nullable=True),
            sa.Column("success", sa.Boolean(), nullable=False),
            sa.Column("error_message", sa.Text(), nullable=True),
            sa.Column("timestamp", sa.DateTime(), nullable=False),
            schema=S,
        )
        op.create_index("ix_app_audit_logs_timestamp", "audit_logs", ["timestamp"], schema=S)
    if _missing("product_variants"):
        op.create_table(
            "product_variants",
            sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
            sa.Column(
                "product_id", sa.Integer(), sa.ForeignKey(f"{S}.products.id"), nullable=False
            ),
            sa.Column("variant_sku", sa.String(100), nullable=False),
            sa.Column("variant_name", sa.String(255), nullable=True),
            sa.Column("is_active", sa.Boolean(), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.Column("updated_at", sa.DateTime(), nullable=False),
            schema=S,
        )
    if _missing("product_genealogy"):
        op.create_table(
            "product_genealogy",
            sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
            sa.Column(
                "product_id", sa.Integer(), sa.ForeignKey(f"{S}.products.id"), nullable=False
            ),
            sa.Column(
                "parent_product_id", sa.Integer(), sa.ForeignKey(f"{S}.products.id"), nullable=True
            ),
            sa.Column("relationship_type", sa.String(50), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            schema=S,
        )


def downgrade() -> None:
    op.drop_table("product_genealogy", schema=S)
    op.drop_table("product_variants", schema=S)
    op.drop_table("audit_logs", schema=S)

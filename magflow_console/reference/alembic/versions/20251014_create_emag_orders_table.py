"""create emag_orders table

Revision ID: 20251014_create_emag_orders
Revises: 20251013_fix_emag_sync_logs_account_type
Create Date: 2025-10-14 08:20:33.000000

Created only when missing. emag_order_id and customer_id start as integer; eMAG ids
overflow int4, which 32b7be1a5113 and bf06b4dee948 fix.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "20251014_create_emag_orders"
down_revision: str | None = "20251013_fix_account_type"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

S = "app"


def upgrade() -> None:
    exists = op.get_bind().execute(sa.text("SELECT to_regclass('app.emag_orders')")).scalar()
    if exists is not None:
        return
    j = postgresql.JSONB
    op.create_table(
        "emag_orders",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True, nullable=False),
        sa.Column("emag_order_id", sa.Integer(), nullable=False),
        sa.Column("account_type", sa.String(10), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("status_name", sa.String(50), nullable=True),
        sa.Column("type", sa.Integer(), nullable=True),
        sa.Column("is_complete", sa.Boolean(), nullable=False),
        sa.Column("is_storno", sa.Boolean(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("customer_name", sa.String(200), nullable=True),
        sa.Column("customer_email", sa.String(200), nullable=True),
        sa.Column("customer_phone", sa.String(50), nullable=True),
        sa.Column("total_amount", sa.Float(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("payment_method", sa.String(50), nullable=True),
        sa.Column("payment_mode_id", sa.Integer(), nullable=True),
        sa.Column("detailed_payment_method", sa.String(100), nullable=True),
        sa.Column("payment_status", sa.Integer(), nullable=True),
        sa.Column("cashed_co", sa.Float(), nullable=True),
        sa.Column("cashed_cod", sa.Float(), nullable=True),
        sa.Column("delivery_mode", sa.String(50), nullable=True),
        sa.Column("shipping_tax", sa.Float(), nullable=True),
        sa.Column("shipping_tax_voucher_split", j(), nullable=True),
        sa.Column("shipping_address", j(), nullable=True),
        sa.Column("billing_address", j(), nullable=True),
        sa.Column("locker_id", sa.String(50), nullable=True),
        sa.Column("locker_name", sa.String(255), nullable=True),
        sa.Column("awb_number", sa.String(100), nullable=True),
        sa.Column("courier_name", sa.String(100), nullable=True),
        sa.Column("invoice_url", sa.String(500), nullable=True),
        sa.Column("invoice_uploaded_at", sa.DateTime(), nullable=True),
        sa.Column("products", j(), nullable=True),
        sa.Column("vouchers", j(), nullable=True),
        sa.Column("attachments", j(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(), nullable=True),
        sa.Column("finalized_at", sa.DateTime(), nullable=True),
        sa.Column("sync_status", sa.String(50), nullable=False),
        sa.Column("last_synced_at", sa.DateTime(), nullable=True),
        sa.Column("sync_error", sa.Text(), nullable=True),
        sa.Column("sync_attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("order_date", sa.DateTime(), nullable=True),
        sa.Column("emag_created_at", sa.DateTime(), nullable=True),
        sa.Column("emag_modified_at", sa.DateTime(), nullable=True),
        sa.Column("raw_emag_data", j(), nullable=True),
        sa.UniqueConstraint("emag_order_id", "account_type", name="uq_emag_orders_id_account"),
        sa.CheckConstraint("account_type IN ('main', 'fbe')", name="ck_emag_orders_account_type"),
        sa.CheckConstraint("status IN (0, 1, 2, 3, 4, 5)", name="ck_emag_orders_status"),
        sa.CheckConstraint("type IN (2, 3)", name="ck_emag_orders_type"),
        schema=S,
    )
    for name, cols in (
        ("idx_emag_orders_emag_id_account", ["emag_order_id", "account_type"]),
        ("idx_emag_orders_account", ["account_type"]),
        ("idx_emag_orders_status", ["status"]),
        ("idx_emag_orders_sync_status", ["sync_status"]),
        ("idx_emag_orders_order_date", ["order_date"]),
        ("idx_emag_orders_customer_email", ["customer_email"]),
        ("ix_app_emag_orders_emag_order_id", ["emag_order_id"]),
    ):
        op.create_index(name, "emag_orders", cols, schema=S)


def downgrade() -> None:
    op.drop_table("emag_orders", schema=S)

"""Initial database schema with users, RBAC, eMAG v2 products, offers and sync logs

Revision ID: 86f7456767fd
Revises:
Create Date: 2025-10-13 09:12:41.127512

Builds the model tables (when app.users is missing) and seeds role ``admin`` with the
six user/role permissions. Defaults are Python-side only: no server defaults.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "86f7456767fd"
down_revision: str | None = None
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

S = "app"

ENUMS: dict[str, tuple[str, ...]] = {
    "cancellationreason": (
        "CUSTOMER_REQUEST",
        "PAYMENT_FAILED",
        "INVENTORY_UNAVAILABLE",
        "SHIPPING_DELAY",
        "FRAUD_SUSPECTED",
        "ADMINISTRATIVE",
        "OTHER",
    ),
    "cancellationstatus": (
        "PENDING",
        "APPROVED",
        "REJECTED",
        "PROCESSING",
        "COMPLETED",
        "CANCELLED",
    ),
    "returnstatus": ("PENDING", "APPROVED", "REJECTED", "PROCESSING", "COMPLETED", "CANCELLED"),
    "emagreturnstatus": ("NEW", "IN_PROGRESS", "APPROVED", "REJECTED", "COMPLETED", "CANCELLED"),
    "invoicestatus": ("DRAFT", "ISSUED", "SENT", "PAID", "OVERDUE", "CANCELLED", "REFUNDED"),
    "invoicetype": ("SALES_INVOICE", "CREDIT_NOTE", "PROFORMA_INVOICE", "CORRECTED_INVOICE"),
    "notificationcategory": (
        "SYSTEM",
        "EMAG",
        "ORDERS",
        "USERS",
        "INVENTORY",
        "SYNC",
        "PAYMENT",
        "SHIPPING",
    ),
    "notificationpriority": ("LOW", "MEDIUM", "HIGH", "CRITICAL"),
    "notificationtype": ("SUCCESS", "INFO", "WARNING", "ERROR"),
    "paymentmethod": ("CASH", "BANK_TRANSFER", "CARD", "ONLINE_PAYMENT", "CHECK", "OTHER"),
    "refundmethod": ("ORIGINAL_PAYMENT", "STORE_CREDIT", "BANK_TRANSFER", "CASH"),
    "refundstatus": ("PENDING", "PROCESSING", "COMPLETED", "FAILED", "PARTIAL"),
    "returnreason": (
        "DEFECTIVE_PRODUCT",
        "WRONG_ITEM",
        "DAMAGED_IN_TRANSIT",
        "CUSTOMER_DISSATISFACTION",
        "LATE_DELIVERY",
        "OTHER",
    ),
    "taxcategory": ("STANDARD", "REDUCED", "SUPER_REDUCED", "ZERO", "EXEMPT"),
}

PERMISSIONS = (
    ("users:read", "Read users"),
    ("users:write", "Create and update users"),
    ("users:delete", "Delete users"),
    ("roles:read", "Read roles"),
    ("roles:write", "Create and update roles"),
    ("roles:delete", "Delete roles"),
)


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(), nullable=nullable)


def _stamps() -> list[sa.Column]:
    return [_ts("created_at"), _ts("updated_at")]


def _uuid_pk() -> sa.Column:
    return sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True, nullable=False)


def _create_enums() -> None:
    for name, values in ENUMS.items():
        postgresql.ENUM(*values, name=name, schema=S).create(op.get_bind(), checkfirst=True)


def _create_rbac() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("hashed_password", sa.String(), nullable=False),
        sa.Column("full_name", sa.String(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("is_superuser", sa.Boolean(), nullable=False),
        _ts("last_login", nullable=True),
        sa.Column("failed_login_attempts", sa.Integer(), nullable=False),
        _ts("last_failed_login", nullable=True),
        sa.Column("email_verified", sa.Boolean(), nullable=False),
        sa.Column("avatar_url", sa.String(), nullable=True),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="users_pkey"),
        schema=S,
    )
    op.create_index("ix_app_users_email", "users", ["email"], unique=True, schema=S)
    op.create_index("ix_app_users_full_name", "users", ["full_name"], schema=S)
    op.create_index("ix_app_users_id", "users", ["id"], schema=S)

    op.create_table(
        "roles",
        sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.String(255), nullable=True),
        sa.Column("is_system_role", sa.Boolean(), nullable=True),
        *_stamps(),
        schema=S,
    )
    op.create_index("ix_app_roles_name", "roles", ["name"], unique=True, schema=S)

    op.create_table(
        "permissions",
        sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.String(255), nullable=True),
        *_stamps(),
        schema=S,
    )
    op.create_index("ix_app_permissions_name", "permissions", ["name"], unique=True, schema=S)

    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey(f"{S}.users.id"), primary_key=True),
        sa.Column("role_id", sa.Integer(), sa.ForeignKey(f"{S}.roles.id"), primary_key=True),
        schema=S,
    )
    op.create_table(
        "role_permissions",
        sa.Column("role_id", sa.Integer(), sa.ForeignKey(f"{S}.roles.id"), primary_key=True),
        sa.Column(
            "permission_id", sa.Integer(), sa.ForeignKey(f"{S}.permissions.id"), primary_key=True
        ),
        schema=S,
    )


def _create_sync_logs() -> None:
    op.create_table(
        "emag_sync_logs",
        _uuid_pk(),
        sa.Column("sync_type", sa.String(50), nullable=False),
        sa.Column("account_type", sa.String(10), nullable=False),
        sa.Column("operation", sa.String(50), nullable=False),
        sa.Column("sync_params", postgresql.JSONB(), nullable=True),
        sa.Column("status", sa.String(50), nullable=False),
        sa.Column("total_items", sa.Integer(), nullable=False),
        sa.Column("processed_items", sa.Integer(), nullable=False),
        sa.Column("created_items", sa.Integer(), nullable=False),
        sa.Column("updated_items", sa.Integer(), nullable=False),
        sa.Column("failed_items", sa.Integer(), nullable=False),
        sa.Column("errors", postgresql.JSONB(), nullable=True),
        sa.Column("warnings", postgresql.JSONB(), nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("pages_processed", sa.Integer(), nullable=False),
        sa.Column("api_requests_made", sa.Integer(), nullable=False),
        sa.Column("rate_limit_hits", sa.Integer(), nullable=False),
        _ts("started_at"),
        _ts("completed_at", nullable=True),
        sa.Column("triggered_by", sa.String(100), nullable=True),
        sa.Column("sync_version", sa.String(20), nullable=True),
        *_stamps(),
        sa.CheckConstraint(
            "sync_type IN ('products', 'offers', 'orders')", name="ck_emag_sync_logs_sync_type"
        ),
        # widened to main/fbe/both by 20251013_fix_account_type
        sa.CheckConstraint(
            "account_type IN ('main', 'fbe')", name="ck_emag_sync_logs_account_type"
        ),
        sa.CheckConstraint(
            "status IN ('running', 'completed', 'failed', 'partial')",
            name="ck_emag_sync_logs_status",
        ),
        schema=S,
    )
    op.create_index(
        "idx_emag_sync_logs_type_account", "emag_sync_logs", ["sync_type", "account_type"], schema=S
    )
    op.create_index("idx_emag_sync_logs_status", "emag_sync_logs", ["status"], schema=S)
    op.create_index("idx_emag_sync_logs_started_at", "emag_sync_logs", ["started_at"], schema=S)

    op.create_table(
        "emag_sync_progress",
        _uuid_pk(),
        sa.Column(
            "sync_log_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey(f"{S}.emag_sync_logs.id"),
            nullable=False,
        ),
        sa.Column("current_page", sa.Integer(), nullable=False),
        sa.Column("total_pages", sa.Integer(), nullable=True),
        sa.Column("current_item", sa.Integer(), nullable=False),
        sa.Column("total_items", sa.Integer(), nullable=True),
        sa.Column("percentage_complete", sa.Float(), nullable=False),
        sa.Column("current_sku", sa.String(100), nullable=True),
        _ts("estimated_completion", nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        *_stamps(),
        sa.CheckConstraint(
            "percentage_complete >= 0 AND percentage_complete <= 100",
            name="ck_emag_sync_progress_percentage",
        ),
        schema=S,
    )
    op.create_index(
        "idx_emag_sync_progress_sync_log", "emag_sync_progress", ["sync_log_id"], schema=S
    )


def _create_products_v2() -> None:
    j = postgresql.JSONB
    op.create_table(
        "emag_products_v2",
        _uuid_pk(),
        sa.Column("emag_id", sa.String(50), nullable=True),
        sa.Column("sku", sa.String(100), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("part_number_key", sa.String(50), nullable=True),
        sa.Column("ean", j(), nullable=True),
        sa.Column("account_type", sa.String(10), nullable=False),
        sa.Column("source_account", sa.String(50), nullable=True),
        sa.Column("price", sa.Float(), nullable=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("currency_type", sa.String(3), nullable=True),
        sa.Column("stock_quantity", sa.Integer(), nullable=True),
        sa.Column("green_tax", sa.Float(), nullable=True),
        sa.Column("supply_lead_time", sa.Integer(), nullable=True),
        sa.Column("vat_id", sa.Integer(), nullable=True),
        sa.Column("warranty", sa.Integer(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(50), nullable=True),
        sa.Column("sync_status", sa.String(50), nullable=False),
        _ts("last_synced_at", nullable=True),
        sa.Column("sync_error", sa.Text(), nullable=True),
        sa.Column("sync_attempts", sa.Integer(), nullable=False),
        *_stamps(),
        _ts("emag_created_at", nullable=True),
        _ts("emag_modified_at", nullable=True),
        sa.Column("validation_status", sa.Integer(), nullable=True),
        sa.Column("validation_status_description", sa.String(255), nullable=True),
        sa.Column("translation_validation_status", sa.Integer(), nullable=True),
        sa.Column("validation_errors", j(), nullable=True),
        sa.Column("translation_validation_errors", j(), nullable=True),
        sa.Column("offer_validation_status", sa.Integer(), nullable=True),
        sa.Column("offer_validation_status_description", sa.String(255), nullable=True),
        sa.Column("doc_errors", j(), nullable=True),
        sa.Column("ownership", sa.Integer(), nullable=True),
        sa.Column("number_of_offers", sa.Integer(), nullable=True),
        sa.Column("buy_button_rank", sa.Integer(), nullable=True),
        sa.Column("best_offer_sale_price", sa.Float(), nullable=True),
        sa.Column("best_offer_recommended_price", sa.Float(), nullable=True),
        sa.Column("general_stock", sa.Integer(), nullable=True),
        sa.Column("estimated_stock", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("brand", sa.String(200), nullable=True),
        sa.Column("manufacturer", sa.String(200), nullable=True),
        sa.Column("category_id", sa.String(50), nullable=True),
        sa.Column("emag_category_id", sa.String(50), nullable=True),
        sa.Column("vendor_category_id", sa.String(50), nullable=True),
        sa.Column("emag_category_name", sa.String(200), nullable=True),
        sa.Column("images", j(), nullable=True),
        sa.Column("attributes", j(), nullable=True),
        sa.Column("specifications", j(), nullable=True),
        sa.Column("emag_characteristics", j(), nullable=True),
        sa.Column("attachments", j(), nullable=True),
        sa.Column("url", sa.String(1024), nullable=True),
        sa.Column("main_image_url", sa.String(1024), nullable=True),
        sa.Column("source_language", sa.String(10), nullable=True),
        sa.Column("safety_information", sa.Text(), nullable=True),
        sa.Column("manufacturer_info", j(), nullable=True),
        sa.Column("eu_representative", j(), nullable=True),
        sa.Column("characteristics_validation_errors", j(), nullable=True),
        sa.Column("length_mm", sa.Float(), nullable=True),
        sa.Column("width_mm", sa.Float(), nullable=True),
        sa.Column("height_mm", sa.Float(), nullable=True),
        sa.Column("weight_g", sa.Float(), nullable=True),
        sa.Column("genius_eligibility", sa.Integer(), nullable=True),
        sa.Column("genius_eligibility_type", sa.Integer(), nullable=True),
        sa.Column("genius_computed", sa.Integer(), nullable=True),
        sa.Column("family_id", sa.Integer(), nullable=True),
        sa.Column("family_name", sa.String(255), nullable=True),
        sa.Column("family_type_id", sa.Integer(), nullable=True),
        sa.Column("images_overwrite", sa.Boolean(), nullable=False),
        sa.Column("force_images_download", sa.Boolean(), nullable=False),
        sa.Column("has_manufacturer_info", sa.Boolean(), nullable=False),
        sa.Column("has_eu_representative", sa.Boolean(), nullable=False),
        sa.Column("images_validated", sa.Boolean(), nullable=False),
        sa.Column("characteristics_validated", sa.Boolean(), nullable=False),
        sa.Column("raw_emag_data", j(), nullable=True),
        sa.UniqueConstraint("sku", "account_type", name="uq_emag_products_sku_account"),
        sa.CheckConstraint("account_type IN ('main', 'fbe')", name="ck_emag_products_account_type"),
        sa.CheckConstraint("currency IN ('RON', 'EUR', 'USD')", name="ck_emag_products_currency"),
        sa.CheckConstraint(
            "supply_lead_time IS NULL OR supply_lead_time IN (2, 3, 5, 7, 14, 30, 60, 90, 120)",
            name="ck_emag_products_lead_time",
        ),
        schema=S,
    )
    t = "emag_products_v2"
    for name, cols in (
        ("idx_emag_products_sku_account", ["sku", "account_type"]),
        ("idx_emag_products_emag_id", ["emag_id"]),
        ("idx_emag_products_sync_status", ["sync_status"]),
        ("idx_emag_products_last_synced", ["last_synced_at"]),
        ("idx_emag_products_category", ["emag_category_id"]),
        ("idx_emag_products_ean", ["ean"]),
        ("idx_emag_products_part_number_key", ["part_number_key"]),
        ("idx_emag_products_validation", ["validation_status"]),
        ("ix_app_emag_products_v2_emag_id", ["emag_id"]),
        ("ix_app_emag_products_v2_part_number_key", ["part_number_key"]),
        ("ix_app_emag_products_v2_sku", ["sku"]),
    ):
        op.create_index(name, t, cols, schema=S)


def _create_offers_v2() -> None:
    # min_sale_price / max_sale_price / recommended_price arrive with 72ba0528563c.
    op.create_table(
        "emag_product_offers_v2",
        _uuid_pk(),
        sa.Column("emag_offer_id", sa.String(50), nullable=True),
        sa.Column(
            "product_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey(f"{S}.emag_products_v2.id"),
            nullable=False,
        ),
        sa.Column("sku", sa.String(100), nullable=False),
        sa.Column("account_type", sa.String(10), nullable=False),
        sa.Column("price", sa.Float(), nullable=False),
        sa.Column("original_price", sa.Float(), nullable=True),
        sa.Column("sale_price", sa.Float(), nullable=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("reserved_stock", sa.Integer(), nullable=False),
        sa.Column("available_stock", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(50), nullable=False),
        sa.Column("is_available", sa.Boolean(), nullable=False),
        sa.Column("visibility", sa.String(50), nullable=False),
        sa.Column("marketplace_status", sa.String(50), nullable=True),
        sa.Column("offer_validation_status", sa.Integer(), nullable=True),
        sa.Column("offer_validation_status_description", sa.String(255), nullable=True),
        sa.Column("vat_id", sa.Integer(), nullable=True),
        sa.Column("warranty", sa.Integer(), nullable=True),
        sa.Column("handling_time", sa.Integer(), nullable=True),
        sa.Column("shipping_weight", sa.Float(), nullable=True),
        sa.Column("shipping_size", postgresql.JSONB(), nullable=True),
        sa.Column("sync_status", sa.String(50), nullable=False),
        _ts("last_synced_at", nullable=True),
        sa.Column("sync_error", sa.Text(), nullable=True),
        sa.Column("sync_attempts", sa.Integer(), nullable=False),
        *_stamps(),
        _ts("emag_created_at", nullable=True),
        _ts("emag_modified_at", nullable=True),
        sa.Column("raw_emag_data", postgresql.JSONB(), nullable=True),
        sa.UniqueConstraint("sku", "account_type", name="uq_emag_offers_sku_account"),
        sa.CheckConstraint("account_type IN ('main', 'fbe')", name="ck_emag_offers_account_type"),
        sa.CheckConstraint("currency IN ('RON', 'EUR', 'USD')", name="ck_emag_offers_currency"),
        sa.CheckConstraint("stock >= 0", name="ck_emag_offers_stock"),
        schema=S,
    )
    t = "emag_product_offers_v2"
    for name, cols in (
        ("idx_emag_offers_sku_account", ["sku", "account_type"]),
        ("idx_emag_offers_emag_id", ["emag_offer_id"]),
        ("idx_emag_offers_sync_status", ["sync_status"]),
        ("idx_emag_offers_status", ["status"]),
        ("idx_emag_offers_last_synced", ["last_synced_at"]),
    ):
        op.create_index(name, t, cols, schema=S)


def _create_catalogue() -> None:
    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("chinese_name", sa.String(500), nullable=True),
        sa.Column("image_url", sa.String(1000), nullable=True),
        sa.Column("invoice_name_ro", sa.String(200), nullable=True),
        sa.Column("invoice_name_en", sa.String(200), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("short_description", sa.String(500), nullable=True),
        sa.Column("sku", sa.String(100), nullable=False),
        sa.Column("emag_part_number_key", sa.String(50), nullable=True),
        sa.Column("ean", sa.String(18), nullable=True),
        sa.Column("brand", sa.String(100), nullable=True),
        sa.Column("manufacturer", sa.String(100), nullable=True),
        sa.Column("base_price", sa.Float(), nullable=False),
        sa.Column("recommended_price", sa.Float(), nullable=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("weight_kg", sa.Float(), nullable=True),
        sa.Column("length_cm", sa.Float(), nullable=True),
        sa.Column("width_cm", sa.Float(), nullable=True),
        sa.Column("height_cm", sa.Float(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("is_discontinued", sa.Boolean(), nullable=False),
        sa.Column("display_order", sa.Integer(), nullable=True),
        sa.Column("emag_category_id", sa.Integer(), nullable=True),
        sa.Column("emag_brand_id", sa.Integer(), nullable=True),
        sa.Column("emag_warranty_months", sa.Integer(), nullable=True),
        sa.Column("characteristics", sa.Text(), nullable=True),
        sa.Column("images", sa.Text(), nullable=True),
        sa.Column("attachments", sa.Text(), nullable=True),
        *_stamps(),
        schema=S,
    )
    op.create_index("ix_app_products_sku", "products", ["sku"], unique=True, schema=S)
    op.create_index(
        "ix_app_products_emag_part_number_key",
        "products",
        ["emag_part_number_key"],
        unique=True,
        schema=S,
    )
    for col in ("chinese_name", "display_order", "ean", "id", "name"):
        op.create_index(f"ix_app_products_{col}", "products", [col], schema=S)

    # Supplier side (supplier_id on the sheets: 20251020_add_supplier_id;
    # price fields on supplier_products: 20251021_add_price_fields).
    op.create_table(
        "suppliers",
        sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("country", sa.String(100), nullable=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        *_stamps(),
        schema=S,
    )
    op.create_index("ix_app_suppliers_name", "suppliers", ["name"], schema=S)
    op.create_table(
        "product_supplier_sheets",
        sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
        sa.Column("sku", sa.String(100), nullable=False),
        sa.Column("supplier_name", sa.String(255), nullable=False),
        sa.Column("price_cny", sa.Float(), nullable=False),
        sa.Column("supplier_url", sa.String(1000), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        *_stamps(),
        schema=S,
    )
    op.create_index(
        "ix_app_product_supplier_sheets_sku", "product_supplier_sheets", ["sku"], schema=S
    )
    op.create_table(
        "supplier_products",
        sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
        sa.Column("supplier_id", sa.Integer(), sa.ForeignKey(f"{S}.suppliers.id"), nullable=False),
        sa.Column(
            "local_product_id", sa.Integer(), sa.ForeignKey(f"{S}.products.id"), nullable=True
        ),
        sa.Column("supplier_product_name", sa.String(1000), nullable=False),
        sa.Column("supplier_product_url", sa.String(1000), nullable=True),
        sa.Column("price_cny", sa.Float(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        *_stamps(),
        schema=S,
    )


def _seed_rbac() -> None:
    now = "(now() AT TIME ZONE 'utc')"
    op.execute(
        "INSERT INTO app.roles (name, description, is_system_role, created_at, updated_at) "
        f"VALUES ('admin', 'Administrator with full access', true, {now}, {now}) "
        "ON CONFLICT (name) DO NOTHING"
    )
    for name, description in PERMISSIONS:
        op.execute(
            "INSERT INTO app.permissions (name, description, created_at, updated_at) "
            f"VALUES ('{name}', '{description}', {now}, {now}) ON CONFLICT (name) DO NOTHING"
        )


def upgrade() -> None:
    bind = op.get_bind()
    users_exists = bind.execute(sa.text("SELECT to_regclass('app.users') IS NOT NULL")).scalar()
    if not users_exists:
        _create_enums()
        _create_rbac()
        _create_sync_logs()
        _create_products_v2()
        _create_offers_v2()
        _create_catalogue()
    _seed_rbac()


def downgrade() -> None:
    for table in (
        "supplier_products",
        "product_supplier_sheets",
        "suppliers",
        "products",
        "emag_product_offers_v2",
        "emag_products_v2",
        "emag_sync_progress",
        "emag_sync_logs",
        "role_permissions",
        "user_roles",
        "permissions",
        "roles",
        "users",
    ):
        op.drop_table(table, schema=S)
    for name in ENUMS:
        op.execute(f"DROP TYPE IF EXISTS app.{name}")

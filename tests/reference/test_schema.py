"""The reference schema at head matches the sheet (§2, §4), read from the catalog."""

from __future__ import annotations

import psycopg
import pytest

from magflow_console.reference.urls import to_libpq
from tests.reference._catalog import (
    app_tables,
    columns,
    constraint_def,
    indexes,
    query,
    version_rows,
)

V, TS, TZ, INT, BI = "character varying", "timestamp without time zone", "timestamp with time zone", "integer", "bigint"  # fmt: skip
B, F, J, U, T = "boolean", "double precision", "jsonb", "uuid", "text"

# column: (type, NOT NULL)
EXPECTED: dict[str, dict[str, tuple[str, bool]]] = {
    "users": {
        "id": (INT, True), "email": (V, True), "hashed_password": (V, True),
        "full_name": (V, False), "is_active": (B, True), "is_superuser": (B, True),
        "last_login": (TZ, False), "failed_login_attempts": (INT, True),
        "last_failed_login": (TZ, False), "email_verified": (B, True), "avatar_url": (V, False),
        "created_at": (TS, True), "updated_at": (TS, True),
    },
    "roles": {
        "id": (INT, True), "name": (f"{V}(100)", True), "description": (f"{V}(255)", False),
        "is_system_role": (B, False), "created_at": (TS, True), "updated_at": (TS, True),
    },
    "permissions": {
        "id": (INT, True), "name": (f"{V}(100)", True), "description": (f"{V}(255)", False),
        "created_at": (TS, True), "updated_at": (TS, True),
    },
    "user_roles": {"user_id": (INT, True), "role_id": (INT, True)},
    "role_permissions": {"role_id": (INT, True), "permission_id": (INT, True)},
    "emag_sync_logs": {
        "id": (U, True), "sync_type": (f"{V}(50)", True), "account_type": (f"{V}(10)", True),
        "operation": (f"{V}(50)", True), "sync_params": (J, False), "status": (f"{V}(50)", True),
        "total_items": (INT, True), "processed_items": (INT, True), "created_items": (INT, True),
        "updated_items": (INT, True), "failed_items": (INT, True), "errors": (J, False),
        "warnings": (J, False), "duration_seconds": (F, False), "pages_processed": (INT, True),
        "api_requests_made": (INT, True), "rate_limit_hits": (INT, True), "started_at": (TS, True),
        "completed_at": (TS, False), "triggered_by": (f"{V}(100)", False),
        "sync_version": (f"{V}(20)", False), "created_at": (TS, True), "updated_at": (TS, True),
    },
    "emag_product_offers_v2": {
        "id": (U, True), "emag_offer_id": (f"{V}(50)", False), "product_id": (U, True),
        "sku": (f"{V}(100)", True), "account_type": (f"{V}(10)", True), "price": (F, True),
        "original_price": (F, False), "sale_price": (F, False), "min_sale_price": (F, False),
        "max_sale_price": (F, False), "recommended_price": (F, False),
        "currency": (f"{V}(3)", True), "stock": (INT, True), "reserved_stock": (INT, True),
        "available_stock": (INT, True), "status": (f"{V}(50)", True), "is_available": (B, True),
        "visibility": (f"{V}(50)", True), "shipping_size": (J, False),
        "sync_status": (f"{V}(50)", True), "last_synced_at": (TS, False),
        "sync_error": (T, False), "sync_attempts": (INT, True), "created_at": (TS, True),
        "updated_at": (TS, True), "emag_created_at": (TS, False),
        "emag_modified_at": (TS, False), "raw_emag_data": (J, False),
    },
    "emag_orders": {
        "id": (U, True), "emag_order_id": (BI, True), "account_type": (f"{V}(10)", True),
        "status": (INT, True), "status_name": (f"{V}(50)", False), "type": (INT, False),
        "is_complete": (B, True), "is_storno": (B, True), "customer_id": (BI, False),
        "total_amount": (F, True), "currency": (f"{V}(3)", True),
        "shipping_address": (J, False), "billing_address": (J, False), "products": (J, False),
        "vouchers": (J, False), "attachments": (J, False), "sync_status": (f"{V}(50)", True),
        "last_synced_at": (TS, False), "sync_error": (T, False), "sync_attempts": (INT, True),
        "created_at": (TS, True), "updated_at": (TS, True), "order_date": (TS, False),
        "acknowledged_at": (TS, False), "finalized_at": (TS, False),
    },
    "products": {
        "id": (INT, True), "name": (f"{V}(255)", True), "chinese_name": (f"{V}(500)", False),
        "image_url": (f"{V}(1000)", False), "invoice_name_ro": (f"{V}(200)", False),
        "invoice_name_en": (f"{V}(200)", False), "description": (T, False),
        "short_description": (f"{V}(500)", False), "sku": (f"{V}(100)", True),
        "emag_part_number_key": (f"{V}(50)", False), "ean": (f"{V}(18)", False),
        "base_price": (F, True), "recommended_price": (F, False), "currency": (f"{V}(3)", True),
        "is_active": (B, True), "is_discontinued": (B, True), "display_order": (INT, False),
        "created_at": (TS, True), "updated_at": (TS, True),
    },
}  # fmt: skip

PRODUCTS_V2_NOT_NULL = {
    "id", "sku", "name", "account_type", "currency", "is_active", "sync_status", "sync_attempts",
    "created_at", "updated_at", "images_overwrite", "force_images_download",
    "has_manufacturer_info", "has_eu_representative", "images_validated",
    "characteristics_validated",
}  # fmt: skip
PRODUCTS_V2_TYPES = {
    "id": U, "emag_id": f"{V}(50)", "sku": f"{V}(100)", "name": f"{V}(500)",
    "part_number_key": f"{V}(50)", "ean": J, "account_type": f"{V}(10)",
    "source_account": f"{V}(50)", "price": F, "currency": f"{V}(3)", "currency_type": f"{V}(3)",
    "stock_quantity": INT, "supply_lead_time": INT, "is_active": B, "status": f"{V}(50)",
    "sync_status": f"{V}(50)", "last_synced_at": TS, "sync_error": T, "sync_attempts": INT,
    "created_at": TS, "updated_at": TS, "emag_created_at": TS, "emag_modified_at": TS,
    "validation_status": INT, "ownership": INT, "brand": f"{V}(200)", "url": f"{V}(1024)",
    "emag_category_id": f"{V}(50)", "weight_g": F, "family_name": f"{V}(255)",
    "raw_emag_data": J, "images_validated": B,
}  # fmt: skip


@pytest.mark.postgres
@pytest.mark.parametrize("table", sorted(EXPECTED))
def test_documented_columns_types_and_nullability(head_db_url: str, table: str) -> None:
    actual = columns(head_db_url, table)
    assert actual, f"app.{table} does not exist"
    for name, (typ, not_null) in EXPECTED[table].items():
        assert name in actual, f"app.{table}.{name} missing"
        assert actual[name][0] == typ, f"app.{table}.{name}: {actual[name][0]} != {typ}"
        assert actual[name][1] is not_null, f"app.{table}.{name} NOT NULL should be {not_null}"


@pytest.mark.postgres
def test_emag_products_v2_has_77_documented_columns(head_db_url: str) -> None:
    actual = columns(head_db_url, "emag_products_v2")
    assert len(actual) == 77
    assert {c for c, (_t, nn, _d) in actual.items() if nn} == PRODUCTS_V2_NOT_NULL
    for name, typ in PRODUCTS_V2_TYPES.items():
        assert actual[name][0] == typ, name


@pytest.mark.postgres
def test_no_server_defaults_besides_serial_ids(head_db_url: str) -> None:
    for table in [*EXPECTED, "emag_products_v2"]:
        for name, (_typ, _nn, default) in columns(head_db_url, table).items():
            if default is not None:
                assert name == "id" and default.startswith("nextval("), (table, name, default)


CHECKS = {
    ("emag_sync_logs", "ck_emag_sync_logs_sync_type"): ("products", "offers", "orders"),
    ("emag_sync_logs", "ck_emag_sync_logs_account_type"): ("main", "fbe", "both"),
    ("emag_sync_logs", "ck_emag_sync_logs_status"): ("running", "completed", "failed", "partial"),
    ("emag_products_v2", "ck_emag_products_account_type"): ("main", "fbe"),
    ("emag_products_v2", "ck_emag_products_currency"): ("RON", "EUR", "USD"),
    ("emag_products_v2", "ck_emag_products_lead_time"): (
        "2",
        "3",
        "5",
        "7",
        "14",
        "30",
        "60",
        "90",
        "120",
    ),
    ("emag_product_offers_v2", "ck_emag_offers_account_type"): ("main", "fbe"),
    ("emag_product_offers_v2", "ck_emag_offers_stock"): (">= 0",),
    ("emag_orders", "ck_emag_orders_account_type"): ("main", "fbe"),
    ("emag_orders", "ck_emag_orders_status"): ("0", "1", "2", "3", "4", "5"),
    ("emag_orders", "ck_emag_orders_type"): ("2", "3"),
}


@pytest.mark.postgres
def test_check_constraints_by_name_and_values(head_db_url: str) -> None:
    for (table, name), values in CHECKS.items():
        found = constraint_def(head_db_url, table, name)
        assert found is not None, f"{name} missing on app.{table}"
        assert found[0] == "c"
        for value in values:
            assert value in found[1], f"{name}: {value!r} not in {found[1]}"
    logs_account = constraint_def(head_db_url, "emag_sync_logs", "ck_emag_sync_logs_account_type")
    assert logs_account is not None and "'both'" in logs_account[1]
    products_account = constraint_def(
        head_db_url, "emag_products_v2", "ck_emag_products_account_type"
    )
    assert products_account is not None and "'both'" not in products_account[1]


def _insert_sync_log(url: str, status: str, account: str) -> None:
    with psycopg.connect(to_libpq(url)) as conn:
        conn.execute(
            "INSERT INTO app.emag_sync_logs (id, sync_type, account_type, operation, status,"
            " total_items, processed_items, created_items, updated_items, failed_items,"
            " pages_processed, api_requests_made, rate_limit_hits, started_at, created_at,"
            " updated_at) VALUES (gen_random_uuid(), 'products', %s, 'full_sync', %s,"
            " 0, 0, 0, 0, 0, 0, 0, 0, now() AT TIME ZONE 'utc', now() AT TIME ZONE 'utc',"
            " now() AT TIME ZONE 'utc')",
            [account, status],
        )


@pytest.mark.postgres
def test_sync_log_checks_reject_cancelled_and_unknown_accounts(head_db_url: str) -> None:
    _insert_sync_log(head_db_url, "running", "both")  # allowed since 20251013_fix_account_type
    with pytest.raises(psycopg.errors.CheckViolation, match="ck_emag_sync_logs_status"):
        _insert_sync_log(head_db_url, "cancelled", "main")
    with pytest.raises(psycopg.errors.CheckViolation, match="ck_emag_sync_logs_account_type"):
        _insert_sync_log(head_db_url, "completed", "MAIN")
    with (
        pytest.raises(psycopg.errors.NotNullViolation),
        psycopg.connect(to_libpq(head_db_url)) as conn,
    ):
        conn.execute(  # no Python defaults in raw SQL: a missing counter fails
            "INSERT INTO app.emag_sync_logs (id, sync_type, account_type, operation, status,"
            " started_at, created_at, updated_at) VALUES (gen_random_uuid(), 'products',"
            " 'main', 'full_sync', 'running', now(), now(), now())"
        )
    assert query(head_db_url, "SELECT count(*) FROM app.emag_sync_logs") == [(1,)]


UNIQUE_INDEXES = {
    "users": ["ix_app_users_email"],
    "roles": ["ix_app_roles_name"],
    "permissions": ["ix_app_permissions_name"],
    "products": ["ix_app_products_sku", "ix_app_products_emag_part_number_key"],
}
UNIQUE_CONSTRAINTS = {
    "emag_products_v2": "uq_emag_products_sku_account",
    "emag_product_offers_v2": "uq_emag_offers_sku_account",
    "emag_orders": "uq_emag_orders_id_account",
    "emag_product_offers": "uq_emag_product_offers_offer_id_account_type",
}
NAMED_INDEXES = {
    "users": ["users_pkey", "ix_app_users_full_name", "ix_app_users_id"],
    "emag_sync_logs": [
        "idx_emag_sync_logs_type_account", "idx_emag_sync_logs_status",
        "idx_emag_sync_logs_started_at",
    ],
    "emag_products_v2": [
        f"idx_emag_products_{s}" for s in (
            "sku_account", "emag_id", "sync_status", "last_synced", "category", "ean",
            "part_number_key", "validation",
        )
    ] + [f"ix_app_emag_products_v2_{c}" for c in ("emag_id", "part_number_key", "sku")],
    "emag_product_offers_v2": [
        f"idx_emag_offers_{s}"
        for s in ("sku_account", "emag_id", "sync_status", "status", "last_synced")
    ],
    "emag_orders": [
        f"idx_emag_orders_{s}" for s in (
            "emag_id_account", "account", "status", "sync_status", "order_date", "customer_email",
        )
    ] + ["ix_app_emag_orders_emag_order_id"],
    "products": [f"ix_app_products_{c}" for c in ("chinese_name", "display_order", "ean", "id", "name")],
}  # fmt: skip


@pytest.mark.postgres
def test_unique_keys_and_named_indexes(head_db_url: str) -> None:
    for table, names in UNIQUE_INDEXES.items():
        idx = indexes(head_db_url, table)
        for name in names:
            assert name in idx and idx[name].startswith("CREATE UNIQUE INDEX"), (table, name)
    for table, name in UNIQUE_CONSTRAINTS.items():
        found = constraint_def(head_db_url, table, name)
        assert found is not None and found[0] == "u", (table, name)
    for table, names in NAMED_INDEXES.items():
        idx = indexes(head_db_url, table)
        for name in names:
            assert name in idx, (table, name)
            if not name.endswith("pkey"):
                assert not idx[name].startswith("CREATE UNIQUE"), (table, name)


@pytest.mark.postgres
def test_version_table_lives_in_app_as_varchar_32(head_db_url: str) -> None:
    found = query(
        head_db_url,
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relname = 'alembic_version' AND c.relkind = 'r'",
    )
    assert found == [("app", "alembic_version")]
    cols = columns(head_db_url, "alembic_version")
    assert cols == {"version_num": ("character varying(32)", True, None)}
    assert constraint_def(head_db_url, "alembic_version", "alembic_version_pkc") is not None
    assert version_rows(head_db_url) == ["20251021_eliminated_suggest"]


@pytest.mark.postgres
def test_head_has_every_table_and_only_root_seeds(head_db_url: str) -> None:
    tables = app_tables(head_db_url)
    expected = {
        "alembic_version", "users", "roles", "permissions", "user_roles", "role_permissions",
        "emag_products_v2", "emag_product_offers_v2", "emag_product_offers", "emag_products",
        "emag_sync_logs", "emag_sync_progress", "emag_orders", "products", "audit_logs",
        "eliminated_suggestions",
    }  # fmt: skip
    assert expected <= tables
    assert query(head_db_url, "SELECT name, is_system_role FROM app.roles") == [("admin", True)]
    perms = {r[0] for r in query(head_db_url, "SELECT name FROM app.permissions")}
    assert perms == {f"{o}:{a}" for o in ("users", "roles") for a in ("read", "write", "delete")}
    for table in ("users", "user_roles", "role_permissions", "emag_products_v2", "emag_sync_logs"):
        assert query(head_db_url, f"SELECT count(*) FROM app.{table}") == [(0,)], table


ENUMS = {
    "cancellationreason": "CUSTOMER_REQUEST PAYMENT_FAILED INVENTORY_UNAVAILABLE SHIPPING_DELAY FRAUD_SUSPECTED ADMINISTRATIVE OTHER",
    "cancellationstatus": "PENDING APPROVED REJECTED PROCESSING COMPLETED CANCELLED",
    "returnstatus": "PENDING APPROVED REJECTED PROCESSING COMPLETED CANCELLED",
    "emagreturnstatus": "NEW IN_PROGRESS APPROVED REJECTED COMPLETED CANCELLED",
    "invoicestatus": "DRAFT ISSUED SENT PAID OVERDUE CANCELLED REFUNDED",
    "invoicetype": "SALES_INVOICE CREDIT_NOTE PROFORMA_INVOICE CORRECTED_INVOICE",
    "notificationcategory": "SYSTEM EMAG ORDERS USERS INVENTORY SYNC PAYMENT SHIPPING",
    "notificationpriority": "LOW MEDIUM HIGH CRITICAL",
    "notificationtype": "SUCCESS INFO WARNING ERROR",
    "paymentmethod": "CASH BANK_TRANSFER CARD ONLINE_PAYMENT CHECK OTHER",
    "refundmethod": "ORIGINAL_PAYMENT STORE_CREDIT BANK_TRANSFER CASH",
    "refundstatus": "PENDING PROCESSING COMPLETED FAILED PARTIAL",
    "returnreason": "DEFECTIVE_PRODUCT WRONG_ITEM DAMAGED_IN_TRANSIT CUSTOMER_DISSATISFACTION LATE_DELIVERY OTHER",
    "taxcategory": "STANDARD REDUCED SUPER_REDUCED ZERO EXEMPT",
}


@pytest.mark.postgres
def test_fourteen_enums_in_app_with_exact_values(head_db_url: str) -> None:
    rows = query(
        head_db_url,
        "SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_type t"
        " JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_enum e ON e.enumtypid = t.oid"
        " WHERE n.nspname = 'app' GROUP BY t.typname",
    )
    assert {name: " ".join(values) for name, values in rows} == ENUMS
    stray = query(
        head_db_url,
        "SELECT n.nspname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
        " WHERE t.typname = 'user_role_enum'",
    )
    assert stray == [("public",)]

"""fix all timezone columns

Revision ID: 20251013_fix_all_timezone_columns
Revises: 20251010_add_auxiliary
Create Date: 2025-10-13 11:47:52.000000

Turns the auth and legacy-offer timestamps into timestamptz (values are UTC). Columns that
are already timestamptz are left alone.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "20251013_fix_all_tz"
down_revision: str | None = "20251010_add_auxiliary"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

COLUMNS = (
    ("users", "last_login"),
    ("users", "last_failed_login"),
    ("emag_product_offers", "last_imported_at"),
    ("emag_product_offers", "emag_updated_at"),
    ("emag_offer_syncs", "started_at"),
    ("emag_offer_syncs", "completed_at"),
)


def _data_type(table: str, column: str) -> str | None:
    return (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT data_type FROM information_schema.columns "
                "WHERE table_schema = 'app' AND table_name = :t AND column_name = :c"
            ),
            {"t": table, "c": column},
        )
        .scalar()
    )


def upgrade() -> None:
    for table, column in COLUMNS:
        if _data_type(table, column) == "timestamp without time zone":
            op.execute(
                f"ALTER TABLE app.{table} ALTER COLUMN {column} "
                f"TYPE TIMESTAMP WITH TIME ZONE USING {column} AT TIME ZONE 'UTC'"
            )


def downgrade() -> None:
    for table, column in COLUMNS:
        if _data_type(table, column) == "timestamp with time zone":
            op.execute(
                f"ALTER TABLE app.{table} ALTER COLUMN {column} "
                f"TYPE TIMESTAMP WITHOUT TIME ZONE USING {column} AT TIME ZONE 'UTC'"
            )

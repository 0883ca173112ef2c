"""fix emag_sync_logs account_type check constraint to allow 'both'

Revision ID: 20251013_fix_account_type
Revises: 20251013_fix_all_tz
Create Date: 2025-10-13 16:05:11.000000

A product sync requested for ``both`` accounts writes one log row with account_type
``both``; the old CHECK (main/fbe) made those inserts fail.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "20251013_fix_account_type"
down_revision: str | None = "20251013_fix_all_tz"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE app.emag_sync_logs DROP CONSTRAINT IF EXISTS ck_emag_sync_logs_account_type"
    )
    op.create_check_constraint(
        "ck_emag_sync_logs_account_type",
        "emag_sync_logs",
        "account_type IN ('main', 'fbe', 'both')",
        schema="app",
    )


def downgrade() -> None:
    op.drop_constraint("ck_emag_sync_logs_account_type", "emag_sync_logs", schema="app")
    op.create_check_constraint(
        "ck_emag_sync_logs_account_type",
        "emag_sync_logs",
        "account_type IN ('main', 'fbe')",
        schema="app",
    )

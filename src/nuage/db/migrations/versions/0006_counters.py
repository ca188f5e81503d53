"""named counters for legacy_ids, started after the highest ids in use

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "counters",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_counters")),
    )
    for name, table in (
        ("organizations.legacy_id", "organizations"),
        ("instances.legacy_id", "instances"),
    ):
        op.execute(
            sa.text(
                f"INSERT INTO counters (name, value) "
                f"SELECT '{name}', COALESCE(MAX(legacy_id), 0) FROM {table}"
            )
        )


def downgrade() -> None:
    op.drop_table("counters")

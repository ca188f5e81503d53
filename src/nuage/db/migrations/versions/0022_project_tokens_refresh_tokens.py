"""Project tokens and refresh-token families

`api_keys.project_id` makes a key a project token (confined to that project). `refresh_tokens`
keeps each issued refresh token as a hash, with its family (one login), when it was used and
whether its family was revoked: a used token presented again revokes the family.

Revision ID: 0022
Revises: 0021
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from nuage.db.types import UTCDateTime

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _add_reference(table: str, column: str, target: str) -> None:
    """ADD COLUMN `column` (a nullable uuid) referencing `target`.id, in place on SQLite too."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} CHAR(32) REFERENCES {target} (id)")
        return
    op.add_column(table, sa.Column(column, sa.Uuid(), sa.ForeignKey(f"{target}.id"), nullable=True))


def upgrade() -> None:
    _add_reference("api_keys", "project_id", "projects")
    op.create_index("ix_api_keys_project_id", "api_keys", ["project_id"])
    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("created", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_refresh_tokens_user_id", "refresh_tokens", ["user_id"])
    op.create_index("ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"])


def downgrade() -> None:
    op.drop_table("refresh_tokens")
    op.drop_index("ix_api_keys_project_id", "api_keys")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("project_id")

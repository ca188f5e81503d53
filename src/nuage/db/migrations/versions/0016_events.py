"""the events outbox: what changed in a project, in commit order, for the stream and webhooks

`events` holds each task change and instance status change with the object as the API showed
it; the counter `events.pruned_through` is the highest id the retention removed, so that a
stream resumed from an older id knows it missed some.

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PRUNED_THROUGH = "events.pruned_through"


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("instance_id", sa.Uuid(), nullable=True),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_events_project_id_id", "events", ["project_id", "id"])
    op.create_index(op.f("ix_events_created"), "events", ["created"])
    op.execute(sa.text(f"INSERT INTO counters (name, value) VALUES ('{PRUNED_THROUGH}', 0)"))


def downgrade() -> None:
    op.execute(sa.text(f"DELETE FROM counters WHERE name = '{PRUNED_THROUGH}'"))
    op.drop_index(op.f("ix_events_created"), table_name="events")
    op.drop_index("ix_events_project_id_id", table_name="events")
    op.drop_table("events")

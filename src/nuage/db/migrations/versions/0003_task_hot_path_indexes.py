"""partial indexes for the task hot paths (claim, reap, next due, per-instance queue, listing)

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = "status = 'pending'"
PARTIAL = [
    ("ix_instance_tasks_pending_seq", PENDING, ["seq"]),
    ("ix_instance_tasks_pending_due", PENDING, ["run_after"]),
    (
        "ix_instance_tasks_active_instance",
        "status IN ('pending', 'running')",
        ["instance_id", "seq"],
    ),
    ("ix_instance_tasks_running_lease", "status = 'running'", ["lease_expires_at"]),
]


def upgrade() -> None:
    op.drop_index("ix_instance_tasks_claim", table_name="instance_tasks")
    op.drop_index("ix_instance_tasks_lease", table_name="instance_tasks")
    for name, where, columns in PARTIAL:
        condition = sa.text(where)
        op.create_index(
            name, "instance_tasks", columns, postgresql_where=condition, sqlite_where=condition
        )
    op.create_index(
        "ix_instance_tasks_project_status_created",
        "instance_tasks",
        ["project_id", "status", "created"],
    )


def downgrade() -> None:
    op.drop_index("ix_instance_tasks_project_status_created", table_name="instance_tasks")
    for name, _where, _columns in PARTIAL:
        op.drop_index(name, table_name="instance_tasks")
    op.create_index("ix_instance_tasks_lease", "instance_tasks", ["status", "lease_expires_at"])
    op.create_index("ix_instance_tasks_claim", "instance_tasks", ["status", "run_after"])

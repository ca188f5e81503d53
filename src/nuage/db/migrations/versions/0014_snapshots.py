"""snapshots: a custom image names the instance it was taken from

A custom image's tasks are recorded against the instance its snapshot was taken from (which may
since have been deleted, with its snapshots): `images.instance_id` keeps that instance.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (see 0010). No foreign key: instances reference images already, and an
    # instance's row is never removed (a deleted one keeps status `deleted`).
    op.add_column("images", sa.Column("instance_id", sa.Uuid(), nullable=True))
    op.create_index("ix_images_instance_id", "images", ["instance_id"])


def downgrade() -> None:
    op.drop_index("ix_images_instance_id", "images")
    with op.batch_alter_table("images") as batch:
        batch.drop_column("instance_id")

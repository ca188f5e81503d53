"""storage: snapshots, backups, volumes; custom images

Snapshots, backups and volumes get their tables; `images` gains what a project's own image needs
(its project, status, the smallest disk it fits, the host that holds its file, the snapshot it
was made from, the hypervisor's name of its file). Existing images are the public catalogue:
no project, `available`, `min_disk_gb` 0.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from nuage.db.types import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(name: str, target: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.Uuid(), sa.ForeignKey(target, ondelete="CASCADE"), nullable=nullable)


def _stamps() -> list[sa.Column[Any]]:
    return [
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("modified", UTCDateTime(), nullable=False),
    ]


def _add_reference(table: str, column: str, target: str) -> None:
    """ADD COLUMN `column` (a nullable uuid) referencing `target`.id. (SQLite's reflection does
    not see an inline reference's ON DELETE, so these references have none.)"""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} CHAR(32) REFERENCES {target} (id)")
        return
    op.add_column(table, sa.Column(column, sa.Uuid(), sa.ForeignKey(f"{target}.id"), nullable=True))


def upgrade() -> None:
    op.create_table(
        "snapshots",
        sa.Column("id", sa.Uuid(), primary_key=True),
        _fk("project_id", "projects.id"),
        _fk("instance_id", "instances.id"),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("size_gb", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(500), nullable=True),
        *_stamps(),
    )
    op.create_index("ix_snapshots_project_id", "snapshots", ["project_id"])
    op.create_index("ix_snapshots_instance_created", "snapshots", ["instance_id", "created"])

    op.create_table(
        "backups",
        sa.Column("id", sa.Uuid(), primary_key=True),
        _fk("project_id", "projects.id"),
        _fk("instance_id", "instances.id"),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("size_gb", sa.Integer(), nullable=False),
        sa.Column("host_id", sa.Uuid(), sa.ForeignKey("hosts.id"), nullable=True),
        sa.Column("external_id", sa.String(500), nullable=True),
        *_stamps(),
    )
    op.create_index("ix_backups_project_id", "backups", ["project_id"])
    op.create_index("ix_backups_host_id", "backups", ["host_id"])
    op.create_index("ix_backups_instance_created", "backups", ["instance_id", "created"])

    op.create_table(
        "volumes",
        sa.Column("id", sa.Uuid(), primary_key=True),
        _fk("project_id", "projects.id"),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("size_gb", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("location_id", sa.Uuid(), sa.ForeignKey("locations.id"), nullable=False),
        sa.Column("host_id", sa.Uuid(), sa.ForeignKey("hosts.id"), nullable=True),
        _fk("instance_id", "instances.id", nullable=True),
        _fk("last_instance_id", "instances.id"),
        sa.Column("device", sa.String(16), nullable=True),
        sa.Column("external_id", sa.String(500), nullable=True),
        *_stamps(),
    )
    for column in ("project_id", "host_id", "instance_id", "last_instance_id"):
        op.create_index(f"ix_volumes_{column}", "volumes", [column])

    # Plain ADD COLUMN (see 0010): batch mode would copy and drop `images`, which instances
    # reference. SQLite adds a column's foreign key only inline, which alembic does not emit.
    _add_reference("images", "project_id", "projects")
    op.add_column(
        "images",
        sa.Column("status", sa.String(16), nullable=False, server_default="available"),
    )
    op.add_column(
        "images", sa.Column("min_disk_gb", sa.Integer(), nullable=False, server_default="0")
    )
    _add_reference("images", "host_id", "hosts")
    op.add_column("images", sa.Column("source_snapshot_id", sa.Uuid(), nullable=True))
    op.add_column("images", sa.Column("external_id", sa.String(500), nullable=True))
    op.create_index("ix_images_project_id", "images", ["project_id"])
    op.create_index("ix_images_host_id", "images", ["host_id"])


def downgrade() -> None:
    op.drop_index("ix_images_host_id", "images")
    op.drop_index("ix_images_project_id", "images")
    with op.batch_alter_table("images") as batch:
        for column in (
            "external_id",
            "source_snapshot_id",
            "host_id",
            "min_disk_gb",
            "status",
            "project_id",
        ):
            batch.drop_column(column)
    op.drop_table("volumes")
    op.drop_table("backups")
    op.drop_table("snapshots")

"""VPCs: a project's private networks, and the instances' places in them

`vpc_members` is unique on (vpc_id, address): the database keeps one private address of a VPC
from being handed out twice, whichever process asks.

Revision ID: 0020
Revises: 0019
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import nuage.db.types

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _stamps() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("created", nuage.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified", nuage.db.types.UTCDateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "vpcs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("cidr_block", sa.String(length=18), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        *_stamps(),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_vpcs_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_vpcs_location_id_locations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vpcs")),
    )
    op.create_index(op.f("ix_vpcs_project_id"), "vpcs", ["project_id"], unique=False)
    op.create_table(
        "vpc_members",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("vpc_id", sa.Uuid(), nullable=False),
        sa.Column("instance_id", sa.Uuid(), nullable=False),
        sa.Column("address", sa.String(length=15), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=True),
        *_stamps(),
        sa.ForeignKeyConstraint(
            ["vpc_id"], ["vpcs.id"], name=op.f("fk_vpc_members_vpc_id_vpcs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
            name=op.f("fk_vpc_members_instance_id_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vpc_members")),
        sa.UniqueConstraint("vpc_id", "address", name=op.f("uq_vpc_members_vpc_id")),
    )
    op.create_index(
        op.f("ix_vpc_members_instance_id"), "vpc_members", ["instance_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("vpc_members")
    op.drop_table("vpcs")

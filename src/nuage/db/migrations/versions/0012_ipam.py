"""IPAM: address pools per location, and the addresses handed out from them

`ip_addresses.address` is unique: the database keeps one address from being handed out twice,
whichever process asks. Instances made before keep the addresses their driver reported
(`instances.ipv4`/`ipv6`) without rows here.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import nuage.db.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _stamps() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("created", nuage.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified", nuage.db.types.UTCDateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "ip_pools",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.SmallInteger(), nullable=False),
        sa.Column("cidr", sa.String(length=64), nullable=False),
        sa.Column("gateway", sa.String(length=45), nullable=True),
        sa.Column("first", sa.String(length=45), nullable=False),
        sa.Column("last", sa.String(length=45), nullable=False),
        sa.Column("ptr_domain", sa.String(length=253), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        *_stamps(),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_ip_pools_location_id_locations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ip_pools")),
        sa.UniqueConstraint("name", name=op.f("uq_ip_pools_name")),
    )
    op.create_index(op.f("ix_ip_pools_location_id"), "ip_pools", ["location_id"], unique=False)
    op.create_table(
        "ip_addresses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("address", sa.String(length=45), nullable=False),
        sa.Column("pool_id", sa.Uuid(), nullable=False),
        sa.Column("instance_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.SmallInteger(), nullable=False),
        sa.Column("prefix_length", sa.SmallInteger(), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("ptr", sa.String(length=253), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=True),
        sa.Column("released_at", nuage.db.types.UTCDateTime(timezone=True), nullable=True),
        *_stamps(),
        sa.ForeignKeyConstraint(
            ["pool_id"], ["ip_pools.id"], name=op.f("fk_ip_addresses_pool_id_ip_pools")
        ),
        sa.ForeignKeyConstraint(
            ["instance_id"], ["instances.id"], name=op.f("fk_ip_addresses_instance_id_instances")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ip_addresses")),
        sa.UniqueConstraint("address", name=op.f("uq_ip_addresses_address")),
    )
    op.create_index(
        op.f("ix_ip_addresses_instance_id"), "ip_addresses", ["instance_id"], unique=False
    )
    op.create_index(op.f("ix_ip_addresses_pool_id"), "ip_addresses", ["pool_id"], unique=False)


def downgrade() -> None:
    op.drop_table("ip_addresses")
    op.drop_table("ip_pools")

"""hosts and placement: a host registry, instances placed on hosts, staff users; one simulated
host per seeded location (the embedded default)

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

import sqlalchemy as sa
from alembic import op

import nuage.db.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = datetime(2026, 11, 26, tzinfo=UTC).replace(tzinfo=None)
SIM_HOSTS = [
    ("7c0d5a3e-4b1f-4d2a-9e8c-6f5a4b3c0001", "sim-par1", "0b6f3d6e-1f4e-4c53-9a0e-5a9d1f1c0001"),
    ("7c0d5a3e-4b1f-4d2a-9e8c-6f5a4b3c0002", "sim-fra1", "0b6f3d6e-1f4e-4c53-9a0e-5a9d1f1c0002"),
    ("7c0d5a3e-4b1f-4d2a-9e8c-6f5a4b3c0003", "sim-ams1", "0b6f3d6e-1f4e-4c53-9a0e-5a9d1f1c0003"),
]


def upgrade() -> None:
    op.create_table(
        "hosts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("driver", sa.String(length=20), nullable=False),
        sa.Column("uri", sa.String(length=500), nullable=False),
        sa.Column("vcpu", sa.Integer(), nullable=False),
        sa.Column("ram_mb", sa.Integer(), nullable=False),
        sa.Column("disk_gb", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created", nuage.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified", nuage.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_hosts_location_id_locations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hosts")),
        sa.UniqueConstraint("name", name=op.f("uq_hosts_name")),
    )
    with op.batch_alter_table("hosts") as batch:
        batch.create_index(batch.f("ix_hosts_location_id"), ["location_id"], unique=False)
    with op.batch_alter_table("instances") as batch:
        batch.add_column(sa.Column("host_id", sa.Uuid(), nullable=True))
        batch.create_index(batch.f("ix_instances_host_id"), ["host_id"], unique=False)
        batch.create_foreign_key(
            batch.f("fk_instances_host_id_hosts"), "hosts", ["host_id"], ["id"]
        )
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("is_staff", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    hosts = sa.table(
        "hosts",
        *(sa.column(c) for c in ("name", "driver", "uri", "vcpu", "ram_mb", "disk_gb", "state")),
        sa.column("id", sa.Uuid()),
        sa.column("location_id", sa.Uuid()),
        sa.column("created"),
        sa.column("modified"),
    )
    op.bulk_insert(
        hosts,
        [
            {
                "id": UUID(host_id), "name": name, "location_id": UUID(location), "driver": "sim",
                "uri": f"sim:///{name}", "vcpu": 256, "ram_mb": 1_048_576, "disk_gb": 100_000,
                "state": "enabled", "created": NOW, "modified": NOW,
            }
            for host_id, name, location in SIM_HOSTS
        ],
    )  # fmt: skip


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("is_staff")
    with op.batch_alter_table("instances") as batch:
        batch.drop_constraint(batch.f("fk_instances_host_id_hosts"), type_="foreignkey")
        batch.drop_index(batch.f("ix_instances_host_id"))
        batch.drop_column("host_id")
    op.drop_table("hosts")

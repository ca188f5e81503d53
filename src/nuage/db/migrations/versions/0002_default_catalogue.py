"""default catalogue: a few locations, sizes and OS images, with stable ids

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = datetime(2026, 11, 26, tzinfo=UTC).replace(tzinfo=None)

LOCATIONS = [
    ("0b6f3d6e-1f4e-4c53-9a0e-5a9d1f1c0001", "Paris 1", "par1", "FR"),
    ("0b6f3d6e-1f4e-4c53-9a0e-5a9d1f1c0002", "Frankfurt 1", "fra1", "DE"),
    ("0b6f3d6e-1f4e-4c53-9a0e-5a9d1f1c0003", "Amsterdam 1", "ams1", "NL"),
]
# (id, name, slug, vcpu, ram_mb, disk_gb, bandwidth_mbps, hourly price)
SIZES = [
    ("5e1c2a40-7d2b-4f0a-8c55-3b7d2e9a0001", "Nano", "nano-1-512", 1, 512, 10, 100, "0.00"),
    ("5e1c2a40-7d2b-4f0a-8c55-3b7d2e9a0002", "Small", "small-1-1024", 1, 1024, 25, 250, "0.01"),
    ("5e1c2a40-7d2b-4f0a-8c55-3b7d2e9a0003", "Medium", "medium-2-2048", 2, 2048, 50, 500, "0.02"),
    ("5e1c2a40-7d2b-4f0a-8c55-3b7d2e9a0004", "Large", "large-4-8192", 4, 8192, 160, 1000, "0.06"),
]
IMAGES = [
    ("9a4d7c1e-2b3f-4e5a-b6c7-d8e9f0a10001", "Debian 12", "debian-12", "debian", "12"),
    ("9a4d7c1e-2b3f-4e5a-b6c7-d8e9f0a10002", "Ubuntu 24.04 LTS", "ubuntu-24.04", "ubuntu", "24.04"),
    ("9a4d7c1e-2b3f-4e5a-b6c7-d8e9f0a10003", "Rocky Linux 9", "rocky-9", "rocky", "9"),
]

SIZE_COLUMNS = (
    "name", "slug", "vcpu", "ram_mb", "disk_gb", "bandwidth_mbps", "cpu_model", "description",
    "volumes", "pricing", "is_active", "created", "modified",
)  # fmt: skip
IMAGE_COLUMNS = ("name", "slug", "os_name", "os_version", "is_active", "created", "modified")


def _uuid_table(name: str, *columns: sa.ColumnClause[Any]) -> sa.TableClause:
    return sa.table(name, sa.column("id", sa.Uuid()), *columns)


def _column(name: str) -> sa.ColumnClause[Any]:
    return sa.column(name, sa.JSON()) if name in {"volumes", "pricing"} else sa.column(name)


def upgrade() -> None:
    locations = _uuid_table(
        "locations",
        sa.column("name"),
        sa.column("slug"),
        sa.column("country_code"),
        sa.column("is_active"),
        sa.column("created"),
        sa.column("modified"),
    )
    op.bulk_insert(
        locations,
        [
            dict(
                id=UUID(i),
                name=n,
                slug=s,
                country_code=c,
                is_active=True,
                created=NOW,
                modified=NOW,
            )
            for i, n, s, c in LOCATIONS
        ],
    )
    sizes = _uuid_table(
        "sizes",
        *(_column(c) for c in SIZE_COLUMNS),
    )
    op.bulk_insert(
        sizes,
        [
            dict(
                id=UUID(i),
                name=n,
                slug=s,
                vcpu=cpu,
                ram_mb=ram,
                disk_gb=disk,
                bandwidth_mbps=bw,
                cpu_model="QEMU Virtual CPU",
                description=f"{cpu} vCPU, {ram} MiB memory, {disk} GB SSD",
                volumes=[
                    {
                        "id": i,
                        "volume_type": "ssd",
                        "disk_gb": disk,
                        "is_default": True,
                        "is_active": True,
                    }
                ],
                pricing=[
                    {
                        "id": i,
                        "billing_cycle": "hourly",
                        "price": price,
                        "discount_percent": "0.00",
                        "is_default": True,
                        "is_active": True,
                    }
                ],
                is_active=True,
                created=NOW,
                modified=NOW,
            )
            for i, n, s, cpu, ram, disk, bw, price in SIZES
        ],
    )
    images = _uuid_table(
        "images",
        *(_column(c) for c in IMAGE_COLUMNS),
    )
    op.bulk_insert(
        images,
        [
            dict(
                id=UUID(i),
                name=n,
                slug=s,
                os_name=o,
                os_version=v,
                is_active=True,
                created=NOW,
                modified=NOW,
            )
            for i, n, s, o, v in IMAGES
        ],
    )


def downgrade() -> None:
    for name, rows in (("images", IMAGES), ("sizes", SIZES), ("locations", LOCATIONS)):
        table = _uuid_table(name)
        op.execute(sa.delete(table).where(table.c.id.in_([UUID(row[0]) for row in rows])))

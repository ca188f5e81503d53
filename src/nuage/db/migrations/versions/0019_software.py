"""the software catalogue, and the software each instance has

`software` lists what `install_software` may put on an instance, `software_images` the public
images each is offered on (reference data every deployment needs, like the images of 0002; stable
ids). `instances.software` holds the slugs its machine was given, as the driver reports them.

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

import sqlalchemy as sa
from alembic import op

import nuage.db.types

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = datetime(2026, 12, 2, tzinfo=UTC).replace(tzinfo=None)
DEBIAN, UBUNTU, ROCKY = (
    "9a4d7c1e-2b3f-4e5a-b6c7-d8e9f0a10001",
    "9a4d7c1e-2b3f-4e5a-b6c7-d8e9f0a10002",
    "9a4d7c1e-2b3f-4e5a-b6c7-d8e9f0a10003",
)
_ALL = (DEBIAN, UBUNTU, ROCKY)
_DEBIANS = (DEBIAN, UBUNTU)
_ID = "c0f7e2a1-5b6d-4c3e-9f80-1a2b3c4d000"  # + one digit
# (id, slug: the package name, name, description, images); slugs are Debian package names.
SOFTWARE = [
    (_ID + "1", "nginx", "Nginx", "HTTP server and reverse proxy.", _ALL),
    (_ID + "2", "docker.io", "Docker", "Container runtime (Docker Engine).", _DEBIANS),
    (_ID + "3", "wordpress", "WordPress", "Blogging and CMS platform.", _DEBIANS),
    (_ID + "4", "mariadb-server", "MariaDB", "SQL database server.", _DEBIANS),
    (_ID + "5", "postgresql", "PostgreSQL", "SQL database server.", _ALL),
    (_ID + "6", "redis-server", "Redis", "In-memory key-value store.", _DEBIANS),
    (_ID + "7", "nodejs", "Node.js", "JavaScript runtime.", _ALL),
]  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "software",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created", nuage.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified", nuage.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_software")),
        sa.UniqueConstraint("slug", name=op.f("uq_software_slug")),
    )
    op.create_table(
        "software_images",
        sa.Column("software_id", sa.Uuid(), nullable=False),
        sa.Column("image_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["software_id"],
            ["software.id"],
            name=op.f("fk_software_images_software_id_software"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["image_id"], ["images.id"], name=op.f("fk_software_images_image_id_images")
        ),
        sa.PrimaryKeyConstraint("software_id", "image_id", name=op.f("pk_software_images")),
    )
    op.create_index(
        op.f("ix_software_images_image_id"), "software_images", ["image_id"], unique=False
    )
    # Plain ADD COLUMN (see 0010): batch mode would copy and drop `instances`.
    op.add_column(
        "instances",
        sa.Column(
            "software", nuage.db.types.JSONType, nullable=False, server_default=sa.text("'[]'")
        ),
    )
    _seed()


def _seed() -> None:
    software = sa.table(
        "software",
        sa.column("id", sa.Uuid()),
        *(
            sa.column(c)
            for c in ("slug", "name", "description", "is_active", "created", "modified")
        ),
    )
    links = sa.table(
        "software_images", sa.column("software_id", sa.Uuid()), sa.column("image_id", sa.Uuid())
    )
    op.bulk_insert(
        software,
        [
            dict(
                id=UUID(i), slug=s, name=n, description=d, is_active=True, created=NOW, modified=NOW
            )
            for i, s, n, d, _ in SOFTWARE
        ],
    )
    op.bulk_insert(
        links,
        [
            dict(software_id=UUID(i), image_id=UUID(image))
            for i, _, _, _, images in SOFTWARE
            for image in images
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("instances") as batch:
        batch.drop_column("software")
    op.drop_index(op.f("ix_software_images_image_id"), table_name="software_images")
    op.drop_table("software_images")
    op.drop_table("software")

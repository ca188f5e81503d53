"""per-driver host configuration and secret references; the hypervisor's own id of a machine

Hosts get `config` (JSON checked by their driver's description; existing hosts: `{}`, every
setting at its default) and `secret_ref` (where a secret is, e.g. `env:NAME`, never the secret).
Instances get `external_id`, the machine's id at its hypervisor (a Proxmox VMID, a libvirt
domain UUID), null until a create records it.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ADD COLUMN, not batch mode: on SQLite a batch operation copies and drops the table, and
# dropping `hosts` fails while instances reference it (foreign keys are on).


def upgrade() -> None:
    op.add_column(
        "hosts",
        sa.Column(
            "config",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
            server_default=sa.text("'{}'"),
        ),
    )
    op.add_column("hosts", sa.Column("secret_ref", sa.String(length=500), nullable=True))
    op.add_column("instances", sa.Column("external_id", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("instances") as batch:
        batch.drop_column("external_id")
    with op.batch_alter_table("hosts") as batch:
        batch.drop_column("secret_ref")
        batch.drop_column("config")

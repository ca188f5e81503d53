"""the machine's hardware as its hypervisor reports it (drift adopted by sync_vps_state)

Instances get `machine_vcpu`, `machine_ram_mb` and `machine_disk_gb`: what the machine has, as
the last task that saw it reported (a create, a resize, a sync that adopted a change made outside
nuage). Null until a task reports the machine: the instance's size says what it has.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("machine_vcpu", "machine_ram_mb", "machine_disk_gb")


def upgrade() -> None:
    # Plain ADD COLUMN (see 0010): batch mode would copy and drop `instances`.
    for name in COLUMNS:
        op.add_column("instances", sa.Column(name, sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("instances") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)

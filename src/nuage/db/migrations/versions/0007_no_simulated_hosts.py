"""remove the simulated hosts that hold no instance

Migration 0004 seeded three enabled simulated hosts (256 vCPU, 1 TiB each) into every database,
production included, and placement picks the host with the most free memory: a real customer's
instance could land on the simulator. Simulated hosts belong to the embedded demo (`nuage demo`,
which `make run` runs, adds them at start) and to the tests, not to migrations.

This removes every host with driver `sim` that holds no instance (of any status: a deleted
instance's row still names its host). A simulated host that holds an instance is kept, for an
operator to drain. Downgrade does not put the removed hosts back: they were demo data.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    hosts = sa.table("hosts", sa.column("id", sa.Uuid()), sa.column("driver"))
    instances = sa.table("instances", sa.column("host_id", sa.Uuid()))
    holding = sa.exists().where(instances.c.host_id == hosts.c.id)
    op.execute(sa.delete(hosts).where(hosts.c.driver == "sim", ~holding))


def downgrade() -> None:
    pass

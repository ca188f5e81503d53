"""the instance's firewall rules as its hypervisor has them (apply_firewall)

Instances get `firewall_rules`: the rule list the last `apply_firewall` left on the machine, in
evaluation order. Null (every existing instance) or empty: no firewall.

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (see 0010): batch mode would copy and drop `instances`.
    op.add_column(
        "instances",
        sa.Column(
            "firewall_rules",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
    )


def downgrade() -> None:
    with op.batch_alter_table("instances") as batch:
        batch.drop_column("firewall_rules")

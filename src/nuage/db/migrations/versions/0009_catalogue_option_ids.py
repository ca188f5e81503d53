"""each volume and pricing option of a size gets its own id; the sizes keep theirs

The default catalogue (0002) gave a size, its volume option and its pricing option one id, so a
client caching by id confused them. Options that share their size's id get a derived one.

Revision ID: 0009
Revises: 0007
"""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from alembic import op

from nuage.domain.sizes import pricing_option_id, volume_option_id

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIZES = sa.table(
    "sizes",
    sa.column("id", sa.Uuid()),
    sa.column("volumes", sa.JSON()),
    sa.column("pricing", sa.JSON()),
)


def _volume_id(size_id: UUID, option: dict[str, Any]) -> UUID:
    return volume_option_id(size_id, str(option["volume_type"]), int(option["disk_gb"]))


def _pricing_id(size_id: UUID, option: dict[str, Any]) -> UUID:
    return pricing_option_id(size_id, str(option["billing_cycle"]))


def _rewrite(*, own_ids: bool) -> None:
    """Give options sharing their size's id their own (own_ids), or take them back (downgrade)."""
    bind = op.get_bind()
    for size_id, volumes, pricing in bind.execute(sa.select(SIZES)).all():
        lists = {"volumes": (volumes, _volume_id), "pricing": (pricing, _pricing_id)}
        changed = {}
        for column, (options, derive) in lists.items():
            new = []
            for option in options or []:
                old_id, derived = str(size_id), str(derive(size_id, option))
                if own_ids and option.get("id") == old_id:
                    option = {**option, "id": derived}
                elif not own_ids and option.get("id") == derived:
                    option = {**option, "id": old_id}
                new.append(option)
            if new != (options or []):
                changed[column] = new
        if changed:
            bind.execute(sa.update(SIZES).where(SIZES.c.id == size_id).values(**changed))


def upgrade() -> None:
    _rewrite(own_ids=True)


def downgrade() -> None:
    _rewrite(own_ids=False)

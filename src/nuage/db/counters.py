"""Named counters, for the integer `legacy_id`s of organizations and instances.

`max(legacy_id) + 1` races between concurrent creates on PostgreSQL (two organizations' creates
picked the same number and one failed on the unique constraint); an UPDATE … RETURNING on one
row takes its lock, so each value is handed out once and the waiting transaction gets the next.
"""

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import Counter

ORGANIZATIONS = "organizations.legacy_id"
INSTANCES = "instances.legacy_id"


async def next_value(session: AsyncSession, name: str) -> int:
    stmt = (
        sa.update(Counter)
        .where(Counter.name == name)
        .values(value=Counter.value + 1)
        .returning(Counter.value)
    )
    value = await session.scalar(stmt)
    if value is None:
        raise LookupError(f"no counter {name!r}: run `nuage db upgrade`")
    return int(value)

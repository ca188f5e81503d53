"""The shared token buckets on PostgreSQL: one statement takes a batch of tokens.

`take` is `domain.rate_limits.take` in SQL, on the database's clock (processes on several
machines agree on it): refill every band since `at`, add back what the caller returns unused,
grant `LEAST(want, whole tokens, GREATEST(1, floor(whole * fraction)))` (0 when a band holds
less than one token), and spend the grant in every band. The row lock of the upsert serialises
processes taking from the same bucket.
"""

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.domain.rate_limits import Policy, batch_size

_NOW = "extract(epoch from now())"


def _refilled(band: int) -> str:
    return (
        f"LEAST(:cap{band}, b.tokens{band} + :returned + GREATEST(0, {_NOW} - b.at) * :rate{band})"
    )


_WHOLE = f"floor(LEAST({_refilled(0)}, {_refilled(1)}))"
_GRANT = (
    f"CASE WHEN {_WHOLE} < 1 THEN 0 "
    f"ELSE LEAST(:want, {_WHOLE}, GREATEST(1, floor({_WHOLE} * :fraction))) END"
)
# Take a batch of tokens from a bucket, making it full the first time.
TAKE = sa.text(
    f"""
    INSERT INTO rate_limits AS b (key, tokens0, tokens1, granted, at)
    VALUES (:key, :cap0 - :first, :cap1 - :first, :first, {_NOW})
    ON CONFLICT (key) DO UPDATE SET
        granted = {_GRANT},
        tokens0 = {_refilled(0)} - ({_GRANT}),
        tokens1 = {_refilled(1)} - ({_GRANT}),
        at = GREATEST(b.at, {_NOW})
    RETURNING granted, tokens0, tokens1
    """
).bindparams(
    *(
        sa.bindparam(name, type_=sa.Float)
        for name in ("cap0", "cap1", "rate0", "rate1", "fraction", "returned")
    ),
    sa.bindparam("want", type_=sa.Integer),
    sa.bindparam("first", type_=sa.Integer),
)
# Forget buckets idle long enough to be full again: an absent row is a full bucket.
PRUNE = sa.text(f"DELETE FROM rate_limits WHERE at < {_NOW} - :idle").bindparams(
    sa.bindparam("idle", type_=sa.Float)
)


@dataclass(frozen=True, slots=True)
class Taken:
    granted: int
    tokens: tuple[float, float]  # what the bucket holds after the grant


async def take(
    session: AsyncSession,
    key: str,
    policy: Policy,
    *,
    want: int,
    fraction: float,
    returned: int = 0,
) -> Taken:
    first, second = policy.bands
    row = (
        await session.execute(
            TAKE,
            {
                "key": key,
                "cap0": float(first.capacity),
                "cap1": float(second.capacity),
                "rate0": first.rate,
                "rate1": second.rate,
                "want": want,
                "fraction": fraction,
                "returned": float(returned),
                "first": batch_size(
                    min(first.capacity, second.capacity), want=want, fraction=fraction
                ),
            },
        )
    ).one()
    return Taken(int(row.granted), (float(row.tokens0), float(row.tokens1)))


async def prune(session: AsyncSession, *, idle_seconds: float) -> None:
    await session.execute(PRUNE, {"idle": idle_seconds})

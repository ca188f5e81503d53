"""JSON columns as the engines decode them (`db.json_columns`): the values the standard
library makes, however deeply nested (pydantic-core's parser, which the engines use first,
refuses about 200 levels), through the engine and the fast read's reader alike."""

import pytest
import sqlalchemy as sa

from nuage.db.session import make_engine, make_reader

pytestmark = pytest.mark.anyio

DEEP: object = {"n": 1.5, "s": "é", "none": None}
for _ in range(300):
    DEEP = [DEEP]


async def test_a_json_value_reads_back_as_it_was_written_at_any_depth(database_url: str) -> None:
    engine = make_engine(database_url)
    reader = make_reader(engine, pool_size=1, pool_timeout=5)
    probe = sa.table("json_probe", sa.column("v", sa.JSON))
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("DROP TABLE IF EXISTS json_probe"))
            kind = "jsonb" if database_url.startswith("postgresql") else "json"
            await conn.execute(sa.text(f"CREATE TABLE json_probe (v {kind})"))
            await conn.execute(sa.insert(probe), [{"v": DEEP}, {"v": {"flat": [1, "two"]}}])
        for source in (engine, reader):
            async with source.connect() as conn:
                values = (await conn.execute(sa.select(probe.c.v))).scalars().all()
            assert sorted(values, key=lambda v: isinstance(v, dict)) == [DEEP, {"flat": [1, "two"]}]
    finally:
        await reader.dispose()
        await engine.dispose()

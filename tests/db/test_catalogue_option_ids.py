"""A size, its volume options and its pricing options are distinct objects with distinct ids (a
client caches by id), and the migration that separated them kept every size's id."""

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from nuage.db.migrate import alembic_config, upgrade
from nuage.db.session import make_engine
from tests.support import SIZES, TenantFactory

pytestmark = pytest.mark.anyio


def _ids(sizes: list[dict[str, Any]]) -> list[str]:
    return [
        str(item["id"])
        for size in sizes
        for item in (size, *size["available_volumes"], *size["pricing_options"])
    ]


async def test_every_catalogue_object_has_its_own_id(tenants: TenantFactory) -> None:
    tenant = await tenants()
    response = await tenant.client.get("/v1/compute/sizes", headers=tenant.headers)
    assert response.status_code == 200, response.text
    sizes = response.json()["results"]
    assert {size["id"] for size in sizes} == set(SIZES.values())
    ids = _ids(sizes)
    assert len(ids) == len(set(ids)) == 3 * len(SIZES)


async def _catalogue(engine: Any) -> dict[str, tuple[list[str], list[str]]]:
    """Each size's id with the ids of its volume and pricing options, as stored."""
    table = sa.table(
        "sizes",
        sa.column("id", sa.Uuid()),
        sa.column("volumes", sa.JSON()),
        sa.column("pricing", sa.JSON()),
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(table))).all()
    return {
        str(size_id): ([v["id"] for v in volumes], [p["id"] for p in pricing])
        for size_id, volumes, pricing in rows
    }


def _assert_sizes_kept_and_ids_distinct(
    before: dict[str, tuple[list[str], list[str]]], after: dict[str, tuple[list[str], list[str]]]
) -> None:
    assert set(after) == set(before)
    ids = [*after, *(i for volumes, pricing in after.values() for i in (*volumes, *pricing))]
    assert len(ids) == len(set(ids)) == 3 * len(SIZES)


async def test_the_migration_keeps_size_ids_and_separates_option_ids(database_url: str) -> None:
    """A database as 0006 left it (options sharing their size's id), then migrated to head."""
    from alembic import command

    engine = make_engine(database_url)

    def down(connection: sa.Connection) -> None:
        command.downgrade(alembic_config(connection), "0006")

    async with engine.begin() as conn:
        await conn.run_sync(down)
    before = await _catalogue(engine)
    assert before == {i: ([i], [i]) for i in SIZES.values()}  # the defect, as 0006 left it

    await upgrade(engine)
    _assert_sizes_kept_and_ids_distinct(before, await _catalogue(engine))
    await engine.dispose()


async def test_a_database_made_at_0006_keeps_its_size_ids(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    await upgrade(engine, "0006")
    before = await _catalogue(engine)
    assert before == {i: ([i], [i]) for i in SIZES.values()}
    await upgrade(engine)
    _assert_sizes_kept_and_ids_distinct(before, await _catalogue(engine))
    await engine.dispose()

"""Migrations and models agree: `upgrade head` yields exactly the schema the models describe,
downgrade to base and back works, and the default catalogue is seeded."""

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from nuage.db.migrate import current_revision, upgrade
from nuage.db.models import Base, Host, Instance, Project
from nuage.db.session import make_engine, make_sessionmaker, transaction
from nuage.services.accounts import create_organization, ensure_user
from tests.support import IMAGES, LOCATION, SIZES

pytestmark = pytest.mark.anyio


# Columns added after a revision, so that a test can write rows as they were at that revision.
ADDED_AFTER = {"0006": {"hosts": {"config", "secret_ref"}, "instances": {"external_id"}}}


def as_of(table: sa.Table, revision: str) -> sa.Table:
    """`table` without the columns added after `revision` (and without the models' defaults)."""
    added = ADDED_AFTER[revision].get(table.name, set())
    columns = [sa.Column(c.name, c.type) for c in table.columns if c.name not in added]
    return sa.Table(table.name, sa.MetaData(), *columns)


def _diff(connection: sa.Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_upgrade_head_matches_models(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    await upgrade(engine)
    async with engine.connect() as conn:
        assert await conn.run_sync(_diff) == []
    assert await current_revision(engine) is not None
    await engine.dispose()


async def test_upgrade_is_idempotent_and_seeds_the_catalogue(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    await upgrade(engine)
    await upgrade(engine)
    async with engine.connect() as conn:
        counts = {
            table: (await conn.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar_one()
            for table in ("locations", "sizes", "images")
        }
    assert counts == {"locations": 3, "sizes": 4, "images": 3}
    await engine.dispose()


async def test_downgrade_to_base_and_back(tmp_path: Path) -> None:
    from alembic import command

    from nuage.db.migrate import alembic_config

    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    await upgrade(engine)

    def down(connection: sa.Connection) -> None:
        command.downgrade(alembic_config(connection), "base")

    async with engine.begin() as conn:
        await conn.run_sync(down)
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
    assert set(tables) <= {"alembic_version"}
    await upgrade(engine)
    async with engine.connect() as conn:
        assert await conn.run_sync(_diff) == []
    await engine.dispose()


async def test_the_suite_databases_match_the_models(database_url: str) -> None:
    """Each backend's test database (migrated to head) has exactly the models' schema."""
    engine = make_engine(database_url)
    async with engine.connect() as conn:
        assert await conn.run_sync(_diff) == []
    await engine.dispose()


async def test_a_fresh_database_has_no_hosts(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    await upgrade(engine)
    async with engine.connect() as conn:
        assert (await conn.execute(sa.text("SELECT count(*) FROM hosts"))).scalar_one() == 0
    await engine.dispose()


async def test_0007_removes_the_simulated_hosts_that_hold_no_instance(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    await upgrade(engine, "0006")  # as every database was: 0004 seeded three simulated hosts
    sessions = make_sessionmaker(engine)
    async with transaction(sessions) as session:  # no API key: api_keys has grown columns since
        user = await ensure_user(session, "o@example.com", "pass-1234")
        org = await create_organization(session, user, "Org")
        project = Project(organization_id=org.id, name="p")
        session.add(project)
        await session.flush()
        owner = SimpleNamespace(user_id=user.id, organization_id=org.id, project_id=project.id)
    # The rows as of 0006: the models have grown columns since (hosts.config, …).
    hosts, instances = as_of(Host.__table__, "0006"), as_of(Instance.__table__, "0006")
    now = datetime.now(UTC)
    async with transaction(sessions) as session:
        kept = (
            await session.execute(
                sa.select(hosts.c.id, hosts.c.location_id).where(hosts.c.name == "sim-fra1")
            )
        ).one()
        await session.execute(
            sa.insert(hosts).values(
                id=uuid4(), name="kvm-01", location_id=UUID(LOCATION), driver="libvirt",
                uri="qemu:///system", vcpu=8, ram_mb=16384, disk_gb=500, state="enabled",
                created=now, modified=now,
            )
        )  # fmt: skip
        await session.execute(
            sa.insert(instances).values(
                id=uuid4(), legacy_id=1, organization_id=owner.organization_id,
                project_id=owner.project_id, name="kept", status="running",
                size_id=UUID(SIZES["small"]), location_id=kept.location_id,
                image_id=UUID(IMAGES["debian"]), host_id=kept.id, hostname="kept",
                description="", tags=[], ipv4=[], ipv6=[], power_state="on",
                billing_cycle="hourly", created_by_id=owner.user_id, created=now, modified=now,
            )
        )  # fmt: skip

    await upgrade(engine)

    async with engine.connect() as conn:
        names = (await conn.execute(sa.text("SELECT name FROM hosts ORDER BY name"))).scalars()
        assert list(names) == ["kvm-01", "sim-fra1"]
    await engine.dispose()

"""Bulk rows for the benchmarks, written with plain SQL (fast enough for a million tasks)."""

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from nuage.db.models import Instance, InstanceTask, Membership, Organization, Project, User
from nuage.db.session import make_sessionmaker

SIZE = uuid.UUID("5e1c2a40-7d2b-4f0a-8c55-3b7d2e9a0001")
LOCATION = uuid.UUID("0b6f3d6e-1f4e-4c53-9a0e-5a9d1f1c0001")
IMAGE = uuid.UUID("9a4d7c1e-2b3f-4e5a-b6c7-d8e9f0a10001")


async def tenant(
    engine: AsyncEngine, *, instances: int, legacy_id: int = 1
) -> tuple[User, Organization, Project, list[uuid.UUID]]:
    """One user, organization and project, with `instances` instances already running; tenants
    in one database take distinct `legacy_id`s (their instances' numbers follow from it)."""
    sessions = make_sessionmaker(engine)
    async with sessions() as session, session.begin():
        user = User(email=f"bench-{uuid.uuid4().hex[:6]}@example.com", password_hash="x")
        org = Organization(name="bench", legacy_id=legacy_id, instance_quota=10**9)
        session.add_all([user, org])
        await session.flush()
        project = Project(organization_id=org.id, name="bench")
        session.add_all(
            [project, Membership(organization_id=org.id, user_id=user.id, role="owner")]
        )
        await session.flush()
        ids = [uuid.uuid4() for _ in range(instances)]
        session.add_all(
            Instance(
                id=i, legacy_id=(legacy_id - 1) * 100_000 + n + 1, organization_id=org.id,
                project_id=project.id,
                name=f"vm-{n}", status="running", size_id=SIZE, location_id=LOCATION,
                image_id=IMAGE, hostname=f"vm-{n}", power_state="on", billing_cycle="hourly",
                created_by_id=user.id, tags=[], ipv4=[], ipv6=[],
            )
            for n, i in enumerate(ids)
        )  # fmt: skip
    return user, org, project, ids


async def tasks(
    engine: AsyncEngine,
    *,
    user: User,
    org: Organization,
    project: Project,
    instance_ids: list[uuid.UUID],
    count: int,
    status: str = "pending",
    task_type: str = "sync_vps_state",
    batch: int = 5000,
) -> None:
    """`count` tasks spread round-robin over the instances, inserted in batches."""
    now = datetime.now(UTC)
    table = InstanceTask.__table__
    done = 0
    while done < count:
        rows = [
            {
                "id": uuid.uuid4(), "organization_id": org.id, "project_id": project.id,
                "instance_id": instance_ids[(done + k) % len(instance_ids)],
                "task_type": task_type, "status": status, "parameters": {}, "progress": 0,
                "retry_count": 0, "max_retries": 3, "cancel_requested": False, "run_after": now,
                "attempts": 0, "created_by_id": user.id, "created": now, "modified": now,
                "completed_at": now if status == "completed" else None,
            }
            for k in range(min(batch, count - done))
        ]  # fmt: skip
        async with engine.begin() as conn:
            await conn.execute(sa.insert(table), rows)
        done += len(rows)

"""Several API processes on one database: a key revoked through one process is refused by the
very next request through another (the fast read caches nothing), and so is the key of a user
whose membership is removed; `nuage serve --workers N` runs N processes on one port (each with
its own LISTEN connection)."""

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
import sqlalchemy as sa

from nuage.db.session import make_engine
from tests.pg.cluster import PrivateCluster
from tests.pg.fleet import Fleet
from tests.support import IMAGES, LOCATION, SIZES, free_port

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def fleet(require_private_cluster: None, tmp_path: Path) -> Iterator[Fleet]:
    cluster = PrivateCluster()
    cluster.start()
    fleet = Fleet(cluster.url, tmp_path / "var")
    try:
        yield fleet
    finally:
        fleet.stop()
        cluster.destroy()


def start_workers_api(fleet: Fleet, processes: int) -> str:
    """`nuage serve --workers N` on a port of its own; returns its URL once it answers."""
    port = free_port()
    args = ("serve", "--no-worker", "--workers", str(processes), "--port", str(port))
    fleet.workers.append(fleet._spawn("api-workers", *args))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                return url
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the processes did not answer"
        time.sleep(0.2)


def test_a_key_revoked_through_one_process_is_refused_by_the_next_request_through_another(
    fleet: Fleet,
) -> None:
    creds = fleet.bootstrap()
    one = fleet.start_api()
    fleet.wait_for_listeners(1)
    other = start_workers_api(fleet, 2)
    fleet.wait_for_listeners(3)  # one LISTEN connection per process: `--workers 2` runs two
    owner = {"Authorization": f"Bearer {creds['api_key']}"}
    path = f"/v1/organizations/{creds['organization_id']}/projects/{creds['project_id']}/compute"
    body = {"name": "w", "size_id": SIZES["nano"], "location_id": LOCATION,
            "image_id": IMAGES["debian"]}  # fmt: skip
    created = httpx.post(f"{one}{path}/instances", json=body, headers=owner)
    assert created.status_code == 201, created.text
    task = created.headers["Location"].split("/compute", 1)[1]
    made = httpx.post(f"{one}/v1/api-keys", json={"name": "r", "scopes": ["compute:read"]},
                      headers=owner)  # fmt: skip
    assert made.status_code == 201, made.text
    reader = {"Authorization": f"Bearer {made.json()['key']}"}
    for _ in range(6):  # the first records `last_used`; the next ones take the one-statement
        # read, in both processes behind the port (new connections spread over them)
        assert httpx.get(f"{other}{path}{task}", headers=reader).status_code == 200
    revoked = httpx.delete(f"{one}/v1/api-keys/{made.json()['id']}", headers=owner)
    assert revoked.status_code == 204
    for _ in range(4):  # the very next requests, whichever process takes them
        refused = httpx.get(f"{other}{path}{task}", headers=reader)
        assert (refused.status_code, refused.json()["code"]) == (401, "api_key_revoked")
    assert httpx.get(f"{other}{path}{task}", headers=owner).status_code == 200  # the control
    # Membership has no route of its own (operators change it in the database): once the
    # owner's membership is gone, the very next request through either process is refused as a
    # stranger's, by the fast read's own statement as by the route.
    stranger = httpx.get(f"{one}/v1/organizations/{uuid4()}/projects/{uuid4()}/compute{task}",
                         headers=owner)  # fmt: skip
    assert stranger.status_code == 404
    asyncio.run(_remove_memberships(fleet.database_url, "fleet@example.com"))
    for _ in range(4):
        refused = httpx.get(f"{other}{path}{task}", headers=owner)
        assert (refused.status_code, refused.content) == (stranger.status_code, stranger.content)
    # Each process behind the port writes its JSON access lines (spawned processes set up
    # their own logging): every request above is there, with its route template.
    lines = [json.loads(line) for line in (fleet.logs / "api-workers.log").read_text().splitlines()]
    access = [line for line in lines if line["logger"] == "nuage.access"]
    routes = {line["route"] for line in access if line["method"] == "GET"}
    assert (
        f"{path}/tasks/{{id}}".replace(creds["organization_id"], "{organization_id}").replace(
            creds["project_id"], "{project_id}"
        )
        in routes
    )
    assert sum(1 for line in access if line["status"] == 401) >= 4


async def _remove_memberships(database_url: str, email: str) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            user = sa.text("SELECT id FROM users WHERE email = :email")
            for table in ("project_members", "memberships"):
                await conn.execute(
                    sa.text(f"DELETE FROM {table} WHERE user_id = ({user.text})"), {"email": email}
                )
    finally:
        await engine.dispose()

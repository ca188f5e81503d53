"""No address is handed out twice, even by several API and worker processes at once on
PostgreSQL: 3 API processes and 2 workers take concurrent creates and assigns from one small
pool until it is exhausted. Every address is held once; the exhausted pool answers 409
`address_pool_exhausted`, never a 500; what each machine has is what the database says. And
the rule is the database's: a duplicate row is refused by its unique constraint."""

import asyncio
import itertools
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from nuage.db.session import make_engine
from tests.pg.cluster import PrivateCluster
from tests.pg.fleet import Fleet, fleet_client
from tests.support import create_body

pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.postgres]

POOL = "10.9.0.0/26"  # hands out .2 to .62: 61 addresses
POOL_SIZE = 61
INSTANCES = 6
ASSIGNS = 80  # more than the pool holds once the instances have their primaries


@pytest.fixture
def fleet(require_private_cluster: None, tmp_path: Path) -> Iterator[Fleet]:
    cluster = PrivateCluster()
    cluster.start()
    fleet = Fleet(
        cluster.url,
        tmp_path / "var",
        NUAGE_SIM_LATENCY_MS="10",
        NUAGE_WORKER_CONCURRENCY="4",
        NUAGE_DB_POOL_SIZE="5",
    )
    try:
        yield fleet
    finally:
        fleet.stop()
        cluster.destroy()


class Api:
    """Requests spread over the API processes; every answer is kept."""

    def __init__(self, http: httpx.AsyncClient, urls: list[str], creds: dict[str, str]) -> None:
        self.http, self.urls = http, itertools.cycle(urls)
        self.headers = {"Authorization": f"Bearer {creds['api_key']}"}
        org, project = creds["organization_id"], creds["project_id"]
        self.path = f"/v1/organizations/{org}/projects/{project}/compute"
        self.answers: list[httpx.Response] = []

    async def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        url = next(self.urls) + self.path + path
        response = await self.http.request(method, url, headers=self.headers, **kw)
        self.answers.append(response)
        return response


def _use_the_small_pool(fleet: Fleet) -> None:
    fleet.run("ip-pools", "set", "par1-v4", "--inactive")
    fleet.run("ip-pools", "add", "--name", "small", "--location", "par1", "--cidr", POOL)


async def _settle(api: Api, task_ids: list[str]) -> list[dict[str, Any]]:
    async def one(task_id: str) -> dict[str, Any]:
        for _ in range(120):
            got = await api.call("GET", f"/tasks/{task_id}", params={"wait": 10})
            task: dict[str, Any] = got.json()
            if task["status"] in {"completed", "failed", "cancelled"}:
                return task
        raise AssertionError(f"task {task_id} never finished")

    return list(await asyncio.gather(*(one(t) for t in task_ids)))


async def test_concurrent_assigns_over_many_processes_never_hand_out_an_address_twice(
    fleet: Fleet,
) -> None:
    creds = fleet.bootstrap()
    _use_the_small_pool(fleet)
    urls = [fleet.start_api() for _ in range(3)]
    for _ in range(2):
        fleet.start_worker()
    async with fleet_client(timeout=60, max_connections=40) as http:
        api = Api(http, urls, creds)
        made = await asyncio.gather(
            *(
                api.call("POST", "/instances", json=create_body(name=f"vm-{n}"))
                for n in range(INSTANCES)
            )
        )
        assert [r.status_code for r in made] == [201] * INSTANCES, [r.text for r in made]
        instances = [r.json()["id"] for r in made]
        await _settle(api, [r.headers["Location"].rsplit("/", 1)[1] for r in made])

        assigns = await asyncio.gather(
            *(
                api.call("POST", f"/instances/{instances[n % INSTANCES]}/ips", json={"version": 4})
                for n in range(ASSIGNS)
            )
        )
        accepted = [r for r in assigns if r.status_code == 202]
        refused = [r for r in assigns if r.status_code != 202]
        assert len(accepted) == POOL_SIZE - INSTANCES
        assert {(r.status_code, r.json()["code"]) for r in refused} == {
            (409, "address_pool_exhausted")
        }
        tasks = await _settle(api, [r.json()["id"] for r in accepted])
        assert {t["status"] for t in tasks} == {"completed"}

        held: list[str] = []
        for instance_id in instances:
            listed = (await api.call("GET", f"/instances/{instance_id}/ips")).json()
            v4 = [a["address"] for a in listed if a["version"] == 4]
            assert all(a["status"] == "assigned" for a in listed)
            held += v4
            machine = json.loads(
                (fleet.data_dir / "sim" / "machines" / f"{instance_id}.json").read_text()
            )
            on_machine = [a["address"] for a in machine["addresses"] if ":" not in a["address"]]
            assert sorted(on_machine) == sorted(v4)  # the machine has what the database says
    assert len(held) == len(set(held)) == POOL_SIZE
    assert all(r.status_code < 500 for r in api.answers)
    await _duplicate_is_refused_by_the_database(fleet.database_url, held[0])


async def _duplicate_is_refused_by_the_database(database_url: str, address: str) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            row = (
                (
                    await conn.execute(
                        sa.text("SELECT * FROM ip_addresses WHERE address = :a"), {"a": address}
                    )
                )
                .mappings()
                .one()
            )
            copy = {**row, "id": uuid.uuid4()}
            columns = ", ".join(copy)
            values = ", ".join(f":{c}" for c in copy)
            with pytest.raises(IntegrityError, match="uq_ip_addresses_address"):
                await conn.execute(
                    sa.text(f"INSERT INTO ip_addresses ({columns}) VALUES ({values})"), copy
                )
    finally:
        await engine.dispose()

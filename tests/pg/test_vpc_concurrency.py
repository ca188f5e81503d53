"""No private address of a VPC is handed out twice, even by several API and worker processes at
once on PostgreSQL: 3 API processes take concurrent joins of one small VPC until it is full,
then 2 workers run them. Every instance ends in the VPC once, with an address nobody else has;
the full VPC answers 409 `vpc_full`, never a 500; what each machine has is what the database
says. And the rule is the database's: a duplicate (vpc_id, address) row is refused by its
unique constraint."""

import asyncio
import ipaddress
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from nuage.db.session import make_engine
from tests.pg.cluster import PrivateCluster
from tests.pg.fleet import Fleet, fleet_client
from tests.pg.test_ipam_concurrency import Api, _settle
from tests.support import LOCATION, create_body

pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.postgres]

BLOCK = "10.44.0.0/28"  # hands out .2 to .14: 13 addresses
BLOCK_SIZE = 13
INSTANCES = 6
JOINS_EACH = 3  # 18 joins: more than the block holds


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


async def test_concurrent_joins_over_many_processes_never_hand_out_an_address_twice(
    fleet: Fleet,
) -> None:
    creds = fleet.bootstrap()
    urls = [fleet.start_api() for _ in range(3)]
    async with fleet_client(timeout=60, max_connections=40) as http:
        api = Api(http, urls, creds)
        body = {"name": "small", "cidr_block": BLOCK, "location_id": LOCATION}
        vpc_id = (await api.call("POST", "/vpcs", json=body)).json()["id"]
        made = await asyncio.gather(
            *(
                api.call("POST", "/instances", json=create_body(name=f"vm-{n}"))
                for n in range(INSTANCES)
            )
        )
        instances = [r.json()["id"] for r in made]
        creates = [r.headers["Location"].rsplit("/", 1)[1] for r in made]

        # No worker yet: every join is asked for while no instance is in the VPC, so each one
        # accepted reserves an address of its own (they queue behind their instance's create).
        # One join per instance first, so that each has one whichever process wins the VPC's
        # lock; then the rest race for what is left of the block.
        join = {"vpc_id": vpc_id}

        async def joins_of(rounds: range) -> list[httpx.Response]:
            return list(
                await asyncio.gather(
                    *(
                        api.call("POST", f"/instances/{instance_id}/vpc", json=join)
                        for _ in rounds
                        for instance_id in instances
                    )
                )
            )

        first = await joins_of(range(1))
        assert [r.status_code for r in first] == [202] * INSTANCES
        joins = first + await joins_of(range(1, JOINS_EACH))
        accepted = [r for r in joins if r.status_code == 202]
        refused = [r for r in joins if r.status_code != 202]
        assert len(accepted) == BLOCK_SIZE
        assert {(r.status_code, r.json()["code"]) for r in refused} == {(409, "vpc_full")}
        reserved = [r.json()["parameters"]["address"] for r in accepted]
        assert len(set(reserved)) == BLOCK_SIZE  # no address reserved twice
        for _ in range(2):
            fleet.start_worker()
        tasks = await _settle(api, [*creates, *(r.json()["id"] for r in accepted)])
        assert {t["status"] for t in tasks} == {"completed"}

        # An instance's tasks run in the order they were queued: it ends with its last join's
        # address.
        last_join: dict[str, str] = {}
        for task in sorted(tasks[len(creates) :], key=lambda t: t["created"]):
            last_join[task["instance_id"]] = task["parameters"]["address"]
        held: list[str] = []
        for instance_id in instances:
            vpc = (await api.call("GET", f"/instances/{instance_id}")).json()["vpc"]
            assert vpc["id"] == vpc_id
            assert vpc["private_address"] == last_join[instance_id]
            held.append(vpc["private_address"])
            machine = json.loads(
                (fleet.data_dir / "sim" / "machines" / f"{instance_id}.json").read_text()
            )
            network = machine["private_network"]  # the machine has what the database says
            assert (network["network_id"], network["address"]) == (vpc_id, vpc["private_address"])
    assert len(held) == len(set(held)) == INSTANCES
    assert all(ipaddress.ip_address(a) in ipaddress.ip_network(BLOCK) for a in held)
    assert all(r.status_code < 500 for r in api.answers)
    await _duplicate_is_refused_by_the_database(fleet.database_url, held[0])


async def _duplicate_is_refused_by_the_database(database_url: str, address: str) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            found = await conn.execute(
                sa.text("SELECT * FROM vpc_members WHERE address = :a"), {"a": address}
            )
            copy = {**found.mappings().one(), "id": uuid.uuid4()}
            columns, values = ", ".join(copy), ", ".join(f":{c}" for c in copy)
            with pytest.raises(IntegrityError, match="uq_vpc_members_vpc_id"):
                await conn.execute(
                    sa.text(f"INSERT INTO vpc_members ({columns}) VALUES ({values})"), copy
                )
    finally:
        await engine.dispose()

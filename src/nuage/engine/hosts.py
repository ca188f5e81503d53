"""Hosts as the engine sees them: a driver per host, and placement of new instances."""

from collections.abc import Callable
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.config import Settings
from nuage.db.hosts import host_loads
from nuage.db.models import Host, Instance
from nuage.domain.errors import PermanentError
from nuage.domain.placement import Resources, choose_host
from nuage.drivers.base import Driver
from nuage.drivers.registry import build_driver
from nuage.engine.records import HostRecord, host_record

DriverFactory = Callable[[HostRecord], Driver]


class Drivers:
    """One driver per host, made on first use by `factory` and kept while the host's record
    (driver, URI, configuration, secret reference) stays the same; an operator's change makes
    the next task build a new one (the old one is closed with the rest)."""

    def __init__(self, factory: DriverFactory) -> None:
        self._factory = factory
        self._by_host: dict[UUID, tuple[HostRecord, Driver]] = {}
        self._retired: list[Driver] = []

    @classmethod
    def from_registry(cls, settings: Settings) -> "Drivers":
        """Each host's driver built by the registry from its driver name, configuration and
        secret reference (a PermanentError for the task when that fails)."""

        def factory(host: HostRecord) -> Driver:
            return build_driver(
                driver=host.driver,
                host=host.name,
                uri=host.uri,
                config=host.config,
                secret_ref=host.secret_ref,
                settings=settings,
            )

        return cls(factory)

    @classmethod
    def single(cls, driver: Driver) -> "Drivers":
        """Every host reached through one driver (the simulated hypervisor, tests)."""
        return cls(lambda _host: driver)

    def for_host(self, host: HostRecord) -> Driver:
        known = self._by_host.get(host.id)
        if known is not None and known[0] == host:
            return known[1]
        driver = self._factory(host)
        if known is not None:  # tasks may still be using it: close it with the rest
            self._retired.append(known[1])
        self._by_host[host.id] = (host, driver)
        return driver

    async def close(self) -> None:
        drivers = [d for _, d in self._by_host.values()] + self._retired
        for driver in {id(d): d for d in drivers}.values():
            await driver.close()
        self._by_host.clear()
        self._retired.clear()


async def place(
    session: AsyncSession,
    instance_id: UUID,
    location_id: UUID,
    need: Resources,
    *,
    only: UUID | None = None,
) -> HostRecord:
    """Put the instance on the location's host with the most room (only on `only`, when set: the
    host that holds its custom image); PermanentError if none fits."""
    loads = [
        load for load in await host_loads(session, location_id) if only in (None, load.host_id)
    ]
    chosen = choose_host(loads, need)
    if chosen is None:
        raise PermanentError(
            f"No enabled host in this location has room for {need.vcpu} vCPU, "
            f"{need.ram_mb} MiB and {need.disk_gb} GB.",
            code="no_capacity",
        )
    await session.execute(
        sa.update(Instance).where(Instance.id == instance_id).values(host_id=chosen.host_id)
    )
    host = await session.get(Host, chosen.host_id)
    assert host is not None
    return host_record(host)

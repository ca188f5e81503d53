"""An instance's addresses, and the address pools operators manage."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from nuage.api.schemas.common import Body
from nuage.db.models import IpAddress
from nuage.domain.enums import IpVersion
from nuage.domain.ipam import DEFAULT_PTR_DOMAIN, AddressState
from nuage.services.ip_pools import PoolView


class IpOut(BaseModel):
    id: UUID
    address: str
    version: IpVersion
    prefix_length: int
    is_primary: bool = Field(description="Given at create; stays until the instance is deleted.")
    ptr: str = Field(description="The reverse DNS (PTR) name.")
    status: Literal["assigning", "assigned"] = Field(
        description="`assigning` while its `assign_ip` task runs."
    )
    created: datetime

    @classmethod
    def of(cls, row: IpAddress) -> "IpOut":
        return cls(
            id=row.id,
            address=row.address,
            version=IpVersion(row.version),
            prefix_length=row.prefix_length,
            is_primary=row.is_primary,
            ptr=row.ptr,
            status="assigned" if row.state == AddressState.ASSIGNED.value else "assigning",
            created=row.created,
        )


class IpAssign(Body):
    version: IpVersion = Field(description="4 or 6.")


class ReverseDnsUpdate(Body):
    ptr: str | None = Field(
        max_length=254,
        description="A fully qualified host name (stored lowercased, without a trailing dot), "
        "or null for the pool's default name (`192-0-2-10.<pool's ptr_domain>`).",
    )


class IpPoolOut(BaseModel):
    id: UUID
    name: str
    location_id: UUID
    version: IpVersion
    cidr: str
    gateway: str | None
    first: str
    last: str
    ptr_domain: str
    is_active: bool
    size: int = Field(description="How many addresses it can hand out.")
    used: int = Field(description="Assigned, reserved or in quarantine.")
    created: datetime
    modified: datetime

    @classmethod
    def of(cls, view: PoolView) -> "IpPoolOut":
        pool = view.pool
        return cls(
            id=pool.id,
            name=pool.name,
            location_id=pool.location_id,
            version=IpVersion(pool.version),
            cidr=pool.cidr,
            gateway=pool.gateway,
            first=pool.first,
            last=pool.last,
            ptr_domain=pool.ptr_domain,
            is_active=pool.is_active,
            size=view.size,
            used=view.used,
            created=pool.created,
            modified=pool.modified,
        )


class IpPoolCreate(Body):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    location: str = Field(min_length=1, max_length=64, description="Location slug or id.")
    cidr: str = Field(
        min_length=3,
        max_length=64,
        description="An IPv4 network (e.g. 192.0.2.0/24) or an IPv6 prefix (2001:db8:0:1::/64).",
    )
    gateway: str | None = Field(default=None, max_length=45, description="Default: the first host.")
    first: str | None = Field(
        default=None, max_length=45, description="Default: after the gateway."
    )
    last: str | None = Field(default=None, max_length=45, description="Default: the last host.")
    ptr_domain: str = Field(
        default=DEFAULT_PTR_DOMAIN,
        min_length=1,
        max_length=200,
        description="The domain of the addresses' default PTR names.",
    )
    is_active: bool = True


class IpPoolUpdate(Body):
    is_active: bool = Field(description="An inactive pool hands out nothing new.")

"""Every authenticated endpoint under /v1, as data.

The auth and tenancy battery (`test_auth_tenancy.py`) runs over this table, and one of its tests
compares the table with the app's routes: a new endpoint without a row here fails the suite.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tests.support import IMAGES, LOCATION, SIZES, SOFTWARE

P = "/v1/organizations/{organization_id}/projects/{project_id}/compute"

# Routes that take no credentials by design (tested by the login tests of the battery).
PUBLIC = frozenset(
    {
        ("POST", "/v1/auth/login"),
        ("POST", "/v1/auth/refresh"),
        # The console's cookie sign-in (api/web/session.py): no bearer token, an Origin check.
        ("POST", "/v1/auth/session"),
        ("POST", "/v1/auth/session/refresh"),
        ("DELETE", "/v1/auth/session"),
    }
)
# WebSockets whose credential is a one-time token in the URL (tests/api/test_console.py).
BY_TOKEN = frozenset({("WEBSOCKET", "/v1/console/{session_id}")})
# Operators' routes: staff only, whatever the organization role (tests/api/test_admin_hosts.py).
ADMIN = frozenset(
    {
        ("GET", "/v1/admin/hosts"),
        ("POST", "/v1/admin/hosts"),
        ("GET", "/v1/admin/hosts/{host_id}"),
        ("PATCH", "/v1/admin/hosts/{host_id}"),
        ("GET", "/v1/admin/ip-pools"),
        ("POST", "/v1/admin/ip-pools"),
        ("GET", "/v1/admin/ip-pools/{pool_id}"),
        ("PATCH", "/v1/admin/ip-pools/{pool_id}"),
    }
)


class Tenancy(StrEnum):
    """Whose rules decide access to an endpoint."""

    PROJECT = "project"  # under P: organization role, guest's projects, key scopes
    ORGANIZATION = "organization"  # /v1/organizations/{organization_id}/…: organization role
    USER = "user"  # the caller's own things (API keys, organization list): no role applies
    CATALOGUE = "catalogue"  # the same for every authenticated caller
    PLATFORM = "platform"  # the operators' admin API: staff with the `admin` scope


@dataclass(frozen=True, slots=True)
class Ids:
    """The objects an endpoint's path (or body) names, all of one tenant."""

    organization_id: str
    project_id: str
    instance_id: str
    task_id: str  # a pending task of `instance_id`
    cancelled_task_id: str  # a cancelled task of `instance_id` (retry needs one)
    key_id: str  # an API key of the tenant's user, other than the one calling
    volume_id: str  # a volume attached to `instance_id`
    detached_volume_id: str  # an available volume of the same location
    backup_id: str  # an available backup of `instance_id`
    ip_id: str  # an assigned address of `instance_id` that is not a primary one
    console_session_id: str  # a console session of `instance_id`
    snapshot_id: str  # an available snapshot of `instance_id`
    image_id: str  # an available custom image of the project, made from `instance_id`
    webhook_id: str  # a webhook of the project
    delivery_id: str  # a delivery of `webhook_id`
    vpc_id: str  # a VPC of the project, in the location of `instance_id`, without members
    software_id: str = SOFTWARE["nginx"]  # a catalogue entry `instance_id` has installed
    vpc_cidr: str = "10.0.0.0/24"  # the block of `vpc_id`
    spare_cidr: str = "10.1.0.0/24"  # a block no VPC of the project uses
    host_id: str = ""  # a host of the platform (the admin API)
    pool_id: str = ""  # an address pool of the platform (the admin API)


# Path parameter → Ids field, unless an endpoint says otherwise.
PATH_FIELDS: Mapping[str, str] = {
    "organization_id": "organization_id",
    "project_id": "project_id",
    "instance_id": "instance_id",
    "id": "task_id",
    "key_id": "key_id",
    "volume_id": "volume_id",
    "ip_id": "ip_id",
    "session_id": "console_session_id",
    "webhook_id": "webhook_id",
    "delivery_id": "delivery_id",
    "software_id": "software_id",
    "vpc_id": "vpc_id",
    "host_id": "host_id",
    "pool_id": "pool_id",
}
# Path ids of the public catalogue and the platform: the same for every tenant, so not a place
# for another's id.
CATALOGUE_IDS = frozenset({"software_id", "host_id", "pool_id"})
BodyFactory = Callable[[Ids], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str  # the route's template, exactly as the app declares it
    ok: int  # the status an allowed caller gets
    tenancy: Tenancy
    body: BodyFactory | None = None
    body_fields: tuple[str, ...] = ()  # Ids fields the body names
    fields: Mapping[str, str] = field(default_factory=dict)  # overrides of PATH_FIELDS
    staff: bool = False  # operators only: an owner who is not staff is refused (403)
    stream: bool = False  # an endless answer (Server-Sent Events): read as far as its headers
    # A success uses its objects up (deletes, attaches, cancels, takes a block): each allowed
    # caller after the first gets objects of its own.
    consumes: bool = False

    @property
    def write(self) -> bool:
        return self.method != "GET"

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    @property
    def id_fields(self) -> list[str]:
        """The Ids fields this endpoint names: each is a place for another tenant's id."""
        params = [p for p in self.path_params if p not in CATALOGUE_IDS]
        named = [self.fields.get(p, PATH_FIELDS[p]) for p in params]
        return named + [f for f in self.body_fields if f not in named]

    def url(self, ids: Ids) -> str:
        values = {p: getattr(ids, self.fields.get(p, PATH_FIELDS[p])) for p in self.path_params}
        return self.path.format(**values)

    def json(self, ids: Ids) -> dict[str, Any] | None:
        return self.body(ids) if self.body is not None else None

    def __str__(self) -> str:
        return f"{self.method} {self.path.replace(P, 'P')}"


def instance_body(_ids: Ids | None = None) -> dict[str, Any]:
    return {
        "name": "vm-auth",
        "size_id": SIZES["small"],
        "location_id": LOCATION,
        "image_id": IMAGES["debian"],
    }


FIREWALL_RULE = {
    "priority": 10,
    "direction": "INPUT",
    "action": "ACCEPT",
    "protocol": "TCP",
    "destination_ports": {"start": 22},
}


def _update_body(_ids: Ids) -> dict[str, Any]:
    return {"name": "renamed", "description": "changed", "tags": ["changed"]}


def _vpc_body(cidr_block: str) -> dict[str, Any]:
    return {"name": "private", "cidr_block": cidr_block, "location_id": LOCATION}


def _action(verb: str, body: BodyFactory | None = None) -> Endpoint:
    return Endpoint("POST", f"{P}/instances/{{instance_id}}/{verb}", 202, Tenancy.PROJECT, body)


_PROJECT = Tenancy.PROJECT
_DETACHED = {"volume_id": "detached_volume_id"}  # attach and delete need a detached volume
_BACKUP = f"{P}/instances/{{instance_id}}/backups/{{id}}"
_BY_BACKUP = {"id": "backup_id"}
_SNAPSHOT = f"{P}/instances/{{instance_id}}/snapshots/{{id}}"
_SNAPSHOT_ID = {"id": "snapshot_id"}
_NAMED = {"name": "nightly"}
_WEBHOOK = f"{P}/webhooks/{{webhook_id}}"
# A literal public address: saved without a DNS lookup, never reached (the battery runs no worker).
WEBHOOK_BODY = {"url": "https://93.184.215.14/hooks", "event_types": ["task.completed"]}
NEW_HOST = {
    "name": "kvm-matrix",
    "location": "par1",
    "driver": "libvirt",
    "uri": "qemu+ssh://kvm-matrix/system",
    "vcpu": 8,
    "ram_mb": 16384,
    "disk_gb": 500,
}
NEW_POOL = {"name": "par1-matrix", "location": "par1", "cidr": "10.9.0.0/28"}
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", f"{P}/instances", 200, _PROJECT),
    Endpoint("POST", f"{P}/instances", 201, _PROJECT, instance_body),
    Endpoint("GET", f"{P}/instances/{{instance_id}}", 200, _PROJECT),
    Endpoint("PUT", f"{P}/instances/{{instance_id}}", 200, _PROJECT, _update_body),
    Endpoint("PATCH", f"{P}/instances/{{instance_id}}", 200, _PROJECT, _update_body),
    Endpoint("DELETE", f"{P}/instances/{{instance_id}}", 202, _PROJECT, consumes=True),
    _action("start"),
    _action("stop"),
    _action("reboot"),
    _action("shutdown"),
    _action("reset"),
    _action("resize", lambda _ids: {"size_id": SIZES["medium"]}),
    _action("reinstall", lambda _ids: {"image_id": IMAGES["ubuntu"]}),
    _action("hostname", lambda _ids: {"hostname": "renamed-host"}),
    _action("sync"),
    Endpoint("GET", f"{P}/volumes", 200, _PROJECT),
    Endpoint("GET", f"{P}/volumes/{{volume_id}}", 200, _PROJECT),
    Endpoint(
        "POST",
        f"{P}/instances/{{instance_id}}/volumes",
        202,
        _PROJECT,
        lambda _ids: {"name": "data", "size_gb": 1},
    ),
    Endpoint(
        "POST",
        f"{P}/volumes/{{volume_id}}/attach",
        202,
        _PROJECT,
        lambda ids: {"instance_id": ids.instance_id},
        body_fields=("instance_id",),
        fields=_DETACHED,
        consumes=True,
    ),
    Endpoint("POST", f"{P}/volumes/{{volume_id}}/detach", 202, _PROJECT),
    Endpoint(
        "POST", f"{P}/volumes/{{volume_id}}/resize", 202, _PROJECT, lambda _ids: {"size_gb": 2}
    ),
    Endpoint("DELETE", f"{P}/volumes/{{volume_id}}", 202, _PROJECT, fields=_DETACHED),
    Endpoint("GET", f"{P}/instances/{{instance_id}}/backups", 200, _PROJECT),
    Endpoint(
        "POST", f"{P}/instances/{{instance_id}}/backups", 202, _PROJECT, lambda _ids: {"name": "b"}
    ),
    Endpoint("GET", f"{_BACKUP}", 200, _PROJECT, fields=_BY_BACKUP),
    Endpoint("DELETE", f"{_BACKUP}", 202, _PROJECT, fields=_BY_BACKUP),
    Endpoint("POST", f"{_BACKUP}/restore", 202, _PROJECT, fields=_BY_BACKUP),
    Endpoint("GET", f"{P}/instances/{{instance_id}}/ips", 200, _PROJECT),
    Endpoint("POST", f"{P}/instances/{{instance_id}}/ips", 202, _PROJECT, lambda _: {"version": 4}),
    Endpoint("DELETE", f"{P}/instances/{{instance_id}}/ips/{{ip_id}}", 202, _PROJECT),
    Endpoint(
        "PUT",
        f"{P}/instances/{{instance_id}}/ips/{{ip_id}}/reverse-dns",
        202,
        _PROJECT,
        lambda _ids: {"ptr": "mail.example.com"},
    ),
    _action("console"),
    Endpoint("GET", f"{P}/instances/{{instance_id}}/console/{{session_id}}", 200, _PROJECT),
    Endpoint("GET", f"{P}/instances/{{instance_id}}/firewall", 200, _PROJECT),
    Endpoint(
        "PUT",
        f"{P}/instances/{{instance_id}}/firewall",
        202,
        _PROJECT,
        lambda _ids: {"rules": [FIREWALL_RULE]},
    ),
    Endpoint("GET", f"{P}/instances/{{instance_id}}/snapshots", 200, _PROJECT),
    Endpoint(
        "POST", f"{P}/instances/{{instance_id}}/snapshots", 202, _PROJECT, lambda _ids: _NAMED
    ),
    Endpoint("GET", _SNAPSHOT, 200, _PROJECT, fields=_SNAPSHOT_ID),
    Endpoint("DELETE", _SNAPSHOT, 202, _PROJECT, fields=_SNAPSHOT_ID),
    Endpoint("POST", f"{_SNAPSHOT}/restore", 202, _PROJECT, fields=_SNAPSHOT_ID),
    Endpoint("POST", f"{_SNAPSHOT}/image", 202, _PROJECT, lambda _ids: _NAMED, fields=_SNAPSHOT_ID),
    Endpoint("GET", f"{P}/images", 200, _PROJECT),
    Endpoint("DELETE", f"{P}/images/{{id}}", 202, _PROJECT, fields={"id": "image_id"}),
    Endpoint(
        "POST",
        f"{P}/instances/{{instance_id}}/config",
        202,
        _PROJECT,
        lambda _ids: {"config": {"cpu_model": "qemu64"}},
        staff=True,
    ),
    Endpoint("GET", f"{P}/webhooks", 200, _PROJECT),
    Endpoint("POST", f"{P}/webhooks", 201, _PROJECT, lambda _ids: WEBHOOK_BODY),
    Endpoint("GET", _WEBHOOK, 200, _PROJECT),
    Endpoint("PUT", _WEBHOOK, 200, _PROJECT, lambda _ids: WEBHOOK_BODY),
    Endpoint("DELETE", _WEBHOOK, 204, _PROJECT, consumes=True),
    Endpoint("POST", f"{_WEBHOOK}/rotate-secret", 200, _PROJECT),
    Endpoint("POST", f"{_WEBHOOK}/ping", 202, _PROJECT),
    Endpoint("GET", f"{_WEBHOOK}/deliveries", 200, _PROJECT),
    Endpoint("GET", f"{_WEBHOOK}/deliveries/{{delivery_id}}", 200, _PROJECT),
    Endpoint("POST", f"{_WEBHOOK}/deliveries/{{delivery_id}}/redeliver", 202, _PROJECT),
    Endpoint("GET", f"{P}/software", 200, _PROJECT),
    Endpoint(
        "POST",
        f"{P}/instances/{{instance_id}}/software",
        202,
        _PROJECT,
        lambda _ids: {"software_id": SOFTWARE["docker.io"]},
    ),
    Endpoint("DELETE", f"{P}/instances/{{instance_id}}/software/{{software_id}}", 202, _PROJECT),
    Endpoint("GET", f"{P}/vpcs", 200, _PROJECT),
    Endpoint(
        "POST", f"{P}/vpcs", 201, _PROJECT, lambda ids: _vpc_body(ids.spare_cidr), consumes=True
    ),
    Endpoint("GET", f"{P}/vpcs/{{vpc_id}}", 200, _PROJECT),
    Endpoint("PUT", f"{P}/vpcs/{{vpc_id}}", 200, _PROJECT, lambda ids: _vpc_body(ids.vpc_cidr)),
    Endpoint("DELETE", f"{P}/vpcs/{{vpc_id}}", 204, _PROJECT, consumes=True),
    Endpoint(
        "POST",
        f"{P}/instances/{{instance_id}}/vpc",
        202,
        _PROJECT,
        lambda ids: {"vpc_id": ids.vpc_id},
        body_fields=("vpc_id",),
    ),
    Endpoint("GET", f"{P}/tasks", 200, _PROJECT),
    Endpoint(
        "POST",
        f"{P}/tasks",
        202,
        _PROJECT,
        lambda ids: {"instance_id": ids.instance_id, "task_type": "sync_vps_state"},
        body_fields=("instance_id",),
    ),
    Endpoint("GET", f"{P}/tasks/{{id}}", 200, _PROJECT),
    Endpoint("GET", f"{P}/instances/{{instance_id}}/tasks/{{id}}", 200, _PROJECT),
    Endpoint("POST", f"{P}/tasks/{{id}}/cancel", 200, _PROJECT, consumes=True),
    Endpoint("POST", f"{P}/tasks/{{id}}/retry", 202, _PROJECT, fields={"id": "cancelled_task_id"}),
    Endpoint("GET", f"{P}/tasks/{{id}}/events", 200, _PROJECT),
    Endpoint("GET", f"{P}/events", 200, _PROJECT, stream=True),
    Endpoint("GET", "/v1/compute/locations", 200, Tenancy.CATALOGUE),
    Endpoint("GET", "/v1/compute/sizes", 200, Tenancy.CATALOGUE),
    Endpoint("GET", "/v1/compute/images", 200, Tenancy.CATALOGUE),
    Endpoint("GET", "/v1/organizations", 200, Tenancy.USER),
    Endpoint("GET", "/v1/organizations/{organization_id}/projects", 200, Tenancy.ORGANIZATION),
    Endpoint(
        "POST",
        "/v1/organizations/{organization_id}/projects",
        201,
        Tenancy.ORGANIZATION,
        lambda _ids: {"name": "another project"},
    ),
    Endpoint("GET", "/v1/organizations/{organization_id}/audit-log", 200, Tenancy.ORGANIZATION),
    Endpoint("GET", "/v1/api-keys", 200, Tenancy.USER),
    # A read-only key may mint a key with no more than its own scope.
    Endpoint(
        "POST",
        "/v1/api-keys",
        201,
        Tenancy.USER,
        lambda _ids: {"name": "minted", "scopes": ["compute:read"]},
    ),
    Endpoint("DELETE", "/v1/api-keys/{key_id}", 204, Tenancy.USER, consumes=True),
    Endpoint("GET", "/v1/admin/hosts", 200, Tenancy.PLATFORM),
    Endpoint("POST", "/v1/admin/hosts", 201, Tenancy.PLATFORM, lambda _ids: NEW_HOST),
    Endpoint("GET", "/v1/admin/hosts/{host_id}", 200, Tenancy.PLATFORM),
    Endpoint(
        "PATCH",
        "/v1/admin/hosts/{host_id}",
        200,
        Tenancy.PLATFORM,
        lambda _ids: {"state": "enabled"},
    ),
    Endpoint("GET", "/v1/admin/ip-pools", 200, Tenancy.PLATFORM),
    Endpoint("POST", "/v1/admin/ip-pools", 201, Tenancy.PLATFORM, lambda _ids: NEW_POOL),
    Endpoint("GET", "/v1/admin/ip-pools/{pool_id}", 200, Tenancy.PLATFORM),
    Endpoint(
        "PATCH",
        "/v1/admin/ip-pools/{pool_id}",
        200,
        Tenancy.PLATFORM,
        lambda _ids: {"is_active": True},
    ),
)

# Writes that an organization role governs: a viewer is refused them.
ROLE_WRITES = tuple(
    e for e in ENDPOINTS if e.write and e.tenancy in {Tenancy.PROJECT, Tenancy.ORGANIZATION}
)
# Endpoints that name a tenant's objects: another tenant's ids must look missing.
WITH_IDS = tuple(e for e in ENDPOINTS if e.id_fields)

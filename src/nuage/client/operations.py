"""Every request the clients make, in one place: its method, its path, its body and the model
of its answer. The sync and async clients send the same `Call`s (`Client` / `AsyncClient`).

Ids may be given as `str` or `UUID`. Compute paths start with `SCOPE`, the project's URL."""

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, TypeVar
from uuid import UUID

import httpx
from pydantic import BaseModel, TypeAdapter

from nuage.client.http import SCOPE, Call, post
from nuage.client.models import (
    ApiKey,
    ApiKeyCreated,
    AuditRecord,
    Backup,
    ConsoleSession,
    Firewall,
    Image,
    Instance,
    InstanceCreated,
    IpAddress,
    Location,
    Organization,
    Page,
    Project,
    ProjectImage,
    Size,
    Snapshot,
    Software,
    TaskEvent,
    Token,
    Volume,
    Vpc,
    Webhook,
    WebhookDelivery,
    WebhookWithSecret,
)

Id = str | UUID
M = TypeVar("M", bound=BaseModel)
TT = TypeVar("TT")
LONG_POLL_MAX = 30.0  # seconds one `?wait=` asks for (the server allows 60)
P = SCOPE


def one(kind: type[M]) -> Callable[[httpx.Response], M]:
    return lambda response: kind.model_validate(response.json())


def page_of(kind: type[M]) -> Callable[[httpx.Response], Page[M]]:
    return lambda response: Page[kind].model_validate(response.json())  # type: ignore[valid-type]


def list_of(kind: type[M]) -> Callable[[httpx.Response], list[M]]:
    adapter = TypeAdapter(list[kind])  # type: ignore[valid-type]
    return lambda response: adapter.validate_python(response.json())


def nothing(_response: httpx.Response) -> None:
    return None


def listing(path: str, kind: type[M], page_size: int, **filters: Any) -> Call[Page[M]]:
    params = {k: v for k, v in filters.items() if v is not None}
    return Call("GET", path, page_of(kind), params={**params, "page_size": page_size})


def _conflict(on_conflict: str) -> dict[str, str] | None:
    return None if on_conflict == "queue" else {"on_conflict": on_conflict}


def _csv(values: str | Iterable[str] | None) -> str | None:
    if values is None or isinstance(values, str):
        return values
    return ",".join(values)


class Operations(Generic[TT]):
    """The calls, with tasks read by `task` (each client's own task class)."""

    def __init__(self, task: Callable[[Any], TT]) -> None:
        self._task_of = task

    def _task(self, response: httpx.Response) -> TT:
        return self._task_of(response.json())

    def _action(
        self, path: str, body: Any = None, *, on_conflict: str = "queue", key: str | None = None
    ) -> Call[TT]:
        return post(path, self._task, body, params=_conflict(on_conflict), idempotency_key=key)

    def _delete(self, path: str, params: Mapping[str, Any] | None = None) -> Call[TT]:
        return Call("DELETE", path, self._task, params=params)

    # Instances
    def instances(self, page_size: int) -> Call[Page[Instance]]:
        return listing(f"{P}/instances", Instance, page_size)

    def instance(self, instance_id: Id) -> Call[Instance]:
        return Call("GET", f"{P}/instances/{instance_id}", one(Instance))

    def create_instance(self, body: dict[str, Any], key: str | None) -> Call[InstanceCreated]:
        return post(f"{P}/instances", one(InstanceCreated), body, idempotency_key=key)

    def update_instance(self, instance_id: Id, body: dict[str, Any]) -> Call[Instance]:
        return Call("PATCH", f"{P}/instances/{instance_id}", one(Instance), body=body)

    def delete_instance(self, instance_id: Id, *, delete_volumes: bool) -> Call[TT]:
        params = {"delete_volumes": "true"} if delete_volumes else None
        return self._delete(f"{P}/instances/{instance_id}", params)

    def instance_action(
        self, instance_id: Id, action: str, body: Any = None, *, on_conflict: str = "queue"
    ) -> Call[TT]:
        return self._action(f"{P}/instances/{instance_id}/{action}", body, on_conflict=on_conflict)

    # Tasks
    def tasks(
        self,
        page_size: int,
        *,
        instance_id: Id | None = None,
        status: str | Iterable[str] | None = None,
        task_type: str | Iterable[str] | None = None,
        ordering: str | None = None,
    ) -> Call[Page[TT]]:
        params = {
            "instance_id": str(instance_id) if instance_id else None,
            "status": _csv(status),
            "task_type": _csv(task_type),
            "ordering": ordering,
            "page_size": page_size,
        }
        task = self._task_of

        def parse(response: httpx.Response) -> Page[TT]:
            data = response.json()
            return Page[Any].model_validate({**data, "results": [task(t) for t in data["results"]]})

        kept = {k: v for k, v in params.items() if v is not None}
        return Call("GET", f"{P}/tasks", parse, params=kept)

    def task(self, task_id: Id, *, wait: float = 0) -> Call[TT]:
        if wait <= 0:
            return Call("GET", f"{P}/tasks/{task_id}", self._task)
        seconds = round(min(wait, LONG_POLL_MAX), 1)
        params = {"wait": seconds}
        return Call("GET", f"{P}/tasks/{task_id}", self._task, params=params, timeout=seconds + 15)

    def create_task(self, body: dict[str, Any]) -> Call[TT]:
        return self._action(f"{P}/tasks", body)

    def cancel_task(self, task_id: Id) -> Call[TT]:
        return self._action(f"{P}/tasks/{task_id}/cancel")

    def retry_task(self, task_id: Id) -> Call[TT]:
        return self._action(f"{P}/tasks/{task_id}/retry")

    def task_events(self, task_id: Id, page_size: int) -> Call[Page[TaskEvent]]:
        return listing(f"{P}/tasks/{task_id}/events", TaskEvent, page_size)

    # Snapshots and backups, under their instance
    def snapshots(self, instance_id: Id, page_size: int) -> Call[Page[Snapshot]]:
        return listing(f"{P}/instances/{instance_id}/snapshots", Snapshot, page_size)

    def snapshot(self, instance_id: Id, snapshot_id: Id) -> Call[Snapshot]:
        return Call("GET", f"{P}/instances/{instance_id}/snapshots/{snapshot_id}", one(Snapshot))

    def backups(self, instance_id: Id, page_size: int) -> Call[Page[Backup]]:
        return listing(f"{P}/instances/{instance_id}/backups", Backup, page_size)

    def backup(self, instance_id: Id, backup_id: Id) -> Call[Backup]:
        return Call("GET", f"{P}/instances/{instance_id}/backups/{backup_id}", one(Backup))

    def under_instance(
        self, instance_id: Id, path: str, body: Any = None, *, on_conflict: str = "queue"
    ) -> Call[TT]:
        """A POST that queues a task on a resource of the instance (`snapshots/{id}/restore`)."""
        return self._action(f"{P}/instances/{instance_id}/{path}", body, on_conflict=on_conflict)

    def delete_under_instance(self, instance_id: Id, path: str) -> Call[TT]:
        return self._delete(f"{P}/instances/{instance_id}/{path}")

    # Volumes
    def volumes(self, page_size: int) -> Call[Page[Volume]]:
        return listing(f"{P}/volumes", Volume, page_size)

    def volume(self, volume_id: Id) -> Call[Volume]:
        return Call("GET", f"{P}/volumes/{volume_id}", one(Volume))

    def volume_action(self, volume_id: Id, action: str, body: Any = None) -> Call[TT]:
        return self._action(f"{P}/volumes/{volume_id}/{action}", body)

    def delete_volume(self, volume_id: Id) -> Call[TT]:
        return self._delete(f"{P}/volumes/{volume_id}")

    # Addresses
    def ips(self, instance_id: Id) -> Call[list[IpAddress]]:
        return Call("GET", f"{P}/instances/{instance_id}/ips", list_of(IpAddress))

    def reverse_dns(self, instance_id: Id, ip_id: Id, ptr: str | None) -> Call[TT]:
        path = f"{P}/instances/{instance_id}/ips/{ip_id}/reverse-dns"
        return Call("PUT", path, self._task, body={"ptr": ptr})

    def firewall(self, instance_id: Id) -> Call[Firewall]:
        return Call("GET", f"{P}/instances/{instance_id}/firewall", one(Firewall))

    def replace_firewall(self, instance_id: Id, rules: list[dict[str, Any]]) -> Call[TT]:
        path = f"{P}/instances/{instance_id}/firewall"
        return Call("PUT", path, self._task, body={"rules": rules})

    # VPCs and software
    def vpcs(self, page_size: int) -> Call[Page[Vpc]]:
        return listing(f"{P}/vpcs", Vpc, page_size)

    def vpc(self, vpc_id: Id) -> Call[Vpc]:
        return Call("GET", f"{P}/vpcs/{vpc_id}", one(Vpc))

    def create_vpc(self, body: dict[str, Any]) -> Call[Vpc]:
        return post(f"{P}/vpcs", one(Vpc), body)

    def replace_vpc(self, vpc_id: Id, body: dict[str, Any]) -> Call[Vpc]:
        return Call("PUT", f"{P}/vpcs/{vpc_id}", one(Vpc), body=body)

    def delete_vpc(self, vpc_id: Id) -> Call[None]:
        return Call("DELETE", f"{P}/vpcs/{vpc_id}", nothing)

    def software(self, page_size: int) -> Call[Page[Software]]:
        return listing(f"{P}/software", Software, page_size)

    def install_software(self, instance_id: Id, software_id: Id, key: str | None) -> Call[TT]:
        body = {"software_id": str(software_id)}
        return self._action(f"{P}/instances/{instance_id}/software", body, key=key)

    # Images, the console, the catalogue
    def project_images(self, page_size: int) -> Call[Page[ProjectImage]]:
        return listing(f"{P}/images", ProjectImage, page_size)

    def delete_image(self, image_id: Id) -> Call[TT]:
        return self._delete(f"{P}/images/{image_id}")

    def console_session(self, instance_id: Id, session_id: Id) -> Call[ConsoleSession]:
        path = f"{P}/instances/{instance_id}/console/{session_id}"
        return Call("GET", path, one(ConsoleSession))

    def sizes(self, page_size: int) -> Call[Page[Size]]:
        return listing("/v1/compute/sizes", Size, page_size)

    def locations(self, page_size: int) -> Call[Page[Location]]:
        return listing("/v1/compute/locations", Location, page_size)

    def images(self, page_size: int) -> Call[Page[Image]]:
        return listing("/v1/compute/images", Image, page_size)

    # Webhooks
    def webhooks(self, page_size: int) -> Call[Page[Webhook]]:
        return listing(f"{P}/webhooks", Webhook, page_size)

    def webhook(self, webhook_id: Id) -> Call[Webhook]:
        return Call("GET", f"{P}/webhooks/{webhook_id}", one(Webhook))

    def create_webhook(self, body: dict[str, Any], key: str | None) -> Call[WebhookWithSecret]:
        return post(f"{P}/webhooks", one(WebhookWithSecret), body, idempotency_key=key)

    def replace_webhook(self, webhook_id: Id, body: dict[str, Any]) -> Call[Webhook]:
        return Call("PUT", f"{P}/webhooks/{webhook_id}", one(Webhook), body=body)

    def delete_webhook(self, webhook_id: Id) -> Call[None]:
        return Call("DELETE", f"{P}/webhooks/{webhook_id}", nothing)

    def rotate_webhook_secret(self, webhook_id: Id) -> Call[WebhookWithSecret]:
        return post(f"{P}/webhooks/{webhook_id}/rotate-secret", one(WebhookWithSecret))

    def ping_webhook(self, webhook_id: Id) -> Call[WebhookDelivery]:
        return post(f"{P}/webhooks/{webhook_id}/ping", one(WebhookDelivery))

    def deliveries(self, webhook_id: Id, page_size: int) -> Call[Page[WebhookDelivery]]:
        return listing(f"{P}/webhooks/{webhook_id}/deliveries", WebhookDelivery, page_size)

    def delivery(self, webhook_id: Id, delivery_id: Id) -> Call[WebhookDelivery]:
        path = f"{P}/webhooks/{webhook_id}/deliveries/{delivery_id}"
        return Call("GET", path, one(WebhookDelivery))

    def redeliver(self, webhook_id: Id, delivery_id: Id) -> Call[WebhookDelivery]:
        path = f"{P}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"
        return post(path, one(WebhookDelivery))

    # Accounts
    def organizations(self) -> Call[list[Organization]]:
        return Call("GET", "/v1/organizations", list_of(Organization))

    def projects(self, organization_id: Id, page_size: int) -> Call[Page[Project]]:
        return listing(f"/v1/organizations/{organization_id}/projects", Project, page_size)

    def create_api_key(
        self, name: str, scopes: Iterable[str] | None, project_id: Id | None
    ) -> Call[ApiKeyCreated]:
        body: dict[str, Any] = {"name": name}
        if scopes is not None:
            body["scopes"] = [str(s) for s in scopes]
        if project_id is not None:
            body["project_id"] = str(project_id)
        return post("/v1/api-keys", one(ApiKeyCreated), body)

    def api_keys(self, page_size: int) -> Call[Page[ApiKey]]:
        return listing("/v1/api-keys", ApiKey, page_size)

    def audit_log(
        self, organization_id: Id, page_size: int, filters: Mapping[str, Any]
    ) -> Call[Page[AuditRecord]]:
        path = f"/v1/organizations/{organization_id}/audit-log"
        return listing(path, AuditRecord, page_size, **filters)

    def revoke_api_key(self, key_id: Id) -> Call[None]:
        return Call("DELETE", f"/v1/api-keys/{key_id}", nothing)


def login(email: str, password: str) -> Call[Token]:
    return post("/v1/auth/login", one(Token), {"email": email, "password": password})


def instance_body(
    name: str,
    size_id: Id,
    location_id: Id,
    image_id: Id | None,
    hostname: str | None,
    description: str | None,
    tags: Iterable[str],
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "size_id": str(size_id),
        "location_id": str(location_id),
        "tags": list(tags),
    }
    optional = {"image_id": image_id, "hostname": hostname, "description": description}
    return body | {k: str(v) for k, v in optional.items() if v is not None}


def webhook_body(
    current: Webhook | None,
    url: str | None,
    event_types: Iterable[str] | None,
    is_active: bool | None,
) -> dict[str, Any]:
    """A webhook's whole body (`PUT` replaces all three): what is given, else `current`'s."""
    if current is not None:
        url = current.url if url is None else url
        event_types = current.event_types if event_types is None else event_types
        is_active = current.is_active if is_active is None else is_active
    return {
        "url": url,
        "event_types": [str(t) for t in event_types or ()],
        "is_active": True if is_active is None else is_active,
    }


def vpc_body(name: str, cidr_block: str, location_id: Id) -> dict[str, str]:
    """A VPC's whole body (`PUT` replaces it all)."""
    return {"name": name, "cidr_block": cidr_block, "location_id": str(location_id)}

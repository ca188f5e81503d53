"""The sync client's resources. Each method is one call of `Operations`; lists are iterators
over every page (`page_size` items per request). Actions answer the task they queued: `.wait()`
on it follows it to its end. `on_conflict="reject"` asks for a 409 `InstanceBusy` instead of
queueing behind the instance's current task. (`aio_resources` is the same, awaited.)"""

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

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
    Project,
    ProjectImage,
    Size,
    Snapshot,
    TaskEvent,
    Volume,
    Webhook,
    WebhookDelivery,
    WebhookWithSecret,
)
from nuage.client.operations import Id, instance_body, webhook_body
from nuage.client.sse import Event, Resync

if TYPE_CHECKING:
    from nuage.client.sync import Client, Task

PAGE = 100


class Resource:
    def __init__(self, client: "Client") -> None:
        self._client = client
        self._ops = client._ops


class Instances(Resource):
    def list(self, *, page_size: int = PAGE) -> Iterator[Instance]:
        return self._client.iterate(self._ops.instances(page_size))

    def get(self, instance_id: Id) -> Instance:
        return self._client.send(self._ops.instance(instance_id))

    def create(
        self,
        *,
        name: str,
        size_id: Id,
        location_id: Id,
        image_id: Id | None = None,
        hostname: str | None = None,
        description: str | None = None,
        tags: Iterable[str] = (),
        idempotency_key: str | None = None,
    ) -> InstanceCreated:
        """The new instance (`pending`); its `create_vps` task is `task_id`."""
        body = instance_body(name, size_id, location_id, image_id, hostname, description, tags)
        return self._client.send(self._ops.create_instance(body, idempotency_key))

    def update(self, instance_id: Id, **changes: Any) -> Instance:
        """Change `name`, `description` or `tags`."""
        return self._client.send(self._ops.update_instance(instance_id, changes))

    def delete(self, instance_id: Id, *, delete_volumes: bool = False) -> "Task":
        return self._client.send(
            self._ops.delete_instance(instance_id, delete_volumes=delete_volumes)
        )

    def action(
        self, instance_id: Id, action: str, body: Any = None, *, on_conflict: str = "queue"
    ) -> "Task":
        """Any action route of the instance (`start`, `resize`, …) by its name."""
        call = self._ops.instance_action(instance_id, action, body, on_conflict=on_conflict)
        return self._client.send(call)

    def start(self, instance_id: Id, *, on_conflict: str = "queue") -> "Task":
        return self.action(instance_id, "start", on_conflict=on_conflict)

    def stop(self, instance_id: Id, *, on_conflict: str = "queue") -> "Task":
        return self.action(instance_id, "stop", on_conflict=on_conflict)

    def reboot(self, instance_id: Id, *, on_conflict: str = "queue") -> "Task":
        return self.action(instance_id, "reboot", on_conflict=on_conflict)

    def shutdown(self, instance_id: Id, *, on_conflict: str = "queue") -> "Task":
        return self.action(instance_id, "shutdown", on_conflict=on_conflict)

    def reset(self, instance_id: Id, *, on_conflict: str = "queue") -> "Task":
        return self.action(instance_id, "reset", on_conflict=on_conflict)

    def resize(self, instance_id: Id, size_id: Id, *, on_conflict: str = "queue") -> "Task":
        body = {"size_id": str(size_id)}
        return self.action(instance_id, "resize", body, on_conflict=on_conflict)

    def reinstall(self, instance_id: Id, image_id: Id, *, on_conflict: str = "queue") -> "Task":
        body = {"image_id": str(image_id)}
        return self.action(instance_id, "reinstall", body, on_conflict=on_conflict)

    def change_hostname(self, instance_id: Id, hostname: str) -> "Task":
        return self.action(instance_id, "hostname", {"hostname": hostname})

    def sync(self, instance_id: Id) -> "Task":
        return self.action(instance_id, "sync")


class Tasks(Resource):
    def list(
        self,
        *,
        instance_id: Id | None = None,
        status: str | Iterable[str] | None = None,
        task_type: str | Iterable[str] | None = None,
        ordering: str | None = None,
        page_size: int = PAGE,
    ) -> Iterator["Task"]:
        call = self._ops.tasks(
            page_size,
            instance_id=instance_id,
            status=status,
            task_type=task_type,
            ordering=ordering,
        )
        return self._client.iterate(call)

    def get(self, task_id: Id, *, wait: float = 0) -> "Task":
        """The task; with `wait`, answered as soon as it is terminal or after `wait` s."""
        return self._client.send(self._ops.task(task_id, wait=wait))

    def wait(self, task_id: Id, *, timeout: float = 300, raise_on_failure: bool = True) -> "Task":
        """The task once terminal (long polls; see `Task.wait`)."""
        return self._client.wait(task_id, timeout=timeout, raise_on_failure=raise_on_failure)

    def create(
        self,
        instance_id: Id,
        task_type: str,
        parameters: dict[str, Any] | None = None,
        *,
        max_retries: int | None = None,
    ) -> "Task":
        """Queue any supported task type (`POST P/tasks`), e.g. with more retries than its own."""
        body: dict[str, Any] = {
            "instance_id": str(instance_id),
            "task_type": task_type,
            "parameters": parameters,
        }
        if max_retries is not None:
            body["max_retries"] = max_retries
        return self._client.send(self._ops.create_task(body))

    def cancel(self, task_id: Id) -> "Task":
        return self._client.send(self._ops.cancel_task(task_id))

    def retry(self, task_id: Id) -> "Task":
        """A new task copying a failed or cancelled one."""
        return self._client.send(self._ops.retry_task(task_id))

    def events(self, task_id: Id, *, page_size: int = PAGE) -> Iterator[TaskEvent]:
        """The task's step log."""
        return self._client.iterate(self._ops.task_events(task_id, page_size))


class Snapshots(Resource):
    def list(self, instance_id: Id, *, page_size: int = PAGE) -> Iterator[Snapshot]:
        return self._client.iterate(self._ops.snapshots(instance_id, page_size))

    def get(self, instance_id: Id, snapshot_id: Id) -> Snapshot:
        return self._client.send(self._ops.snapshot(instance_id, snapshot_id))

    def create(self, instance_id: Id, name: str) -> "Task":
        """Its task's `parameters["snapshot_id"]` is the new snapshot."""
        return self._client.send(self._ops.under_instance(instance_id, "snapshots", {"name": name}))

    def delete(self, instance_id: Id, snapshot_id: Id) -> "Task":
        return self._client.send(
            self._ops.delete_under_instance(instance_id, f"snapshots/{snapshot_id}")
        )

    def restore(self, instance_id: Id, snapshot_id: Id) -> "Task":
        """The instance must be stopped; its disk is replaced."""
        call = self._ops.under_instance(instance_id, f"snapshots/{snapshot_id}/restore")
        return self._client.send(call)

    def create_image(self, instance_id: Id, snapshot_id: Id, name: str) -> "Task":
        path = f"snapshots/{snapshot_id}/image"
        return self._client.send(self._ops.under_instance(instance_id, path, {"name": name}))


class Backups(Resource):
    def list(self, instance_id: Id, *, page_size: int = PAGE) -> Iterator[Backup]:
        return self._client.iterate(self._ops.backups(instance_id, page_size))

    def get(self, instance_id: Id, backup_id: Id) -> Backup:
        return self._client.send(self._ops.backup(instance_id, backup_id))

    def create(self, instance_id: Id, name: str) -> "Task":
        return self._client.send(self._ops.under_instance(instance_id, "backups", {"name": name}))

    def delete(self, instance_id: Id, backup_id: Id) -> "Task":
        return self._client.send(
            self._ops.delete_under_instance(instance_id, f"backups/{backup_id}")
        )

    def restore(self, instance_id: Id, backup_id: Id) -> "Task":
        call = self._ops.under_instance(instance_id, f"backups/{backup_id}/restore")
        return self._client.send(call)


class Volumes(Resource):
    def list(self, *, page_size: int = PAGE) -> Iterator[Volume]:
        return self._client.iterate(self._ops.volumes(page_size))

    def get(self, volume_id: Id) -> Volume:
        return self._client.send(self._ops.volume(volume_id))

    def create(self, instance_id: Id, name: str, size_gb: int) -> "Task":
        """A volume attached to the instance; its task's `parameters["volume_id"]` names it."""
        body = {"name": name, "size_gb": size_gb}
        return self._client.send(self._ops.under_instance(instance_id, "volumes", body))

    def attach(self, volume_id: Id, instance_id: Id) -> "Task":
        body = {"instance_id": str(instance_id)}
        return self._client.send(self._ops.volume_action(volume_id, "attach", body))

    def detach(self, volume_id: Id) -> "Task":
        return self._client.send(self._ops.volume_action(volume_id, "detach"))

    def resize(self, volume_id: Id, size_gb: int) -> "Task":
        body = {"size_gb": size_gb}
        return self._client.send(self._ops.volume_action(volume_id, "resize", body))

    def delete(self, volume_id: Id) -> "Task":
        return self._client.send(self._ops.delete_volume(volume_id))


class Ips(Resource):
    def list(self, instance_id: Id) -> list[IpAddress]:
        return self._client.send(self._ops.ips(instance_id))

    def assign(self, instance_id: Id, version: int = 4) -> "Task":
        """Its task's `parameters["ip_id"]` is the new address."""
        return self._client.send(self._ops.under_instance(instance_id, "ips", {"version": version}))

    def remove(self, instance_id: Id, ip_id: Id) -> "Task":
        return self._client.send(self._ops.delete_under_instance(instance_id, f"ips/{ip_id}"))

    def set_reverse_dns(self, instance_id: Id, ip_id: Id, ptr: str | None) -> "Task":
        return self._client.send(self._ops.reverse_dns(instance_id, ip_id, ptr))


class Firewalls(Resource):
    def get(self, instance_id: Id) -> Firewall:
        """The rules the machine has, and the rule list a queued change will apply."""
        return self._client.send(self._ops.firewall(instance_id))

    def replace(self, instance_id: Id, rules: list[dict[str, Any]]) -> "Task":
        """Replace the whole rule list (`[]` turns the firewall off)."""
        return self._client.send(self._ops.replace_firewall(instance_id, rules))


class Images(Resource):
    def list(self, *, page_size: int = PAGE) -> Iterator[ProjectImage]:
        """The catalogue's images and the project's custom images."""
        return self._client.iterate(self._ops.project_images(page_size))

    def delete(self, image_id: Id) -> "Task":
        return self._client.send(self._ops.delete_image(image_id))


class Console(Resource):
    def open(self, instance_id: Id) -> "Task":
        """A console session: its task's `result` holds the session's `url` and one-time
        `token` (shown to you only)."""
        return self._client.send(self._ops.under_instance(instance_id, "console"))

    def get(self, instance_id: Id, session_id: Id) -> ConsoleSession:
        return self._client.send(self._ops.console_session(instance_id, session_id))


class Catalogue(Resource):
    def sizes(self) -> Iterator[Size]:
        return self._client.iterate(self._ops.sizes(PAGE))

    def locations(self) -> Iterator[Location]:
        return self._client.iterate(self._ops.locations(PAGE))

    def images(self) -> Iterator[Image]:
        return self._client.iterate(self._ops.images(PAGE))


class Account(Resource):
    def organizations(self) -> list[Organization]:
        return self._client.send(self._ops.organizations())

    def projects(self, organization_id: Id) -> Iterator[Project]:
        return self._client.iterate(self._ops.projects(organization_id, PAGE))

    def create_api_key(
        self,
        name: str,
        *,
        scopes: Iterable[str] | None = None,
        project_id: Id | None = None,
    ) -> ApiKeyCreated:
        """A new API key for the caller (by default `compute:read` and `compute:write`); with
        `project_id`, a project token that works only inside that project. Its `key` is shown
        this once."""
        return self._client.send(self._ops.create_api_key(name, scopes, project_id))

    def api_keys(self) -> Iterator[ApiKey]:
        """The caller's API keys and project tokens (never the keys themselves)."""
        return self._client.iterate(self._ops.api_keys(PAGE))

    def revoke_api_key(self, key_id: Id) -> None:
        """Revoke a key or project token at once."""
        self._client.send(self._ops.revoke_api_key(key_id))

    def audit_log(self, organization_id: Id, **filters: Any) -> Iterator[AuditRecord]:
        """The organization's audit log, newest first (owners only). Filters: `actor_id`,
        `credential_id`, `method`, `outcome`, `created_after`, `created_before`."""
        given = {k: str(v) for k, v in filters.items() if v is not None}
        return self._client.iterate(self._ops.audit_log(organization_id, PAGE, given))


class Events(Resource):
    def stream(
        self,
        *,
        instance_id: Id | None = None,
        types: str | list[str] | None = None,
        last_event_id: int | None = None,
        reconnect: bool = True,
    ) -> Iterator[Event | Resync]:
        """The project's events as they happen (see `Client.stream`)."""
        return self._client.stream(
            instance_id=instance_id, types=types, last_event_id=last_event_id, reconnect=reconnect
        )


class Webhooks(Resource):
    """Signed deliveries of the project's events to a URL (check them with
    `nuage.client.verify_signature`)."""

    def list(self, *, page_size: int = PAGE) -> Iterator[Webhook]:
        return self._client.iterate(self._ops.webhooks(page_size))

    def get(self, webhook_id: Id) -> Webhook:
        return self._client.send(self._ops.webhook(webhook_id))

    def create(
        self,
        url: str,
        event_types: Iterable[str],
        *,
        is_active: bool = True,
        idempotency_key: str | None = None,
    ) -> WebhookWithSecret:
        """The new webhook with its signing `secret`, shown this once."""
        body = webhook_body(None, url, event_types, is_active)
        return self._client.send(self._ops.create_webhook(body, idempotency_key))

    def update(
        self,
        webhook_id: Id,
        *,
        url: str | None = None,
        event_types: Iterable[str] | None = None,
        is_active: bool | None = None,
    ) -> Webhook:
        """Change what is given; the rest stays as it is (read first, then replaced)."""
        current = self.get(webhook_id)
        body = webhook_body(current, url, event_types, is_active)
        return self._client.send(self._ops.replace_webhook(webhook_id, body))

    def delete(self, webhook_id: Id) -> None:
        """The webhook and its delivery log."""
        self._client.send(self._ops.delete_webhook(webhook_id))

    def rotate_secret(self, webhook_id: Id) -> WebhookWithSecret:
        """A new `secret`, shown this once: deliveries are signed with it from now on."""
        return self._client.send(self._ops.rotate_webhook_secret(webhook_id))

    def ping(self, webhook_id: Id) -> WebhookDelivery:
        """A signed `ping` delivery, queued; follow it with `get_delivery`."""
        return self._client.send(self._ops.ping_webhook(webhook_id))

    def deliveries(self, webhook_id: Id, *, page_size: int = PAGE) -> Iterator[WebhookDelivery]:
        """The delivery log, newest first, each delivery with its attempts."""
        return self._client.iterate(self._ops.deliveries(webhook_id, page_size))

    def get_delivery(self, webhook_id: Id, delivery_id: Id) -> WebhookDelivery:
        return self._client.send(self._ops.delivery(webhook_id, delivery_id))

    def redeliver(self, webhook_id: Id, delivery_id: Id) -> WebhookDelivery:
        """The delivery's body queued again, as a new delivery (`redelivery_of`)."""
        return self._client.send(self._ops.redeliver(webhook_id, delivery_id))

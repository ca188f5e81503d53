"""The sync client's VPCs and software (`aio_resources_network` is the same, awaited). A VPC is
written at once; joining, moving and leaving one, and installing or removing software, answer
the task they queued: `.wait()` on it follows it to its end."""

from collections.abc import Iterator
from typing import TYPE_CHECKING

from nuage.client.models import Software as SoftwareEntry
from nuage.client.models import Vpc
from nuage.client.operations import Id, vpc_body
from nuage.client.resources import PAGE, Resource

if TYPE_CHECKING:
    from nuage.client.sync import Task


class Vpcs(Resource):
    def list(self, *, page_size: int = PAGE) -> Iterator[Vpc]:
        return self._client.iterate(self._ops.vpcs(page_size))

    def get(self, vpc_id: Id) -> Vpc:
        return self._client.send(self._ops.vpc(vpc_id))

    def create(self, *, name: str, cidr_block: str, location_id: Id) -> Vpc:
        """A private IPv4 network (e.g. `10.10.0.0/24`) in one location, written at once."""
        body = vpc_body(name, cidr_block, location_id)
        return self._client.send(self._ops.create_vpc(body))

    def update(
        self,
        vpc_id: Id,
        *,
        name: str | None = None,
        cidr_block: str | None = None,
        location_id: Id | None = None,
    ) -> Vpc:
        """Change what is given (the block and location only while it has no members)."""
        current = self.get(vpc_id)
        body = vpc_body(
            current.name if name is None else name,
            current.cidr_block if cidr_block is None else cidr_block,
            current.location.id if location_id is None else location_id,
        )
        return self._client.send(self._ops.replace_vpc(vpc_id, body))

    def delete(self, vpc_id: Id) -> None:
        """Refused (409 `vpc_has_members`) while an instance is in it."""
        self._client.send(self._ops.delete_vpc(vpc_id))

    def join(self, instance_id: Id, vpc_id: Id) -> "Task":
        """Put the instance in the VPC (or move it there): its `update_vpc` task."""
        body = {"vpc_id": str(vpc_id)}
        return self._client.send(self._ops.under_instance(instance_id, "vpc", body))

    def leave(self, instance_id: Id) -> "Task":
        """Take the instance out of its VPC."""
        body = {"vpc_id": None}
        return self._client.send(self._ops.under_instance(instance_id, "vpc", body))


class Software(Resource):
    def list(self, *, page_size: int = PAGE) -> Iterator[SoftwareEntry]:
        """The software catalogue; an instance's `software` lists the slugs it was given."""
        return self._client.iterate(self._ops.software(page_size))

    def install(
        self, instance_id: Id, software_id: Id, *, idempotency_key: str | None = None
    ) -> "Task":
        """Its `install_software` task (a running guest restarts to apply it)."""
        call = self._ops.install_software(instance_id, software_id, idempotency_key)
        return self._client.send(call)

    def uninstall(self, instance_id: Id, software_id: Id) -> "Task":
        path = f"software/{software_id}"
        return self._client.send(self._ops.delete_under_instance(instance_id, path))

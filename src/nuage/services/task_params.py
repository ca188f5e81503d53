"""Per-type parameter validation at enqueue time, driven by the spec: the shape from its model,
the entries its references name fetched from the database, then its pure check.

Errors are reported under `parameters` for the generic endpoint, or at the top level for the
instance actions (whose body *is* the parameters).
"""

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import Instance, Location, Size
from nuage.domain.catalogue import Entry, EntryFacts, Facts, SizeFacts, TaskSpec
from nuage.domain.enums import InstanceStatus
from nuage.domain.errors import ValidationFailed
from nuage.domain.field_errors import field_errors
from nuage.services import images
from nuage.services.catalogue import active_entry


async def validate_parameters(
    session: AsyncSession, spec: TaskSpec, instance: Instance, raw: Mapping[str, Any] | None
) -> dict[str, Any]:
    params = parse_parameters(spec, raw)
    if spec.check is not None or spec.references:
        facts = await _facts(session, spec, instance, params)
        if spec.check is not None:
            params = spec.check(params, facts)
    return params.model_dump(mode="json")


def parse_parameters(spec: TaskSpec, raw: Mapping[str, Any] | None) -> BaseModel:
    """The parameters' shape (the spec's model); all there is to a spec without references or
    a check."""
    try:
        return spec.params.model_validate(dict(raw or {}))
    except PydanticValidationError as error:
        raise ValidationFailed(field_errors(error.errors())) from error


async def _facts(
    session: AsyncSession, spec: TaskSpec, instance: Instance, params: BaseModel
) -> Facts:
    references = {
        name: await _entry(session, entry, getattr(params, name), name, instance)
        for name, entry in spec.references.items()
    }
    return Facts(
        instance_status=InstanceStatus(instance.status),
        # The machine's hardware as the database knows it (a sync may have adopted a change).
        instance_size=SizeFacts(
            id=instance.size_id,
            vcpu=instance.vcpu,
            ram_mb=instance.ram_mb,
            disk_gb=instance.disk_gb,
        ),
        references=references,
        instance_driver=instance.host.driver if instance.host is not None else None,
    )


async def _entry(
    session: AsyncSession, entry: Entry, id_: UUID, field: str, instance: Instance
) -> SizeFacts | EntryFacts:
    """The active catalogue entry a parameter names, as the facts a check reads. An image is
    one the instance's project may use, that fits the instance's disk and host."""
    if entry is Entry.SIZE:
        return _size_facts(await active_entry(session, Size, id_, field))
    if entry is Entry.IMAGE:
        image = await images.usable_image(session, id_, instance.project_id, field)
        images.check_fits(image, instance.size.disk_gb, field)
        images.check_host(image, instance)
        return EntryFacts(id=image.id, slug=image.slug)
    location = await active_entry(session, Location, id_, field)
    return EntryFacts(id=location.id, slug=location.slug)


def _size_facts(size: Size) -> SizeFacts:
    return SizeFacts(id=size.id, vcpu=size.vcpu, ram_mb=size.ram_mb, disk_gb=size.disk_gb)

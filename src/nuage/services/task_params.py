"""Per-type parameter validation at enqueue time: shape from the catalogue, references from the db.

Errors are reported under `parameters` for the generic endpoint, or at the top level for the
instance actions (whose body *is* the parameters).
"""

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import Image, Instance, Size
from nuage.domain.catalogue import HostnameParams, ReinstallParams, ResizeParams, TaskSpec
from nuage.domain.errors import ValidationFailed
from nuage.domain.field_errors import field_errors
from nuage.domain.instances import check_resize, validate_hostname
from nuage.services.catalogue import active_entry


async def validate_parameters(
    session: AsyncSession, spec: TaskSpec, instance: Instance, raw: Mapping[str, Any] | None
) -> dict[str, Any]:
    try:
        params = spec.params.model_validate(dict(raw or {}))
    except PydanticValidationError as error:
        raise ValidationFailed(field_errors(error.errors())) from error
    checked = await _check_references(session, params, instance)
    return checked.model_dump(mode="json")


async def _check_references(
    session: AsyncSession, params: BaseModel, instance: Instance
) -> BaseModel:
    if isinstance(params, ResizeParams):
        size = await active_entry(session, Size, params.size_id, "size_id")
        check_resize(current_disk_gb=instance.size.disk_gb, target_disk_gb=size.disk_gb)
    elif isinstance(params, ReinstallParams):
        await active_entry(session, Image, params.image_id, "image_id")
    elif isinstance(params, HostnameParams):
        return HostnameParams(hostname=validate_hostname(params.hostname))
    return params

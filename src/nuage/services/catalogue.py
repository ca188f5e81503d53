"""The public catalogue (locations, sizes, OS images, software), and lookups of its active
entries."""

from typing import TypeVar
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from nuage.db.models import Image, Location, Size, Software
from nuage.domain.errors import ValidationFailed
from nuage.services.pagination import PageRequest, PageResult, paginate

Entry = TypeVar("Entry", Location, Size, Image, Software)


async def active_entry(session: AsyncSession, model: type[Entry], id_: UUID, field: str) -> Entry:
    """The active catalogue entry `id_`, or a validation error on `field`."""
    row = await session.get(model, id_)
    if row is None or not row.is_active:
        noun = model.__tablename__.removesuffix("s")
        raise ValidationFailed.on(field, f'No active {noun} with id "{id_}".')
    return row


async def list_entries(
    session: AsyncSession, model: type[Entry], page: PageRequest
) -> PageResult[Entry]:
    order = (model.vcpu, model.ram_mb) if model is Size else (model.name,)  # type: ignore[attr-defined]
    stmt = sa.select(model).where(model.is_active).order_by(*order)
    if model is Image:  # the public catalogue: projects' own images are listed in their project
        stmt = stmt.where(Image.project_id.is_(None))
    return await paginate(session, stmt, page)

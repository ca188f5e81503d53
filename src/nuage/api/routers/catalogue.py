"""The public catalogue: locations, sizes and OS images."""

from fastapi import APIRouter, Request

from nuage.api.deps import PageDep, PrincipalDep, SessionDep
from nuage.api.pages import page_of
from nuage.api.schemas.catalogue import ImageOut, LocationOut, SizeOut
from nuage.api.schemas.common import Page
from nuage.db.models import Image, Location, Size
from nuage.services.catalogue import list_entries

router = APIRouter(prefix="/v1/compute", tags=["catalogue"])


@router.get("/locations")
async def list_locations(
    request: Request, session: SessionDep, _principal: PrincipalDep, page: PageDep
) -> Page[LocationOut]:
    return page_of(request, await list_entries(session, Location, page), LocationOut.of)


@router.get("/sizes")
async def list_sizes(
    request: Request, session: SessionDep, _principal: PrincipalDep, page: PageDep
) -> Page[SizeOut]:
    return page_of(request, await list_entries(session, Size, page), SizeOut.of)


@router.get("/images")
async def list_images(
    request: Request, session: SessionDep, _principal: PrincipalDep, page: PageDep
) -> Page[ImageOut]:
    return page_of(request, await list_entries(session, Image, page), ImageOut.of)

"""An instance's firewall: `GET …/instances/{instance_id}/firewall` shows it (the PUT that
replaces its rules is generated from the catalogue: `apply_firewall`)."""

from uuid import UUID

from fastapi import APIRouter

from nuage.api.deps import ReadAccess, SessionDep
from nuage.api.routers.instances import PREFIX
from nuage.api.schemas.firewall import FirewallOut
from nuage.services import firewall

router = APIRouter(prefix=PREFIX + "/instances/{instance_id}/firewall", tags=["firewall"])


@router.get("")
async def get_firewall(instance_id: UUID, session: SessionDep, access: ReadAccess) -> FirewallOut:
    """The rules the machine has, and the rule list a queued `apply_firewall` will apply."""
    return FirewallOut.of(await firewall.get_firewall(session, access, instance_id))

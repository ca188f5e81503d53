"""The `world` of the bad-input suites (tests/api/bad_input.py); test_auth_tenancy.py defines
its own."""

import pytest

from tests.api.bad_input import World
from tests.support import SIZES, Stack, TenantFactory, make_staff


@pytest.fixture
async def world(stack: Stack, tenants: TenantFactory) -> World:
    tenant = await tenants()
    await make_staff(stack, tenant.user_id)  # an operator: staff-only endpoints take its bodies
    other = await tenants()
    instance, _ = await tenant.create_instance(size_id=SIZES["medium"])
    theirs, their_task = await other.create_instance()
    return World(stack, tenant, other, instance["id"], theirs["id"], their_task)

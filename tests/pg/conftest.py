import os

import pytest

from tests.pg.cluster import can_run_private_cluster


@pytest.fixture
def require_private_cluster() -> None:
    """On CI a missing PostgreSQL is a failure; elsewhere the test is skipped with the reason."""
    reason = can_run_private_cluster()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required on CI: {reason}")
    pytest.skip(reason)

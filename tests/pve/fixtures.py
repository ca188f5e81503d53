"""pytest fixtures serving a fake Proxmox VE; import them into a conftest.py to use them there.

`pve`: a fresh fake per test (state never leaks between tests; ~5 ms to start). `pve_api`: a
proxmoxer client of it with the API token and the fake's CA, as a bare script would make one.
"""

from collections.abc import Iterator

import pytest
from proxmoxer import ProxmoxAPI

from tests.pve.served import Served, serve


@pytest.fixture
def pve() -> Iterator[Served]:
    served = serve()
    try:
        yield served
    finally:
        served.stop()


def client(served: Served) -> ProxmoxAPI:
    """proxmoxer over the fake with its token, verifying TLS against the fake's certificate."""
    user, token_name = served.token_id.split("!")
    return ProxmoxAPI(
        served.hostport,
        user=user,
        token_name=token_name,
        token_value=served.token_secret,
        verify_ssl=served.cafile,
    )


@pytest.fixture
def pve_api(pve: Served) -> ProxmoxAPI:
    return client(pve)

"""The async client is the sync one awaited: the same resources, the same methods with the same
parameters, so what docs/client.md says of one holds for the other."""

import inspect

from nuage.client import AsyncClient, Client


def _surface(client: object) -> dict[str, dict[str, list[str]]]:
    resources = {
        name: value
        for name, value in vars(client).items()
        if not name.startswith("_") and hasattr(value, "_ops")
    }
    return {
        name: {
            method: list(inspect.signature(getattr(resource, method)).parameters)
            for method in dir(resource)
            if not method.startswith("_")
        }
        for name, resource in resources.items()
    }


def test_the_async_client_has_the_sync_clients_methods() -> None:
    sync = _surface(Client("http://127.0.0.1:9", api_key="k", organization_id="o", project_id="p"))
    async_ = _surface(
        AsyncClient("http://127.0.0.1:9", api_key="k", organization_id="o", project_id="p")
    )
    assert len(sync) >= 10 and sync == async_

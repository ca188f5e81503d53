"""Routes generated from the catalogue: each endpoint's inputs are in its signature, so FastAPI
and the OpenAPI document read each action's own body; path ids become parameters."""

import inspect
from typing import Any
from uuid import UUID

import pytest
from fastapi import APIRouter, FastAPI
from pydantic import Field

from nuage.api.routers.task_routes import body_model, endpoint_for, router
from nuage.domain.catalogue import CATALOGUE, Params, Route, TaskSpec
from nuage.domain.enums import TaskType

P = "/v1/organizations/{organization_id}/projects/{project_id}/compute"
GENERATED = [s for s in CATALOGUE.values() if s.supported and s.route and s.route.generated]


def _openapi(api_router: APIRouter) -> dict[str, Any]:
    app = FastAPI()
    app.include_router(api_router)
    return app.openapi()


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return _openapi(router)


@pytest.mark.parametrize("spec", GENERATED, ids=lambda s: s.task_type.value)
def test_an_actions_inputs_are_in_its_signature(spec: TaskSpec, doc: dict[str, Any]) -> None:
    assert spec.route is not None
    endpoint = endpoint_for(spec, spec.route)
    params = inspect.signature(endpoint).parameters
    assert endpoint.__name__ == spec.route.name
    assert [n for n in params if n == "id" or n.endswith("_id")] == spec.route.ids
    assert (params["body"].annotation is spec.params) if spec.route.body else "body" not in params
    assert ("idem" in params) == (spec.route.method in ("POST", "PUT"))  # writes replayable
    operation = doc["paths"][P + spec.route.path][spec.route.method.lower()]
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    if spec.route.body:
        assert body["schema"] == {"$ref": f"#/components/schemas/{spec.params.__name__}"}
    else:
        assert body == {}


class MakeImageParams(Params):
    snapshot_id: UUID
    name: str = Field(min_length=1)


def test_path_ids_are_parameters_and_not_asked_again_in_the_body() -> None:
    """E.g. `POST …/snapshots/{id}/image {name}`: `id` is the snapshot, not a body field."""
    route = Route(
        "/instances/{instance_id}/snapshots/{id}/image",
        "make_image",
        "an image from a snapshot.",
        body=True,
        renames={"id": "snapshot_id"},
    )
    spec = TaskSpec(TaskType.CREATE_IMAGE_FROM_SNAPSHOT, "x", params=MakeImageParams, route=route)
    assert list(body_model(spec, route).model_fields) == ["name"]
    assert route.named({"instance_id": UUID(int=1), "id": UUID(int=2)}) == {
        "instance_id": UUID(int=1),
        "snapshot_id": UUID(int=2),
    }
    api_router = APIRouter(prefix=P)
    api_router.add_api_route(route.path, endpoint_for(spec, route), methods=["POST"])
    operation = _openapi(api_router)["paths"][P + route.path]["post"]
    path_params = [p["name"] for p in operation["parameters"] if p["in"] == "path"]
    assert path_params == ["instance_id", "id", "organization_id", "project_id"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/MakeImageParamsBody")

"""What a user of the generated client writes: create an instance, then wait for its task with
the long poll. Type-checked with `mypy --strict` together with the generated package, and run
against a real server (tests/contract/test_generated_client.py).

Usage: create_and_wait.py BASE_URL TOKEN ORGANIZATION_ID PROJECT_ID SIZE_ID LOCATION_ID IMAGE_ID
"""

import sys
from uuid import UUID, uuid4

from nuage_client import AuthenticatedClient
from nuage_client.api.instances import create_instance
from nuage_client.api.tasks import get_task
from nuage_client.models import Error, InstanceCreate, InstanceCreated, TaskOut, TaskStatus
from nuage_client.types import Unset

TERMINAL = {TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED}


def main(base_url: str, token: str, *ids: str) -> str:
    organization, project, size, location, image = (UUID(i) for i in ids)
    client = AuthenticatedClient(base_url=base_url, token=token, raise_on_unexpected_status=True)
    body = InstanceCreate(name="generated", size_id=size, location_id=location, image_id=image)
    created = create_instance.sync(organization, project, client=client, body=body)
    if not isinstance(created, InstanceCreated) or isinstance(created.task_id, Unset):
        raise SystemExit(f"create failed: {created}")
    task = get_task.sync(organization, project, created.task_id, client=client, wait=30)
    while isinstance(task, TaskOut) and task.status not in TERMINAL:
        task = get_task.sync(organization, project, task.id, client=client, wait=30)
    if not isinstance(task, TaskOut):
        raise SystemExit(f"get_task failed: {task}")
    missing = get_task.sync(organization, project, uuid4(), client=client)
    if not isinstance(missing, Error) or missing.code != "not_found":  # errors come typed
        raise SystemExit(f"expected a typed 404 Error, got {missing!r}")
    return f"{created.name} {task.task_type.value} {task.status.value}"


if __name__ == "__main__":
    print(main(*sys.argv[1:]))

"""The seed contract on the wire: every task body the API gives validates against
`seed_task.schema.json`, which is written by hand from the seed page and checked here against it.

The seed page (`shared/spec/get-instance-task.txt`) sits beside the repository clone, in CI as on a
workstation. Bodies are checked on both seed routes (`…/tasks/{id}` and
`…/instances/{instance_id}/tasks/{id}`), in every task state, in the list and in 202 answers.
"""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from nuage.config import Settings
from nuage.domain.catalogue import spec_for
from nuage.domain.enums import TaskStatus, TaskType
from tests.support import IMAGES, SIZES, Stack, Tenant, TenantFactory, poll_until, start_worker

pytestmark = pytest.mark.anyio

REPO = Path(__file__).resolve().parents[2]
SEED_PAGE = REPO.parent / "shared" / "spec" / "get-instance-task.txt"
SCHEMA: dict[str, Any] = json.loads((Path(__file__).parent / "seed_task.schema.json").read_text())
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)

# Our documented optional additions (spec/api-notes.md): exactly these, with these types.
ADDITIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["progress", "error", "cancel_requested"],
    "additionalProperties": False,
    "properties": {
        "progress": {"type": "integer", "minimum": 0, "maximum": 100},
        "error": {
            "oneOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "required": ["code", "message", "retryable"],
                    "additionalProperties": False,
                    "properties": {
                        "code": {"type": "string", "minLength": 1},
                        "message": {"type": "string"},
                        "retryable": {"type": "boolean"},
                    },
                },
            ]
        },
        "cancel_requested": {"type": "boolean"},
    },
}
ADDITIONS = Draft202012Validator(ADDITIONS_SCHEMA)


# --- the seed page -------------------------------------------------------------------------


def seed_text() -> str:
    if not SEED_PAGE.is_file():
        pytest.fail(
            f"The seed page is missing: expected {SEED_PAGE}. The contract tests read "
            "shared/spec/get-instance-task.txt from the `shared/` directory that sits beside "
            "the repository clone; check it out there.",
            pytrace=False,
        )
    return SEED_PAGE.read_text(encoding="utf-8")


def seed_options(text: str) -> list[list[str]]:
    """The values under each `Available options:` heading, in page order (task_type, status).
    Every value but the last of a list ends with a comma."""
    blocks: list[list[str]] = []
    lines = iter(line.strip() for line in text.splitlines())
    for line in lines:
        if line != "Available options:":
            continue
        values: list[str] = []
        for value in lines:
            values.append(value.removesuffix(","))
            if not value.endswith(","):
                break
        blocks.append(values)
    return blocks


def seed_labels(text: str) -> dict[str, str]:
    """`• create_vps - Create Instance` bullets: value → label."""
    return dict(re.findall(r"^\s*•\s*(\w+) - (.+?)\s*$", text, flags=re.MULTILINE))


_SEED_TYPE = re.compile(r"(string|integer|number|boolean|object|enum|any)\b")


def seed_fields(text: str) -> dict[str, tuple[str, bool]]:
    """The Response section's fields: name → (type as printed, required)."""
    lines = [line.strip() for line in text.split("200 - application/json", 1)[1].splitlines()]
    fields: dict[str, tuple[str, bool]] = {}
    for i, line in enumerate(lines[:-2]):
        if re.fullmatch(r"[a-z_]+", line) and _SEED_TYPE.match(lines[i + 1]):
            fields[line] = (lines[i + 1], lines[i + 2] == "required")
    return fields


def seed_example(text: str) -> dict[str, Any]:
    """The example response body printed under the curl command."""
    match = re.search(r"^\{$.*?^\}$", text, flags=re.MULTILINE | re.DOTALL)
    assert match, "no example body on the seed page"
    example: dict[str, Any] = json.loads(match.group(0))
    return example


# --- validation helpers --------------------------------------------------------------------


def schema_errors(body: Any) -> list[str]:
    errors = sorted(VALIDATOR.iter_errors(body), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path)) or '<body>'}: {e.message}" for e in errors]


def assert_seed_task(body: dict[str, Any]) -> None:
    """The body is a seed Instance Task, plus exactly our three documented additions."""
    assert schema_errors(body) == [], body
    extra = {key: body[key] for key in body if key not in SCHEMA["properties"]}
    assert not list(ADDITIONS.iter_errors(extra)), (extra, list(ADDITIONS.iter_errors(extra)))


# --- the hand-written schema against the page ------------------------------------------------


def test_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    checkers = VALIDATOR.format_checker.checkers if VALIDATOR.format_checker else {}
    assert {"uuid", "email", "date-time"} <= set(checkers), "is rfc3339-validator installed?"


def test_seed_enums_equal_schema_and_domain_enums() -> None:
    task_types, statuses = seed_options(seed_text())
    assert len(task_types) == 33 and len(statuses) == 5
    assert SCHEMA["properties"]["task_type"]["enum"] == task_types
    assert SCHEMA["properties"]["status"]["enum"] == statuses
    assert [t.value for t in TaskType] == task_types
    assert [s.value for s in TaskStatus] == statuses


def test_catalogue_labels_are_the_seed_labels() -> None:
    labels = seed_labels(seed_text())
    assert set(labels) == {t.value for t in TaskType} | {s.value for s in TaskStatus}
    assert {t.value: spec_for(t).label for t in TaskType} == {t: labels[t] for t in TaskType}


def test_schema_fields_and_required_match_the_page() -> None:
    fields = seed_fields(seed_text())
    assert list(fields) == list(SCHEMA["properties"])
    assert [name for name, (_t, required) in fields.items() if required] == SCHEMA["required"]


def test_seed_example_validates_and_null_only_where_the_page_says() -> None:
    text = seed_text()
    example = seed_example(text)
    assert list(example) == list(SCHEMA["properties"])
    assert schema_errors(example) == []
    for name, (seed_type, _required) in seed_fields(text).items():
        nullable = seed_type.endswith("| null") or seed_type == "any"
        assert VALIDATOR.is_valid({**example, name: None}) is nullable, (name, seed_type)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("id",), "3c90c3cc-0d44-4b50-8888"),
        (("instance_id",), "not-a-uuid"),
        (("instance", "id"), 42),
        (("created_by", "id"), "3c90c3cc0d444b5088888dd25736052a-"),
        (("created_by", "email"), "jsmith.example.com"),
        (("created",), "2023-11-07 05:31:56"),  # no `T`, no offset
        (("modified",), "2023-11-07T05:31:56"),  # no offset
        (("started_at",), "2023-13-07T05:31:56Z"),  # no 13th month
        (("completed_at",), "yesterday"),
        (("task_type",), "create_vm"),
        (("status",), "done"),
        (("retry_count",), "1"),
        (("max_retries",), 4_294_967_296),
        (("max_retries",), -1),
    ],
)
def test_doctored_body_is_refused(path: tuple[str, ...], value: Any) -> None:
    """Formats are enforced (uuid, email, RFC 3339 date-time), not just types."""
    body = seed_example(seed_text())
    node = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    errors = schema_errors(body)
    assert len(errors) == 1 and errors[0].startswith("/".join(path) + ":"), errors


@pytest.mark.parametrize(
    "extra",
    [
        {"progress": 0, "error": None},  # one missing
        {"progress": 101, "error": None, "cancel_requested": False},
        {"progress": 5, "error": {"code": "x", "message": "m"}, "cancel_requested": False},
        {"progress": 5, "error": None, "cancel_requested": "no"},
        {"progress": 5, "error": None, "cancel_requested": False, "locked": True},
    ],
)
def test_additions_check_refuses_other_additions(extra: dict[str, Any]) -> None:
    body = {**seed_example(seed_text()), **extra}
    with pytest.raises(AssertionError):
        assert_seed_task(body)


# --- bodies from the live API ------------------------------------------------------------------


async def _task_in(state: str, tenant: Tenant, stack: Stack, settings: Settings) -> str:
    """The id of a create_vps task left in `state`."""
    if state in {"pending", "cancelled"}:  # no worker: it stays queued
        _, task_id = await tenant.create_instance()
        if state == "cancelled":
            assert (await tenant.post(f"/tasks/{task_id}/cancel")).status_code == 200
        return task_id
    start_worker(stack, settings, latency_ms=800 if state == "running" else 0)
    tags = ["sim:fail=create:permanent"] if state == "failed" else []
    _, task_id = await tenant.create_instance(tags=tags)
    if state == "running":
        await poll_until(tenant, task_id, "running")
    else:
        assert (await tenant.wait(task_id))["status"] == state
    return task_id


@pytest.mark.parametrize("state", [s.value for s in TaskStatus])
async def test_task_bodies_match_the_seed_in_every_state(
    state: str, stack: Stack, settings: Settings, tenants: TenantFactory
) -> None:
    tenant = await tenants()
    task_id = await _task_in(state, tenant, stack, settings)
    flat = await tenant.get(f"/tasks/{task_id}")
    instance_id = flat.json()["instance_id"]
    nested = await tenant.get(f"/instances/{instance_id}/tasks/{task_id}")
    listed = await tenant.get("/tasks", params={"instance_id": instance_id})
    assert flat.status_code == nested.status_code == listed.status_code == 200
    assert [r["id"] for r in listed.json()["results"]] == [task_id]
    for body in (flat.json(), nested.json(), listed.json()["results"][0]):
        assert_seed_task(body)
        assert body["id"] == task_id and body["status"] == state
        assert body["task_type"] == "create_vps"
        assert body["created_by"]["id"] == str(tenant.user_id)
        assert body["created_by"]["email"] == tenant.email
        assert (body["started_at"] is None) is (state in {"pending", "cancelled"})
        assert (body["completed_at"] is None) is (state in {"pending", "running"})
        assert (body["error"] is None) is (state != "failed")
    if state == "failed":
        error = flat.json()["error"]
        assert error["code"] == "sim_permanent_fault" and error["retryable"] is False
        assert flat.json()["result"] == {"error": error}


async def test_action_answers_are_seed_tasks(tenants: TenantFactory) -> None:
    """202 bodies of every way to queue a task, and the 200 of a cancel (no worker: all stay
    pending, which is all the API checks)."""
    tenant = await tenants()
    instance, _create_task = await tenant.create_instance()
    base = f"/instances/{instance['id']}"
    answers = [
        await tenant.post(f"{base}/{verb}", json=body)
        for verb, body in [
            ("start", None),
            ("stop", None),
            ("reboot", None),
            ("shutdown", None),
            ("reset", None),
            ("sync", None),
            ("resize", {"size_id": SIZES["medium"]}),
            ("reinstall", {"image_id": IMAGES["ubuntu"]}),
            ("hostname", {"hostname": "web-1.example.com"}),
        ]
    ]
    answers.append(
        await tenant.post("/tasks", json={"instance_id": instance["id"], "task_type": "reboot_vps"})
    )
    cancelled = await tenant.post(f"/tasks/{answers[0].json()['id']}/cancel")
    answers.append(await tenant.post(f"/tasks/{answers[0].json()['id']}/retry"))
    answers.append(await tenant.client.delete(tenant.base + base, headers=tenant.headers))
    assert [a.status_code for a in answers] == [202] * len(answers)
    assert cancelled.status_code == 200
    for answer in [*answers, cancelled]:
        assert_seed_task(answer.json())
    assert [a.json()["task_type"] for a in answers] == [
        "start_vps",
        "stop_vps",
        "reboot_vps",
        "shutdown_vps",
        "reset_vps",
        "sync_vps_state",
        "resize_vps",
        "reinstall_os",
        "change_hostname",
        "reboot_vps",
        "start_vps",
        "delete_vps",
    ]


async def test_nested_route_refuses_a_task_of_another_instance(tenants: TenantFactory) -> None:
    tenant, stranger = await tenants(), await tenants()
    first, first_task = await tenant.create_instance()
    second, _ = await tenant.create_instance()
    assert (await tenant.get(f"/instances/{first['id']}/tasks/{first_task}")).status_code == 200
    wrong = await tenant.get(f"/instances/{second['id']}/tasks/{first_task}")
    assert wrong.status_code == 404
    assert wrong.json() == {"detail": "Not found.", "code": "not_found"}
    # another tenant's task is not found on either route, even with the right instance id
    theirs, their_task = await stranger.create_instance()
    assert (await tenant.get(f"/tasks/{their_task}")).status_code == 404
    nested = await tenant.get(f"/instances/{theirs['id']}/tasks/{their_task}")
    assert nested.status_code == 404


def test_a_missing_seed_page_fails_with_its_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "shared" / "spec" / "get-instance-task.txt"
    monkeypatch.setattr(f"{__name__}.SEED_PAGE", missing)
    with pytest.raises(pytest.fail.Exception, match=re.escape(str(missing))):
        seed_text()

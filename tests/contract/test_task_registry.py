"""The catalogue is the registry: for every task type, supported ⇔ a handler is registered ⇔ a
route queues it (or the generic `POST …/tasks` does) ⇔ docs/tasks.md says `yes` — and the doc's
table lists exactly the seed's 33 types, with the endpoint each supported spec declares."""

import re
from pathlib import Path

import fastapi.routing
import pytest
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import async_sessionmaker

from nuage.api.app import create_app
from nuage.api.runtime import Runtime
from nuage.config import Settings
from nuage.db.notify import LocalNotifier
from nuage.domain.catalogue import CATALOGUE, TaskSpec
from nuage.domain.enums import TaskType
from nuage.engine.handlers import HANDLERS

DOC = Path(__file__).resolve().parents[2] / "docs" / "tasks.md"
P = "/v1/organizations/{organization_id}/projects/{project_id}/compute"
COLUMNS = [
    "Task type",
    "Endpoint",
    "Parameters",
    "Preconditions",
    "Effect",
    "Errors",
    "Recorded against",
    "Supported",
]


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split(" | ")]


def doc_table() -> dict[str, dict[str, str]]:
    """docs/tasks.md's table: task type → column → cell."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| Task type |"))
    assert _cells(lines[header]) == COLUMNS
    rows: dict[str, dict[str, str]] = {}
    for line in lines[header + 2 :]:
        if not line.startswith("|"):
            break
        cells = _cells(line)
        assert len(cells) == len(COLUMNS), line
        name = cells[0].strip("`")
        assert name not in rows, f"{name} has two rows"
        rows[name] = dict(zip(COLUMNS, cells, strict=True))
    return rows


@pytest.fixture(scope="module")
def routes(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], str]:
    """The app's routes: (method, path) → endpoint name."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("registry"),
        database_url="sqlite+aiosqlite://",
        secret_key="registry-test-secret-key-long-enough",
    )
    app = create_app(Runtime(settings, async_sessionmaker(), LocalNotifier()))
    # Recent FastAPI keeps included routers nested and flattens them with iter_route_contexts.
    flatten = getattr(fastapi.routing, "iter_route_contexts", iter)
    found: dict[tuple[str, str], str] = {}
    for route in flatten(app.routes):
        original = getattr(route, "original_route", route)
        if isinstance(original, APIRoute):
            found |= {(method, route.path): original.name for method in original.methods}
    return found


def queued_by(spec: TaskSpec) -> tuple[str, str] | None:
    """The (method, path) of the route that queues a spec's type; None: the generic one only."""
    if spec.route is None:
        return None
    return spec.route.method, P + spec.route.path


def test_the_doc_lists_exactly_the_seed_types() -> None:
    assert len(TaskType) == 33
    assert set(doc_table()) == {t.value for t in TaskType} == {t.value for t in CATALOGUE}


@pytest.mark.parametrize("task_type", list(TaskType), ids=str)
def test_supported_means_handler_route_and_doc(
    task_type: TaskType, routes: dict[tuple[str, str], str]
) -> None:
    spec = CATALOGUE[task_type]
    row = doc_table()[task_type.value]
    assert row["Supported"] == ("yes" if spec.supported else "no")
    assert (task_type in HANDLERS) == spec.supported
    where = queued_by(spec)
    if not spec.supported:
        return
    if where is None:
        assert spec.generic, f"{task_type} has neither a route nor the generic endpoint"
        assert row["Endpoint"] == "`POST P/tasks`"
        return
    assert spec.route is not None
    assert routes.get(where) == spec.route.name, f"no {where} named {spec.route.name}"
    assert row["Endpoint"] == f"`{where[0]} P{spec.route.path}`"


def test_every_route_that_queues_a_task_has_a_supported_spec(
    routes: dict[tuple[str, str], str],
) -> None:
    """A generated route exists only for a supported spec (no route for a planned type)."""
    declared = {queued_by(s): s for s in CATALOGUE.values() if s.route is not None}
    for where, name in routes.items():
        spec = declared.get(where)
        if spec is not None and spec.route is not None and spec.route.name == name:
            assert spec.supported, f"{where} queues the unsupported {spec.task_type}"


def test_every_row_says_something() -> None:
    for name, row in doc_table().items():
        empty = [column for column, cell in row.items() if not cell]
        assert not empty, f"{name}: empty {empty}"
        assert re.fullmatch(r"`[A-Z]+ P?/[^`]*`", row["Endpoint"]), (name, row["Endpoint"])

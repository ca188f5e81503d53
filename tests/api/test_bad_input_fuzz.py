"""Bad input, as a property: arbitrary bodies never make a 500 and never write on a 4xx."""

import asyncio
import json
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from nuage.api.app import create_app
from nuage.api.runtime import Runtime
from nuage.config import Settings
from nuage.db.notify import LocalNotifier
from nuage.db.session import make_engine, make_sessionmaker
from nuage.domain.catalogue import spec_for
from nuage.domain.enums import BillingCycle, TaskType
from nuage.drivers.sim import SimDriver, SimSettings
from tests.api.bad_input import (
    JSON_CT,
    is_error,
    is_field_errors,
    row_counts,
)
from tests.support import IMAGES, LOCATION, SIZES, Stack, TenantFactory

pytestmark = pytest.mark.anyio


# --- property: arbitrary bodies never make a 500 and never write on a 4xx -------------------------


@asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    """The API over ASGI on its own engine; a 500 is an answer here, not an exception, so that
    the property sees it."""
    engine = make_engine(settings.database_url)
    notifier = LocalNotifier()
    runtime = Runtime(settings, make_sessionmaker(engine, notifier), notifier)
    transport = httpx.ASGITransport(app=create_app(runtime), raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield runtime, client
    finally:
        await engine.dispose()


@dataclass
class FuzzTarget:
    """One app, database and event loop for all the examples of this module (hypothesis calls a
    sync test once per example, so the per-test async `stack` cannot serve)."""

    runner: asyncio.Runner
    runtime: Runtime
    client: httpx.AsyncClient
    headers: dict[str, str]
    base: str
    instance_id: str

    def post_and_count(self, path: str, content: bytes) -> tuple[int, Any, bool]:
        """POST one body; its status, its JSON body, and whether any row count changed."""

        async def go() -> tuple[int, Any, bool]:
            before = await row_counts(self.runtime.sessions)
            response = await self.client.post(
                self.base + path, content=content, headers={**self.headers, **JSON_CT}
            )
            changed = await row_counts(self.runtime.sessions) != before
            try:
                body = response.json()
            except ValueError:
                body = response.text
            return response.status_code, body, changed

        return self.runner.run(go())


@pytest.fixture(scope="module")
def fuzz_target(
    template_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FuzzTarget]:
    tmp = tmp_path_factory.mktemp("fuzz")
    shutil.copy(template_db, tmp / "nuage.db")
    settings = Settings(
        data_dir=tmp,
        database_url=f"sqlite+aiosqlite:///{tmp / 'nuage.db'}",
        secret_key="test-secret-key-that-is-long-enough-for-hs256",
        sim_latency_ms=0,
    )
    with asyncio.Runner() as runner:
        app = app_client(settings)
        runtime, client = runner.run(app.__aenter__())
        try:
            driver = SimDriver(SimSettings(state_dir=settings.sim_state_dir))
            stack = Stack(runtime=runtime, notifier=LocalNotifier(), driver=driver, client=client)
            tenant = runner.run(TenantFactory(stack)(quota=100_000))
            instance, _ = runner.run(tenant.create_instance(size_id=SIZES["medium"]))
            yield FuzzTarget(runner, runtime, client, tenant.headers, tenant.base, instance["id"])
        finally:
            runner.run(app.__aexit__(None, None, None))


def check_answer(status: int, body: Any, changed: bool, success: int) -> None:
    event(f"status {status}")  # --hypothesis-show-statistics: how deep the examples went
    assert status < 500, (status, body)
    if status == success:
        assert changed
        return
    assert 400 <= status < 500, (status, body)
    assert is_error(body) or is_field_errors(body), (status, body)
    assert not changed, (status, body)


ODD_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "nul\x00inside",
        "\udfff",
        "a\ud800b",
        "-bad-",
        "under_score",
        "x" * 300,
        "not-a-uuid",
        "00000000-0000-0000-0000-000000000000",
        SIZES["nano"],
        SIZES["large"],
        IMAGES["ubuntu"],
        LOCATION,
        "ⓤⓝⓘⓒⓞⓓⓔ",
    ]
)
NASTY_CHARS = st.sampled_from(["\x00", "\ud800", "\udfff", "\u200b", "\n", "_"])


@st.composite
def texts(draw: st.DrawFn) -> str:
    """Strings, half of them picked to hurt: NUL, lone surrogates, bad hostnames, ids."""
    roll = draw(st.integers(0, 3))  # hypothesis favours small draws: 0 is the nasty one
    if roll == 1:
        return draw(ODD_TEXT)
    plain = draw(st.text(max_size=12))
    if roll == 0:
        at = draw(st.integers(0, len(plain)))
        return plain[:at] + draw(NASTY_CHARS) + plain[at:]
    return plain


TEXT = texts()
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()  # NaN and ±Infinity included: Python's json reads them
    | TEXT
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=8,
)


@st.composite
def near(
    draw: st.DrawFn,
    usual: dict[str, st.SearchStrategy[Any]],
    occasional: dict[str, st.SearchStrategy[Any]],
) -> dict[str, Any]:
    """An object around a valid one, so that many get past the schema into the use case: a
    usual field is mostly there and valid, sometimes anything, rarely missing; an occasional
    one comes and goes; and sometimes a stray field."""
    body: dict[str, Any] = {}
    for key, strategy in usual.items():
        roll = draw(st.integers(0, 19))  # hypothesis favours small draws: 0 is the valid one
        if roll < 18:
            body[key] = draw(strategy)
        elif roll == 18:
            body[key] = draw(JSON_VALUES)
    for key, strategy in occasional.items():
        roll = draw(st.integers(0, 5))
        if roll >= 3:
            body[key] = draw(JSON_VALUES if roll == 3 else strategy)
    if draw(st.integers(0, 9)) == 0:
        body[draw(TEXT)] = draw(JSON_VALUES)
    return body


@st.composite
def encoded(draw: st.DrawFn, objects: st.SearchStrategy[Any]) -> bytes:
    """Mostly the objects, as JSON (NaN and Infinity too); else any JSON value, or any bytes."""
    roll = draw(st.integers(0, 9))
    if roll == 9:
        return draw(st.binary(max_size=40))
    value = draw(JSON_VALUES if roll == 8 else objects)
    return json.dumps(value, allow_nan=True).encode()


CREATE_BODIES = encoded(
    near(
        {
            "name": st.sampled_from(["fuzz", "Web 1", "  padded  ", "ünïcødé"]),
            "size_id": st.sampled_from(list(SIZES.values())),
            "location_id": st.just(LOCATION),
            "image_id": st.sampled_from(list(IMAGES.values())),
            "tags": st.lists(TEXT, max_size=3),
        },
        {
            "os_name": st.sampled_from(["debian", "ubuntu", "plan9"]),
            "hostname": st.sampled_from(["web-1", "a.b.c", "-x-"]) | TEXT,
            "vpc_id": st.none(),
            "billing_cycle": st.sampled_from([c.value for c in BillingCycle]),
            "description": TEXT,
        },
    )
)
# delete_vps is left out to keep the instance taking tasks.
TASK_TYPES = [t.value for t in TaskType if t is not TaskType.DELETE_VPS]
GENERIC_TYPES = [
    t for t in TASK_TYPES if spec_for(TaskType(t)).supported and spec_for(TaskType(t)).generic
]
FUZZ = hypothesis_settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@FUZZ
@given(content=CREATE_BODIES)
def test_any_body_to_create_instance_is_201_or_a_clean_4xx(
    fuzz_target: FuzzTarget, content: bytes
) -> None:
    check_answer(*fuzz_target.post_and_count("/instances", content), success=201)


PARAMETERS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "change_hostname": {"hostname": st.sampled_from(["ok-1", "a.b.c"]) | TEXT},
    "resize_vps": {"size_id": st.sampled_from(list(SIZES.values()))},
    "reinstall_os": {"image_id": st.sampled_from(list(IMAGES.values()))},
}


@st.composite
def task_bodies(draw: st.DrawFn, instance_id: str) -> bytes:
    """Mostly types the generic endpoint runs, with parameters of their own shape."""
    task_type = draw(st.sampled_from(GENERIC_TYPES) | st.sampled_from(TASK_TYPES))
    parameters = near(PARAMETERS.get(task_type, {}), {})
    objects = near(
        {"instance_id": st.just(instance_id), "task_type": st.just(task_type)},
        {
            "parameters": parameters | st.none(),
            "max_retries": st.integers(min_value=-5, max_value=2**33),
        },
    )
    return draw(encoded(objects))


@FUZZ
@given(data=st.data())
def test_any_body_to_create_task_is_202_or_a_clean_4xx(
    fuzz_target: FuzzTarget, data: st.DataObject
) -> None:
    content = data.draw(task_bodies(fuzz_target.instance_id), label="content")
    check_answer(*fuzz_target.post_and_count("/tasks", content), success=202)

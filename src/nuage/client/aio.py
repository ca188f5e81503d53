"""The asynchronous client: `AsyncClient(base_url, api_key=…)`, the sync client awaited.

async with AsyncClient("http://127.0.0.1:8000", api_key="sk-onetsolutions-…") as client:
    task = await client.instances.start(instance_id)
    await task.wait(timeout=60)
    async for instance in client.instances.list():
        ..."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import httpx
from pydantic import PrivateAttr

from nuage.client import aio_resources as resources
from nuage.client import aio_resources_network as network
from nuage.client import http
from nuage.client.errors import WaitTimeout, error_for
from nuage.client.http import Call, RetryPolicy, finish, only_one, project_path, url_of
from nuage.client.models import Page, TaskData
from nuage.client.operations import Id, Operations, login
from nuage.client.sse import Event, Resync, SseParser, decode, stream_params
from nuage.client.waiting import Deadline, checked

T = TypeVar("T")
USER_AGENT = "nuage-client/0.1 (python; async)"


class AsyncTask(TaskData):
    """A task, as the async client returns it: `await task.wait()` follows it to its end."""

    _client: "AsyncClient | None" = PrivateAttr(default=None)

    # The timeout shapes the long polls (`?wait=`), which asyncio.timeout would cut off.
    async def wait(self, timeout: float = 300, *, raise_on_failure: bool = True) -> "AsyncTask":
        """See `nuage.client.Task.wait`."""
        if self._client is None:
            raise RuntimeError("this task was not read by a client")
        return await self._client.wait(self.id, timeout=timeout, raise_on_failure=raise_on_failure)


class AsyncClient:
    def __init__(
        self,
        base_url: str,
        *,
        api_key: str,
        organization_id: Id | None = None,
        project_id: Id | None = None,
        timeout: float = http.DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=http.bearer(api_key, USER_AGENT),
            timeout=timeout,
            transport=transport,
        )
        self.retry = retry or RetryPolicy()
        self.organization_id = str(organization_id) if organization_id else None
        self.project_id = str(project_id) if project_id else None
        self._ops: Operations[AsyncTask] = Operations(self._task)
        self.instances = resources.Instances(self)
        self.tasks = resources.Tasks(self)
        self.snapshots = resources.Snapshots(self)
        self.backups = resources.Backups(self)
        self.volumes = resources.Volumes(self)
        self.ips = resources.Ips(self)
        self.firewalls = resources.Firewalls(self)
        self.images = resources.Images(self)
        self.console = resources.Console(self)
        self.catalogue = resources.Catalogue(self)
        self.account = resources.Account(self)
        self.events = resources.Events(self)
        self.webhooks = resources.Webhooks(self)
        self.vpcs = network.Vpcs(self)
        self.software = network.Software(self)

    @classmethod
    async def login(
        cls, base_url: str, *, email: str, password: str, **options: Any
    ) -> "AsyncClient":
        """See `Client.login`."""
        async with httpx.AsyncClient(
            base_url=base_url.rstrip("/"), timeout=http.DEFAULT_TIMEOUT
        ) as raw:
            call = login(email, password)
            answer = await raw.post(call.path, json=call.body, headers=call.headers())
            token = finish(call, answer)
        return cls(base_url, api_key=token.access, **options)

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def _task(self, data: Any) -> AsyncTask:
        task = AsyncTask.model_validate(data)
        task._client = self
        return task

    async def scope(self) -> str:
        """See `Client.scope`."""
        if self.organization_id is None:
            orgs = await self.send(self._ops.organizations())
            self.organization_id = only_one("organization", [o.id for o in orgs])
        if self.project_id is None:
            projects = (await self.send(self._ops.projects(self.organization_id, 100))).results
            self.project_id = only_one("project", [p.id for p in projects])
        return project_path(self.organization_id, self.project_id)

    async def send(self, call: Call[T]) -> T:
        """See `Client.send`."""
        scope = await self.scope() if call.path.startswith(http.SCOPE) else None
        return finish(call, await self._response(call, url_of(call, scope)))

    async def _response(self, call: Call[Any], url: str) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._http.request(
                    call.method,
                    url,
                    params=call.params,
                    json=call.body,
                    headers=call.headers(),
                    timeout=call.timeout or httpx.USE_CLIENT_DEFAULT,
                )
            except httpx.TransportError:
                pause = self.retry.after_error(attempt)
                if pause is None:
                    raise
            else:
                pause = self.retry.after_response(response, attempt)
                if pause is None:
                    return response
            await asyncio.sleep(pause)

    async def iterate(self, call: Call[Page[T]]) -> AsyncIterator[T]:
        """See `Client.iterate`."""
        while True:
            page = await self.send(call)
            for item in page.results:
                yield item
            if page.next is None:
                return
            call = call.at(page.next)

    async def wait(self, task_id: Id, *, timeout: float, raise_on_failure: bool) -> AsyncTask:
        deadline = Deadline(timeout)
        task = await self.send(self._ops.task(task_id))
        while not task.status.terminal:
            if deadline.passed:
                raise WaitTimeout(task, timeout)
            task = await self.send(self._ops.task(task_id, wait=deadline.left))
        return checked(task) if raise_on_failure else task

    async def stream(
        self,
        *,
        instance_id: Id | None = None,
        types: str | list[str] | None = None,
        last_event_id: int | None = None,
        reconnect: bool = True,
    ) -> AsyncIterator[Event | Resync]:
        """See `Client.stream`."""
        url = await self.scope() + "/events"
        parser = SseParser(str(last_event_id) if last_event_id is not None else None)
        params = stream_params(instance_id, types)
        attempt = 0
        while True:
            headers = {"Accept": "text/event-stream"}
            if parser.last_event_id is not None:
                headers["Last-Event-ID"] = parser.last_event_id
            try:
                timeout = httpx.Timeout(http.DEFAULT_TIMEOUT, read=None)
                async with self._http.stream(
                    "GET", url, params=params, headers=headers, timeout=timeout
                ) as response:
                    if response.status_code >= 400:
                        await response.aread()
                        raise error_for(response)
                    attempt = 0
                    async for line in response.aiter_lines():
                        message = parser.feed(line)
                        if message is not None:
                            yield decode(message)
            except (httpx.TransportError, httpx.StreamError):
                attempt += 1
                pause = self.retry.after_error(attempt)
                if not reconnect or pause is None:
                    raise
                await asyncio.sleep(pause)
                continue
            if not reconnect:
                return
            await asyncio.sleep(self.retry.base)

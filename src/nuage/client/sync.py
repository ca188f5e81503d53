"""The synchronous client: `Client(base_url, api_key=…)`, its resources as attributes
(`client.instances`, `client.tasks`, …) and `Task.wait()`.

    with Client("http://127.0.0.1:8000", api_key="sk-onetsolutions-…") as client:
        created = client.instances.create(name="web-1", size_id=…, location_id=…, image_id=…)
        client.tasks.wait(created.task_id)      # raises TaskFailed with the task's error code

The project is the one the key sees, unless `organization_id` and `project_id` are given."""

import time
from collections.abc import Iterator
from typing import Any, TypeVar

import httpx
from pydantic import PrivateAttr

from nuage.client import http, resources
from nuage.client import resources_network as network
from nuage.client.errors import WaitTimeout, error_for
from nuage.client.http import Call, RetryPolicy, finish, only_one, project_path, url_of
from nuage.client.models import Page, TaskData
from nuage.client.operations import Id, Operations, login
from nuage.client.sse import Event, Resync, SseParser, decode, stream_params
from nuage.client.waiting import Deadline, checked

T = TypeVar("T")
USER_AGENT = "nuage-client/0.1 (python; sync)"


class Task(TaskData):
    """A task, as the sync client returns it: `wait()` follows it to its end."""

    _client: "Client | None" = PrivateAttr(default=None)

    def wait(self, timeout: float = 300, *, raise_on_failure: bool = True) -> "Task":
        """The task once it is terminal: long polls (`?wait=`), never a busy loop. A failed or
        cancelled task raises `TaskFailed`/`TaskCancelled` unless `raise_on_failure` is False;
        `WaitTimeout` after `timeout` seconds."""
        if self._client is None:
            raise RuntimeError("this task was not read by a client")
        return self._client.tasks.wait(self.id, timeout=timeout, raise_on_failure=raise_on_failure)


class Client:
    def __init__(
        self,
        base_url: str,
        *,
        api_key: str,
        organization_id: Id | None = None,
        project_id: Id | None = None,
        timeout: float = http.DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers=http.bearer(api_key, USER_AGENT),
            timeout=timeout,
            transport=transport,
        )
        self.retry = retry or RetryPolicy()
        self.organization_id = str(organization_id) if organization_id else None
        self.project_id = str(project_id) if project_id else None
        self._ops: Operations[Task] = Operations(self._task)
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
    def login(cls, base_url: str, *, email: str, password: str, **options: Any) -> "Client":
        """A client holding a JWT from `POST /v1/auth/login` (it expires: see the settings)."""
        with httpx.Client(base_url=base_url.rstrip("/"), timeout=http.DEFAULT_TIMEOUT) as raw:
            call = login(email, password)
            token = finish(call, raw.post(call.path, json=call.body, headers=call.headers()))
        return cls(base_url, api_key=token.access, **options)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _task(self, data: Any) -> Task:
        task = Task.model_validate(data)
        task._client = self
        return task

    def scope(self) -> str:
        """The project's compute URL path, found from the key's one organization and project
        when they were not given."""
        if self.organization_id is None:
            orgs = self.send(self._ops.organizations())
            self.organization_id = only_one("organization", [o.id for o in orgs])
        if self.project_id is None:
            projects = self.send(self._ops.projects(self.organization_id, 100)).results
            self.project_id = only_one("project", [p.id for p in projects])
        return project_path(self.organization_id, self.project_id)

    def send(self, call: Call[T]) -> T:
        """Send `call`, again while the answer says to (429, 503, no connection); its result."""
        url = url_of(call, self.scope() if call.path.startswith(http.SCOPE) else None)
        return finish(call, self._response(call, url))

    def _response(self, call: Call[Any], url: str) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.request(
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
            time.sleep(pause)

    def iterate(self, call: Call[Page[T]]) -> Iterator[T]:
        """Every item of a list, page after page (each page read when the last is used up)."""
        while True:
            page = self.send(call)
            yield from page.results
            if page.next is None:
                return
            call = call.at(page.next)

    def wait(self, task_id: Id, *, timeout: float, raise_on_failure: bool) -> Task:
        deadline = Deadline(timeout)
        task = self.send(self._ops.task(task_id))
        while not task.status.terminal:
            if deadline.passed:
                raise WaitTimeout(task, timeout)
            task = self.send(self._ops.task(task_id, wait=deadline.left))
        return checked(task) if raise_on_failure else task

    def stream(
        self,
        *,
        instance_id: Id | None = None,
        types: str | list[str] | None = None,
        last_event_id: int | None = None,
        reconnect: bool = True,
    ) -> Iterator[Event | Resync]:
        """The project's events as they happen (`GET P/events`); on a lost connection it
        reconnects with `Last-Event-ID`, so nothing is missed or repeated."""
        url = self.scope() + "/events"
        parser = SseParser(str(last_event_id) if last_event_id is not None else None)
        params = stream_params(instance_id, types)
        attempt = 0
        while True:
            headers = {"Accept": "text/event-stream"}
            if parser.last_event_id is not None:
                headers["Last-Event-ID"] = parser.last_event_id
            try:
                timeout = httpx.Timeout(http.DEFAULT_TIMEOUT, read=None)
                with self._http.stream(
                    "GET", url, params=params, headers=headers, timeout=timeout
                ) as response:
                    if response.status_code >= 400:
                        response.read()
                        raise error_for(response)
                    attempt = 0
                    for message in parser.feed_all(response.iter_lines()):
                        yield decode(message)
            except (httpx.TransportError, httpx.StreamError):
                attempt += 1
                pause = self.retry.after_error(attempt)
                if not reconnect or pause is None:
                    raise
                time.sleep(pause)
                continue
            if not reconnect:
                return
            time.sleep(self.retry.base)  # the server ended the stream: come back after a pause

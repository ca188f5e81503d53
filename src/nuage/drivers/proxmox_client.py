"""The Proxmox VE API session of one host, and waiting on its tasks.

proxmoxer is synchronous (requests): every call runs in a worker thread, so the engine's event
loop never blocks. Every error is translated here (`proxmox_errors`); above this module the
driver sees only nuage's errors. Values are encoded as Proxmox wants them (`proxmox_values.form`)
before they leave.

An asynchronous call answers a UPID. `run` waits for its task: it polls `tasks/{upid}/status`
with a growing delay (50 ms doubling up to 2 s, never a fixed sleep), and when the task ends with
an exit status other than `OK` reads the task's log and raises its `TASK ERROR` line.
"""

import asyncio
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import requests
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from nuage.domain.errors import TransientError

from .proxmox_errors import task_failure, translate_http, translate_transport
from .proxmox_settings import ProxmoxSettings
from .proxmox_values import form

_FIRST_POLL_S = 0.05
_MAX_POLL_S = 2.0


class PveClient:
    """One host's API: `get`, `put`, `post`, `delete` (answers as Proxmox gives them) and
    `run` (an asynchronous call, waited for)."""

    def __init__(self, settings: ProxmoxSettings) -> None:
        self.settings = settings
        user, _, token_name = settings.token_id.partition("!")
        self.api = ProxmoxAPI(
            settings.host,
            port=settings.port,
            user=user,
            token_name=token_name,
            token_value=settings.secret,
            verify_ssl=settings.verify,
            timeout=settings.request_timeout_s,
            service="PVE",
        )
        session: requests.Session = self.api._store["session"]
        session.trust_env = False  # REQUESTS_CA_BUNDLE must not replace the host's CA setting
        self.session = session  # tests record every request the driver sends through it

    @property
    def node_path(self) -> str:
        return f"nodes/{self.settings.node}"

    async def get(self, path: str, **params: Any) -> Any:
        return await self._call("GET", path, params)

    async def post(self, path: str, **params: Any) -> Any:
        return await self._call("POST", path, params)

    async def put(self, path: str, **params: Any) -> Any:
        return await self._call("PUT", path, params)

    async def delete(self, path: str, **params: Any) -> Any:
        return await self._call("DELETE", path, params)

    async def run(self, method: str, path: str, **params: Any) -> Any:
        """Call, and when the answer is a task's UPID, wait until the task has ended."""
        answer = await self._call(method, path, params)
        if isinstance(answer, str) and answer.startswith("UPID:"):
            await self.wait(answer, where=f"{method} {path}")
        return answer

    async def wait(self, upid: str, *, where: str) -> None:
        node = upid.split(":")[1]
        status_path = f"nodes/{node}/tasks/{quote(upid, safe='')}"
        deadline = time.monotonic() + self.settings.task_timeout_s
        delay = _FIRST_POLL_S
        while True:
            status = await self.get(f"{status_path}/status")
            if status.get("status") == "stopped":
                break
            if time.monotonic() + delay > deadline:
                message = f"The Proxmox task of {where} did not end in time ({upid})."
                raise TransientError(message, code="task_timeout")
            await asyncio.sleep(delay)
            delay = min(delay * 2, _MAX_POLL_S)
        exit_status = str(status.get("exitstatus", ""))
        if exit_status != "OK":
            log = await self.get(f"{status_path}/log", limit=50, start=0)
            lines = [str(line.get("t", "")) for line in log or ()]
            raise task_failure(exit_status, lines, where=where)

    async def _call(self, method: str, path: str, params: Mapping[str, Any]) -> Any:
        return await asyncio.to_thread(self._call_sync, method, path, form(params))

    def _call_sync(self, method: str, path: str, params: dict[str, Any]) -> Any:
        where = f"{method} {path}"
        resource = self.api(path)
        try:
            if method in ("GET", "DELETE"):
                return resource._request(method, params=params or None)
            return resource._request(method, data=params or None)
        except ResourceException as exc:
            raise translate_http(exc, where=where) from exc
        except requests.RequestException as exc:
            raise translate_transport(exc, where=where) from exc
        except ValueError as exc:  # an answer that is not JSON: a proxy's page, not the API
            raise TransientError(f"{where}: not an API answer", code="host_unreachable") from exc

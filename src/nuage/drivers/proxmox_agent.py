"""Commands run inside a Proxmox VM's guest through the QEMU guest agent, by the API.

PVE relays `agent/{command}` to the qemu-guest-agent in the guest: the VM's config needs
`agent: 1` (the driver sets it on every VM it makes) and the image's template the
qemu-guest-agent package. While the VM is stopped or still booting, or when the guest has no
agent, PVE answers HTTP 500 "QEMU guest agent is not running" (`proxmox_errors`:
TransientError `guest_agent_unavailable`).

- `wait_for_agent`: `agent/ping` with a growing delay (50 ms doubling up to 2 s) until the agent
  answers, for at most the host's task timeout; then `guest_agent_unavailable`, which the engine
  retries (a guest slow to boot) before the task fails with the message.
- `run_in_guest`: `agent/exec` (the command as a list: no shell line is built here), then
  `agent/exec-status?pid=` polled the same way until the process has exited; an exit code other
  than 0 is PermanentError `guest_command_failed` with the end of its stderr.
"""

import asyncio
import time
from collections.abc import Sequence

from nuage.domain.errors import PermanentError, TransientError

from .proxmox_client import PveClient
from .proxmox_values import as_int

_FIRST_POLL_S = 0.05
_MAX_POLL_S = 2.0
_ERR_TAIL = 500
NO_AGENT = "guest_agent_unavailable"


async def wait_for_agent(client: PveClient, vm_path: str) -> None:
    deadline = time.monotonic() + client.settings.task_timeout_s
    delay = _FIRST_POLL_S
    while True:
        try:
            await client.post(f"{vm_path}/agent/ping")
            return
        except TransientError as exc:
            if exc.code != NO_AGENT or time.monotonic() + delay > deadline:
                raise
        await asyncio.sleep(delay)
        delay = min(delay * 2, _MAX_POLL_S)


async def run_in_guest(
    client: PveClient, vm_path: str, command: Sequence[str], *, what: str
) -> str:
    """Run `command` in the guest and wait for it: its stdout. `what` names it in errors."""
    started = await client.post(f"{vm_path}/agent/exec", command=list(command))
    pid = as_int(started.get("pid"))
    deadline = time.monotonic() + client.settings.task_timeout_s
    delay = _FIRST_POLL_S
    while True:
        status = await client.get(f"{vm_path}/agent/exec-status", pid=pid)
        if as_int(status.get("exited")) == 1:
            break
        if time.monotonic() + delay > deadline:
            message = f"The guest did not finish {what} in time (agent pid {pid})."
            raise TransientError(message, code="task_timeout")
        await asyncio.sleep(delay)
        delay = min(delay * 2, _MAX_POLL_S)
    code = as_int(status.get("exitcode"), -1)
    if code != 0:
        errors = str(status.get("err-data") or status.get("out-data") or "").strip()
        message = f"The guest failed {what} (exit code {code}): {errors[-_ERR_TAIL:]}"
        raise PermanentError(message, code="guest_command_failed")
    return str(status.get("out-data") or "")

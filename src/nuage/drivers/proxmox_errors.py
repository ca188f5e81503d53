"""Proxmox VE's failures as nuage's driver errors: the one translation table of the driver.

| Proxmox says                                             | nuage raises                       |
|----------------------------------------------------------|------------------------------------|
| a connection refused, reset, timed out; HTTP 595 (node   | TransientError `host_unreachable`  |
| offline or unreachable from the node answering); 502/503 |                                    |
| "can't lock file … got timeout" (HTTP 500 or a task's    | TransientError `host_busy`         |
| log); "VM is locked"                                     |                                    |
| "QEMU guest agent is not running" (HTTP 500: the VM is   | TransientError                     |
| stopped or booting, or its guest has no agent); an agent | `guest_agent_unavailable`          |
| command that timed out ("qmp command 'guest-…' failed")  |                                    |
| HTTP 401 (a wrong or revoked token)                      | PermanentError `host_auth_failed`  |
| HTTP 403 (the token lacks a privilege)                   | PermanentError `host_forbidden`    |
| "does not exist" for the VM, "no such VM"                | PermanentError `machine_not_found` |
| HTTP 400 (Proxmox refused a parameter)                   | PermanentError `proxmox_refused`   |
| any other HTTP error; a task ending in `TASK ERROR`      | PermanentError `proxmox_error`     |
| a TLS certificate that does not verify                   | PermanentError `host_tls_failed`   |

The message keeps Proxmox's own words (the parameter errors of a 400, the `TASK ERROR` line of a
task), and never the token: requests' exceptions name URLs, not headers.
"""

import re
from collections.abc import Mapping
from typing import Any

import requests
from proxmoxer.core import ResourceException

from nuage.domain.errors import NuageError, PermanentError, TransientError

_LOCK_TIMEOUT = re.compile(r"can't lock file .* got timeout|VM is locked|is locked \(", re.I)
_MISSING_VM = re.compile(r"(?:VM|CT) \d+ (?:not running|does not exist)|does not exist", re.I)
_NO_AGENT = re.compile(r"guest agent is not running|qmp command 'guest-[\w-]+' failed", re.I)
_UNREACHABLE = frozenset({502, 503, 595, 596})


def translate_http(exc: ResourceException, *, where: str) -> NuageError:
    """The nuage error for an HTTP error answer of the API (`where`: the call, for messages)."""
    status = int(exc.status_code)
    words = _words(exc)
    message = f"Proxmox refused {where}: {words}"
    if status in _UNREACHABLE:
        return TransientError(f"Cannot reach the Proxmox node ({where}): {words}", code=_UNREACH)
    if _NO_AGENT.search(words):
        message = (
            f"The VM's QEMU guest agent does not answer ({where}): {words}. The image's template"
            " needs the qemu-guest-agent package, and the VM must be running."
        )
        return TransientError(message, code="guest_agent_unavailable")
    if _LOCK_TIMEOUT.search(words):
        return TransientError(f"The Proxmox VM is busy ({where}): {words}", code="host_busy")
    if status == 401:
        return PermanentError(f"Proxmox refused the API token: {words}", code="host_auth_failed")
    if status == 403:
        return PermanentError(message, code="host_forbidden")
    if status == 400:
        return PermanentError(message, code="proxmox_refused")
    return PermanentError(message, code="proxmox_error")


def translate_transport(exc: requests.RequestException, *, where: str) -> NuageError:
    if isinstance(exc, requests.exceptions.SSLError):
        message = f"The Proxmox API's TLS certificate does not verify ({where}): {exc}"
        return PermanentError(message, code="host_tls_failed")
    name = type(exc).__name__
    return TransientError(f"Cannot reach the Proxmox API ({where}): {name}", code=_UNREACH)


def task_failure(status: str, log_lines: list[str], *, where: str) -> NuageError:
    """A task that ended with an exit status other than OK: its `TASK ERROR` line (else the
    status) is the message; a lock it could not take is worth retrying."""
    error = next((line for line in reversed(log_lines) if line.startswith("TASK ERROR")), None)
    words = error or f"TASK ERROR: {status}"
    if _LOCK_TIMEOUT.search(words):
        return TransientError(f"Proxmox task {where}: {words}", code="host_busy")
    return PermanentError(f"Proxmox task {where}: {words}", code="proxmox_error")


def is_missing_vm(exc: NuageError) -> bool:
    """An error that says the VM is not there (Proxmox answers 500 "… does not exist")."""
    return isinstance(exc, PermanentError) and bool(_MISSING_VM.search(str(exc)))


def _words(exc: ResourceException) -> str:
    errors: Mapping[str, Any] | None = getattr(exc, "errors", None)
    detail = "; ".join(f"{key}: {value}".strip() for key, value in (errors or {}).items())
    reason = str(exc.content or exc.status_message or "").strip()
    return f"{reason} ({detail})" if detail else reason or f"HTTP {exc.status_code}"


_UNREACH = "host_unreachable"

"""The client's exceptions. Every refusal of the API is an `ApiError` carrying the stable
`code`, the `message` (the body's `detail`), the HTTP status and the `response`. Its class is
chosen by the code, mirroring the server's error tree (nuage.domain.errors: the same names and
codes, checked by a test), else by the HTTP status.

NuageClientError
├── ApiError                    any refusal (status, code, message, response)
│   ├── BadRequest              400
│   │   ├── ValidationFailed    invalid: `fields` maps a field to its messages
│   │   ├── LimitReached / SnapshotLimitReached, TaskTypeNotSupported, CapabilityNotSupported
│   │   └── WebhookUrlRefused   a webhook URL not http(s) or not public
│   ├── AuthenticationFailed    401
│   ├── PermissionDenied        403 (QuotaExceeded, ConsoleTokenRefused, OriginRefused)
│   ├── NotFound                404 (also another tenant's resources)
│   ├── Conflict                409 (InstanceBusy, IdempotencyKeyReused, …)
│   ├── Throttled               429 (retried by the client first, honouring Retry-After)
│   ├── ConsoleUnreachable      502
│   └── DatabaseUnavailable     503 (retried by the client first)
│       └── WriteOutcomeUnknown the change's commit failed: it may have been made
├── TaskFailed                  a waited-for task failed: its error's code and message
│   └── TaskCancelled           … or was cancelled
├── StreamClosed                the server ended the event stream (`event: error`, e.g. a
│                               revoked key): its code and message
├── WaitTimeout                 the task was not finished in time
└── ConfigurationError          the client lacks something to make a request (e.g. a project)
"""

from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from nuage.client.models import TaskData


class NuageClientError(Exception):
    """Every exception the client raises."""


class ConfigurationError(NuageClientError):
    pass


class ApiError(NuageClientError):
    status: int = 0
    code: str = "error"

    def __init__(self, message: str, *, code: str, response: httpx.Response) -> None:
        super().__init__(f"{message} ({code})")
        self.message = message
        self.code = code
        self.status = response.status_code
        self.response = response


class BadRequest(ApiError):
    status = 400


class ValidationFailed(BadRequest):
    code = "invalid"

    def __init__(self, fields: dict[str, Any], *, response: httpx.Response) -> None:
        super().__init__(_describe(fields), code=self.code, response=response)
        self.fields = fields


class LimitReached(BadRequest):
    code = "limit_reached"


class SnapshotLimitReached(LimitReached):
    code = "snapshot_limit_reached"


class TaskTypeNotSupported(BadRequest):
    code = "task_type_not_supported"


class CapabilityNotSupported(BadRequest):
    code = "capability_not_supported"


class WebhookUrlRefused(BadRequest):
    code = "webhook_url_refused"


class AuthenticationFailed(ApiError):
    status = 401
    code = "authentication_failed"


class PermissionDenied(ApiError):
    status = 403
    code = "permission_denied"


class QuotaExceeded(PermissionDenied):
    code = "quota_exceeded"


class ConsoleTokenRefused(PermissionDenied):
    code = "console_token_refused"


class OriginRefused(PermissionDenied):
    code = "origin_refused"  # the web console's cookie sign-in, called from another site


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class InstanceBusy(Conflict):
    code = "instance_busy"


class InstanceDeleting(Conflict):
    code = "instance_deleting"


class VolumeElsewhere(Conflict):
    code = "volume_elsewhere"


class InstanceNotReady(Conflict):
    code = "instance_not_ready"


class InvalidResourceState(Conflict):
    code = "invalid_resource_state"


class InvalidTaskState(Conflict):
    code = "invalid_task_state"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


class AddressPoolExhausted(Conflict):
    code = "address_pool_exhausted"


class AddressTaken(Conflict):
    code = "address_taken"


class PrimaryAddress(Conflict):
    code = "primary_address"


class AddressNotAssigned(Conflict):
    code = "address_not_assigned"


class SoftwareNotForImage(Conflict):
    code = "software_not_for_image"


class SoftwareInstalled(Conflict):
    code = "software_installed"


class SoftwareNotInstalled(Conflict):
    code = "software_not_installed"


class VpcCidrOverlap(Conflict):
    code = "vpc_cidr_overlap"


class VpcHasMembers(Conflict):
    code = "vpc_has_members"


class VpcFull(Conflict):
    code = "vpc_full"


class Throttled(ApiError):
    status = 429
    code = "throttled"


class ConsoleUnreachable(ApiError):
    status = 502
    code = "console_unreachable"


class DatabaseUnavailable(ApiError):
    status = 503
    code = "database_unavailable"


class WriteOutcomeUnknown(DatabaseUnavailable):
    """Retried like its parent: the client sends an `Idempotency-Key` with every POST, so a retry
    is answered by the change if it was made."""

    code = "write_outcome_unknown"


class TaskFailed(NuageClientError):
    """A task the client waited for ended `failed` (or `cancelled`, see `TaskCancelled`)."""

    def __init__(self, task: "TaskData") -> None:
        error = task.error
        self.task = task
        self.code = error.code if error else task.status.value
        self.message = error.message if error else f"the task ended {task.status.value}"
        super().__init__(f"task {task.id} ({task.task_type}) {task.status}: {self.message}")


class TaskCancelled(TaskFailed):
    pass


class StreamClosed(NuageClientError):
    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(f"{message} ({code})")
        self.message = message
        self.code = code


class WaitTimeout(NuageClientError):
    def __init__(self, task: "TaskData", timeout: float) -> None:
        self.task = task
        super().__init__(f"task {task.id} is still {task.status} after {timeout:g} s")


def _leaves(base: type[ApiError]) -> list[type[ApiError]]:
    found = [base]
    for sub in base.__subclasses__():
        found += _leaves(sub)
    return found


# ValidationFailed is told by its body (fields, no code), not by a code.
BY_CODE: dict[str, type[ApiError]] = {
    kind.code: kind for kind in _leaves(ApiError)[1:] if kind is not ValidationFailed
}
BY_STATUS: dict[int, type[ApiError]] = {
    kind.status: kind for kind in reversed(_leaves(ApiError)[1:])
}


def _describe(fields: dict[str, Any]) -> str:
    parts = [
        f"{name}: {' '.join(map(str, v)) if isinstance(v, list) else v}"
        for name, v in fields.items()
    ]
    return "; ".join(parts) or "Invalid input."


def error_for(response: httpx.Response) -> ApiError:
    """The exception for a refusal: by its code where the client knows it, else its status."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and response.status_code == 400 and "code" not in body:
        return ValidationFailed(body, response=response)
    if not isinstance(body, dict) or "code" not in body:
        kind = BY_STATUS.get(response.status_code, ApiError)
        return kind(response.text or response.reason_phrase, code=kind.code, response=response)
    code, message = str(body["code"]), str(body.get("detail", ""))
    by_code = BY_CODE.get(code)
    if by_code is not None and by_code.status == response.status_code:
        return by_code(message, code=code, response=response)
    kind = BY_STATUS.get(response.status_code, ApiError)
    return kind(message, code=code, response=response)

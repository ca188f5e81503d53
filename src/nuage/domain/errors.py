"""The one error tree of nuage. Every error has a stable `code`; HTTP statuses live in `api.errors`.

NuageError
├── NotFound                   not_found            (also another tenant's resources)
├── AuthenticationFailed       not_authenticated, authentication_failed, token_expired
├── PermissionDenied           permission_denied
├── ValidationFailed           invalid              (carries DRF-style field errors)
├── TaskTypeNotSupported       task_type_not_supported
├── CapabilityNotSupported     capability_not_supported  (the host's driver cannot do it)
├── QuotaExceeded              quota_exceeded       (instances per org, volumes per project)
├── LimitReached               limit_reached        (a 400)
│   └── SnapshotLimitReached   snapshot_limit_reached
├── Conflict                   conflict
│   ├── InstanceBusy           instance_busy
│   ├── InstanceDeleting       instance_deleting
│   ├── VolumeElsewhere        volume_elsewhere  (another location or host than the instance)
│   ├── InstanceNotReady       instance_not_ready
│   ├── InvalidTaskState       invalid_task_state
│   ├── IdempotencyKeyReused   idempotency_key_reused
│   ├── AddressPoolExhausted   address_pool_exhausted  (no free address of that version)
│   ├── AddressTaken           address_taken        (a concurrent request won it: try again)
│   ├── PrimaryAddress         primary_address      (the primary address stays)
│   ├── AddressNotAssigned     address_not_assigned (still being assigned)
│   ├── SoftwareNotForImage    software_not_for_image  (not offered on the instance's image)
│   ├── SoftwareInstalled      software_installed   (the instance has it already)
│   ├── SoftwareNotInstalled   software_not_installed
│   ├── VpcCidrOverlap         vpc_cidr_overlap     (another VPC of the project has those addresses)
│   ├── VpcHasMembers          vpc_has_members      (delete, or change the block of, a used VPC)
│   └── VpcFull                vpc_full             (no free private address left in its block)
├── WebhookUrlRefused         webhook_url_refused  (not http(s), or a non-public address: a 400)
├── ConsoleTokenRefused        console_token_refused  (the console bridge: wrong, used, expired)
├── ConsoleUnreachable         console_unreachable  (a console session's display is gone)
├── Throttled                  throttled            (a 429 with Retry-After: rate limits)
├── OriginRefused              origin_refused       (the web console's cookie sign-in, another site)
├── DatabaseUnavailable        database_unavailable
├── DatabaseNotReady           database_not_ready   (no schema, or an older one: migrate first)
└── TaskError                  raised while a task runs; ends in the task's `error`
    ├── TransientError         retryable: the task goes back to pending with backoff
    ├── PermanentError         not retryable: the task fails now
    │   └── InvalidInstanceState  invalid_instance_state
    └── TaskCancelled          cancelled at a safe step
"""

from collections.abc import Mapping
from typing import Any


class NuageError(Exception):
    code: str = "error"
    default_message: str = "An error occurred."

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        self.message = message or self.default_message
        if code is not None:
            self.code = code
        super().__init__(self.message)


class NotFound(NuageError):
    code = "not_found"
    default_message = "Not found."


class AuthenticationFailed(NuageError):
    code = "authentication_failed"
    default_message = "Incorrect authentication credentials."


class PermissionDenied(NuageError):
    code = "permission_denied"
    default_message = "You do not have permission to perform this action."


FieldErrors = Mapping[str, Any]


class ValidationFailed(NuageError):
    """Bad input. `fields` maps a field to a list of messages (or nested errors), as DRF does."""

    code = "invalid"
    default_message = "Invalid input."

    def __init__(self, fields: FieldErrors, message: str | None = None) -> None:
        super().__init__(message)
        self.fields = dict(fields)

    @classmethod
    def on(cls, field: str, *messages: str) -> "ValidationFailed":
        return cls({field: list(messages)})


class TaskTypeNotSupported(NuageError):
    code = "task_type_not_supported"
    default_message = "This task type is not supported yet."


class CapabilityNotSupported(NuageError):
    code = "capability_not_supported"
    default_message = "The instance's hypervisor cannot do this."


class QuotaExceeded(NuageError):
    code = "quota_exceeded"
    default_message = "The organization's instance quota is used up."


class LimitReached(NuageError):
    """A per-resource limit (not a billing quota) would be passed; the code names the limit."""

    code = "limit_reached"
    default_message = "A limit on this resource is reached."


class SnapshotLimitReached(LimitReached):
    code = "snapshot_limit_reached"
    default_message = "The instance has as many snapshots as it may have."


class Conflict(NuageError):
    code = "conflict"
    default_message = "The request conflicts with the resource's current state."


class InstanceBusy(Conflict):
    code = "instance_busy"
    default_message = "The instance has tasks in progress."


class InstanceDeleting(Conflict):
    code = "instance_deleting"
    default_message = "The instance is being deleted; it takes no more tasks."


class VolumeElsewhere(Conflict):
    code = "volume_elsewhere"
    default_message = "The volume is not on the instance's host: it cannot be attached there."


class InstanceNotReady(Conflict):
    """The instance is not in a status the action needs, and no queued task may bring it there."""

    code = "instance_not_ready"
    default_message = "The instance is not in a status that allows this."


class InvalidResourceState(Conflict):
    """A snapshot, backup, image or volume is not in a status that allows the action."""

    code = "invalid_resource_state"
    default_message = "The resource is not in a state that allows this."


class InvalidTaskState(Conflict):
    code = "invalid_task_state"
    default_message = "The task is not in a state that allows this."


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    default_message = "This Idempotency-Key was used with another request."


class AddressPoolExhausted(Conflict):
    code = "address_pool_exhausted"
    default_message = "No free address is left in this location's pools."


class AddressTaken(Conflict):
    code = "address_taken"
    default_message = "The address was taken by a concurrent request; try again."


class PrimaryAddress(Conflict):
    code = "primary_address"
    default_message = "An instance keeps its primary addresses; remove the instance instead."


class AddressNotAssigned(Conflict):
    code = "address_not_assigned"
    default_message = "The address is still being assigned; wait for its task to finish."


class WebhookUrlRefused(NuageError):
    """A webhook URL that is not http(s), or whose host is (or resolves to) a loopback,
    link-local, private or otherwise non-public address, unless the operator allows those."""

    code = "webhook_url_refused"
    default_message = "Webhook URLs must be http(s) and reach a public address."


class SoftwareNotForImage(Conflict):
    code = "software_not_for_image"
    default_message = "This software is not offered for the instance's image."


class SoftwareInstalled(Conflict):
    code = "software_installed"
    default_message = "The instance has this software installed already."


class SoftwareNotInstalled(Conflict):
    code = "software_not_installed"
    default_message = "The instance does not have this software installed."


class VpcCidrOverlap(Conflict):
    code = "vpc_cidr_overlap"
    default_message = "The block overlaps another VPC of the project."


class VpcHasMembers(Conflict):
    code = "vpc_has_members"
    default_message = "The VPC has members."


class VpcFull(Conflict):
    code = "vpc_full"
    default_message = "No private address is left in the VPC's block."


class ConsoleTokenRefused(NuageError):
    """Not a PermissionDenied: only the console's WebSocket bridge refuses with it, one answer
    for an unknown session and a wrong, used or expired token."""

    code = "console_token_refused"
    default_message = "The console token is wrong, already used or expired; ask for a new session."


class ConsoleUnreachable(NuageError):
    """A console session's display did not answer (the guest stopped since, its host is down)."""

    code = "console_unreachable"
    default_message = "The guest's display does not answer; ask for a new console session."


class Throttled(NuageError):
    """Too many requests (rate limits, login attempts); `retry_after` in whole seconds."""

    code = "throttled"
    default_message = "Request was throttled."

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Request was throttled. Expected available in {retry_after} seconds.")
        self.retry_after = retry_after


class OriginRefused(NuageError):
    """Not a PermissionDenied: only the web console's cookie endpoints refuse with it, a request
    whose `Origin` is missing or another site's (the cookie must not act for another page)."""

    code = "origin_refused"
    default_message = "Cookie sign-in is only for the console's own pages (Origin refused)."


class DatabaseUnavailable(NuageError):
    code = "database_unavailable"
    default_message = "The database is unreachable; nothing was changed. Try again shortly."


class WriteOutcomeUnknown(DatabaseUnavailable):
    """The database failed once a change's commit was sent: it may have been made."""

    code = "write_outcome_unknown"
    default_message = (
        "The database failed while the change was being committed; it may have been made. "
        "Look at the resource before trying again."
    )


class DatabaseNotReady(NuageError):
    """Raised when a process starts, before it touches anything; never reaches the API."""

    code = "database_not_ready"
    default_message = "The database is not set up: run `nuage db upgrade`."


class TaskError(NuageError):
    """An error that ends a task attempt; `retryable` says whether the engine tries again."""

    retryable: bool = False

    def as_result(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "retryable": self.retryable}


class TransientError(TaskError):
    code = "transient_error"
    default_message = "A temporary failure; the task will be retried."
    retryable = True


class PermanentError(TaskError):
    code = "permanent_error"
    default_message = "The operation failed and will not be retried."


class InvalidInstanceState(PermanentError):
    code = "invalid_instance_state"
    default_message = "The instance is not in a state that allows this task."


class TaskCancelled(TaskError):
    code = "cancelled"
    default_message = "The task was cancelled at a safe step."

"""nuage's Python SDK: `Client` (sync) and `AsyncClient` over the REST API, typed models of its
objects, typed exceptions and the event stream. It imports nothing of the server (an
import-linter contract keeps it so): it is what users install and what the CLI uses."""

from nuage.client.aio import AsyncClient, AsyncTask
from nuage.client.enums import InstanceStatus, TaskStatus
from nuage.client.errors import (
    ApiError,
    ConfigurationError,
    Conflict,
    InstanceBusy,
    NotFound,
    NuageClientError,
    TaskCancelled,
    TaskFailed,
    Throttled,
    ValidationFailed,
    WaitTimeout,
)
from nuage.client.http import RetryPolicy
from nuage.client.models import Instance, TaskData
from nuage.client.sse import Event, Resync
from nuage.client.sync import Client, Task
from nuage.client.webhooks import InvalidSignature, verify_signature

__all__ = [
    "ApiError",
    "AsyncClient",
    "AsyncTask",
    "Client",
    "ConfigurationError",
    "Conflict",
    "Event",
    "Instance",
    "InstanceBusy",
    "InstanceStatus",
    "InvalidSignature",
    "NotFound",
    "NuageClientError",
    "Resync",
    "RetryPolicy",
    "Task",
    "TaskCancelled",
    "TaskData",
    "TaskFailed",
    "TaskStatus",
    "Throttled",
    "ValidationFailed",
    "WaitTimeout",
    "verify_signature",
]

"""Request ids and the access log (written by `observe.ObserveRequests` and the fast GET task).

`X-Request-Id` is taken from the request when it is a sane token (1 to 128 of letters, digits
and `-_.:`), otherwise a new one is made; the answer echoes it. Each request ends with one log
line on `nuage.access`: method, route template (not the path with its ids), status, duration,
request id, source address and the credential's id (`deps.get_principal` notes it; never the
token). A request whose client left before the answer logs status 499.
"""

import logging
import os
import re

from nuage import logs
from nuage.api.middleware import Scope
from nuage.services.principals import Principal

REQUEST_ID_HEADER = "X-Request-Id"
REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
CREDENTIAL_ID = "credential_id"  # the key of request.state that names the caller
_REQUEST_ID_NAME = REQUEST_ID_HEADER.lower().encode("latin-1")

log = logging.getLogger("nuage.access")


def new_request_id() -> str:
    """32 random hex digits (`uuid4().hex` made them with a UUID's version bits, in five times
    the time)."""
    return os.urandom(16).hex()


def request_id_of(scope: Scope) -> str:
    """The request's sane `X-Request-Id` (its first, as Starlette's `Headers.get` reads it), or
    a new one."""
    for name, value in scope["headers"]:
        if name == _REQUEST_ID_NAME:  # ASGI servers give the names in lower case
            given = value.decode("latin-1")
            return given if REQUEST_ID.fullmatch(given) else new_request_id()
    return new_request_id()


def credential_of(principal: Principal) -> str:
    """The caller as the access log names it: the API key, or the user of a token."""
    return f"key:{principal.api_key_id}" if principal.api_key_id else f"user:{principal.user_id}"


def log_request(scope: Scope, *, route: str, status: int, request_id: str, seconds: float) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    client = scope.get("client")
    state = scope.get("state") or {}
    logs.info_line(
        log,
        "request",
        {
            "method": scope["method"],
            "route": route,
            "status": status,
            "request_id": request_id,
            "duration_ms": round(seconds * 1000, 2),
            "client": client[0] if client else None,
            "credential_id": state.get(CREDENTIAL_ID),
        },
    )

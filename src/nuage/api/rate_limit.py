"""Rate limits per credential, before any endpoint runs: `429 throttled` with `Retry-After`
beyond the limit, and the `RateLimit-*` headers on every answer.

A credential is known without the database: a JWT by its verified user id (every access token
of a user shares one bucket), any other bearer token (API keys) by a hash of it, and a request
without a usable credential by its source address. A long poll or an event stream is one
request, counted when it starts. CORS preflights are answered before this middleware.
"""

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.datastructures import Headers, MutableHeaders

from nuage.api.middleware import ASGIApp, Message, Receive, Scope, Send
from nuage.domain.errors import AuthenticationFailed, Throttled
from nuage.domain.rate_limits import Band, Policy, Quota
from nuage.services.rate_limits import Limiter, Verdict
from nuage.services.security import read_token


def api_policy(*, per_minute: int, burst: int) -> Policy:
    return Policy.of(Band(per_minute, 60.0), Band(burst, 1.0) if burst else None)


def source_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def credential_key(scope: Scope, *, secret: str) -> str:
    scheme, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token:
        if token.count(".") != 2:
            return "token:" + hashlib.sha256(token.encode()).hexdigest()[:40]
        try:
            return f"user:{read_token(token, kind='access', secret=secret)}"
        except AuthenticationFailed:
            pass  # an expired or forged JWT: the address pays for it
    return "addr:" + source_address(scope)


def quota_headers(policy: Policy, quota: Quota) -> Mapping[str, str]:
    return {
        "RateLimit-Limit": str(quota.limit),
        "RateLimit-Remaining": str(quota.remaining),
        "RateLimit-Reset": str(quota.reset_seconds),
        "RateLimit-Policy": policy.header,
    }


# A verdict taken for the request before it reached `RateLimit` (`api/fast_reads.py`): one
# request takes one token, whoever answers it.
TAKEN = "nuage.rate_limit_verdict"


@dataclass(frozen=True, slots=True)
class RateRule:
    """The limiter, the policy and the secret that names JWT callers: one request's verdict."""

    limiter: Limiter
    policy: Policy
    secret: str

    async def verdict(self, scope: Scope) -> Verdict:
        taken = scope.pop(TAKEN, None)
        if isinstance(taken, Verdict):
            return taken
        return await self.limiter.acquire(credential_key(scope, secret=self.secret), self.policy)


class RateLimit:
    def __init__(self, app: ASGIApp, *, rule: RateRule) -> None:
        self.app = app
        self.rule = rule
        self.policy = rule.policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        verdict = await self.rule.verdict(scope)
        headers = quota_headers(self.policy, verdict.quota)
        if not verdict.admitted:
            await _throttled(send, Throttled(verdict.retry_after), headers)
            return

        async def send_with_quota(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(headers)
            await send(message)

        await self.app(scope, receive, send_with_quota)


async def _throttled(send: Send, error: Throttled, headers: Mapping[str, str]) -> None:
    body = json.dumps({"detail": error.message, "code": error.code}).encode()
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    raw += [
        (b"retry-after", str(error.retry_after).encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": raw})
    await send({"type": "http.response.body", "body": body})

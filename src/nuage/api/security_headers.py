"""Security headers on every answer: the one place they are set.

The API answers JSON, which no browser should sniff, frame or render as a page:
`X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer` and
a `Content-Security-Policy` that allows nothing. Pages (the API docs, the console) get their own
policy by path prefix (`CSP_BY_PREFIX`, the longest prefix wins). `Strict-Transport-Security`
is sent on https requests (as the server sees them: behind a proxy, its forwarded scheme) and
when the public URL is https. A header an endpoint set itself is kept.
"""

from collections.abc import Mapping

from nuage.api.middleware import ASGIApp, Message, Receive, Scope, Send

API_CSP = "default-src 'none'; frame-ancestors 'none'"
# Swagger UI and ReDoc run an inline bootstrap script and inline styles; all else from the app.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; frame-ancestors 'none'"
)
CSP_BY_PREFIX: Mapping[str, str] = {"/docs": DOCS_CSP, "/redoc": DOCS_CSP}
STATIC = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def csp_for(path: str, by_prefix: Mapping[str, str]) -> str:
    matches = [p for p in by_prefix if path == p or path.startswith(p.rstrip("/") + "/")]
    return by_prefix[max(matches, key=len)] if matches else API_CSP


Raw = list[tuple[bytes, bytes]]


def _raw(headers: Mapping[str, str]) -> Raw:
    return [
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()
    ]


class SecurityPolicy:
    """Which security headers an answer to a request gets, as raw pairs made once."""

    def __init__(
        self,
        *,
        hsts_seconds: int,
        https_public_url: bool,
        csp_by_prefix: Mapping[str, str] = CSP_BY_PREFIX,
    ) -> None:
        self.hsts = f"max-age={hsts_seconds}; includeSubDomains" if hsts_seconds > 0 else None
        self.https_public_url = https_public_url
        self.csp_by_prefix = csp_by_prefix
        # The headers of each policy, as raw pairs (plain, then with HSTS), made once.
        self._wanted: dict[tuple[str, bool], Raw] = {}
        for csp in {API_CSP, *csp_by_prefix.values()}:
            wanted = {**STATIC, "Content-Security-Policy": csp}
            self._wanted[csp, False] = _raw(wanted)
            if self.hsts:
                self._wanted[csp, True] = _raw({**wanted, "Strict-Transport-Security": self.hsts})

    def wanted(self, scope: Scope) -> Raw:
        hsts = bool(self.hsts) and (scope.get("scheme") == "https" or self.https_public_url)
        return self._wanted[csp_for(scope["path"], self.csp_by_prefix), hsts]


def with_security_headers(headers: Raw, wanted: Raw) -> Raw:
    """`headers` and those of `wanted` the answer did not set itself."""
    present = {name for name, _ in headers}
    return headers + [header for header in wanted if header[0] not in present]


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, policy: SecurityPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = self.policy.wanted(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = with_security_headers(list(message.get("headers", ())), wanted)
            await send(message)

        await self.app(scope, receive, send_with_headers)

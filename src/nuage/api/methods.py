"""Methods per path, for the whole app: `OPTIONS` answers 204 with `Allow` (and the CORS preflight
headers for an allowed origin), every 405's `Allow` lists every method of the path (RFC 9110; the
router alone names only the first matching route's), and allowed origins may read responses."""

from collections.abc import Collection, Sequence

from fastapi.routing import iter_route_contexts
from starlette.datastructures import Headers, MutableHeaders
from starlette.routing import BaseRoute

from nuage.api.middleware import ASGIApp, Message, Receive, Scope, Send

# The request headers a browser client sends, and the response headers it may read.
CORS_REQUEST_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Request-Id"
CORS_EXPOSED_HEADERS = (
    "Location, Retry-After, WWW-Authenticate, X-Request-Id, "
    "RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, RateLimit-Policy"
)
CORS_MAX_AGE_SECONDS = "600"


def methods_of(routes: Sequence[BaseRoute], scope: Scope) -> set[str]:
    """Every method some route serves at this request's path (empty: no route has the path)."""
    path, root = scope["path"], scope.get("root_path", "")
    path = path.removeprefix(root) if root else path  # routes are matched below the mount point
    methods: set[str] = set()
    for route in iter_route_contexts(routes):
        regex = getattr(route, "path_regex", None)
        if route.methods and regex is not None and regex.match(path):
            methods |= route.methods
    return methods


def allow_value(methods: Collection[str]) -> str:
    return ", ".join(sorted({*methods, "OPTIONS"}))


class MethodsAndCors:
    """ASGI middleware over the app's own routes (read at request time, so routes added later
    count). CORS applies only to the origins configured; by default none."""

    def __init__(
        self, app: ASGIApp, *, routes: Sequence[BaseRoute], allowed_origins: Collection[str]
    ) -> None:
        self.app = app
        self.routes = routes
        self.allowed_origins = frozenset(allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Headers(scope=scope)
        allowed_origin = allowed_origin_of(request, self.allowed_origins)
        if scope["method"] == "OPTIONS":
            methods = methods_of(self.routes, scope)
            if methods and "OPTIONS" not in methods:
                await self._options(send, methods, request, allowed_origin)
                return

        async def send_with_headers(message: Message) -> None:
            # Only a 405 needs the path's methods (matching every route costs each request).
            if message["type"] == "http.response.start" and (
                message["status"] == 405 or self.allowed_origins
            ):
                headers = MutableHeaders(scope=message)
                methods = methods_of(self.routes, scope) if message["status"] == 405 else ()
                if methods:
                    headers["Allow"] = allow_value(methods)
                cors_headers(headers, self.allowed_origins, allowed_origin)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _options(
        self, send: Send, methods: set[str], request: Headers, allowed_origin: str | None
    ) -> None:
        headers = MutableHeaders()
        headers["Allow"] = allow_value(methods)
        if self.allowed_origins:
            headers["Vary"] = "Origin"
        wanted = request.get("access-control-request-method", "").upper()
        if allowed_origin and wanted in methods:
            headers["Access-Control-Allow-Origin"] = allowed_origin
            headers["Access-Control-Allow-Methods"] = allow_value(methods)
            headers["Access-Control-Allow-Headers"] = CORS_REQUEST_HEADERS
            headers["Access-Control-Max-Age"] = CORS_MAX_AGE_SECONDS
        await send({"type": "http.response.start", "status": 204, "headers": headers.raw})
        await send({"type": "http.response.body", "body": b""})


def allowed_origin_of(request: Headers, allowed_origins: Collection[str]) -> str | None:
    """The request's `Origin` when it is one of those allowed to read answers."""
    origin = request.get("origin")
    return origin if origin in allowed_origins else None


def cors_headers(
    headers: MutableHeaders, allowed_origins: Collection[str], allowed_origin: str | None
) -> None:
    """What an answer (other than a preflight's) says to browsers: it varies by `Origin` when
    any origin is allowed, and an allowed origin may read it and the headers it exposes."""
    if allowed_origins:
        headers.add_vary_header("Origin")
    if allowed_origin:
        headers["Access-Control-Allow-Origin"] = allowed_origin
        headers["Access-Control-Expose-Headers"] = CORS_EXPOSED_HEADERS

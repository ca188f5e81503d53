"""The FastAPI application. It validates and enqueues; it never calls a driver."""

import functools
from collections.abc import Callable

from fastapi import APIRouter, FastAPI
from sqlalchemy import exc as sa_exc
from starlette.routing import BaseRoute

from nuage.api import docs, errors, metrics, openapi
from nuage.api.audit_trail import AuditTrail
from nuage.api.fast_actions import FastAction
from nuage.api.fast_reads import FastTaskRead
from nuage.api.methods import MethodsAndCors
from nuage.api.middleware import ASGIApp, RequestGuard
from nuage.api.observe import ObserveRequests
from nuage.api.rate_limit import RateLimit, RateRule, api_policy
from nuage.api.routers import (
    admin_hosts,
    admin_ip_pools,
    api_keys,
    audit_log,
    auth,
    backups,
    catalogue,
    console,
    events,
    firewall,
    health,
    images,
    instances,
    ips,
    organizations,
    snapshots,
    software,
    task_routes,
    tasks,
    volumes,
    vpcs,
    webhooks,
)
from nuage.api.routers import (
    metrics as metrics_routes,
)
from nuage.api.runtime import Runtime
from nuage.api.security_headers import SecurityHeaders, SecurityPolicy
from nuage.api.web import session as web_session
from nuage.api.web import site
from nuage.api.writes import Replay, replay_handler
from nuage.domain import observers
from nuage.services.rate_limits import limiter_for

DESCRIPTION = """nuage — the OnetSolutions compute API, self-hosted.

Every change to an instance is an **instance task**: queued per instance in order, retried with
backoff, cancellable, with a step log. Every POST (and a PUT that queues a task) honours
`Idempotency-Key`.

Errors are `Error` (`{"detail", "code"}`) or, for bad input, `ValidationError` (DRF's field
errors); each operation lists the statuses and codes it can answer. Any path also answers 404
`not_found` for an unknown path and 405 `method_not_allowed` (with `Allow`) for a method it does
not have.
"""


class NuageApp(FastAPI):
    """FastAPI with one middleware outside the error middleware Starlette and FastAPI put
    around every app's own: the one-statement GET task (`api/fast_reads.py`), which renders its
    answer before it begins it and gives whatever it cannot answer to the whole stack. Around a
    read it answers, those three layers' wrappers were a twentieth of its CPU."""

    outermost: Callable[[ASGIApp], ASGIApp] | None = None

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        return stack if self.outermost is None else self.outermost(stack)


def create_app(runtime: Runtime) -> FastAPI:
    # FastAPI's own /docs and /redoc load their scripts from a CDN: `docs` serves them locally.
    app = NuageApp(
        title="nuage",
        version="0.1.0",
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served by `openapi.install`
        generate_unique_id_function=openapi.operation_id,
        # nuage observes requests itself (api/observe.py: metrics, access log) and configures no
        # OpenTelemetry provider; FastAPI's native telemetry would look for one on every
        # request (three environment lookups): about 0.03 ms of CPU per GET task (read_cpu).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.runtime = runtime
    app.router.routes.extend(_routes())
    errors.install(app)
    openapi.install(app)
    docs.install(app)
    site.install(app)
    app.add_exception_handler(Replay, replay_handler)
    app.add_exception_handler(sa_exc.SQLAlchemyError, errors.database_error)
    _add_middleware(app, runtime)
    observers.subscribe(metrics.record)
    return app


@functools.cache
def _routes() -> tuple[BaseRoute, ...]:
    """Every router's routes, included once per process. FastAPI builds an included route
    (its dependencies' tree, its body's and response's models) at its app's first request to
    its router; an app made again in the same process (the test suite makes one per test)
    takes these as they are built, where including the routers in each app built them all
    again for each (a third of the API tests' CPU). Nothing app-specific is kept here: the
    routes reach their app through the request."""
    included = APIRouter(generate_unique_id_function=openapi.operation_id)
    for router in (
        health.router,
        auth.router,
        api_keys.router,
        organizations.router,
        audit_log.router,
        catalogue.router,
        instances.router,
        backups.router,
        task_routes.router,
        ips.router,
        console.router,
        firewall.router,
        snapshots.router,
        images.router,
        tasks.router,
        admin_hosts.router,
        volumes.router,
        admin_ip_pools.router,
        webhooks.router,
        events.router,
        software.router,
        vpcs.router,
        web_session.router,
        metrics_routes.router,
    ):
        included.include_router(router)
    return tuple(included.routes)


def _add_middleware(app: NuageApp, runtime: Runtime) -> None:
    """From the innermost out: the plain instance action in one transaction
    (`api/fast_actions.py`), the audit trail, body guard, rate limits, methods and CORS
    (preflights are not counted; 429s carry CORS headers), security headers, then (one
    middleware) request id, the `RequestFinished` fact (metrics) and the access log. Outermost,
    outside even the error middleware (`NuageApp`), the one-statement GET task
    (`api/fast_reads.py`), which applies the same rules itself."""
    settings = runtime.settings
    app.state.limiter = limiter_for(runtime.sessions, database_url=settings.database_url)
    rate = None
    if settings.rate_limit_per_minute > 0:
        policy = api_policy(
            per_minute=settings.rate_limit_per_minute, burst=settings.rate_limit_burst
        )
        rate = RateRule(app.state.limiter, policy, settings.secret_key)
    security = SecurityPolicy(
        hsts_seconds=settings.hsts_seconds,
        https_public_url=(settings.public_url or "").startswith("https://"),
    )
    # Added first, so innermost: every middleware added after it also wraps the fast action.
    app.add_middleware(FastAction, runtime=runtime)
    app.add_middleware(AuditTrail, runtime=runtime)
    app.add_middleware(RequestGuard, max_body_bytes=settings.max_body_bytes)
    if rate is not None:
        app.add_middleware(RateLimit, rule=rate)
    app.add_middleware(
        MethodsAndCors, routes=app.routes, allowed_origins=settings.cors_allowed_origins
    )
    app.add_middleware(SecurityHeaders, policy=security)
    app.add_middleware(ObserveRequests)
    app.outermost = functools.partial(
        FastTaskRead,
        runtime=runtime,
        security=security,
        allowed_origins=settings.cors_allowed_origins,
        rate=rate,
    )

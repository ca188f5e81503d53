"""The FastAPI application. It validates and enqueues; it never calls a driver."""

from fastapi import FastAPI
from sqlalchemy import exc as sa_exc

from nuage.api import docs, errors, metrics, openapi
from nuage.api.methods import MethodsAndCors
from nuage.api.middleware import RequestGuard
from nuage.api.observe import ObserveRequests
from nuage.api.routers import (
    admin_hosts,
    admin_ip_pools,
    api_keys,
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
from nuage.api.web import session as web_session
from nuage.api.web import site
from nuage.api.writes import Replay, replay_handler
from nuage.domain import observers

DESCRIPTION = """nuage — the OnetSolutions compute API, self-hosted.

Every change to an instance is an **instance task**: queued per instance in order, retried with
backoff, cancellable, with a step log. Every POST (and a PUT that queues a task) honours
`Idempotency-Key`.

Errors are `Error` (`{"detail", "code"}`) or, for bad input, `ValidationError` (DRF's field
errors); each operation lists the statuses and codes it can answer. Any path also answers 404
`not_found` for an unknown path and 405 `method_not_allowed` (with `Allow`) for a method it does
not have.
"""


def create_app(runtime: Runtime) -> FastAPI:
    # FastAPI's own /docs and /redoc load their scripts from a CDN: `docs` serves them locally.
    app = FastAPI(
        title="nuage",
        version="0.1.0",
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served by `openapi.install`
        generate_unique_id_function=openapi.operation_id,
    )
    app.state.runtime = runtime
    for router in (
        health.router,
        auth.router,
        api_keys.router,
        organizations.router,
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
        app.include_router(router)
    errors.install(app)
    openapi.install(app)
    docs.install(app)
    site.install(app)
    app.add_exception_handler(Replay, replay_handler)
    app.add_exception_handler(sa_exc.SQLAlchemyError, errors.database_error)
    app.add_middleware(RequestGuard, max_body_bytes=runtime.settings.max_body_bytes)
    app.add_middleware(
        MethodsAndCors, routes=app.routes, allowed_origins=runtime.settings.cors_allowed_origins
    )
    app.add_middleware(ObserveRequests)
    observers.subscribe(metrics.record)
    return app

"""`nuage serve --workers N`: N API processes on one port (uvicorn's supervisor shares the socket).

Each process opens its own engine, notifier and (unless `--no-worker`) task worker when uvicorn
starts it, from the same environment as the parent. On SQLite the embedded mode keeps one
process: one file, one writer, and the in-process wake-ups of the worker it embeds.
"""

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable
from dataclasses import replace
from types import FrameType
from typing import Any

import uvicorn
from sqlalchemy import make_url

from nuage import logs
from nuage.api.app import create_app
from nuage.api.metrics import prepare_multiprocess
from nuage.api.middleware import ASGIApp, Receive, Scope, Send
from nuage.config import Settings, load_settings, with_secret_key

log = logging.getLogger("nuage.serve")
_WITH_WORKER = "NUAGE_SERVE_WITH_WORKER"


def process_count(settings: Settings, asked: int) -> int:
    """The API processes to run: as asked, except one on SQLite (said in the log)."""
    if asked > 1 and make_url(settings.database_url).get_backend_name() == "sqlite":
        log.warning(
            "SQLite: serving with one process (--workers %d ignored); the embedded database "
            "has one writer, and its worker runs in this process. Use PostgreSQL for more.",
            asked,
        )
        return 1
    return asked


def serve_processes(
    settings: Settings, *, host: str, port: int, workers: int, with_worker: bool
) -> None:
    """Run `workers` API processes under uvicorn's supervisor until it is stopped."""
    with_secret_key(settings)  # made once here (if missing), read from the file by every process
    # /metrics sums every process's counters from files here (before any process counts).
    prepare_multiprocess(settings.data_dir / "metrics")
    os.environ.setdefault("NUAGE_PUBLIC_URL", f"http://{host}:{port}")
    os.environ[_WITH_WORKER] = "1" if with_worker else "0"
    uvicorn.run(
        "nuage.cli.serving:process_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        # A process that is still importing on a loaded machine is not a hung one.
        timeout_worker_healthcheck=60,
        timeout_graceful_shutdown=5,
        access_log=False,  # api/request_log.py writes one line per request
        log_config=None,  # each process logs through nuage.logs (process_app configures it)
        **server_options(),
    )


async def serve(settings: Settings, *, host: str, port: int, with_worker: bool) -> None:
    """The API, and unless told otherwise a worker in the same event loop."""
    if settings.public_url is None:  # console URLs point where this server listens
        settings = replace(settings, public_url=f"http://{host}:{port}")
    from nuage.cli import runtime  # the composition root, imported in the served process

    async with runtime.open_process(settings) as process:
        # The API signs tokens: its key is made (once, in the data directory) only now that the
        # database is known to be set up.
        api = replace(process.runtime, settings=with_secret_key(settings))
        # Event streams never end by themselves: a stop waits this long for requests to finish.
        config = uvicorn.Config(
            create_app(api),
            host=host,
            port=port,
            log_level="info",
            timeout_graceful_shutdown=5,
            log_config=None,  # uvicorn's records go through our handler (nuage.logs)
            access_log=False,  # api/request_log.py writes one line per request
            **server_options(),
        )
        runtime.freeze_startup_heap()
        stop = asyncio.Event()
        server = GracefulServer(config, stop)
        drivers = runtime.make_drivers(settings)
        jobs = [asyncio.create_task(server.serve())]
        if with_worker:
            jobs.append(asyncio.create_task(runtime.make_worker(process, drivers).run(stop)))
        try:
            await jobs[0]
        finally:
            stop.set()
            await asyncio.gather(*jobs[1:], return_exceptions=True)
            await drivers.close()


class GracefulServer(uvicorn.Server):
    """uvicorn, whose SIGTERM or SIGINT also starts the worker's graceful stop, at once (so it
    claims nothing more while requests drain). uvicorn's own handler would raise the signal
    again once the server is down, and the default SIGTERM would kill the process before the
    worker gave its tasks back: this one does not."""

    def __init__(self, config: uvicorn.Config, stop: asyncio.Event) -> None:
        super().__init__(config)
        self.stop = stop
        self.loop = asyncio.get_running_loop()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)  # safe from a signal handler
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True  # a second Ctrl-C: stop waiting for requests
        self.should_exit = True


def server_options() -> dict[str, Any]:
    """uvloop and httptools when installed (measured in docs/benchmarks.md), else the defaults."""
    options: dict[str, Any] = {}
    with contextlib.suppress(ImportError):
        import uvloop  # noqa: F401

        options["loop"] = "uvloop"
    with contextlib.suppress(ImportError):
        import httptools  # noqa: F401

        options["http"] = "httptools"
    return options


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop for a process that runs its own (`nuage serve` with one process)."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def process_app() -> ASGIApp:
    """uvicorn's factory, called in each process (a spawned one: its logging is set up here)."""
    settings = load_settings()
    logs.configure(settings.log_format)
    return ProcessApp(settings, with_worker=os.environ.get(_WITH_WORKER) == "1")


class ProcessApp:
    """The API of one process, built when uvicorn's lifespan starts it (the engine and the
    notifier belong to the process's event loop) and closed when it stops."""

    def __init__(self, settings: Settings, *, with_worker: bool) -> None:
        self.settings = settings
        self.with_worker = with_worker
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        assert self.app is not None, "served before its lifespan started"
        await self.app(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        from nuage.cli import runtime  # the composition root, imported in the served process

        await receive()  # lifespan.startup
        async with contextlib.AsyncExitStack() as stack:
            try:
                process = await stack.enter_async_context(runtime.open_process(self.settings))
                self.app = create_app(process.runtime)
                runtime.freeze_startup_heap()
                stop = asyncio.Event()
                if self.with_worker:
                    drivers = runtime.make_drivers(self.settings)
                    stack.push_async_callback(drivers.close)
                    job = asyncio.create_task(runtime.make_worker(process, drivers).run(stop))
                    stack.push_async_callback(_stop_worker, stop, job)
            except Exception as error:
                await send({"type": "lifespan.startup.failed", "message": str(error)})
                raise
            await send({"type": "lifespan.startup.complete"})
            await receive()  # lifespan.shutdown
        await send({"type": "lifespan.shutdown.complete"})


async def _stop_worker(stop: asyncio.Event, job: asyncio.Task[None]) -> None:
    stop.set()
    await asyncio.gather(job, return_exceptions=True)

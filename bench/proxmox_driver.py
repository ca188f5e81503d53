"""The Proxmox driver against the fake Proxmox VE: operations per second with 16 concurrent
tasks, and nuage's overhead per operation over a bare proxmoxer script sending the same calls.

Method: the fake (fakepve with nuage's extension, `tests/pve/served.py`, tasks ending at once)
runs in a process of its own on 127.0.0.1, over HTTPS with the API token. 16 concurrent tasks
(asyncio tasks on one `ProxmoxDriver`, as a worker runs 16 tasks) each take a machine through
create → reboot → stop → start → snapshot → delete, `--rounds` times. The bare side is 16
threads of a proxmoxer script; it sends, per operation, exactly the requests the driver sent
for it (recorded on the wire in a first, untimed pass on one machine, then replayed with each
thread's own VMID and UPIDs): the same calls, without nuage's code around them. The driver's
lookups and task polls are part of its calls, so they are replayed too. The bare script picks
its VMIDs itself (the replayed `cluster/nextid` answer is ignored), as a script that owns its
range would; 16 drivers asking `nextid` at once race for the same id.

    .venv/bin/python bench/proxmox_driver.py [--tasks 16] [--rounds 6] [--blocks 3]
"""

import argparse
import asyncio
import json
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import percentile, table

OPS = ("create", "reboot", "stop", "start", "snapshot", "delete")
IMAGE = "debian-12"
FIRST_BARE_VMID = 5000


def serve_fake() -> None:
    """Child process: serve a seeded fake, print how to reach it, stop when stdin closes."""
    from tests.pve.served import serve

    served = serve()
    print(
        json.dumps(
            {
                "url": served.url,
                "cafile": served.cafile,
                "node": served.node,
                "token_id": served.token_id,
                "secret": served.token_secret,
            }
        ),
        flush=True,
    )
    sys.stdin.read()
    served.stop()


@contextmanager
def fake() -> Iterator[dict[str, str]]:
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert child.stdout is not None
        yield json.loads(child.stdout.readline())
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(30)


def driver_for(where: dict[str, str]) -> Any:
    from tests.pve.served import BACKUP_STORAGE, BRIDGE, DISK_STORAGE, TEMPLATES

    from nuage.domain.drivers import PROXMOX
    from nuage.drivers.base import HostSetup
    from nuage.drivers.proxmox import ProxmoxDriver
    from nuage.drivers.proxmox_settings import settings_for_host

    config = {
        "node": where["node"],
        "token_id": where["token_id"],
        "ca_file": where["cafile"],
        "templates": dict(TEMPLATES),
        "storage": DISK_STORAGE,
        "backup_storage": BACKUP_STORAGE,
        "bridge": BRIDGE,
    }
    setup = HostSetup(
        name="pve-bench",
        uri=where["url"],
        config=PROXMOX.parse_config(config),
        secret=where["secret"],
    )
    return ProxmoxDriver(settings_for_host(setup))


def steps(driver: Any, machine_id: str, hostname: str) -> list[tuple[str, Callable[[], Any]]]:
    from nuage.drivers.base import MachineSpec

    spec = MachineSpec(
        machine_id=machine_id,
        name=hostname,
        hostname=hostname,
        vcpu=1,
        ram_mb=1024,
        disk_gb=10,
        image=IMAGE,
    )
    return [
        ("create", lambda: driver.create(spec)),
        ("reboot", lambda: driver.reboot(machine_id)),
        ("stop", lambda: driver.stop(machine_id)),
        ("start", lambda: driver.start(machine_id)),
        ("snapshot", lambda: driver.create_snapshot(machine_id, f"s{uuid.uuid4().hex[:8]}")),
        ("delete", lambda: driver.delete(machine_id)),
    ]


# ------------------------------------------------------------------ nuage


async def run_nuage(
    driver: Any, tasks: int, rounds: int
) -> tuple[float, dict[str, list[float]], dict[str, list[str]]]:
    """Timings per operation, and the errors (a machine whose operation failed stops there)."""
    timings: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, list[str]] = defaultdict(list)

    async def one(n: int) -> None:
        for r in range(rounds):
            for op, call in steps(driver, f"bench-{n}-{r}-{uuid.uuid4().hex[:6]}", f"b{n}-{r}"):
                began = time.perf_counter()
                try:
                    await call()
                except Exception as exc:  # counted and shown: the table must not hide failures
                    errors[op].append(f"{type(exc).__name__}: {exc}")
                    break
                timings[op].append(time.perf_counter() - began)

    began = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(tasks)))
    return time.perf_counter() - began, timings, errors


async def record_calls(
    driver: Any, url: str
) -> dict[str, list[tuple[str, str, list[tuple[str, str]]]]]:
    """The requests the driver sends for each operation of one machine, as seen on the wire: the
    second machine's, once the driver's caches (the templates' VMIDs) are warm as in the runs."""
    from tests.pve import recording

    calls: dict[str, list[tuple[str, str, list[tuple[str, str]]]]] = {}
    for name in ("warm-up", "record"):
        for op, call in steps(driver, f"{name}-{uuid.uuid4().hex[:8]}", name):
            before = len(recording.sent)
            await call()
            calls[op] = [(s.method, s.path, list(s.params)) for s in recording.sent[before:]]
    return calls


# ------------------------------------------------------------------- bare


class Replayer:
    """One bare script's thread: the recorded calls with its own VMID and UPIDs."""

    def __init__(self, api: Any, recorded_vmid: str, vmid: int) -> None:
        self.api = api
        self.old = recorded_vmid
        self.new = str(vmid)
        self.upid: str | None = None

    def call(self, method: str, path: str, params: list[tuple[str, str]]) -> None:
        segments = [self._segment(s) for s in path.strip("/").split("/")]
        values = {k: (self.new if v == self.old else v) for k, v in params}
        resource = self.api("/".join(segments))
        kind = "params" if method in ("GET", "DELETE") else "data"
        answer = resource._request(method, **{kind: values or None})
        if isinstance(answer, str) and answer.startswith("UPID:"):
            self.upid = answer

    def _segment(self, segment: str) -> str:
        if segment.startswith("UPID:") and self.upid is not None:
            return self.upid
        return self.new if segment == self.old else segment


def recorded_vmid(calls: dict[str, list[tuple[str, str, list[tuple[str, str]]]]]) -> str:
    clone = next(p for m, p, params in calls["create"] if p.endswith("/clone"))
    params = dict(next(params for m, p, params in calls["create"] if p == clone))
    return params["newid"]


def run_bare(where: dict[str, str], calls: Any, tasks: int, rounds: int) -> tuple[float, Any]:
    from proxmoxer import ProxmoxAPI

    timings: dict[str, list[float]] = defaultdict(list)
    lock = threading.Lock()
    old = recorded_vmid(calls)
    user, token = where["token_id"].split("!")
    host = where["url"].removeprefix("https://")

    def one(n: int) -> None:
        api = ProxmoxAPI(
            host,
            user=user,
            token_name=token,
            token_value=where["secret"],
            verify_ssl=where["cafile"],
        )
        api._store["session"].trust_env = False
        for r in range(rounds):
            replay = Replayer(api, old, FIRST_BARE_VMID + n * rounds + r)
            for op in OPS:
                began = time.perf_counter()
                for method, path, params in calls[op]:
                    if path != "/cluster/nextid":
                        replay.call(method, path, params)
                with lock:
                    timings[op].append(time.perf_counter() - began)

    began = time.perf_counter()
    with ThreadPoolExecutor(tasks) as pool:
        list(pool.map(one, range(tasks)))
    return time.perf_counter() - began, timings


# ------------------------------------------------------------------ table


def measure(
    loop: asyncio.AbstractEventLoop,
    driver: Any,
    where: dict[str, str],
    calls: Any,
    tasks: int,
    rounds: int,
    blocks: int,
) -> Any:
    """Both sides at one concurrency: wall time, client CPU time, requests sent (counted on the
    wire), timings and errors. The sides alternate in `blocks` blocks (bare first), so a change
    of the machine's load during the run weighs on both."""
    from tests.pve import recording

    nuage: list[Any] = [0.0, 0.0, 0, defaultdict(list), defaultdict(list)]
    bare: list[Any] = [0.0, 0.0, 0, defaultdict(list)]
    for _ in range(blocks):
        recording.sent.clear()
        cpu = time.process_time()
        wall, timings = run_bare(where, calls, tasks, rounds)
        _add(bare, wall, time.process_time() - cpu, len(recording.sent), timings)
        recording.sent.clear()
        cpu = time.process_time()
        wall, timings, errors = loop.run_until_complete(run_nuage(driver, tasks, rounds))
        _add(nuage, wall, time.process_time() - cpu, len(recording.sent), timings, errors)
    recording.sent.clear()
    return tuple(nuage), tuple(bare)


def _add(total: list[Any], wall: float, cpu: float, sent: int, *lists: Any) -> None:
    total[0] += wall
    total[1] += cpu
    total[2] += sent
    for into, more in zip(total[3:], lists, strict=True):
        for key, values in more.items():
            into[key].extend(values)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=6, help="machines per task (at 16 tasks)")
    parser.add_argument("--blocks", type=int, default=3, help="alternations of the two sides")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve_fake()
    results = {}
    with fake() as where:
        from tests.pve import recording

        driver = driver_for(where)
        recording.checker = None  # counted, not checked: the tests check every request
        recording.watch(where["url"])
        # One event loop for the driver, as a worker has: its locks belong to their loop.
        loop = asyncio.new_event_loop()
        try:
            calls = loop.run_until_complete(record_calls(driver, where["url"]))
            for tasks in sorted({1, args.tasks}):
                rounds = args.rounds * args.tasks // tasks // args.blocks
                results[tasks] = measure(loop, driver, where, calls, tasks, rounds, args.blocks)
        finally:
            loop.close()
    report(calls, results, args.tasks)


def report(calls: Any, results: dict[int, Any], tasks: int) -> None:
    (_, _, _, serial, _), (_, _, _, bare_serial) = results[1]
    rows = []
    for op in OPS:
        n50, b50 = percentile(serial[op], 50), percentile(bare_serial[op], 50)
        rows.append(
            (
                op,
                len(calls[op]),
                f"{n50 * 1000:.1f}",
                f"{b50 * 1000:.1f}",
                f"{(n50 - b50) * 1000:+.1f}",
            )
        )
    table(
        "One task at a time: latency per operation (p50)",
        ("operation", "requests", "nuage ms", "bare proxmoxer ms", "overhead ms"),
        rows,
    )
    rows = []
    for n, (nuage_side, bare_side) in sorted(results.items()):
        n_wall, n_cpu, n_sent, nuage, errors = nuage_side
        b_wall, b_cpu, b_sent, bare = bare_side
        done, bare_done = sum(map(len, nuage.values())), sum(map(len, bare.values()))
        rows.append(
            (
                n,
                "nuage driver",
                done,
                sum(map(len, errors.values())),
                n_sent,
                f"{done / n_wall:.1f}",
                f"{n_sent / n_wall:.0f}",
                f"{n_cpu / max(done, 1) * 1000:.2f}",
            )
        )
        rows.append(
            (
                n,
                "bare proxmoxer",
                bare_done,
                0,
                b_sent,
                f"{bare_done / b_wall:.1f}",
                f"{b_sent / b_wall:.0f}",
                f"{b_cpu / max(bare_done, 1) * 1000:.2f}",
            )
        )
    table(
        f"Throughput ({' → '.join(OPS)} per machine)",
        (
            "concurrent tasks",
            "side",
            "operations",
            "errors",
            "requests",
            "operations/s",
            "requests/s",
            "client CPU ms/operation",
        ),
        rows,
    )
    for n, ((*_, errors), _) in sorted(results.items()):
        for op, found in errors.items():
            if found:
                print(f"\n{n} tasks, {op}: {len(found)} errors, first: {found[0]}")


if __name__ == "__main__":
    main()

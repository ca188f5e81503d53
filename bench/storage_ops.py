"""Snapshot, backup and restore on real libvirt guests: nuage (through its HTTP API, from the
POST to the completed task) beside the same operation done with bare `virsh`/`qemu-img`
commands on the same kind of guest. The ratio is nuage's overhead.

Method: `nuage serve` (API + worker, SQLite) with one libvirt host (qemu:///system, TCG) and the
test guest of scripts/build-test-guest.sh. For each data size (1 and 10 GiB): an instance of the
`small` size (1 vCPU, 1 GiB, 25 GiB disk) is created and stopped, `qemu-io` writes the data into
its disk (a pattern from 1 MiB on, so the guest's boot sector stays), and it is started again.
Then, timed: a snapshot of the running guest (an internal qcow2 snapshot with its memory), a
backup of the running guest (a full qcow2 copy from a temporary internal snapshot), and, once
stopped, the snapshot's restore and the backup's restore. The bare side does the same on a second
such instance, with the commands nuage's driver runs: `virsh snapshot-create` with the same
snapshot XML; `virsh snapshot-create` + `qemu-img convert -U -l snapshot.name=…` + fsync +
`virsh snapshot-delete`; `virsh destroy`; `qemu-img snapshot -a`; `qemu-img convert -n`.

    .venv/bin/python bench/storage_ops.py [--sizes 1,10] [--runs 1]
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import NUAGE, free_port, fresh_sqlite, nuage_env, spawn, table, wait_healthy

CACHE = Path(os.environ.get("NUAGE_TEST_GUEST_CACHE", Path.home() / ".cache/nuage/test-guest"))
SMALL = "5e1c2a40-7d2b-4f0a-8c55-3b7d2e9a0002"
LOCATION = "0b6f3d6e-1f4e-4c53-9a0e-5a9d1f1c0001"
IMAGE = "9a4d7c1e-2b3f-4e5a-b6c7-d8e9f0a10001"
HOST = "kvm-bench"
OPS = ("snapshot (running)", "backup (running)", "restore snapshot", "restore backup")


def sh(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def timed_sh(*commands: tuple[str, ...]) -> float:
    began = time.monotonic()
    for argv in commands:
        sh(*argv)
    return time.monotonic() - began


def snapshot_xml(name: str) -> str:
    return (
        f"<domainsnapshot><name>{name}</name><disks><disk name='vda' snapshot='internal'/>"
        "<disk name='vdb' snapshot='no'/></disks></domainsnapshot>"
    )


class Nuage:
    """One `nuage serve` with a libvirt host, and an HTTP client for its project."""

    def __init__(self, http: httpx.AsyncClient, base: str, state: Path) -> None:
        self.http, self.base, self.state = http, base, state

    async def done(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        answer = await self.http.request(method, self.base + path, json=body)
        assert answer.status_code in (201, 202), answer.text
        task_url = answer.headers["Location"]
        while True:
            task: dict[str, Any] = (await self.http.get(task_url, params={"wait": 60})).json()
            if task["status"] in {"completed", "failed", "cancelled"}:
                assert task["status"] == "completed", task
                return {**task, "body": answer.json()}

    async def timed(self, method: str, path: str, body: Any = None) -> tuple[float, dict[str, Any]]:
        began = time.monotonic()
        task = await self.done(method, path, body)
        return time.monotonic() - began, task

    async def guest_with_data(self, name: str, gib: int) -> tuple[str, Path]:
        created = await self.done(
            "POST",
            "/instances",
            {"name": name, "size_id": SMALL, "location_id": LOCATION, "image_id": IMAGE},
        )
        iid = created["body"]["id"]
        disk = self.state / HOST / iid / "disk.qcow2"
        await self.done("POST", f"/instances/{iid}/stop")
        # one request at most 1 GiB (qemu-io refuses larger ones)
        writes = [f"write -P 0x5a {1 + n * 1024}M 1G" for n in range(gib)]
        sh("qemu-io", "-f", "qcow2", *(a for w in writes for a in ("-c", w)), str(disk))
        await self.done("POST", f"/instances/{iid}/start")
        return iid, disk


async def nuage_side(api: Nuage, gib: int) -> list[float]:
    iid, _disk = await api.guest_with_data(f"n{gib}", gib)
    t_snap, snap = await api.timed("POST", f"/instances/{iid}/snapshots", {"name": "s"})
    t_backup, backup = await api.timed("POST", f"/instances/{iid}/backups", {"name": "b"})
    await api.done("POST", f"/instances/{iid}/stop")
    snapshot_id, backup_id = snap["parameters"]["snapshot_id"], backup["parameters"]["backup_id"]
    t_restore, _ = await api.timed("POST", f"/instances/{iid}/snapshots/{snapshot_id}/restore")
    t_restore_b, _ = await api.timed("POST", f"/instances/{iid}/backups/{backup_id}/restore")
    await api.done("DELETE", f"/instances/{iid}/backups/{backup_id}")
    await api.done("DELETE", f"/instances/{iid}")
    return [t_snap, t_backup, t_restore, t_restore_b]


async def bare_side(api: Nuage, gib: int, work: Path) -> list[float]:
    """The same operations with bare commands, on a guest nuage made (then left alone)."""
    iid, disk = await api.guest_with_data(f"b{gib}", gib)
    domain = f"nuage-{iid}"
    (work / "snap.xml").write_text(snapshot_xml("bare-snap"))
    (work / "tmp.xml").write_text(snapshot_xml("bare-tmp"))
    copy = work / "bare-backup.qcow2"
    virsh = ("virsh", "-q", "-c", "qemu:///system")
    t_snap = timed_sh((*virsh, "snapshot-create", domain, str(work / "snap.xml")))
    t_backup = timed_sh(
        (*virsh, "snapshot-create", domain, str(work / "tmp.xml")),
        ("qemu-img", "convert", "-f", "qcow2", "-O", "qcow2", "-U", "-l",
         "snapshot.name=bare-tmp", str(disk), str(copy)),
        ("sync", str(copy)),
        (*virsh, "snapshot-delete", domain, "bare-tmp"),
    )  # fmt: skip
    sh(*virsh, "destroy", domain)
    t_restore = timed_sh(("qemu-img", "snapshot", "-a", "bare-snap", str(disk)))
    t_restore_b = timed_sh(
        ("qemu-img", "convert", "-n", "-f", "qcow2", "-O", "qcow2", str(copy), str(disk)),
        ("sync", str(disk)),
    )
    copy.unlink()
    sh(*virsh, "snapshot-delete", domain, "bare-snap", "--metadata")
    await api.done("DELETE", f"/instances/{iid}")
    return [t_snap, t_backup, t_restore, t_restore_b]


async def with_nuage(work: Path, run: Callable[[Nuage], Awaitable[None]]) -> None:
    url = await fresh_sqlite(work)
    images = work / "images"  # custom images go here; base.qcow2 serves every other image
    images.mkdir()
    (images / "base.qcow2").symlink_to(CACHE / "base.qcow2")
    env = nuage_env(
        url, work, NUAGE_LIBVIRT_KERNEL=str(CACHE / "vmlinuz"),
        NUAGE_LIBVIRT_INITRD=str(CACHE / "initrd.img"), NUAGE_LIBVIRT_IMAGES_DIR=str(images),
        NUAGE_LIBVIRT_BOOT_MARKER="NUAGE-BOOTED",
    )  # fmt: skip

    def cli(*args: str) -> str:
        return subprocess.run(
            [NUAGE, *args], env=env, check=True, capture_output=True, text=True
        ).stdout

    creds = json.loads(cli("bootstrap", "--email", "s@example.com", "--password", "bench-pass"))
    cli("hosts", "set", "sim-par1", "--state", "disabled")
    cli("hosts", "add", "--name", HOST, "--location", "par1", "--driver", "libvirt",
        "--uri", "qemu:///system", "--vcpu", "8", "--ram-mb", "16384",
        "--disk-gb", "500")  # fmt: skip
    port = free_port()
    proc = spawn(["serve", "--port", str(port)], env, work / "serve.log")
    base = (f"http://127.0.0.1:{port}/v1/organizations/{creds['organization_id']}"
            f"/projects/{creds['project_id']}/compute")  # fmt: skip
    try:
        headers = {"Authorization": f"Bearer {creds['api_key']}"}
        async with httpx.AsyncClient(headers=headers, timeout=300) as http:
            await wait_healthy(http, port)
            await run(Nuage(http, base, work / "libvirt"))
    finally:
        proc.terminate()
        proc.wait(timeout=60)


async def main(sizes: list[int], runs: int) -> None:
    rows: list[tuple[object, ...]] = []

    async def measure(api: Nuage) -> None:
        for gib in sizes:
            ours = [await nuage_side(api, gib) for _ in range(runs)]
            with tempfile.TemporaryDirectory(dir=api.state.parent) as work:
                bare = [await bare_side(api, gib, Path(work)) for _ in range(runs)]
            for i, op in enumerate(OPS):
                n, b = statistics.median(r[i] for r in ours), statistics.median(r[i] for r in bare)
                rows.append((f"{gib} GiB", op, f"{b:.2f}", f"{n:.2f}", f"{n / b:.2f}"))

    with tempfile.TemporaryDirectory() as tmp:
        await with_nuage(Path(tmp), measure)
    table(
        f"Storage operations on libvirt (TCG), median of {runs} run(s), seconds",
        ("data on disk", "operation", "bare s", "nuage s", "ratio"),
        rows,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,10", help="GiB of data written, comma-separated")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(main([int(s) for s in args.sizes.split(",")], args.runs))

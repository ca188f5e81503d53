"""Real guests: (1) time from `POST …/instances` to the guest's boot marker through nuage, beside
the same boot done by a bare libvirt script (define + start + wait for the marker) — nuage's
overhead as a ratio; (2) how many tiny guests one 2-core machine runs at once.

Method (1): `nuage serve` (API + worker, SQLite) with one libvirt host (qemu:///system, TCG) and
the test guest of scripts/build-test-guest.sh; 5 sequential creates of the `nano` size
(1 vCPU, 512 MiB), each timed from the POST to the NUAGE-BOOTED line in its serial log and to its
task's completion, then deleted. The bare baseline is scripts/boot-test-guest.py with the same
vCPU and memory (its own "boot:" time: files + define + start + marker), 5 times.
Method (2): LibvirtDriver directly, 128 MiB / 1 vCPU guests created 4 at a time; after each batch
the host's MemAvailable and, over 5 s, its idle CPU. It stops at 48 guests, when a batch's slowest
boot passes 60 s, or when less than 3 GiB is available, then deletes every guest.

    .venv/bin/python bench/libvirt_boot.py [--skip-density]
"""

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import NUAGE, free_port, fresh_sqlite, nuage_env, spawn, table, wait_healthy
from nuage.drivers.base import MachineSpec
from nuage.drivers.libvirt import LibvirtDriver, LibvirtSettings

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("NUAGE_TEST_GUEST_CACHE", Path.home() / ".cache/nuage/test-guest"))
NANO = "5e1c2a40-7d2b-4f0a-8c55-3b7d2e9a0001"
LOCATION = "0b6f3d6e-1f4e-4c53-9a0e-5a9d1f1c0001"
IMAGE = "9a4d7c1e-2b3f-4e5a-b6c7-d8e9f0a10001"
RUNS = 5


def bare_boots() -> list[float]:
    times = []
    for n in range(RUNS):
        with tempfile.TemporaryDirectory() as work:
            out = subprocess.run(
                [sys.executable, str(ROOT / "scripts/boot-test-guest.py"), "--cache", str(CACHE),
                 "--uri", "qemu:///system", "--workdir", work, "--hostname", f"bare{n}",
                 "--vcpus", "1", "--mem-mb", "512"],
                check=True, capture_output=True, text=True,
            ).stdout  # fmt: skip
        times.append(float(re.search(r"boot: ([\d.]+) s", out).group(1)))  # type: ignore[union-attr]
    return times


async def nuage_boots(data_dir: Path) -> tuple[list[float], list[float]]:
    url = await fresh_sqlite(data_dir)
    env = nuage_env(
        url, data_dir, NUAGE_LIBVIRT_KERNEL=str(CACHE / "vmlinuz"),
        NUAGE_LIBVIRT_INITRD=str(CACHE / "initrd.img"), NUAGE_LIBVIRT_IMAGES_DIR=str(CACHE),
        NUAGE_LIBVIRT_BOOT_MARKER="NUAGE-BOOTED",
    )  # fmt: skip

    def cli(*args: str) -> str:
        return subprocess.run(
            [NUAGE, *args], env=env, check=True, capture_output=True, text=True
        ).stdout

    creds = json.loads(cli("bootstrap", "--email", "b@example.com", "--password", "bench-pass"))
    cli("hosts", "set", "sim-par1", "--state", "disabled")
    cli("hosts", "add", "--name", "kvm-bench", "--location", "par1", "--driver", "libvirt",
        "--uri", "qemu:///system", "--vcpu", "8", "--ram-mb", "16384",
        "--disk-gb", "500")  # fmt: skip
    port = free_port()
    proc = spawn(["serve", "--port", str(port)], env, data_dir / "serve.log")
    base = (f"http://127.0.0.1:{port}/v1/organizations/{creds['organization_id']}"
            f"/projects/{creds['project_id']}/compute")  # fmt: skip
    to_marker, to_done = [], []
    try:
        async with httpx.AsyncClient(
            headers={"Authorization": f"Bearer {creds['api_key']}"}, timeout=180
        ) as http:
            await wait_healthy(http, port)
            for n in range(RUNS):
                body = {
                    "name": f"b{n}",
                    "size_id": NANO,
                    "location_id": LOCATION,
                    "image_id": IMAGE,
                }
                began = time.monotonic()
                created = await http.post(f"{base}/instances", json=body)
                log = data_dir / "libvirt/kvm-bench" / created.json()["id"] / "serial.log"
                while not (log.exists() and b"NUAGE-BOOTED" in log.read_bytes()):
                    await asyncio.sleep(0.02)
                to_marker.append(time.monotonic() - began)
                task = (await http.get(created.headers["Location"], params={"wait": 60})).json()
                assert task["status"] == "completed", task
                to_done.append(time.monotonic() - began)
                deleted = await http.delete(f"{base}/instances/{created.json()['id']}")
                await http.get(f"{base}/tasks/{deleted.json()['id']}", params={"wait": 60})
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return to_marker, to_done


def mem_available_mib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) // 1024
    return 0


def idle_percent(seconds: float = 5.0) -> float:
    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        return fields[3] + fields[4], sum(fields)

    idle0, total0 = sample()
    time.sleep(seconds)
    idle1, total1 = sample()
    return 100.0 * (idle1 - idle0) / max(1, total1 - total0)


async def density(state: Path) -> list[tuple[object, ...]]:
    driver = LibvirtDriver(LibvirtSettings(
        uri="qemu:///system", state_dir=state, images_dir=CACHE,
        kernel=CACHE / "vmlinuz", initrd=CACHE / "initrd.img", boot_timeout=120,
    ))  # fmt: skip
    ids: list[str] = []
    rows: list[tuple[object, ...]] = []
    try:
        while len(ids) < 48:
            batch = [str(uuid.uuid4()) for _ in range(4)]

            async def boot(machine_id: str) -> float:
                began = time.monotonic()
                spec = MachineSpec(machine_id, "d", f"d{machine_id[:8]}", 1, 128, 1, "base")
                await driver.create(spec)
                return time.monotonic() - began

            times = await asyncio.gather(*(boot(m) for m in batch))
            ids += batch
            idle = await asyncio.to_thread(idle_percent)
            rows.append((len(ids), f"{statistics.median(times):.1f}", f"{max(times):.1f}",
                         mem_available_mib(), f"{idle:.0f}"))  # fmt: skip
            if max(times) > 60 or mem_available_mib() < 3072:
                break
    finally:
        for machine_id in ids:
            await driver.delete(machine_id)
        await driver.close()
    return rows


async def main(skip_density: bool) -> None:
    bare = await asyncio.to_thread(bare_boots)
    with tempfile.TemporaryDirectory() as tmp:
        to_marker, to_done = await nuage_boots(Path(tmp))
    med = statistics.median
    table(
        f"Boot to marker, 1 vCPU / 512 MiB, TCG, {RUNS} runs each (median, min-max, s)",
        ("path", "median s", "min s", "max s", "ratio to bare"),
        [
            ("bare libvirt script", f"{med(bare):.2f}", f"{min(bare):.2f}",
             f"{max(bare):.2f}", "1.00"),
            ("nuage: POST -> marker", f"{med(to_marker):.2f}", f"{min(to_marker):.2f}",
             f"{max(to_marker):.2f}", f"{med(to_marker) / med(bare):.2f}"),
            ("nuage: POST -> task completed", f"{med(to_done):.2f}", f"{min(to_done):.2f}",
             f"{max(to_done):.2f}", f"{med(to_done) / med(bare):.2f}"),
        ],
    )  # fmt: skip
    if not skip_density:
        with tempfile.TemporaryDirectory() as tmp:
            rows = await density(Path(tmp))
        table(
            "Density: 128 MiB / 1 vCPU guests booted 4 at a time (TCG)",
            ("guests running", "batch median boot s", "batch max boot s", "MemAvailable MiB",
             "idle CPU % (5 s)"),
            rows,
        )  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-density", action="store_true")
    asyncio.run(main(parser.parse_args().skip_density))

"""A fake Proxmox VE node served over HTTPS on 127.0.0.1, on its own event loop in a daemon thread.

`serve()` starts one seeded the way a nuage host expects it (`NODE`, the API token `TOKEN_ID`, the
storages and bridge below, one template VM per catalogue image) and returns a `Served`: its URL,
CA file and token for the driver's host configuration, `.pve` to seed or break the fake
(`served.pve.vm(101).start_error = ...`) and `.call(coro)` to run one of its coroutine
scenarios (`served.call(served.pve.hold_config_lock(101, None))`) on the fake's loop.
"""

import asyncio
import tempfile
import threading
import time
from collections.abc import Coroutine, Mapping
from concurrent.futures import Future
from functools import cache
from typing import Any, TypeVar
from urllib.parse import urlsplit

from fakepve import FakePve, settle
from fakepve.certs import make_cert

from tests.pve import recording, schema
from tests.pve.extension import NuagePve

T = TypeVar("T")
# Every request to a served fake is checked against Proxmox's schema.
recording.checker = schema.check_sent

HOST = "127.0.0.1"
NODE = "pve1"
TOKEN_ID = "root@pam!nuage"
TOKEN_SECRET = "5f0c8e5a-2b7d-4c1e-9a3f-6d8b1e0c7a42"
DISK_STORAGE = "local-lvm"
BACKUP_STORAGE = "local"
CLOUDINIT_STORAGE = "local-lvm"
BRIDGE = "vmbr0"
# One template VM per image of the default catalogue (migration 0002), by image slug.
TEMPLATES: Mapping[str, int] = {"debian-12": 9000, "ubuntu-24.04": 9001, "rocky-9": 9002}
TEMPLATE_DISK_BYTES = 2 * 1024**3
CALL_TIMEOUT = 30.0


@cache
def _pki() -> tuple[str, str]:
    """One self-signed certificate for every fake of this process (made once: ~0.05 s)."""
    directory = tempfile.mkdtemp(prefix="nuage-fakepve-")
    certfile, keyfile, _der = make_cert(directory, hosts=(HOST,))
    return certfile, keyfile


class Served:
    """A started fake; `stop()` ends it (the fixtures do)."""

    def __init__(self, pve: FakePve) -> None:
        self.pve = pve
        self.cafile, keyfile = _pki()
        self.token_id = TOKEN_ID
        self.token_secret = TOKEN_SECRET
        self.node = NODE
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="fakepve", daemon=True)
        self._thread.start()
        try:
            self.call(pve.start(self.cafile, keyfile))
        except BaseException:
            self._halt()
            raise
        recording.watch(self.url)

    @property
    def url(self) -> str:
        """https://127.0.0.1:<port>"""
        return str(self.pve.url)

    @property
    def hostport(self) -> str:
        return urlsplit(self.url).netloc

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = CALL_TIMEOUT) -> T:
        """Run a coroutine of the fake (a scenario) on its loop and return its result."""
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout)

    def start_soon(self, coro: Coroutine[Any, Any, Any]) -> Future[Any]:
        """Start a scenario that runs for a while (a held lock, a slow backup) without waiting."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def stop(self) -> None:
        recording.unwatch(self.url)
        try:
            self.call(settle())
            self.call(self.pve.stop())
        finally:
            self._halt()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def _halt(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(CALL_TIMEOUT)
        if not self._thread.is_alive():
            self._loop.close()


def template_config(name: str, vmid: int) -> dict[str, Any]:
    """A cloud-init ready template as an operator prepares one (`qm template` of a cloud image)."""
    return {
        "name": name,
        "template": 1,
        "ostype": "l26",
        "cores": 1,
        "memory": 512,
        "agent": "1",
        "scsihw": "virtio-scsi-single",
        "scsi0": f"{DISK_STORAGE}:base-{vmid}-disk-0,size=2G",
        "ide2": f"{CLOUDINIT_STORAGE}:vm-{vmid}-cloudinit,media=cdrom",
        "boot": "order=scsi0",
        "serial0": "socket",
        "vga": "serial0",
        "net0": f"virtio=BC:24:11:00:{vmid // 256 % 256:02X}:{vmid % 256:02X},bridge={BRIDGE}",
    }


def seed(pve: FakePve, templates: Mapping[str, int]) -> None:
    """The token, and a template VM (with its disk and cloud-init volumes) per image."""
    pve.apitokens[TOKEN_ID] = TOKEN_SECRET
    volumes = pve.storages[DISK_STORAGE].setdefault("volumes", {})
    for name, vmid in templates.items():
        pve.add_vm(vmid, name, node=NODE, config=template_config(name, vmid), template=True)
        now = int(time.time())
        volumes[f"base-{vmid}-disk-0"] = {
            "content": "images",
            "format": "raw",
            "size": TEMPLATE_DISK_BYTES,
            "vmid": vmid,
            "ctime": now,
        }
        volumes[f"vm-{vmid}-cloudinit"] = {
            "content": "images",
            "format": "raw",
            "size": 4 * 1024**2,
            "vmid": vmid,
            "ctime": now,
        }


def serve(
    *,
    templates: Mapping[str, int] = TEMPLATES,
    time_scale: float = 0.0,
    pve_class: type[FakePve] = NuagePve,
) -> Served:
    """Start a seeded fake (fakepve with our extension, tests/pve/extension.py). time_scale 0:
    every Proxmox task ends before its HTTP answer."""
    pve = pve_class(host=HOST, port=0)
    pve.time_scale = time_scale
    seed(pve, templates)
    return Served(pve)

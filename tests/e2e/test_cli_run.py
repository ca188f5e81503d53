"""What `make run` does, end to end over real HTTP: migrate, bootstrap the demo account once,
serve the API with its in-process worker, and reuse everything on the next start."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.console_support import rfb_desktop_name
from tests.support import IMAGES, LOCATION, SIZES, free_port

NUAGE = str(Path(sys.executable).with_name("nuage"))


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUAGE_")}
    return {**env, "NUAGE_DATA_DIR": str(data_dir), "NUAGE_SIM_LATENCY_MS": "50"}


class Server:
    def __init__(self, data_dir: Path, **env_overrides: str) -> None:
        self.port = free_port()
        # PYTHONFAULTHANDLER: a server that does not stop is killed with SIGABRT, which prints
        # every thread's stack into its log for the failure message.
        env = {**_env(data_dir), "PYTHONFAULTHANDLER": "1", **env_overrides}
        self.log_path = data_dir.parent / f"demo-{self.port}.log"
        self.log = self.log_path.open("w")
        subprocess.run([NUAGE, "db", "upgrade"], env=env, check=True, capture_output=True)
        self.proc = subprocess.Popen(
            [NUAGE, "demo", "--port", str(self.port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        self.banner = self._read_banner()
        self.base = f"http://127.0.0.1:{self.port}"
        self._wait_healthy()

    def _read_banner(self) -> list[str]:
        assert self.proc.stdout is not None
        lines = []
        for line in self.proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("API docs:"):
                return lines
        raise AssertionError(f"no banner: {lines}")

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError("server did not come up")

    @property
    def credentials(self) -> dict[str, str]:
        line = next(x for x in self.banner if x.startswith("{"))
        data: dict[str, str] = json.loads(line)
        return data

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)  # a loaded CI machine: worker, sender and streams drain
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGABRT)
            self.proc.wait(timeout=10)
            raise AssertionError(
                f"demo did not stop on SIGINT:\n{self.log_path.read_text()[-6000:]}"
            ) from None
        finally:
            self.log.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


@pytest.fixture
def server(data_dir: Path) -> Iterator[Server]:
    srv = Server(data_dir)
    yield srv
    if srv.proc.poll() is None:
        srv.stop()


def test_make_run_serves_the_demo_account_and_completes_tasks(server: Server) -> None:
    creds = server.credentials
    assert set(creds) == {"user_id", "organization_id", "project_id", "api_key"}
    assert creds["api_key"].startswith("sk-onetsolutions-")
    curl = next(x for x in server.banner if "curl" in x and "/instances" in x)
    assert creds["api_key"] in curl and f":{server.port}/" in curl
    assert httpx.get(f"{server.base}/readyz").json() == {"status": "ok"}

    headers = {"Authorization": f"Bearer {creds['api_key']}"}
    base = (
        f"{server.base}/v1/organizations/{creds['organization_id']}"
        f"/projects/{creds['project_id']}/compute"
    )
    body = {
        "name": "e2e",
        "size_id": SIZES["nano"],
        "location_id": LOCATION,
        "image_id": IMAGES["debian"],
    }
    created = httpx.post(f"{base}/instances", json=body, headers=headers)
    assert created.status_code == 201, created.text
    task = httpx.get(created.headers["Location"], params={"wait": 15}, headers=headers).json()
    assert task["status"] == "completed", task
    assert (
        httpx.get(f"{base}/instances/{created.json()['id']}", headers=headers).json()["status"]
        == "running"
    )


def test_second_start_reuses_account_and_data(data_dir: Path) -> None:
    first = Server(data_dir)
    creds = first.credentials
    headers = {"Authorization": f"Bearer {creds['api_key']}"}
    base = (
        f"{first.base}/v1/organizations/{creds['organization_id']}"
        f"/projects/{creds['project_id']}/compute"
    )
    body = {
        "name": "kept",
        "size_id": SIZES["nano"],
        "location_id": LOCATION,
        "image_id": IMAGES["debian"],
    }
    instance = httpx.post(f"{base}/instances", json=body, headers=headers).json()
    first.stop()

    second = Server(data_dir)
    try:
        assert second.credentials == creds
        base2 = base.replace(first.base, second.base)
        got = httpx.get(f"{base2}/instances/{instance['id']}", headers=headers)
        assert got.status_code == 200 and got.json()["name"] == "kept"
    finally:
        second.stop()


def test_bootstrap_prints_one_json_object_and_reuses_the_account(tmp_path: Path) -> None:
    env = _env(tmp_path)
    subprocess.run([NUAGE, "db", "upgrade"], env=env, check=True, capture_output=True)
    args = [
        NUAGE,
        "bootstrap",
        "--email",
        "ops@example.com",
        "--password",
        "s3cret-pass",
        "--organization",
        "Acme",
        "--project",
        "web",
    ]
    one = json.loads(subprocess.run(args, env=env, check=True, capture_output=True).stdout)
    two = json.loads(subprocess.run(args, env=env, check=True, capture_output=True).stdout)
    assert set(one) == {"user_id", "organization_id", "project_id", "api_key"}
    assert {k: one[k] for k in ("user_id", "organization_id", "project_id")} == {
        k: two[k] for k in ("user_id", "organization_id", "project_id")
    }
    assert one["api_key"] != two["api_key"]
    wrong = subprocess.run(
        [*args[:4], "wrong-password"], env=env, capture_output=True, text=True, check=False
    )
    assert wrong.returncode != 0


def test_make_run_opens_a_console_through_its_own_address(server: Server) -> None:
    """The session's URL names the port `nuage demo` listens on, and its bridge (uvicorn's
    WebSocket, the in-process worker's simulated display) answers the RFB handshake."""
    creds = server.credentials
    headers = {"Authorization": f"Bearer {creds['api_key']}"}
    base = (
        f"{server.base}/v1/organizations/{creds['organization_id']}"
        f"/projects/{creds['project_id']}/compute"
    )
    body = {"name": "vnc", "size_id": SIZES["nano"], "location_id": LOCATION}
    created = httpx.post(
        f"{base}/instances", json={**body, "image_id": IMAGES["debian"]}, headers=headers
    )
    instance_id = created.json()["id"]
    asked = httpx.post(f"{base}/instances/{instance_id}/console", headers=headers)
    assert asked.status_code == 202, asked.text
    task = httpx.get(asked.headers["Location"], params={"wait": 15}, headers=headers).json()
    assert task["status"] == "completed", task

    session = task["result"]
    assert session["url"] == f"ws://127.0.0.1:{server.port}/v1/console/{session['id']}"
    desktop = asyncio.run(rfb_desktop_name(session["url"], session["token"]))
    assert desktop == f"QEMU (nuage-{instance_id})"

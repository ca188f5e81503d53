"""The console page shows a real libvirt guest's screen through noVNC and the console session's
WebSocket bridge, and the bridge refuses a wrong, used or expired ticket, in a real browser.

`NUAGE_UPDATE_SCREENSHOT=1` also saves the page as docs/console.png (the README's picture).
"""

import asyncio
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import httpx
import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from nuage.db.models import ConsoleSession
from nuage.db.session import engine_for
from nuage.services import hosts
from tests.contract import live
from tests.contract.live import LiveServer
from tests.drivers.conftest import libvirt_test_guest
from tests.support import LOCATION
from tests.web.conftest import ROOT, chromium, in_thread, sign_in

pytestmark = [pytest.mark.slow]
DOCS_SHOT = ROOT / "docs" / "console.png"
# Any pixel of the canvas that is not black (noVNC's canvas is transparent black before the
# first frame).
SHOWS_SOMETHING = """() => {
  const canvas = document.querySelector('#screen canvas');
  if (!canvas || !canvas.width) return false;
  const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 0; i < d.length; i += 4) if (d[i] || d[i + 1] || d[i + 2]) return true;
  return false;
}"""
# What the browser sees of a WebSocket to `url`: "open", or "closed <code>" when refused.
TRY_SOCKET = """(url) => new Promise((resolve) => {
  const ws = new WebSocket(url);
  ws.onopen = () => { resolve('open'); ws.close(); };
  ws.onclose = (event) => resolve('closed ' + event.code);
})"""


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[LiveServer]:
    """`nuage serve` whose one host is libvirt (qemu:///system, the tiny test guest), with its
    running instance."""
    chromium()
    guest = libvirt_test_guest()
    images = data_dir / "images"  # the server's default images directory
    images.mkdir()
    (images / "base.qcow2").symlink_to(guest / "base.qcow2")
    host = hosts.HostSpec("kvm-web", LOCATION, "libvirt", "qemu:///system", 4, 8192, 200)
    env = {
        "NUAGE_LIBVIRT_KERNEL": str(guest / "vmlinuz"),
        "NUAGE_LIBVIRT_INITRD": str(guest / "initrd.img"),
    }
    started = in_thread(live.start, data_dir, host=host, extra_env=env, size="nano")
    try:
        yield started
    finally:
        _delete(started)
        started.stop()


def _delete(server: LiveServer) -> None:
    """Delete the guest through the API, so that no libvirt domain outlives the test."""
    url = f"{server.compute}/instances/{server.instance_id}"
    task = httpx.delete(url, headers=server.headers, timeout=30).json()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        got = httpx.get(
            f"{server.compute}/tasks/{task['id']}",
            params={"wait": 20},
            headers=server.headers,
            timeout=30,
        ).json()
        if got["status"] in {"completed", "failed", "cancelled"}:
            return


def _session(server: LiveServer) -> tuple[str, str]:
    """A console session opened through the API: its WebSocket path and its one-time token."""
    task = httpx.post(
        f"{server.compute}/instances/{server.instance_id}/console", headers=server.headers
    ).json()
    done = httpx.get(
        f"{server.compute}/tasks/{task['id']}",
        params={"wait": 20},
        headers=server.headers,
        timeout=30,
    ).json()
    assert done["status"] == "completed", done
    return httpx.URL(done["result"]["url"]).path, done["result"]["token"]


def test_the_console_shows_the_guests_screen_and_sends_ctrl_alt_del(
    page: Page, server: LiveServer
) -> None:
    sign_in(page, server.base)
    page.goto(
        f"{server.base}/#/o/{server.organization_id}/p/{server.project_id}/instances/{server.instance_id}"
    )
    page.get_by_role("link", name="Open console").click()
    expect(page.locator("#console-status")).to_contain_text("Connected", timeout=30_000)
    page.wait_for_function(SHOWS_SOMETHING, timeout=30_000)
    if os.environ.get("NUAGE_UPDATE_SCREENSHOT"):
        page.screenshot(path=str(DOCS_SHOT))
    cad = page.get_by_role("button", name="Send Ctrl-Alt-Del")
    expect(cad).to_be_enabled()
    cad.click()
    page.locator("#screen canvas").click()  # focus: the keyboard goes to the guest
    page.keyboard.type("ls\n")
    page.wait_for_timeout(500)
    expect(page.locator("#screen")).to_have_attribute("data-connected", "1")
    # The page's own ticket was used: that session opens nothing again, whatever the token.
    session_id = page.locator("#screen").get_attribute("data-session")
    socket = f"ws://{server.base.removeprefix('http://')}/v1/console/{session_id}?token=guess"
    assert page.evaluate(TRY_SOCKET, socket).startswith("closed")


def test_a_wrong_or_used_ticket_is_refused_in_the_browser(page: Page, server: LiveServer) -> None:
    page.goto(server.base + "/")
    ws_base = "ws://" + server.base.removeprefix("http://")
    path, token = _session(server)
    assert page.evaluate(TRY_SOCKET, f"{ws_base}{path}?token=wrong-{token}").startswith("closed")
    assert page.evaluate(TRY_SOCKET, f"{ws_base}{path}?token={token}") == "open"  # first use
    assert page.evaluate(TRY_SOCKET, f"{ws_base}{path}?token={token}").startswith("closed")


async def _expire(data_dir: Path, session_id: str) -> None:
    """Age a console session past its expiry in the server's database."""
    engine = engine_for(live.settings_of(data_dir))
    try:
        async with engine.begin() as conn:
            await conn.execute(
                sa.update(ConsoleSession)
                .where(ConsoleSession.id == UUID(session_id))
                .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
    finally:
        await engine.dispose()


def test_an_expired_ticket_is_refused_in_the_browser(
    page: Page, server: LiveServer, data_dir: Path
) -> None:
    page.goto(server.base + "/")
    path, token = _session(server)
    in_thread(asyncio.run, _expire(data_dir, path.rsplit("/", 1)[1]))
    socket = f"ws://{server.base.removeprefix('http://')}{path}?token={token}"
    assert page.evaluate(TRY_SOCKET, socket).startswith("closed")

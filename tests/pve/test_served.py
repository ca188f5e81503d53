"""The served fake is what a nuage host expects: TLS verified against its CA, the API token, the
templates per image, and faults that reach a client."""

import pytest
import requests
from proxmoxer import ProxmoxAPI, ResourceException

from tests.pve import recording
from tests.pve.fixtures import client
from tests.pve.served import NODE, TEMPLATES, Served


def test_a_template_per_image_is_cloned_and_configured_with_the_token(
    pve: Served, pve_api: ProxmoxAPI
) -> None:
    node = pve_api.nodes(NODE)
    templates = {vm["vmid"]: vm for vm in node.qemu.get() if vm.get("template")}
    assert set(templates) == set(TEMPLATES.values())

    upid = node.qemu(TEMPLATES["debian-12"]).clone.post(newid=101, name="web-1", full=1)
    assert node.tasks(upid).status.get()["exitstatus"] == "OK"
    node.qemu(101).config.put(ciuser="nuage", ipconfig0="ip=10.0.0.5/24,gw=10.0.0.1")
    config = node.qemu(101).config.get()
    assert config["name"] == "web-1"
    assert config["ipconfig0"] == "ip=10.0.0.5/24,gw=10.0.0.1"
    assert config["scsi0"].startswith("local-lvm:vm-101-disk-0")


def test_a_wrong_token_is_refused_with_401(pve: Served) -> None:
    pve.token_secret = "not-the-secret"
    with pytest.raises(ResourceException) as refused:
        client(pve).version.get()
    assert refused.value.status_code == 401


def test_tls_is_verified_against_the_fake_certificate_only(pve: Served) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{pve.url}/api2/json/version", verify=True, timeout=5)


def test_requests_are_recorded_on_the_client_side_with_their_query(
    pve: Served, pve_api: ProxmoxAPI
) -> None:
    before = len(recording.sent)
    pve_api.nodes(NODE).qemu(TEMPLATES["rocky-9"]).config.get(current=1)
    seen = recording.sent[before:]
    assert [str(s) for s in seen] == [
        f"GET /nodes/{NODE}/qemu/{TEMPLATES['rocky-9']}/config [current=1]"
    ]

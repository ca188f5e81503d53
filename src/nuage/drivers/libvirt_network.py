"""The guests' network interfaces on libvirt, and the isolated networks they sit on.

Every guest has a primary virtio interface `eth0` on one isolated libvirt network the driver
ensures exists (`GUEST_NETWORK`): a bridge with no `<forward>` and no `<ip>`, so the host has
no address on it, routes nothing to it and forwards nothing out of it. An interface's MAC
address, host-side device (`<target dev>`) and alias (`ua-eth0`) derive from the machine id and
the interface's index alone, so every definition of a machine gives them again: an nwfilter is
bound by a `<filterref>` inside `<interface>`, and the device name finds the interface's tap.

A VPC is an isolated network of its own, `nuage-vpc-<VPC id>` (bridge `nv` + 13 hex digits of
its id's hash), with its members' second interface `eth1` on it. It is made when a machine of
the host joins and removed when no domain of the host (defined or running) is on it any more
(`unused`). A join racing the last member's leave on one host can find the network removed
under it: its start then fails and a retry makes the network again.
"""

import hashlib
import xml.etree.ElementTree as ET
from typing import Any
from xml.sax.saxutils import escape, quoteattr

GUEST_NETWORK = "nuage-guests"
VPC_PREFIX = "nuage-vpc-"
_BRIDGE_NAME_MAX = 15  # Linux IFNAMSIZ - 1


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("\0".join(parts).encode()).digest()


def nic_mac(machine_id: str, index: int) -> str:
    """QEMU's locally administered 52:54:00 prefix, then three bytes of the machine and index."""
    tail = _digest("mac", machine_id, str(index))[:3]
    return "52:54:00:" + ":".join(f"{b:02x}" for b in tail)


def nic_device(machine_id: str, index: int) -> str:
    """The host-side tap device of the guest's `eth<index>` (14 characters, never `vnet…`,
    which libvirt renames)."""
    return f"nu{_digest('dev', machine_id).hex()[:10]}-{index}"


def nic_alias(index: int) -> str:
    return f"ua-eth{index}"  # user aliases must start with "ua-"


def interface_xml(
    machine_id: str, index: int, network: str, *, filter_name: str | None = None
) -> str:
    """The guest's virtio interface `eth<index>` on libvirt network `network`, filtered by the
    nwfilter `filter_name` if given (`libvirt_firewall`)."""
    filterref = "" if filter_name is None else f"<filterref filter={_q(filter_name)}/>"
    return (
        f"<interface type='network'><mac address={_q(nic_mac(machine_id, index))}/>"
        f"<source network={_q(network)}/><target dev={_q(nic_device(machine_id, index))}/>"
        f"<model type='virtio'/>{filterref}<alias name={_q(nic_alias(index))}/></interface>"
    )


def vpc_network(network_id: str) -> tuple[str, str]:
    """The libvirt network of a VPC and its bridge: (name, bridge)."""
    return f"{VPC_PREFIX}{network_id}", f"nv{_digest('bridge', network_id).hex()[:13]}"


def vpc_network_ids(conn: Any) -> frozenset[str]:
    """The VPCs whose networks this host has."""
    names = (str(net.name()) for net in conn.listAllNetworks(0))
    return frozenset(n.removeprefix(VPC_PREFIX) for n in names if n.startswith(VPC_PREFIX))


def networks_of(xml: str) -> set[str]:
    """The libvirt networks a domain's XML has interfaces on."""
    found = ET.fromstring(xml).iterfind("./devices/interface[@type='network']/source")
    return {name for source in found if (name := source.get("network"))}


def unused(lv: Any, conn: Any, name: str) -> bool:
    """No domain of the host, as defined or as running, has an interface on network `name`."""
    for dom in conn.listAllDomains(0):
        try:
            xmls = [dom.XMLDesc(lv.VIR_DOMAIN_XML_INACTIVE)]
            if dom.isActive():
                xmls.append(dom.XMLDesc(0))
        except lv.libvirtError as exc:
            if exc.get_error_code() == lv.VIR_ERR_NO_DOMAIN:
                continue  # removed meanwhile
            raise
        if any(name in networks_of(xml) for xml in xmls):
            return False
    return True


def isolated_network_xml(name: str, bridge: str) -> str:
    """A network with neither `<forward>` (nothing leaves it) nor `<ip>` (the host has no
    address on it, hence no route to it and no DHCP/DNS server)."""
    if not bridge or len(bridge) > _BRIDGE_NAME_MAX:
        raise ValueError(f"bridge name {bridge!r} is not 1 to {_BRIDGE_NAME_MAX} characters")
    return (
        f"<network><name>{_e(name)}</name><bridge name={_q(bridge)} stp='off' delay='0'/></network>"
    )


def is_isolated(xml: str) -> bool:
    """True when a network's XML (as libvirt gives it back) neither forwards nor has an address."""
    root = ET.fromstring(xml)
    return root.find("forward") is None and root.find("ip") is None


def ensure_network(lv: Any, conn: Any, name: str, bridge: str) -> Any:
    """The persistent, active, autostarted network `name`, defined and started if missing.
    Safe when several processes ensure it at once: the loser of a define race looks it up."""
    net = _lookup_network(lv, conn, name)
    if net is None:
        try:
            net = conn.networkDefineXML(isolated_network_xml(name, bridge))
        except lv.libvirtError:
            net = _lookup_network(lv, conn, name)
            if net is None:
                raise
    if not net.isActive():
        try:
            net.create()
        except lv.libvirtError:
            if not net.isActive():  # started by another process meanwhile: fine
                raise
    if not net.autostart():
        net.setAutostart(1)
    return net


def remove_network(lv: Any, conn: Any, name: str) -> None:
    """Stop and undefine network `name`; nothing to do when it is gone."""
    net = _lookup_network(lv, conn, name)
    if net is None:
        return
    try:
        if net.isActive():
            net.destroy()
        net.undefine()
    except lv.libvirtError as exc:
        if exc.get_error_code() != lv.VIR_ERR_NO_NETWORK:
            raise


def _lookup_network(lv: Any, conn: Any, name: str) -> Any | None:
    try:
        return conn.networkLookupByName(name)
    except lv.libvirtError as exc:
        if exc.get_error_code() == lv.VIR_ERR_NO_NETWORK:
            return None
        raise


def _q(value: object) -> str:
    return quoteattr(str(value))


def _e(value: object) -> str:
    return escape(str(value))

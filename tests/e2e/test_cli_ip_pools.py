"""`nuage ip-pools add|list|set`: operators manage a location's pools from the command line;
bad ranges and overlaps are refused naming the field."""

import json
from pathlib import Path

from tests.e2e.test_cli_hosts import nuage


def test_ip_pools_add_list_and_deactivate(tmp_path: Path) -> None:
    assert nuage(tmp_path, "db", "upgrade").returncode == 0
    add = ["ip-pools", "add", "--name", "par1-v4", "--location", "par1"]

    added = nuage(tmp_path, *add, "--cidr", "192.0.2.0/28", "--ptr-domain", "ip.example.net")
    assert added.returncode == 0, added.stderr
    shown = json.loads(added.stdout)
    assert (shown["version"], shown["gateway"], shown["first"], shown["last"]) == (
        4,
        "192.0.2.1",
        "192.0.2.2",
        "192.0.2.14",
    )
    assert (shown["size"], shown["used"], shown["is_active"]) == (13, 0, True)

    overlapping = nuage(
        tmp_path, "ip-pools", "add", "--name", "o", "--location", "fra1", "--cidr", "192.0.2.8/29"
    )
    assert overlapping.returncode == 2 and '"cidr"' in overlapping.stderr
    bad = nuage(tmp_path, *add[:3], "v6", "--location", "par1", "--cidr", "2001:db8::1/64")
    assert bad.returncode == 2 and '"cidr"' in bad.stderr  # host bits set

    v6 = nuage(tmp_path, *add[:3], "par1-v6", "--location", "par1", "--cidr", "2001:db8::/64")
    assert v6.returncode == 0, v6.stderr
    listed = [json.loads(line) for line in nuage(tmp_path, "ip-pools", "list").stdout.splitlines()]
    assert [(p["name"], p["version"]) for p in listed] == [("par1-v4", 4), ("par1-v6", 6)]

    changed = nuage(tmp_path, "ip-pools", "set", "par1-v4", "--inactive")
    assert changed.returncode == 0 and json.loads(changed.stdout)["is_active"] is False
    missing = nuage(tmp_path, "ip-pools", "set", "nope", "--active")
    assert missing.returncode == 2 and "nope" in missing.stderr

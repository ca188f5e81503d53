"""`nuage hosts add|set` take a host's driver configuration and secret reference, refuse bad ones
naming the field, and show the reference, never a secret."""

import json
import subprocess
from pathlib import Path

from nuage.domain.drivers import SIM
from tests.e2e.test_cli_run import NUAGE, _env


def nuage(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [NUAGE, *args], env=_env(data_dir), capture_output=True, text=True, check=False
    )


def test_hosts_add_and_set_take_config_and_secret_reference(tmp_path: Path) -> None:
    assert nuage(tmp_path, "db", "upgrade").returncode == 0
    add = ["hosts", "add", "--name", "sim-x", "--location", "par1", "--driver", "sim"]
    add += ["--uri", "sim://", "--vcpu", "4", "--ram-mb", "4096", "--disk-gb", "100"]

    refused = nuage(tmp_path, *add, "--config", '{"latency_ms": -5}')
    assert refused.returncode == 2 and '"config": {"latency_ms"' in refused.stderr
    added = nuage(
        tmp_path, *add, "--config", '{"capabilities": ["power"]}', "--secret-ref", "env:TOKEN"
    )
    assert added.returncode == 0, added.stderr
    shown = json.loads(added.stdout)
    assert shown["config"] == {"capabilities": ["power"]}
    assert (shown["secret_ref"], shown["capabilities"]) == ("env:TOKEN", ["power"])

    changed = nuage(tmp_path, "hosts", "set", "sim-x", "--config", "{}", "--secret-ref", "")
    assert changed.returncode == 0, changed.stderr
    shown = json.loads(changed.stdout)
    assert (shown["config"], shown["secret_ref"]) == ({}, None)
    assert shown["capabilities"] == sorted(SIM.capabilities)

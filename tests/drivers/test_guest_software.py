"""The seed's user-data as a stock cloud image's cloud-init reads it (the test guest reads only
`packages`): the software to install, what to remove, and that both are applied at every boot,
not only the first one of the instance id nuage keeps."""

from typing import Any

import yaml

from nuage.drivers.guest_software import user_data

SEM = "/var/lib/cloud/instance/sem/config_"


def cloud_config(text: str) -> dict[str, Any]:
    assert text.startswith("#cloud-config\n")
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def test_software_is_installed_and_removed_at_every_boot() -> None:
    config = cloud_config(user_data(["nginx", "docker.io"], ["redis-server"]))
    assert config["packages"] == ["docker.io", "nginx"]
    [remove] = config["runcmd"]
    assert remove[-2:] == ["remove", "redis-server"]
    [clear] = config["bootcmd"]  # bootcmd runs at every boot, before the modules below
    cleared = clear[-1].removeprefix("rm -f ").split()
    assert cleared == [
        SEM + "package_update_upgrade_install",  # the module that installs `packages`
        SEM + "runcmd",  # writes the runcmd script ...
        SEM + "scripts_user",  # ... which this one runs
    ]
    assert config["updates"] == {"network": {"when": ["boot"]}}


def test_a_machine_without_software_keeps_cloud_inits_defaults() -> None:
    config = cloud_config(user_data([]))
    assert set(config) == {"updates"}

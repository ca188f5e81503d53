"""What a guest is told about its software, and what it says back.

`user_data` is the cloud-config the libvirt driver puts in the NoCloud seed: `packages` lists the
software the machine is to have (cloud-init installs it with the image's package manager), and
`runcmd` removes what nuage installed before and was uninstalled since, after the network
settings of `libvirt_files.USER_DATA`. cloud-init runs `packages` and `runcmd` once per instance
id, and nuage keeps the instance id across a software change (a new one would make cloud-init
treat the machine as new: new SSH host keys, users again); so a `bootcmd`, which runs at every
boot before those modules, clears their per-instance semaphores, and a changed list is applied at
the next boot of a stock cloud image too.

`software_line` is the line the nuage test guest prints at each boot after reading the seed's
`packages`, and the simulator prints at each of its boots: `NUAGE-SOFTWARE docker.io nginx`
(sorted; `NUAGE-SOFTWARE` alone when there is none). The contract suite reads it from both.

`package_command` is the command that installs or removes packages with whichever package manager
the image has (apt on Debian and Ubuntu, dnf on Rocky): the removal the seed's `runcmd` runs, and
what the Proxmox driver runs through the QEMU guest agent (`proxmox_software`).
"""

from collections.abc import Sequence

from .libvirt_files import USER_DATA

SOFTWARE_LINE = "NUAGE-SOFTWARE"


def package_command(action: str, packages: Sequence[str]) -> list[str]:
    """`sh -c '<script>' <action> <packages…>`, `action` being install or remove; the packages
    are arguments (never parsed by the shell), checked names of the software catalogue."""
    if action not in ("install", "remove"):
        raise ValueError(f"unknown package action {action!r}")
    script = f'apt-get {action} -y "$@" || dnf {action} -y "$@"'
    if action == "install":  # a fresh cloud image has no package lists yet
        script = f"apt-get update -qq; {script}"
    return ["sh", "-c", script, action, *sorted(packages)]


_REMOVE = "  - [sh, -c, '{}', remove".format(package_command("remove", [])[2])


def software_line(packages: Sequence[str]) -> str:
    return " ".join([SOFTWARE_LINE, *sorted(packages)])


# The semaphores cloud-init leaves for the per-instance modules `packages` and `runcmd` need.
_SEMAPHORES = " ".join(
    f"/var/lib/cloud/instance/sem/config_{module}"
    for module in ("package_update_upgrade_install", "runcmd", "scripts_user")
)
_EVERY_BOOT = f"bootcmd:\n  - [sh, -c, 'rm -f {_SEMAPHORES}']\n"


def user_data(packages: Sequence[str], removed: Sequence[str] = ()) -> str:
    """The seed's `user-data`: `USER_DATA`, then (when there is software to apply) the
    `bootcmd` that has cloud-init apply it at every boot, `packages` (sorted) and a `runcmd`
    that removes `removed`."""
    text = USER_DATA
    if packages or removed:
        text += _EVERY_BOOT
    if packages:
        text += "packages:\n" + "".join(f"  - {p}\n" for p in sorted(packages))
    if removed:
        text += "runcmd:\n" + _REMOVE + "".join(f", {p}" for p in sorted(removed)) + "]\n"
    return text

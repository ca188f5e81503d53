"""What a guest is told about its software, and what it says back.

`user_data` is the cloud-config the libvirt driver puts in the NoCloud seed: `packages` lists the
software the machine is to have (cloud-init installs it with the image's package manager), and
`runcmd` removes what nuage installed before and was uninstalled since, after the network
settings of `libvirt_files.USER_DATA`.

`software_line` is the line the nuage test guest prints at each boot after reading the seed's
`packages`, and the simulator prints at each of its boots: `NUAGE-SOFTWARE docker.io nginx`
(sorted; `NUAGE-SOFTWARE` alone when there is none). The contract suite reads it from both.
"""

from collections.abc import Sequence

from .libvirt_files import USER_DATA

SOFTWARE_LINE = "NUAGE-SOFTWARE"

# Removal through whichever package manager the image has (apt on Debian and Ubuntu, dnf on Rocky).
_REMOVE = '  - [sh, -c, \'apt-get remove -y "$@" || dnf remove -y "$@"\', remove'


def software_line(packages: Sequence[str]) -> str:
    return " ".join([SOFTWARE_LINE, *sorted(packages)])


def user_data(packages: Sequence[str], removed: Sequence[str] = ()) -> str:
    """The seed's `user-data`: `USER_DATA`, then `packages` (sorted) and a `runcmd` that
    removes `removed`."""
    text = USER_DATA
    if packages:
        text += "packages:\n" + "".join(f"  - {p}\n" for p in sorted(packages))
    if removed:
        text += "runcmd:\n" + _REMOVE + "".join(f", {p}" for p in sorted(removed)) + "]\n"
    return text

"""The handlers of the supported task types, one module per resource; importing this package
registers them all (see `registry.handles`)."""

from nuage.engine.handlers import (
    backups,
    config,
    console,
    firewall,
    instances,
    ips,
    snapshots,
    software,
    volumes,
    vpcs,
)
from nuage.engine.handlers.registry import HANDLERS, Handler, handler_for, handles

__all__ = [
    "HANDLERS",
    "Handler",
    "backups",
    "config",
    "console",
    "firewall",
    "handler_for",
    "handles",
    "instances",
    "ips",
    "snapshots",
    "software",
    "volumes",
    "vpcs",
]

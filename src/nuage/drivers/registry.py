"""The driver registry: the one list of driver classes, and building the driver of a host.

Each class points at its description (`domain.drivers`), which the services read for the same
facts (names, capabilities, host configuration); tests/drivers/test_driver_registry.py holds the
two lists equal. Adding a driver is one class here and one description there.
"""

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from nuage.config import Settings
from nuage.domain.errors import NuageError, PermanentError, ValidationFailed
from nuage.domain.secrets import parse_secret_ref

from .base import Driver, HostSetup
from .libvirt import LibvirtDriver
from .proxmox import ProxmoxDriver
from .secrets import read_secret
from .sim import SimDriver

DRIVER_CLASSES: tuple[type[Driver], ...] = (SimDriver, LibvirtDriver, ProxmoxDriver)
_BY_NAME: Mapping[str, type[Driver]] = {cls.description.name: cls for cls in DRIVER_CLASSES}


def driver_class(name: str) -> type[Driver]:
    """PermanentError `driver_unavailable` for a name this version does not have."""
    try:
        return _BY_NAME[name]
    except KeyError:
        message = f"Driver {name!r} is not one this worker has ({', '.join(_BY_NAME)})."
        raise PermanentError(message, code="driver_unavailable") from None


def build_driver(
    *,
    driver: str,
    host: str,
    uri: str,
    config: Mapping[str, Any] | None,
    secret_ref: str | None,
    settings: Settings,
) -> Driver:
    """The driver of one registered host. PermanentError `driver_unavailable`,
    `invalid_host_config` (a stored configuration this version cannot read) or
    `secret_unavailable`."""
    cls = driver_class(driver)
    try:
        checked = cls.description.parse_config(config)
    except ValidationError as exc:
        message = f"Host {host} has a configuration the {driver} driver refuses: {exc}"
        raise PermanentError(message, code="invalid_host_config") from exc
    secret = None
    if secret_ref:
        try:
            secret = read_secret(parse_secret_ref(secret_ref))
        except ValueError as exc:
            raise PermanentError(f"Host {host}: {exc}", code="secret_unavailable") from exc
    return cls.for_host(HostSetup(name=host, uri=uri, config=checked, secret=secret), settings)


# Which field of a host's registration a driver's refusal points at.
_FIELD_OF_CODE: Mapping[str, str] = {
    "host_auth_failed": "secret_ref",
    "secret_unavailable": "secret_ref",
    "host_forbidden": "secret_ref",
    "host_unreachable": "uri",
    "host_tls_failed": "config",
    "invalid_host_config": "config",
}


async def check_host(
    settings: Settings,
    *,
    driver: str,
    name: str,
    uri: str,
    config: Mapping[str, Any],
    secret_ref: str | None,
) -> None:
    """Reach a host about to be registered with the driver built as a worker builds it, when
    the driver can be tried (`probe`: the Proxmox driver checks the API, token and node);
    ValidationFailed naming the field at fault, with the driver's message (never a secret)."""
    if not hasattr(driver_class(driver), "probe"):
        return  # nothing to try (sim, libvirt): the host is checked when its worker builds it
    try:
        built = build_driver(
            driver=driver,
            host=name,
            uri=uri,
            config=config,
            secret_ref=secret_ref,
            settings=settings,
        )
    except NuageError as exc:
        raise ValidationFailed.on(_FIELD_OF_CODE.get(exc.code, "config"), str(exc)) from exc
    try:
        await built.probe()  # type: ignore[attr-defined]
    except NuageError as exc:
        field = _FIELD_OF_CODE.get(exc.code, "config")
        raise ValidationFailed.on(field, f"{exc} ({exc.code})") from exc
    finally:
        await built.close()

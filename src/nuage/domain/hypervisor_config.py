"""Hypervisor settings an operator may set on one instance (`apply_config`): an allow-list per
driver, each key with the values it takes.

A driver's description (`domain.drivers`) names its keys; the API refuses any other key, or a bad
value, with a 400 naming it (`check_settings`), and the driver checks again when it applies them
(a host may have changed since). A value of `None` resets the key to the driver's default. The
settings change the machine's definition: a running machine takes them at its next boot.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StrictBool, StringConstraints, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from nuage.domain.errors import PermanentError, ValidationFailed

CpuModel = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
BootDevice = Literal["hd", "cdrom", "network"]


@dataclass(frozen=True, slots=True)
class ConfigKey:
    name: str
    doc: str  # what the key sets, for the docs and the error naming the allowed keys
    values: TypeAdapter[Any]

    def check(self, value: object) -> object:
        """The value as stored; ValueError saying what the key takes."""
        if value is None:
            return None
        try:
            return self.values.validate_python(value, strict=True)
        except PydanticValidationError as error:
            raise ValueError(error.errors()[0]["msg"]) from error


def _unique(devices: list[str]) -> list[str]:
    if len(set(devices)) != len(devices):
        raise ValueError("name each boot device at most once")
    return devices


CPU_MODEL = ConfigKey(
    "cpu_model", "the CPU model the guest sees (e.g. qemu64)", TypeAdapter(CpuModel)
)
BOOT_ORDER = ConfigKey(
    "boot_order",
    "the devices tried at boot, in order (hd, cdrom, network)",
    TypeAdapter(
        Annotated[list[BootDevice], Field(min_length=1, max_length=3), AfterValidator(_unique)]
    ),
)
NESTED_VIRTUALIZATION = ConfigKey(
    "nested_virtualization", "expose the CPU's virtualisation extensions", TypeAdapter(StrictBool)
)
BALLOON = ConfigKey("balloon", "a memory balloon device (true by default)", TypeAdapter(StrictBool))


def key_table(keys: Iterable[ConfigKey]) -> Mapping[str, ConfigKey]:
    return {key.name: key for key in keys}


def check_settings(
    settings: Mapping[str, object], allowed: Mapping[str, ConfigKey], *, where: str = "config"
) -> dict[str, object]:
    """The settings checked against an allow-list; ValidationFailed naming each bad key under
    `where` (unknown keys list the allowed ones)."""
    errors: dict[str, list[str]] = {}
    checked: dict[str, object] = {}
    for name, value in settings.items():
        key = allowed.get(name)
        if key is None:
            names = ", ".join(sorted(allowed)) or "none"
            errors[name] = [f"Unknown setting for this instance's hypervisor; allowed: {names}."]
            continue
        try:
            checked[name] = key.check(value)
        except ValueError as error:
            errors[name] = [f"Invalid value for `{name}` ({key.doc}): {error}."]
    if not settings:
        raise ValidationFailed.on(where, "Name at least one setting.")
    if errors:
        raise ValidationFailed({where: errors})
    return checked


def merged(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The configuration after `changes`: each key set, or removed (back to the default) by None."""
    out = {k: v for k, v in current.items() if k not in changes}
    out.update({k: v for k, v in changes.items() if v is not None})
    return dict(sorted(out.items()))


def checked_by_driver(
    changes: Mapping[str, object], allowed: Mapping[str, ConfigKey]
) -> dict[str, Any]:
    """`check_settings` as a driver raises it: PermanentError `invalid_config`."""
    try:
        return check_settings(changes, allowed)
    except ValidationFailed as error:
        raise PermanentError(f"Refused settings: {error.fields}", code="invalid_config") from error

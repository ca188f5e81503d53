"""Checking what an operator says about a host's driver: its name, its configuration (the
driver description's model) and its secret reference. Each refusal names its field."""

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from nuage.domain.drivers import DESCRIPTIONS, DriverDescription
from nuage.domain.errors import ValidationFailed
from nuage.domain.field_errors import field_errors
from nuage.domain.secrets import parse_secret_ref


def description_of(driver: str) -> DriverDescription:
    description = DESCRIPTIONS.get(driver)
    if description is None:
        raise ValidationFailed.on("driver", f"Use one of: {', '.join(DESCRIPTIONS)}.")
    return description


def checked_config(description: DriverDescription, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The configuration as stored: the keys the operator set, in the model's JSON form."""
    try:
        config = description.parse_config(raw)
    except PydanticValidationError as error:
        raise ValidationFailed({"config": field_errors(error.errors())}) from error
    return config.model_dump(mode="json", exclude_unset=True)


def checked_secret_ref(description: DriverDescription, ref: str | None) -> str | None:
    """Any driver's host may name a secret (its driver is given the value); some must."""
    if ref is None:
        if description.secret_required:
            raise ValidationFailed.on("secret_ref", f"The {description.name} driver needs one.")
        return None
    try:
        return str(parse_secret_ref(ref))
    except ValueError as error:
        raise ValidationFailed.on("secret_ref", str(error)) from error

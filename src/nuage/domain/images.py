"""Custom images: how the hypervisor names an image made from a snapshot, and what sets it apart.

A custom image's name (its `images.slug`, which `create` and `reinstall` hand to the driver) is
`custom-<image id>`. Drivers copy a custom image into a machine's disk rather than layering the
disk over it (an operator's base image never goes away; a custom image can be deleted while
machines made from it live on), and never fall back to another image when it is missing.
"""

from uuid import UUID

CUSTOM_PREFIX = "custom-"


def custom_image_name(image_id: UUID) -> str:
    return f"{CUSTOM_PREFIX}{image_id}"


def is_custom_image(name: str) -> bool:
    return name.startswith(CUSTOM_PREFIX)

"""Catalogue shapes: Location, Size (with its volumes and pricing options) and Image."""

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, field_serializer

from nuage.db.models import Image, Location, Size


class LocationOut(BaseModel):
    id: UUID
    name: str
    slug: str
    country_code: str
    created: datetime
    modified: datetime
    is_active: bool

    @classmethod
    def of(cls, row: Location) -> "LocationOut":
        return cls.model_validate(row, from_attributes=True)


class VolumeOptionOut(BaseModel):
    id: UUID
    volume_type: str
    disk_gb: int
    is_default: bool
    is_active: bool


class PricingOptionOut(BaseModel):
    id: UUID
    billing_cycle: str
    price: Decimal
    discount_percent: Decimal
    is_default: bool
    is_active: bool

    @field_serializer("price", "discount_percent")
    def _money(self, value: Decimal) -> str:
        return f"{value:.2f}"


class SizeOut(BaseModel):
    id: UUID
    name: str
    slug: str
    vcpu: int
    ram_mb: int
    bandwidth_mbps: int
    available_volumes: list[VolumeOptionOut]
    pricing_options: list[PricingOptionOut]
    created: datetime
    modified: datetime
    cpu_model: str
    is_active: bool
    description: str
    disk_gb: int

    @classmethod
    def of(cls, row: Size) -> "SizeOut":
        return cls(
            id=row.id,
            name=row.name,
            slug=row.slug,
            vcpu=row.vcpu,
            ram_mb=row.ram_mb,
            bandwidth_mbps=row.bandwidth_mbps,
            available_volumes=[VolumeOptionOut.model_validate(v) for v in row.volumes],
            pricing_options=[PricingOptionOut.model_validate(p) for p in row.pricing],
            created=row.created,
            modified=row.modified,
            cpu_model=row.cpu_model,
            is_active=row.is_active,
            description=row.description,
            disk_gb=row.disk_gb,
        )


class ImageOut(BaseModel):
    id: UUID
    name: str
    slug: str
    os_name: str
    os_version: str
    is_active: bool
    created: datetime
    modified: datetime

    @classmethod
    def of(cls, row: Image) -> "ImageOut":
        return cls.model_validate(row, from_attributes=True)

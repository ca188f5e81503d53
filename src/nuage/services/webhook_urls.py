"""A webhook URL checked against the addresses its host resolves to (domain/webhooks.py), when
it is saved and again before each delivery (DNS may have changed since: rebinding)."""

import asyncio
import socket
from dataclasses import dataclass

from nuage.domain.errors import WebhookUrlRefused
from nuage.domain.webhooks import Target, check_addresses, literal_address, parse_url

RESOLVE_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class CheckedUrl:
    target: Target
    addresses: list[str]  # every address of the host, each one allowed


async def resolve(host: str) -> list[str]:
    """The addresses of `host` (a literal address is itself); WebhookUrlRefused if it has none
    or the lookup fails."""
    if literal_address(host) is not None:
        return [host]
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
            infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError) as exc:
        raise WebhookUrlRefused(f"The host {host} cannot be resolved ({exc}).") from exc
    return [str(info[4][0]) for info in infos]


async def check_url(url: str, *, allow_private: bool) -> CheckedUrl:
    """The URL's target and addresses, if a webhook may post to it; else WebhookUrlRefused."""
    target = parse_url(url)
    addresses = check_addresses(
        target.host, await resolve(target.host), allow_private=allow_private
    )
    return CheckedUrl(target, addresses)

"""Lists of IP addresses or networks in settings (trusted proxies, metrics scrapers), checked at load."""

from __future__ import annotations

import ipaddress

__all__ = ["checked_networks"]


def checked_networks(setting: str, values: list[str]) -> list[str]:
    """The values stripped, or a ValueError naming the setting and the first value that is not an address/network."""
    for value in values:
        try:
            ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            raise ValueError(f"{setting}: {value!r} is not an IP address or network") from None
    return [value.strip() for value in values]

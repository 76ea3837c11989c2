"""Where webhooks may go: public addresses only, unless the operator says otherwise.

An endpoint URL is checked when it is registered and again on every delivery, at the
moment the socket is opened (:func:`checked_address` is called from the connection
itself, see ``app.webhooks.standard_webhooks``), so a host name that later resolves to an internal
address (DNS rebinding) is refused too.

Refused: loopback, private (RFC 1918, IPv6 ULA), link-local (including the cloud
metadata address 169.254.169.254), multicast, reserved, unspecified and any other
non-global address, also when wrapped in IPv4-mapped, 6to4 or Teredo IPv6 forms.
``WEBHOOK_ALLOWED_HOSTS`` lists host names (or IP literals) that skip these rules;
loopback is allowed when ``WEBHOOK_ALLOW_LOOPBACK`` is true (the default only in
development).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask import current_app

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2000


class UnsafeDestination(ValueError):
    """A webhook URL or address that the rules refuse; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Policy:
    """The destination rules in force, read once from the app's settings."""

    allow_http: bool = False
    allow_loopback: bool = False
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_config(cls) -> Policy:
        config = current_app.config
        development = config["ENV_NAME"] == "development"
        allow_loopback = config.get("WEBHOOK_ALLOW_LOOPBACK")
        return cls(
            allow_http=development,
            allow_loopback=development if allow_loopback is None else _flag(allow_loopback),
            allowed_hosts=frozenset(_host_list(config.get("WEBHOOK_ALLOWED_HOSTS"))),
        )

    def host_allowed(self, host: str) -> bool:
        return _normal_host(host) in self.allowed_hosts


def _flag(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def _host_list(value: object) -> list[str]:
    """A list setting, or a comma-separated string from the environment."""
    if not value:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)  # type: ignore[call-overload]
    return [_normal_host(str(item)) for item in items if str(item).strip()]


def _normal_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


@dataclass(frozen=True)
class Target:
    """A checked URL's parts."""

    url: str
    scheme: str
    host: str
    port: int


def parse_url(url: str, policy: Policy) -> Target:
    """Check a URL's shape: scheme, host, no credentials. Does not resolve the host."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeDestination(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UnsafeDestination(f"not a valid URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in {"https", "http"}:
        raise UnsafeDestination("the URL must start with https://")
    if scheme == "http" and not policy.allow_http:
        raise UnsafeDestination("the URL must use https (http is allowed only in development)")
    if not parts.hostname:
        raise UnsafeDestination("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeDestination("credentials in the URL are not allowed")
    if parts.fragment:
        raise UnsafeDestination("the URL must not have a #fragment")
    return Target(
        url=url.strip(),
        scheme=scheme,
        host=_normal_host(parts.hostname),
        port=port or (443 if scheme == "https" else 80),
    )


def refusal(address: IPAddress, policy: Policy) -> str | None:
    """Why ``address`` may not receive webhooks, or None when it may."""
    embedded: IPAddress | None = None
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address.teredo is not None:
            embedded = address.teredo[1]
    if embedded is not None:
        reason = refusal(embedded, policy)
        if reason is not None:
            return reason
    if address.is_loopback:
        return None if policy.allow_loopback else "loopback addresses are not allowed"
    if address.is_unspecified:
        return "the unspecified address is not allowed"
    if address.is_link_local:
        return "link-local addresses (including cloud metadata) are not allowed"
    if address.is_multicast:
        return "multicast addresses are not allowed"
    if address.is_reserved:
        return "reserved addresses are not allowed"
    if address.is_private:
        return "private addresses are not allowed"
    if not address.is_global:
        return "non-public addresses are not allowed"
    return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeDestination(f"the host {host!r} does not resolve") from exc
    addresses: list[IPAddress] = []
    for info in infos:
        # The scope of a link-local IPv6 address ("fe80::1%eth0") is not part of the address.
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def checked_addresses(host: str, port: int, policy: Policy) -> list[IPAddress]:
    """The addresses of ``host`` that may be connected to; raises if any is refused.

    Every address must pass, not just one: otherwise a host could list a public address
    next to an internal one and let chance pick the target.
    """
    addresses = resolve(host, port)
    if policy.host_allowed(host):
        return addresses
    for address in addresses:
        reason = refusal(address, policy)
        if reason is not None:
            raise UnsafeDestination(reason)
    if not addresses:
        raise UnsafeDestination(f"the host {host!r} does not resolve")
    return addresses


def check_url(url: str, policy: Policy | None = None) -> Target:
    """Check a webhook URL before it is stored: its shape, and where its host points now."""
    policy = policy or Policy.from_config()
    target = parse_url(url, policy)
    if not policy.host_allowed(target.host):
        checked_addresses(target.host, target.port, policy)
    return target

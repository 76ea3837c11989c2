"""Signed, expiring journey links: the customer's only key to their journey."""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.metrics import REJECTED_LINKS
from app.security_events import link_refused
from app.urls import public_url

_SALT = "onramp.journey-link.v1"


class LinkInvalid(Exception):
    """A link that was altered, truncated or signed with another key."""


class LinkExpired(Exception):
    """A genuine link used after its validity ran out."""


@dataclass(frozen=True)
class LinkClaims:
    customer_public_id: str
    journey_id: str
    locale: str | None = None
    # A platform chosen beforehand by the business: the customer skips the picker.
    platform: str | None = None
    # The connection this link re-authorizes (public id): the same organisation must return.
    reconnect: str | None = None
    # Where the done page sends the customer back to (checked against the journey's list).
    return_url: str | None = None
    # When the link stops working (Unix time), if sooner than LINK_MAX_AGE_SECONDS.
    expires_at: int | None = None
    # The stored record of a link made in the console or the API (its public id), which
    # can revoke it or make it single-use; older and internal links carry none.
    link_id: str | None = None


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def make_token(
    customer_public_id: str,
    journey_id: str,
    locale: str | None = None,
    platform: str | None = None,
    reconnect: str | None = None,
    *,
    return_url: str | None = None,
    expires_at: int | None = None,
    link_id: str | None = None,
) -> str:
    claims: dict[str, str | int] = {"c": customer_public_id, "j": journey_id}
    values = (("l", locale), ("p", platform), ("r", reconnect), ("u", return_url), ("i", link_id))
    for key, value in values:
        if value:
            claims[key] = value
    if expires_at is not None:
        claims["x"] = int(expires_at)
    return str(_serializer().dumps(claims))


def journey_link(
    customer_public_id: str,
    journey_id: str,
    locale: str | None = None,
    platform: str | None = None,
    reconnect: str | None = None,
    *,
    return_url: str | None = None,
    expires_at: int | None = None,
    link_id: str | None = None,
) -> str:
    """The absolute URL a customer opens to start or resume their journey.

    ``expires_at`` (Unix time) ends the link sooner than ``LINK_MAX_AGE_SECONDS``;
    ``link_id`` names the stored record that can revoke it.
    """
    token = make_token(
        customer_public_id,
        journey_id,
        locale,
        platform,
        reconnect,
        return_url=return_url,
        expires_at=expires_at,
        link_id=link_id,
    )
    return public_url("journey.open_link", token=token)


def read_token(token: str, max_age: int | None = None) -> LinkClaims:
    """Check a link's signature and age and return what it grants."""
    try:
        return _read_token(token, max_age)
    except LinkExpired:
        REJECTED_LINKS.labels("expired").inc()
        link_refused("journey_link", "expired")
        raise
    except LinkInvalid:
        REJECTED_LINKS.labels("invalid").inc()
        link_refused("journey_link", "invalid")
        raise


def _read_token(token: str, max_age: int | None = None) -> LinkClaims:
    """Check a link's signature and age and return what it grants."""
    age = current_app.config["LINK_MAX_AGE_SECONDS"] if max_age is None else max_age
    try:
        data = _serializer().loads(token, max_age=age)
    except SignatureExpired as exc:
        raise LinkExpired() from exc
    except BadSignature as exc:
        raise LinkInvalid() from exc
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("c"), str)
        or not isinstance(data.get("j"), str)
    ):
        raise LinkInvalid()
    expires_at = data.get("x")
    if expires_at is not None:
        if not isinstance(expires_at, int):
            raise LinkInvalid()
        if time.time() >= expires_at:
            raise LinkExpired()
    optional = {key: value if isinstance(value := data.get(key), str) else None for key in "lprui"}
    return LinkClaims(
        data["c"],
        data["j"],
        optional["l"],
        optional["p"],
        optional["r"],
        return_url=optional["u"],
        expires_at=expires_at,
        link_id=optional["i"],
    )

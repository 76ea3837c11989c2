"""Signed, expiring journey links: the customer's only key to their journey."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

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


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def make_token(
    customer_public_id: str,
    journey_id: str,
    locale: str | None = None,
    platform: str | None = None,
    reconnect: str | None = None,
) -> str:
    claims = {"c": customer_public_id, "j": journey_id}
    for key, value in (("l", locale), ("p", platform), ("r", reconnect)):
        if value:
            claims[key] = value
    return str(_serializer().dumps(claims))


def journey_link(
    customer_public_id: str,
    journey_id: str,
    locale: str | None = None,
    platform: str | None = None,
    reconnect: str | None = None,
) -> str:
    """The absolute URL a customer opens to start or resume their journey."""
    token = make_token(customer_public_id, journey_id, locale, platform, reconnect)
    return public_url("journey.open_link", token=token)


def read_token(token: str, max_age: int | None = None) -> LinkClaims:
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
    optional = {key: value if isinstance(value := data.get(key), str) else None for key in "lpr"}
    return LinkClaims(data["c"], data["j"], optional["l"], optional["p"], optional["r"])

"""Signed, expiring links to a customer's own page, "Your connections and consents"."""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.links import LinkExpired, LinkInvalid
from app.metrics import REJECTED_LINKS
from app.models import Customer
from app.security_events import link_refused
from app.urls import public_url

_SALT = "onramp.manage-link.v1"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def manage_token(customer: Customer) -> str:
    return str(_serializer().dumps({"c": customer.public_id}))


def manage_url(customer: Customer, reconfirm: str | None = None) -> str:
    """The absolute link to the customer's page; ``reconfirm`` (a record's public id)
    opens it on that consent's one-click reconfirmation."""
    values = {"token": manage_token(customer)}
    if reconfirm:
        values["reconfirm"] = reconfirm
    return public_url("account.open_link", **values)


def read_manage_token(token: str) -> str:
    """The customer public id a genuine, unexpired manage link names."""
    try:
        data = _serializer().loads(token, max_age=current_app.config["LINK_MAX_AGE_SECONDS"])
    except SignatureExpired as exc:
        REJECTED_LINKS.labels("expired").inc()
        link_refused("manage_link", "expired")
        raise LinkExpired() from exc
    except BadSignature as exc:
        REJECTED_LINKS.labels("invalid").inc()
        link_refused("manage_link", "invalid")
        raise LinkInvalid() from exc
    if not isinstance(data, dict) or not isinstance(data.get("c"), str):
        REJECTED_LINKS.labels("invalid").inc()
        link_refused("manage_link", "invalid")
        raise LinkInvalid()
    return str(data["c"])

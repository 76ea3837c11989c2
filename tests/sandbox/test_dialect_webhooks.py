"""Change notifications as Xero and QuickBooks send them: signed events an app can
verify, and the Connected apps page's button that delivers one."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from flask import Flask, request

from app.sandbox.change_notifications import signed_event, xero_intent_to_receive
from app.sandbox.data import SANDBOX_LOGIN_EMAIL, SANDBOX_LOGIN_PASSWORD
from app.sandbox.dialects import dialect_organisation_id
from tests.sandbox.conftest import BLUEBELL, Vendor
from tests.serving import serving

Vendors = Callable[[str], Vendor]
KEY = "webhook-signing-key"


def verified(body: bytes, signature: str, key: str = KEY) -> bool:
    """What a receiver does: base64(HMAC-SHA256(raw body, key)) against the header."""
    expected = base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, signature)


def test_a_xero_event_names_the_tenant_and_is_signed() -> None:
    body, headers = signed_event("xero", BLUEBELL.id, KEY)

    event = json.loads(body)
    assert set(event) == {"events", "firstEventSequence", "lastEventSequence", "entropy"}
    [change] = event["events"]
    assert set(change) == {
        "resourceUrl",
        "resourceId",
        "eventDateUtc",
        "eventType",
        "eventCategory",
        "tenantId",
        "tenantType",
    }
    assert change["tenantId"] == dialect_organisation_id("xero", BLUEBELL)
    assert change["tenantType"] == "ORGANISATION"
    assert verified(body, headers["x-xero-signature"])
    assert not verified(body, headers["x-xero-signature"], "another-key")


def test_xeros_intent_to_receive_is_a_signed_notification_without_events() -> None:
    body, headers = xero_intent_to_receive(KEY)

    assert json.loads(body)["events"] == []
    assert verified(body, headers["x-xero-signature"])


def test_a_quickbooks_event_is_a_signed_array_of_cloudevents() -> None:
    body, headers = signed_event("quickbooks", BLUEBELL.id, KEY)

    [event] = json.loads(body)
    assert event["specversion"] == "1.0"
    assert event["type"].startswith("qbo.") and event["type"].endswith(".v1")
    assert event["intuitaccountid"] == dialect_organisation_id("quickbooks", BLUEBELL)
    for name in ("id", "source", "datacontenttype", "time", "intuitentityid", "data"):
        assert name in event
    assert verified(body, headers["intuit-signature"])


def test_vendors_without_webhooks_build_no_event() -> None:
    with pytest.raises(ValueError, match="no change notifications"):
        signed_event("sage", BLUEBELL.id, KEY)


@dataclass
class Receiver:
    """An app's webhook endpoint on a real port: it checks Xero's signature."""

    url: str
    received: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    app = Flask("receiver")
    found = Receiver("")

    @app.post("/webhooks/xero")
    def xero() -> tuple[str, int]:
        body = request.get_data()
        found.received.append((body, dict(request.headers)))
        return "", 200 if verified(body, request.headers.get("x-xero-signature", "")) else 401

    with serving(app) as server:
        found.url = f"http://127.0.0.1:{server.server_port}/webhooks/xero"
        yield found


def connected_apps(client: Vendor) -> str:
    client.customer.post(
        "/sandbox/connections",
        data={
            "email": SANDBOX_LOGIN_EMAIL,
            "password": SANDBOX_LOGIN_PASSWORD,
            "sign_in": "Sign in",
        },
    )
    return client.customer.get("/sandbox/connections").get_data(as_text=True)


def notify(client: Vendor) -> str:
    """Press "Send a change notification" for Bluebell; the page that comes back."""
    return client.customer.post(
        "/sandbox/connections",
        data={"organisation": BLUEBELL.id, "dialect": client.key, "notify": "Send"},
        follow_redirects=True,
    ).get_data(as_text=True)


def test_connected_apps_lists_vendor_grants_and_sends_a_signed_notification(
    vendor: Vendors, sandbox: Flask, receiver: Receiver
) -> None:
    sandbox.config["SANDBOX_WEBHOOK_KEYS"] = {"xero": KEY}
    sandbox.config["SANDBOX_WEBHOOK_URLS"] = {"xero": receiver.url}
    xero = vendor("xero")
    xero.connect()

    page = connected_apps(xero)
    assert "<dt>Platform played</dt>\n        <dd>Xero</dd>" in page
    assert "Send a change notification" in page

    sent = notify(xero)

    assert (
        f"Xero&#39;s change notification about {BLUEBELL.name} was sent: the receiver answered 200."
        in sent
    )
    [(body, _headers)] = receiver.received
    assert json.loads(body)["events"][0]["tenantId"] == dialect_organisation_id("xero", BLUEBELL)


def test_the_receiver_s_refusal_is_reported(
    vendor: Vendors, sandbox: Flask, receiver: Receiver
) -> None:
    sandbox.config["SANDBOX_WEBHOOK_KEYS"] = {"xero": "not-the-receivers-key"}
    sandbox.config["SANDBOX_WEBHOOK_URLS"] = {"xero": receiver.url}
    xero = vendor("xero")
    xero.connect()
    connected_apps(xero)

    sent = notify(xero)

    assert "the receiver answered 401" in sent


def test_without_configuration_there_is_no_notification_button(vendor: Vendors) -> None:
    xero = vendor("xero")
    xero.connect()

    page = connected_apps(xero)

    assert "<dd>Xero</dd>" in page
    assert "Send a change notification" not in page


def test_revoking_a_vendor_grant_on_connected_apps_leaves_other_vendors_alone(
    vendor: Vendors,
) -> None:
    xero, sage = vendor("xero"), vendor("sage")
    xero_tokens = xero.connect()
    sage.customer = xero.customer  # the same browser, signed in once
    sage_tokens = sage.connect()
    connected_apps(xero)

    xero.customer.post(
        "/sandbox/connections", data={"organisation": BLUEBELL.id, "dialect": "xero"}
    )

    assert xero.refresh(xero_tokens["refresh_token"]).status_code == 400
    assert sage.refresh(sage_tokens["refresh_token"]).status_code == 200

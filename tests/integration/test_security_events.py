"""Security events for the SIEM: one JSON line per event, to stdout, a file or syslog."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import audit, create_app
from app.extensions import db
from app.security_events import EXTENSION_KEY, close
from tests.admin import PASSWORD, make_user, sign_in, signed_in_as
from tests.conftest import reset_database, test_settings
from tests.integration.conftest import ALL_CONSENTS
from tests.integration.test_consent_chain import _tamper

FIELDS = {
    "schema",
    "time",
    "event",
    "category",
    "outcome",
    "severity",
    "actor",
    "subject",
    "reason",
    "details",
    "audit_id",
    "source_ip",
    "request_id",
    "installation",
}
CUSTOMER_EMAIL = "owner@acme.example"  # tests/integration/conftest.py's link fixture
XERO_KEY = "xero-webhook-key-for-security-events"


class Sink:
    """What reached one destination since it was last read, as raw lines."""

    def __init__(self, read: Callable[[], str], stdout: bool = False) -> None:
        self._read = read
        self.stdout = stdout

    def lines(self) -> list[str]:
        return [line for line in self._read().splitlines() if line.strip()]

    def one(self, command_stdout: str = "") -> tuple[dict[str, Any], str]:
        """The one event sent since the last read, parsed, and its raw line (sent to
        stdout, a command's event is in that command's standard output)."""
        lines = self.lines()
        if self.stdout:
            lines += [line for line in command_stdout.splitlines() if line.startswith("{")]
        assert len(lines) == 1, lines
        event = json.loads(lines[0])
        assert set(event) == FIELDS
        assert event["schema"] == 1
        assert event["time"].endswith("Z")
        assert event["installation"] == "localhost"
        return event, lines[0]


def _file_sink(path: Path) -> Callable[[], str]:
    offset = [0]

    def read() -> str:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        new, offset[0] = text[offset[0] :], len(text)
        return new

    return read


def _syslog_sink(listener: socket.socket) -> Callable[[], str]:
    def read() -> str:
        received = []
        while True:
            try:
                datagram = listener.recv(65536)
            except BlockingIOError:
                return "\n".join(received)
            text = datagram.decode("utf-8")
            # "<priority>ident: message": facility auth (4).
            priority, _, message = text.partition(">")
            assert int(priority.removeprefix("<")) // 8 == 4
            assert message.startswith("onramp: ")
            received.append(message.removeprefix("onramp: "))

    return read


@pytest.fixture(params=["stdout", "file", "syslog"])
def destination(
    request: pytest.FixtureRequest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Iterator[tuple[str, Sink]]:
    """Each destination's setting, and a way to read what reached it."""
    if request.param == "stdout":
        yield "stdout", Sink(lambda: capsys.readouterr().out, stdout=True)
    elif request.param == "file":
        path = tmp_path / "logs" / "security.jsonl"
        path.parent.mkdir()
        yield f"file:{path}", Sink(_file_sink(path))
    else:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
            listener.bind(("127.0.0.1", 0))
            listener.setblocking(False)
            port = listener.getsockname()[1]
            yield f"syslog://127.0.0.1:{port}", Sink(_syslog_sink(listener))


@pytest.fixture
def app(tmp_path: Path, destination: tuple[str, Sink]) -> Iterator[Flask]:
    app = create_app(
        test_settings(tmp_path, SECURITY_EVENTS=destination[0], XERO_WEBHOOK_KEY=XERO_KEY)
    )
    reset_database(app)
    yield app
    close(app)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def sink(app: Flask, destination: tuple[str, Sink]) -> Sink:
    """The destination, read past whatever setting the test up sent."""
    destination[1].lines()
    return destination[1]


def _kind(event: dict[str, Any]) -> tuple[str, ...]:
    return tuple(event[key] for key in ("event", "category", "outcome", "severity", "reason"))


def _hashed(party: dict[str, Any]) -> bool:
    return str(party["id"]).startswith("hmac-sha256:") and len(party["id"]) == 44


def test_a_failed_admin_sign_in_is_one_event_without_the_email_or_password(
    app: Flask, client: FlaskClient, sink: Sink
) -> None:
    email = make_user(app, "admin", "alice@example.com")
    sink.lines()
    refused = client.post("/admin/login", data={"email": email, "password": "not-her-password"})
    assert refused.status_code == 200
    event, line = sink.one()
    assert _kind(event) == ("user.login_failed", "audit", "failure", "warning", None)
    assert event["actor"]["type"] == "visitor" and _hashed(event["actor"])
    assert event["details"] == {"after": {"via": "password"}}
    assert event["source_ip"] == "127.0.0.1"
    assert event["request_id"] == refused.headers["X-Request-ID"]
    assert isinstance(event["audit_id"], int)
    for secret in ("alice", "example.com", "not-her-password"):
        assert secret not in line


def test_the_same_account_has_the_same_pseudonym(
    app: Flask, client: FlaskClient, sink: Sink
) -> None:
    email = make_user(app, "admin", "alice@example.com")
    sink.lines()
    client.post("/admin/login", data={"email": email, "password": "wrong-once"})
    first, _ = sink.one()
    sign_in(client, email, PASSWORD)
    signed_in, _ = sink.one()
    assert signed_in["event"] == "user.login" and signed_in["outcome"] == "success"
    assert signed_in["actor"]["id"] == first["actor"]["id"]


def test_a_tampered_journey_link_is_one_event_without_the_token(
    client: FlaskClient, link: str, sink: Sink
) -> None:
    token = link.rsplit("/", 1)[1]
    tampered = link[:-4] + ("AAAA" if not link.endswith("AAAA") else "BBBB")
    assert client.get(tampered).status_code in {400, 403, 404}
    event, line = sink.one()
    assert _kind(event) == ("link.refused", "security", "failure", "warning", "invalid")
    assert event["subject"] == {"type": "journey_link", "id": None}
    assert event["actor"] is None and event["audit_id"] is None
    assert event["source_ip"] == "127.0.0.1"
    assert token[:-4] not in line and CUSTOMER_EMAIL not in line


def test_an_expired_manage_link_is_one_event_without_the_token(
    client: FlaskClient, expired_manage_link: str, sink: Sink
) -> None:
    client.get(expired_manage_link)
    event, line = sink.one()
    assert _kind(event) == ("link.refused", "security", "failure", "warning", "expired")
    assert event["subject"] == {"type": "manage_link", "id": None}
    assert expired_manage_link.rsplit("/", 1)[1] not in line


def test_a_platform_webhook_with_a_bad_signature_is_one_event(
    client: FlaskClient, sink: Sink
) -> None:
    body = json.dumps({"events": [{"tenantId": "tenant-1"}]}).encode()
    refused = client.post(
        "/webhooks/platforms/xero", data=body, headers={"x-xero-signature": "forged-signature"}
    )
    assert refused.status_code == 401
    event, line = sink.one()
    assert _kind(event) == (
        "platform_webhook.refused",
        "security",
        "failure",
        "warning",
        "bad_signature",
    )
    assert event["subject"] == {"type": "platform", "id": "xero"}
    assert event["details"] == {"status": 401}
    assert "forged-signature" not in line and XERO_KEY not in line


def test_a_colleagues_change_is_one_audit_event(app: Flask, sink: Sink) -> None:
    target = make_user(app, "viewer", "bob@example.com")
    admin = signed_in_as(app, "admin")
    with app.app_context():
        from app.models import User

        user_id = db.session.query(User.id).filter(User.email == target).scalar()
    sink.lines()
    changed = admin.post(f"/admin/users/{user_id}/role", data={"role": "editor"})
    assert changed.status_code == 303
    event, line = sink.one()
    assert _kind(event) == ("user.role", "audit", "success", "info", None)
    assert event["actor"]["type"] == "user" and _hashed(event["actor"])
    assert event["subject"] == {"type": "user", "id": str(user_id)}
    assert event["details"] == {"before": {"role": "viewer"}, "after": {"role": "editor"}}
    assert "bob" not in line and "admin@example.com" not in line


def test_verify_finding_tamper_is_one_critical_event(
    app: Flask, customer_client: FlaskClient, sink: Sink
) -> None:
    customer_client.post("/journey/welcome")
    customer_client.post("/journey/consent", data=ALL_CONSENTS)
    _tamper(app, "UPDATE consent_records SET decision = 'withdrawn' WHERE sequence = 2")
    sink.lines()
    result = app.test_cli_runner().invoke(args=["consents", "verify"])
    assert result.exit_code == 1
    event, line = sink.one(result.stdout)
    assert _kind(event) == ("consents.verify", "audit", "failure", "critical", None)
    assert event["actor"] == {"type": "cli", "id": "flask consents verify"}
    assert event["details"]["after"]["ok"] is False
    assert event["details"]["after"]["broken_at"] == 2
    assert event["source_ip"] is None and event["request_id"] is None
    assert CUSTOMER_EMAIL not in line and "Acme" not in line


def test_a_rolled_back_change_sends_nothing(app: Flask, sink: Sink) -> None:
    with app.app_context():
        audit.record("cli", "test", "user.role", "user", "1", None, {"role": "admin"})
        db.session.flush()
        db.session.rollback()
        db.session.commit()
        assert sink.lines() == []
        audit.record("cli", "test", "user.role", "user", "2", None, {"role": "editor"})
        savepoint = db.session.begin_nested()
        audit.record("cli", "test", "user.role", "user", "3", None, {"role": "admin"})
        db.session.flush()
        savepoint.rollback()
        db.session.commit()
    event, _ = sink.one()
    assert event["subject"] == {"type": "user", "id": "2"}


@pytest.mark.parametrize(
    "value",
    [
        "kafka://siem.example:9092",
        "file:relative/security.jsonl",
        "file:/no/such/directory/security.jsonl",
        "syslog://siem.example:not-a-port",
        "syslog://",
        5,
    ],
)
def test_a_bad_destination_stops_start_up_saying_which_setting(
    tmp_path: Path, value: object
) -> None:
    with pytest.raises(ValueError, match="ONRAMP_SECURITY_EVENTS"):
        create_app(test_settings(tmp_path, SECURITY_EVENTS=value))


def test_the_destination_is_read_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONRAMP_SECURITY_EVENTS", "loudly")
    with pytest.raises(ValueError, match="not 'loudly'"):
        create_app(test_settings(tmp_path))


def test_events_are_off_unless_asked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app(test_settings(tmp_path, XERO_WEBHOOK_KEY=XERO_KEY))
    assert EXTENSION_KEY not in app.extensions
    refused = app.test_client().post(
        "/webhooks/platforms/xero", data=b"{}", headers={"x-xero-signature": "forged"}
    )
    with app.app_context():
        db.engine.dispose()
    assert refused.status_code == 401
    assert capsys.readouterr().out == ""

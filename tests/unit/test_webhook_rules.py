"""The pure rules of webhooks out: which addresses may receive them, the retry schedule,
Retry-After, and the signature headers."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from standardwebhooks import Webhook

from app.webhooks import standard_webhooks
from app.webhooks.delivery import MAX_ATTEMPTS, RETRY_DELAYS, parse_retry_after, retry_delay
from app.webhooks.endpoints import new_secret
from app.webhooks.ssrf import Policy, UnsafeDestination, check_url, parse_url, refusal

STRICT = Policy()
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.10", "private"),
        ("169.254.169.254", "link-local"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("fd12:3456::1", "private"),
        ("fe80::1", "link-local"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "link-local"),
        ("::ffff:10.0.0.1", "private"),
        ("2002:a00:1::", "private"),  # 6to4 wrapping 10.0.0.1
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("100.64.0.1", "non-public"),  # carrier-grade NAT
        ("240.0.0.1", "reserved"),
    ],
)
def test_internal_addresses_are_refused(address: str, reason: str) -> None:
    refused = refusal(ipaddress.ip_address(address), STRICT)
    assert refused is not None and reason in refused


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700:4700::1111", "8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal(ipaddress.ip_address(address), STRICT) is None


def test_loopback_is_allowed_only_when_the_policy_says_so() -> None:
    assert refusal(ipaddress.ip_address("127.0.0.1"), Policy(allow_loopback=True)) is None
    assert refusal(ipaddress.ip_address("::1"), Policy(allow_loopback=True)) is None
    # Allowing loopback allows nothing else.
    assert refusal(ipaddress.ip_address("10.0.0.1"), Policy(allow_loopback=True)) is not None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://hooks.example/", "must start with https://"),
        ("hooks.example/x", "must start with https://"),
        ("http://93.184.215.14/", "must use https"),
        ("https:///path", "no host"),
        ("https://user:pass@93.184.215.14/", "credentials"),
        ("https://93.184.215.14/#frag", "fragment"),
        ("https://93.184.215.14:99999/", "not a valid URL"),
        ("https://93.184.215.14/" + "a" * 2000, "longer than"),
        ("https://10.0.0.1/hook", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[::1]/", "loopback"),
    ],
)
def test_bad_urls_are_refused_with_a_reason(url: str, message: str) -> None:
    with pytest.raises(UnsafeDestination, match=message):
        check_url(url, STRICT)


def test_an_allowed_host_skips_the_address_rules() -> None:
    policy = Policy(allowed_hosts=frozenset({"10.0.0.5", "hooks.internal"}))
    assert check_url("https://10.0.0.5/hook", policy).host == "10.0.0.5"
    # Not resolved when registered: the operator vouched for it.
    assert check_url("https://Hooks.Internal./hook", policy).host == "hooks.internal"


def test_http_is_allowed_when_the_policy_allows_it() -> None:
    target = parse_url("http://93.184.215.14:8080/hook", Policy(allow_http=True))
    assert (target.scheme, target.host, target.port) == ("http", "93.184.215.14", 8080)


def test_the_retry_schedule_spans_more_than_a_day_even_with_the_least_jitter() -> None:
    shortest = sum((delay * 0.8 for delay in RETRY_DELAYS), timedelta())
    assert shortest >= timedelta(hours=24)
    assert list(RETRY_DELAYS) == sorted(RETRY_DELAYS)
    assert len(RETRY_DELAYS) + 1 == MAX_ATTEMPTS


def test_each_delay_is_jittered_around_the_schedule(app: Flask) -> None:
    with app.app_context():
        delays = {retry_delay(2, None, NOW) for _ in range(20)}
        assert all(d is not None and 240 <= d.total_seconds() <= 360 for d in delays)
        assert len(delays) > 1
        assert retry_delay(MAX_ATTEMPTS, None, NOW) is None


def test_retry_after_never_shortens_the_backoff(app: Flask) -> None:
    with app.app_context():
        delay = retry_delay(4, "10", NOW)  # backoff after attempt 4 is about 2 hours
        assert delay is not None and delay >= timedelta(hours=1.6)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", timedelta(seconds=120)),
        ("0", timedelta(0)),
        ("Mon, 23 Nov 2026 12:05:00 GMT", timedelta(minutes=5)),
        ("Mon, 23 Nov 2026 11:00:00 GMT", timedelta(0)),  # already past
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(
    value: str | None, expected: timedelta | None
) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_headers_carry_one_verifiable_signature_per_secret() -> None:
    secrets = [new_secret(), new_secret()]
    body = standard_webhooks.body({"id": "evt", "type": "journey.started", "data": {"run_id": "r"}})
    headers = standard_webhooks.headers("msg_1", NOW, body, secrets)
    assert headers["webhook-id"] == "msg_1"
    assert headers["webhook-timestamp"] == str(int(NOW.timestamp()))
    signatures = headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    for secret, signature in zip(secrets, signatures, strict=True):
        assert Webhook(secret).sign("msg_1", NOW, body) == signature


def test_a_secret_is_whsec_and_32_random_bytes() -> None:
    import base64

    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert new_secret() != secret

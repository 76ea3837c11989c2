"""Pages travel compressed when the browser accepts it, except where a credential shows."""

from __future__ import annotations

import gzip

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.admin import signed_in_as
from tests.integration.conftest import REQUIRED_CONSENTS


def test_a_step_page_comes_gzipped_and_smaller(customer_client: FlaskClient) -> None:
    plain = customer_client.get("/journey/welcome")
    zipped = customer_client.get("/journey/welcome", headers={"Accept-Encoding": "gzip"})
    assert plain.headers.get("Content-Encoding") is None
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert len(zipped.data) < len(plain.data) / 2
    page = gzip.decompress(zipped.data).decode()
    assert "Connect your accounting software" in page
    # A cache in between keeps one copy per encoding, and per htmx request kind.
    vary = {v.strip() for v in zipped.headers["Vary"].split(",")}
    assert {"Accept-Encoding", "HX-Request", "HX-Target"} <= vary


@pytest.mark.parametrize(("asked", "sent"), [("br", "br"), ("zstd, gzip", "zstd")])
def test_a_step_page_comes_in_the_better_encodings_too(
    customer_client: FlaskClient, asked: str, sent: str
) -> None:
    answered = customer_client.get("/journey/welcome", headers={"Accept-Encoding": asked})
    assert answered.headers["Content-Encoding"] == sent


def test_the_page_holding_a_resume_link_is_never_compressed(
    customer_client: FlaskClient,
) -> None:
    customer_client.post("/journey/welcome")
    customer_client.post("/journey/consent", data=REQUIRED_CONSENTS)
    customer_client.post("/journey/later")
    page = customer_client.get("/journey/later", headers={"Accept-Encoding": "gzip"})
    assert page.status_code == 200
    assert "/j/" in page.get_data(as_text=True)
    assert page.headers.get("Content-Encoding") is None


def test_the_console_is_never_compressed(app: Flask) -> None:
    colleague = signed_in_as(app, "admin")
    page = colleague.get("/admin/customers?q=acme", headers={"Accept-Encoding": "gzip"})
    assert page.status_code == 200
    assert page.headers.get("Content-Encoding") is None

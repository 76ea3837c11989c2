"""Static files: URLs that name their content, cached for a year or more, sent compressed."""

from __future__ import annotations

import hashlib
import re

from flask.testing import FlaskClient

from app.config import ROOT

STYLESHEET = re.compile(r'<link rel="stylesheet" href="(/static/css/onramp-([0-9a-f]{32})\.css)">')


def _stylesheet(client: FlaskClient) -> tuple[str, str]:
    found = STYLESHEET.search(client.get("/journey/welcome").get_data(as_text=True))
    assert found is not None, "the step page links its stylesheet by a hashed name"
    return found.group(1), found.group(2)


def test_a_page_links_static_files_by_their_content(customer_client: FlaskClient) -> None:
    url, digest = _stylesheet(customer_client)
    served = customer_client.get(url)
    assert served.status_code == 200
    # The name is the content's hash: a changed file is a new URL, never a stale copy.
    assert hashlib.md5(served.data).hexdigest() == digest
    assert digest == hashlib.md5((ROOT / "static/css/onramp.css").read_bytes()).hexdigest()
    served.close()


def test_a_hashed_static_file_is_kept_for_a_year(customer_client: FlaskClient) -> None:
    url, _ = _stylesheet(customer_client)
    with customer_client.get(url) as served:
        cache = {d.strip() for d in served.headers["Cache-Control"].split(",")}
        assert "immutable" in cache
        [max_age] = [int(d.removeprefix("max-age=")) for d in cache if d.startswith("max-age=")]
        assert max_age >= 365 * 24 * 60 * 60
        assert served.headers["X-Content-Type-Options"] == "nosniff"


def test_static_files_go_compressed(customer_client: FlaskClient) -> None:
    url, _ = _stylesheet(customer_client)
    with customer_client.get(url) as plain:
        size = len(plain.data)
    for encoding in ("br", "gzip"):
        with customer_client.get(url, headers={"Accept-Encoding": encoding}) as served:
            assert served.headers["Content-Encoding"] == encoding
            assert len(served.data) < size / 2
            assert "Accept-Encoding" in served.headers["Vary"]


def test_the_embed_script_keeps_its_address_and_is_asked_for_again_soon(
    client: FlaskClient,
) -> None:
    # Businesses link to it from their own sites: its URL cannot change.
    with client.get("/static/embed/onramp.js") as served:
        assert served.status_code == 200
        assert served.headers["Cache-Control"] == "max-age=60, public"

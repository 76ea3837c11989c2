"""The one check of a place a request asks to be sent to next (app.urls.safe_path)."""

from __future__ import annotations

import pytest

from app.urls import safe_path


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "admin/",
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "\\\\evil.example",
        "/\t/evil.example",
        "/admin/\r\nSet-Cookie: x=1",
        "/admin/\x00",
        "/admin/\x7f",
        "/admin/\x9b",
        "javascript:alert(1)",
    ],
)
def test_anything_but_a_plain_path_on_this_site_is_refused(target: str | None) -> None:
    assert safe_path(target) is None


@pytest.mark.parametrize("target", ["/", "/admin/", "/admin/customers?q=caf%C3%A9#top", "/é"])
def test_a_path_on_this_site_is_kept(target: str) -> None:
    assert safe_path(target) == target


def test_a_path_must_lie_under_the_prefix_asked_for() -> None:
    assert safe_path("/journey", under="/journey") == "/journey"
    assert safe_path("/journey/consent?x=1", under="/journey") == "/journey/consent?x=1"
    assert safe_path("/journeys-elsewhere", under="/journey") is None
    assert safe_path("/admin/", under="/journey") is None

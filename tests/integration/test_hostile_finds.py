"""What the hostile-input suite (tests/hostile) found beyond the audit, each kept fixed:
a part without a name, YAML that fails while values are built, row ids past what the
database holds, and paths under /api that no route matches."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.admin import signed_in_as
from tests.integration.api_helpers import problem
from tests.pages import text_of


def test_a_form_part_without_a_name_is_refused_not_a_crash(app: Flask) -> None:
    body = (
        b"--b\r\nContent-Disposition: form-data\r\n\r\n\x00\r\n"
        b'--b\r\nContent-Disposition: form-data; name="email"\r\n\r\na@b.example\r\n--b--\r\n'
    )
    response = app.test_client().post(
        "/admin/login", data=body, content_type="multipart/form-data; boundary=b"
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("yaml_text", "said"),
    [
        ("id: x\ncreated: 2024-13-45\n", "month must be in 1..12"),
        ("id: x\nsize: 2024-01-01 25:61:00\n", "not valid YAML"),
        ("id: x\nhuge: " + "9" * 5000 + "\n", "not valid YAML"),
        ("id: " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    ],
    ids=["impossible-date", "impossible-time", "integer-of-5000-digits", "5000-deep"],
)
def test_a_draft_whose_values_cannot_be_built_is_a_problem_to_fix(
    app: Flask, yaml_text: str, said: str
) -> None:
    editor = signed_in_as(app, "editor")
    response = editor.post("/admin/journey-drafts", data={"yaml_text": yaml_text})
    assert response.status_code < 500
    page = editor.get(response.location).text if response.status_code == 303 else response.text
    assert said in page


@pytest.mark.parametrize(
    "path",
    [
        "/admin/customers?before=99999999999",
        "/admin/customers?after=99999999999",
        "/admin/webhooks?before=99999999999",
        "/admin/audit?before=99999999999",
        "/admin/consents?before=1%0A",
        "/admin/customers?before=%20",
        "/admin/consents?date_to=9999-12-31",
        "/admin/audit?date_to=9999-12-31",
    ],
)
def test_a_page_position_past_any_row_id_is_just_a_page(app: Flask, path: str) -> None:
    assert signed_in_as(app, "admin").get(path).status_code in (200, 400)


def test_a_row_id_in_a_path_past_what_the_database_holds_is_not_found(app: Flask) -> None:
    admin = signed_in_as(app, "admin")
    response = admin.post("/admin/users/99999999999/deactivate")
    assert response.status_code == 404
    assert "Page not found" in text_of(response)


@pytest.mark.parametrize("path", ["/api/v1/%0A", "/api/v1/nowhere%0Aat-all", "/api/x%0D"])
def test_a_path_under_the_api_that_no_route_matches_is_a_problem(app: Flask, path: str) -> None:
    problem(app.test_client().get(path), 404, "not-found")

"""Admin Journeys screens: list, versions, rendered steps, diffs, preview, drafts, publishing."""

from __future__ import annotations

import io
import re
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.customers.records import create_customer
from app.engine.registry import get_journey
from app.extensions import db
from app.links import journey_link
from app.models import AuditEntry, JourneyDraft, JourneyRun, JourneyVersion
from tests.admin import signed_in_as
from tests.conftest import reset_database, test_settings

JOURNEYS = Path(__file__).parents[2] / "journeys"


def _default_yaml() -> str:
    return (JOURNEYS / "default.yaml").read_text(encoding="utf-8")


def _retitled(text: str, title: str) -> str:
    """The default journey with its welcome title changed in every language."""
    data = yaml.safe_load(text)
    data["steps"][0]["title"] = {"en": title, "fr": f"{title} (fr)", "de": f"{title} (de)"}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _customer_link(app: Flask, journey_id: str = "default", email: str = "a@acme.example") -> str:
    with app.app_context():
        customer = create_customer("Acme Ltd", email)
        return journey_link(customer.public_id, journey_id).removeprefix("http://localhost")


def _audit(app: Flask) -> list[AuditEntry]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def _journey_audit(app: Flask) -> list[tuple[str, str, Any, Any]]:
    return [
        (e.action, e.actor_id, e.before, e.after)
        for e in _audit(app)
        if e.action.startswith("journey.")
    ]


def _save_draft(client: FlaskClient, text: str, draft: str | None = None) -> Any:
    url = f"/admin/journey-drafts/{draft}" if draft else "/admin/journey-drafts"
    return client.post(url, data={"yaml_text": text})


def _draft_id(response: Any) -> str:
    assert response.status_code == 303, response.text
    return str(response.location.rsplit("/", 1)[-1])


# The list, journey and version pages ------------------------------------------------


def test_the_list_shows_every_journey_its_versions_and_their_runs(
    app: Flask, client: FlaskClient
) -> None:
    client.get(_customer_link(app))
    viewer = signed_in_as(app, "viewer")
    page = viewer.get("/admin/journeys")
    assert page.status_code == 200
    default = get_journey_in(app, "default")
    assert "Share your accounts for your loan application" in page.text
    assert "en, fr, de" in page.text
    assert default.version[:12] in page.text
    assert "file journeys/default.yaml" in page.text
    with app.app_context():
        kept = db.session.scalars(select(JourneyVersion.journey_id)).all()
    assert sorted(kept) == ["business", "default", "reconnect"]
    row = page.text.split(f"<code>{default.version[:12]}</code><span")[1].split("</tr>")[0]
    assert '<td class="numeric">1</td>' in row  # the run just started


def get_journey_in(app: Flask, journey_id: str) -> Any:
    with app.app_context():
        return get_journey(journey_id)


def test_a_journey_page_renders_each_step_with_its_exact_texts_per_language(
    app: Flask,
) -> None:
    viewer = signed_in_as(app, "viewer")
    page = viewer.get("/admin/journeys/default")
    assert page.status_code == 200
    text = page.text
    # A consent item, in each language, exactly as written.
    assert "Compte de résultat, bilan et flux de trésorerie" in text
    assert "Pendant toute la durée du prêt et 6 ans après son terme, comme la loi l" in text
    assert "<code>financial_statements</code>" in text
    assert "platform select" in text


def test_a_form_steps_fields_and_conditions_are_shown(app: Flask) -> None:
    page = signed_in_as(app, "viewer").get("/admin/journeys/business")
    assert "<code>registration_number</code>" in page.text
    assert "only when <code>details.company_type == &#34;limited&#34;</code>" in page.text
    assert "pattern ^[A-Z0-9]{8}$" in page.text
    assert "sandbox, xero, freeagent" in page.text


def test_an_earlier_version_is_rendered_from_what_was_kept(app: Flask) -> None:
    old = _kept_older_default(app, "An older welcome")
    viewer = signed_in_as(app, "viewer")
    page = viewer.get(f"/admin/journeys/default/versions/{old}")
    assert page.status_code == 200
    assert "An older welcome (fr)" in page.text
    assert "an earlier version" in page.text
    assert viewer.get("/admin/journeys/default/versions/" + "0" * 64).status_code == 404
    assert viewer.get("/admin/journeys/nope").status_code == 404


def _kept_older_default(app: Flask, title: str) -> str:
    """Keep a version of the default journey that differs in its welcome title."""
    from app.engine.loading import parse_journey

    data = yaml.safe_load(_retitled(_default_yaml(), title))
    journey = parse_journey(data, Path("old"))
    with app.app_context():
        db.session.add(
            JourneyVersion(
                version=journey.version,
                journey_id="default",
                definition=journey.model_dump(mode="json"),
            )
        )
        db.session.commit()
    return journey.version


# Diff ----------------------------------------------------------------------------------


def test_the_diff_marks_removed_and_added_lines_side_by_side(app: Flask) -> None:
    old = _kept_older_default(app, "An older welcome")
    current = get_journey_in(app, "default").version
    viewer = signed_in_as(app, "viewer")
    page = viewer.get(f"/admin/journeys/default/diff?from={old}&to={current}")
    assert page.status_code == 200
    assert "3 line(s) removed and 3 line(s) added" in page.text
    removed, added = (
        page.text.split("Removed: </span><code>")[1:4],
        page.text.split("Added: </span><code>")[1:4],
    )
    assert [r.split("</code>")[0].strip() for r in removed] == [
        "en: An older welcome",
        "fr: An older welcome (fr)",
        "de: An older welcome (de)",
    ]
    assert added[0].split("</code>")[0].strip() == (
        "en: Connect your accounting software to Northwind Lending"
    )
    same = viewer.get(f"/admin/journeys/default/diff?from={current}&to={current}")
    assert "The two versions are the same." in same.text


def test_a_drafts_compare_link_shows_its_difference_from_the_current_version(
    app: Flask,
) -> None:
    editor = signed_in_as(app, "editor")
    draft = _draft_id(_save_draft(editor, _retitled(_default_yaml(), "A drafted welcome")))
    page = editor.get(f"/admin/journey-drafts/{draft}")
    link = re.search(r'href="([^"]+)">Compare with the current version<', page.text)
    assert link is not None
    compare_url = link[1].replace("&amp;", "&")
    compared = editor.get(compare_url)
    assert compared.status_code == 200
    assert "The two versions are the same." not in compared.text
    assert "3 line(s) removed and 3 line(s) added" in compared.text
    assert re.search(r"Added: </span><code>\s*en: A drafted welcome</code>", compared.text)


@pytest.mark.parametrize("query", ["from=nope", "to=" + "1" * 64, "from=draft-missing"])
def test_a_diff_of_an_unknown_version_is_a_404_with_a_message(app: Flask, query: str) -> None:
    page = signed_in_as(app, "viewer").get(f"/admin/journeys/default/diff?{query}")
    assert page.status_code == 404
    assert "does not exist" in page.text


# Preview ---------------------------------------------------------------------------


def _row_counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {
            table.name: db.session.scalar(select(func.count()).select_from(table)) or 0
            for table in db.metadata.sorted_tables
        }


def test_a_full_preview_walk_records_nothing(app: Flask) -> None:
    viewer = signed_in_as(app, "viewer")
    viewer.get("/admin/journeys")  # keeps the current versions, before counting
    before = _row_counts(app)
    version = get_journey_in(app, "default").version
    base = f"/admin/journeys/default/preview/{version}"
    start = viewer.get(base)
    assert start.status_code == 200
    assert "Nothing is recorded" in start.text
    started = viewer.post(base, data={"locale": "fr", "brand": "business"})
    assert started.status_code == 303
    assert started.location == f"{base}/step/welcome"
    welcome = viewer.get(started.location)
    assert "Preview — nothing is recorded" in welcome.text
    assert "Connectez votre logiciel de comptabilité à Northwind Lending" in welcome.text
    assert "in the branding of Harbour Capital" in welcome.text
    assert f"{base}/theme.css?brand=business" in welcome.text
    theme = viewer.get(f"{base}/theme.css?brand=business")
    assert "#0b5c4a" in theme.text
    with viewer.get(f"{base}/logo?brand=business") as logo:
        assert logo.mimetype == "image/svg+xml"

    assert viewer.post(f"{base}/step/welcome").location == f"{base}/step/consent"
    consent = viewer.get(f"{base}/step/consent")
    assert "Compte de résultat, bilan et flux de trésorerie" in consent.text
    consented = viewer.post(
        f"{base}/step/consent",
        data={"consent_financial_statements": "y", "consent_invoices_bills": "y", "agree": "y"},
    )
    assert consented.location == f"{base}/step/software"
    viewer.post(f"{base}/step/software", data={"platform": "sandbox"})
    connect = viewer.get(f"{base}/step/connect")
    assert "Comment connecter Sandbox Accounting" in connect.text
    assert "Preview: connecting is simulated" in connect.text
    assert f'action="{base}/step/connect"' in connect.text
    connected = viewer.post(f"{base}/step/connect", data={"submit": "Connect"})
    assert connected.location == f"{base}/step/done"
    done = viewer.get(connected.location)
    assert "Vous êtes connecté" in done.text
    # A later step can't be opened ahead, as for a customer: the done page stays.
    assert viewer.get(f"{base}/step/welcome").location == f"{base}/step/done"

    assert _row_counts(app) == before


def test_a_preview_follows_conditions_and_shows_answers_on_review(app: Flask) -> None:
    support = signed_in_as(app, "support")
    version = get_journey_in(app, "business").version
    base = f"/admin/journeys/business/preview/{version}"
    support.post(base, data={"locale": "en", "brand": ""})
    support.post(f"{base}/step/welcome")
    support.post(f"{base}/step/consent", data={"consent_accounts": "y", "agree": "y"})
    details = {
        "company_name": "Acme Ltd",
        "company_type": "sole_trader",
        "contact_email": "owner@acme.example",
        "employees": "3",
        "turnover": "under_100k",
    }
    answered = support.post(f"{base}/step/details", data=details)
    assert answered.location == f"{base}/step/software"  # the limited-company step is skipped
    support.post(f"{base}/step/software", data={"platform": "sandbox"})
    review = support.get(f"{base}/step/review")
    assert "Sole trader" in review.text
    assert "Acme Ltd" in review.text
    assert "Step 5 of 8" in review.text
    # Changing the answer shows the conditional step, as it would for a customer.
    limited = support.post(f"{base}/step/details", data={**details, "company_type": "limited"})
    assert limited.location == f"{base}/step/company"


def test_declining_in_a_preview_shows_the_declined_page_and_can_be_undone(app: Flask) -> None:
    viewer = signed_in_as(app, "viewer")
    version = get_journey_in(app, "default").version
    base = f"/admin/journeys/default/preview/{version}"
    viewer.post(base, data={"locale": "en", "brand": ""})
    viewer.post(f"{base}/step/welcome")
    declined = viewer.post(f"{base}/step/consent", data={"decline": "y"})
    assert declined.location == f"{base}/declined"
    page = viewer.get(declined.location)
    assert "You declined to share your accounting data" in page.text
    assert "Preview — nothing is recorded" in page.text
    assert viewer.post(f"{base}/declined").location == f"{base}/step/consent"


def test_the_preview_language_switcher_changes_the_language(app: Flask) -> None:
    viewer = signed_in_as(app, "viewer")
    version = get_journey_in(app, "default").version
    base = f"/admin/journeys/default/preview/{version}"
    viewer.post(base, data={"locale": "en", "brand": ""})
    viewer.post(f"{base}/language", data={"locale": "de"})
    page = viewer.get(f"{base}/step/welcome")
    assert "Verbinden Sie Ihre Buchhaltungssoftware mit Northwind Lending" in page.text


def test_an_htmx_preview_request_gets_just_the_step(app: Flask) -> None:
    viewer = signed_in_as(app, "viewer")
    version = get_journey_in(app, "default").version
    base = f"/admin/journeys/default/preview/{version}"
    viewer.post(base, data={"locale": "en", "brand": ""})
    page = viewer.get(
        f"{base}/step/welcome", headers={"HX-Request": "true", "HX-Target": "div#journey"}
    )
    assert page.text.startswith("<title>Preview: ")
    assert 'id="journey"' in page.text
    assert "Preview — nothing is recorded" not in page.text
    assert "HX-Request" in page.headers["Vary"]


@pytest.mark.parametrize(
    "path",
    [
        "/admin/journeys/default/preview/nope",
        "/admin/journeys/nope/preview/nope/step/welcome",
        "/admin/journeys/default/preview/draft-nope/step/welcome",
    ],
)
def test_previewing_something_that_does_not_exist_is_a_404(app: Flask, path: str) -> None:
    assert signed_in_as(app, "viewer").get(path).status_code == 404


def test_a_preview_step_that_does_not_exist_is_a_404(app: Flask) -> None:
    version = get_journey_in(app, "default").version
    page = signed_in_as(app, "viewer").get(f"/admin/journeys/default/preview/{version}/step/nope")
    assert page.status_code == 404


# Drafts: roles, validation as you type, bad YAML -----------------------------------


@pytest.mark.parametrize("role", ["viewer", "support"])
def test_viewers_and_support_can_look_and_preview_but_not_edit(app: Flask, role: str) -> None:
    editor = signed_in_as(app, "editor")
    draft = _draft_id(_save_draft(editor, _retitled(_default_yaml(), "Hello")))
    client = signed_in_as(app, role)
    page = client.get(f"/admin/journey-drafts/{draft}")
    assert page.status_code == 200
    assert "Preview this draft" in page.text
    assert "Publish as the current version" not in page.text
    assert client.get(f"/admin/journeys/default/preview/draft-{draft}").status_code == 200
    assert client.get("/admin/journey-drafts/new").status_code == 403
    assert _save_draft(client, _default_yaml()).status_code == 403
    assert _save_draft(client, _default_yaml(), draft).status_code == 403
    assert client.post(f"/admin/journey-drafts/{draft}/publish").status_code == 403
    assert client.post(f"/admin/journey-drafts/{draft}/discard").status_code == 403
    assert client.post("/admin/journey-drafts/check", data={"yaml_text": "x"}).status_code == 403
    assert "New journey draft" not in client.get("/admin/journeys").text


@pytest.mark.parametrize("role", ["editor", "admin"])
def test_editors_and_admins_edit_a_copy_of_a_journey(app: Flask, role: str) -> None:
    client = signed_in_as(app, role)
    new = client.get("/admin/journey-drafts/new?from=default")
    assert new.status_code == 200
    assert "Northwind Lending would like to read" in new.text
    assert 'hx-post="/admin/journey-drafts/check"' in new.text
    assert 'hx-trigger="keyup changed delay:500ms"' in new.text
    assert client.get("/admin/journey-drafts/new?from=nope").status_code == 404
    blank = client.get("/admin/journey-drafts/new")
    assert "id: new-journey" in blank.text
    draft = _draft_id(_save_draft(client, _retitled(_default_yaml(), "Hello")))
    page = client.get(f"/admin/journey-drafts/{draft}")
    assert "valid, version" in page.text
    assert "Publish as the current version" in page.text


def _check(client: FlaskClient, text: str) -> str:
    response = client.post("/admin/journey-drafts/check", data={"yaml_text": text})
    assert response.status_code == 200
    assert response.text.lstrip().startswith("{#") or 'id="draft-problems"' in response.text
    return response.text


def test_problems_are_checked_as_the_editor_types(app: Flask) -> None:
    editor = signed_in_as(app, "editor")
    data = yaml.safe_load(_default_yaml())
    del data["steps"][1]["items"][0]["category"]["fr"]
    fragment = _check(editor, yaml.safe_dump(data, allow_unicode=True))
    assert "step 'consent': items[0].category</code>: missing translation for fr" in unescape(
        fragment
    )
    assert "<html" not in fragment
    ok = _check(editor, _default_yaml())
    assert "No problems: this journey is valid." in ok


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id: x\nsteps: [\n", "not valid YAML"),
        ("- just\n- a list\n", "must be a mapping with id, name, business, steps"),
        ("name: X\nbusines: {}\n", "<code>line 2: busines</code>: unknown field"),
        ("", "the journey is empty"),
    ],
)
def test_bad_yaml_gets_a_clear_message(app: Flask, text: str, message: str) -> None:
    editor = signed_in_as(app, "editor")
    assert message in _check(editor, text)
    saved = _save_draft(editor, text)
    assert saved.status_code == 422
    assert message in saved.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(JourneyDraft)) == 0


def test_a_syntax_error_says_where_it_is(app: Flask) -> None:
    fragment = _check(signed_in_as(app, "editor"), "id: x\nname: [unclosed\n")
    assert "<code>line 3, column 1</code>: not valid YAML" in fragment


def test_a_draft_with_problems_is_saved_but_cannot_be_published(app: Flask) -> None:
    editor = signed_in_as(app, "editor")
    data = yaml.safe_load(_default_yaml())
    data["steps"][1]["items"][0]["category"]["fr"] = ""
    draft = _draft_id(_save_draft(editor, yaml.safe_dump(data, allow_unicode=True)))
    page = editor.get(f"/admin/journey-drafts/{draft}")
    assert "has problems" in page.text
    assert "step 'consent': items[0].category" in unescape(page.text)
    refused = editor.post(f"/admin/journey-drafts/{draft}/publish")
    assert refused.status_code == 409
    assert "Fix the problems before publishing." in refused.text
    preview = editor.get(f"/admin/journeys/default/preview/draft-{draft}")
    assert preview.status_code == 409
    assert "step 'consent': items[0].category" in unescape(preview.text)
    assert get_journey_in(app, "default").version == yaml_version(_default_yaml())


def yaml_version(text: str) -> str:
    from app.engine.loading import journey_from_yaml

    return journey_from_yaml(text, Path("x"), JOURNEYS).version


def test_a_draft_can_be_uploaded_as_a_file(app: Flask) -> None:
    editor = signed_in_as(app, "editor")
    text = _retitled(_default_yaml(), "Uploaded")
    response = editor.post(
        "/admin/journey-drafts",
        data={"yaml_text": "", "upload": (io.BytesIO(text.encode()), "default.yaml")},
        content_type="multipart/form-data",
    )
    draft = _draft_id(response)
    assert "en: Uploaded" in editor.get(f"/admin/journey-drafts/{draft}").text


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"\xff\xfe\x00bad", "default.yaml", "The file is not UTF-8 text"),
        (b"id: x", "journey.txt", "Upload a .yaml or .yml file"),
    ],
)
def test_a_bad_upload_is_refused_with_a_message(
    app: Flask, content: bytes, name: str, message: str
) -> None:
    editor = signed_in_as(app, "editor")
    response = editor.post(
        "/admin/journey-drafts",
        data={"yaml_text": "", "upload": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert message in response.text


# Publishing -------------------------------------------------------------------------


def test_a_published_journey_serves_new_runs_while_an_old_run_finishes_on_its_version(
    app: Flask,
) -> None:
    old_version = get_journey_in(app, "default").version
    customer = app.test_client()
    customer.get(_customer_link(app, email="early@acme.example"))
    editor = signed_in_as(app, "editor")
    text = _retitled(_default_yaml(), "Brand new welcome")
    draft = _draft_id(_save_draft(editor, text))
    preview = editor.get(f"/admin/journeys/default/preview/draft-{draft}/step/welcome")
    assert "Brand new welcome" in preview.text
    published = editor.post(f"/admin/journey-drafts/{draft}/publish")
    assert published.status_code == 303
    assert published.location == "/admin/journeys/default"
    new_version = yaml_version(text)
    listing = editor.get("/admin/journeys").text
    assert "published in the console" in listing

    # The run that started before carries on with the words it started with.
    assert "Connect your accounting software to Northwind Lending" in (
        customer.get("/journey/welcome").text
    )
    newcomer = app.test_client()
    newcomer.get(_customer_link(app, email="late@acme.example"))
    assert "Brand new welcome" in newcomer.get("/journey/welcome").text
    with app.app_context():
        runs = db.session.scalars(select(JourneyRun).order_by(JourneyRun.id)).all()
        assert [r.journey_version for r in runs] == [old_version, new_version]
    # Published once, it can't be changed or published again.
    assert _save_draft(editor, text, draft).status_code == 422
    assert editor.post(f"/admin/journey-drafts/{draft}/publish").status_code == 409


def test_publishing_takes_effect_in_every_process(app: Flask, tmp_path: Path) -> None:
    from app import create_app

    other = create_app(test_settings(tmp_path))  # another worker on the same database
    try:
        with other.app_context():
            assert get_journey("default").version == yaml_version(_default_yaml())
        editor = signed_in_as(app, "editor")
        text = _retitled(_default_yaml(), "Seen everywhere")
        draft = _draft_id(_save_draft(editor, text))
        assert editor.post(f"/admin/journey-drafts/{draft}/publish").status_code == 303
        with other.app_context():
            assert get_journey("default").version == yaml_version(text)
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_new_journey_can_be_published(app: Flask) -> None:
    editor = signed_in_as(app, "editor")
    text = (
        (JOURNEYS / "reconnect.yaml")
        .read_text(encoding="utf-8")
        .replace("id: reconnect", "id: spring-offer")
    )
    draft = _draft_id(_save_draft(editor, text))
    assert editor.post(f"/admin/journey-drafts/{draft}/publish").status_code == 303
    assert editor.get("/admin/journeys/spring-offer").status_code == 200
    customer = app.test_client()
    opened = customer.get(_customer_link(app, "spring-offer"))
    assert opened.status_code == 303


def test_a_draft_identical_to_the_current_version_is_not_published(app: Flask) -> None:
    editor = signed_in_as(app, "editor")
    draft = _draft_id(_save_draft(editor, _default_yaml()))
    refused = editor.post(f"/admin/journey-drafts/{draft}/publish")
    assert refused.status_code == 409
    assert "same as the current version" in refused.text


def test_every_draft_change_is_audited_with_versions(app: Flask) -> None:
    editor = signed_in_as(app, "editor")
    current = get_journey_in(app, "default").version
    broken = _retitled(_default_yaml(), "Draft").replace("type: done", "type: finished")
    draft = _draft_id(_save_draft(editor, broken))
    fixed = _retitled(_default_yaml(), "Draft")
    _draft_id(_save_draft(editor, fixed, draft))
    assert editor.post(f"/admin/journey-drafts/{draft}/publish").status_code == 303
    other = _draft_id(_save_draft(editor, _retitled(_default_yaml(), "Other")))
    assert editor.post(f"/admin/journey-drafts/{other}/discard").status_code == 303
    assert editor.get(f"/admin/journey-drafts/{other}").status_code == 404
    new = yaml_version(fixed)
    other_version = yaml_version(_retitled(_default_yaml(), "Other"))
    email = "editor@example.com"
    state = {"journey_id": "default", "status": "draft"}
    assert _journey_audit(app) == [
        ("journey.draft_created", email, None, {**state, "version": None}),
        (
            "journey.draft_saved",
            email,
            {**state, "version": None},
            {**state, "version": new},
        ),
        ("journey.published", email, {"version": current}, {"version": new, "draft": draft}),
        ("journey.draft_created", email, None, {**state, "version": other_version}),
        ("journey.draft_discarded", email, {**state, "version": other_version}, None),
    ]


def test_flask_journeys_export_writes_the_published_yaml(app: Flask, tmp_path: Path) -> None:
    folder = tmp_path / "journeys"
    folder.mkdir()
    for path in JOURNEYS.glob("*.yaml"):
        (folder / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "assets").symlink_to(JOURNEYS / "assets")
    from app import create_app

    # Its own folder, made first: the sandbox creates its database there when the app starts.
    (tmp_path / "other").mkdir()
    exporting = create_app(test_settings(tmp_path / "other", JOURNEYS_DIR=str(folder)))
    try:
        reset_database(exporting)
        runner = exporting.test_cli_runner()
        missing = runner.invoke(args=["journeys", "export", "default"])
        assert missing.exit_code != 0
        assert "No journey 'default' was published" in missing.output
        editor = signed_in_as(exporting, "editor")
        text = _retitled(_default_yaml(), "Exported")
        draft = _draft_id(_save_draft(editor, text))
        assert editor.post(f"/admin/journey-drafts/{draft}/publish").status_code == 303
        result = runner.invoke(args=["journeys", "export", "default"])
        assert result.exit_code == 0, result.output
        assert (folder / "default.yaml").read_text(encoding="utf-8") == text
        assert runner.invoke(args=["journeys", "validate"]).exit_code == 0
    finally:
        with exporting.app_context():
            db.session.remove()
            db.engine.dispose()

"""An editor drafts a journey, sees its problems as they type, previews it, publishes it."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page, expect

from e2e.accessibility import assert_accessible
from e2e.admin import sign_in_as
from e2e.live import LiveServer

# A journey of its own: publishing it changes nothing for the other tests' journeys.
GOOD = """\
id: {id}
name: Trial journey from the browser test
business:
  name: Trial Lending
  purpose: to try a journey
steps:
  - id: welcome
    type: welcome
    title: A trial welcome
  - id: done
    type: done
    title: Trial finished
"""


def test_an_editor_drafts_previews_and_publishes_a_journey(
    page: Page, live_server: LiveServer
) -> None:
    journey_id = f"trial-{uuid.uuid4().hex[:8]}"
    good = GOOD.format(id=journey_id)
    sign_in_as(page, live_server, "editor")
    page.get_by_role("banner").get_by_role("link", name="Journeys", exact=True).click()
    main = page.get_by_role("main")
    expect(main.get_by_role("heading", level=1)).to_have_text("Journeys")
    expect(
        main.get_by_role("table", name="Current journeys: what new customers get")
    ).to_contain_text("Share your accounts for your loan application")
    assert_accessible(page)

    main.get_by_role("link", name="New journey draft").click()
    expect(main.get_by_role("heading", level=1)).to_have_text("New journey draft")
    # As a person would: typing once the page has finished loading (htmx with it).
    page.wait_for_load_state("load")
    yaml_box = main.get_by_label("Journey YAML")
    yaml_box.fill(good.replace("type: done", "type: finished"))
    yaml_box.press("End")  # a key typed: htmx checks the YAML
    problems = main.get_by_role("alert").filter(has_text="to fix before publishing")
    expect(problems).to_contain_text("line 10, step 'done': unknown step type 'finished'")
    assert_accessible(page)

    yaml_box.fill(good)
    yaml_box.press("End")
    expect(main.get_by_text("No problems: this journey is valid.")).to_be_visible()
    expect(problems).to_have_count(0)
    main.get_by_role("button", name="Save draft").click()

    expect(main.get_by_role("heading", level=1)).to_have_text(f"Draft of {journey_id}")
    expect(main.get_by_role("status").filter(has_text="Draft saved. It is valid")).to_be_visible()
    assert_accessible(page)

    main.get_by_role("link", name="Preview this draft").click()
    expect(main.get_by_role("heading", level=1)).to_have_text(
        "Preview Trial journey from the browser test"
    )
    assert_accessible(page)
    main.get_by_role("button", name="Start the preview").click()
    banner = main.get_by_role("region", name="Preview")
    expect(banner).to_contain_text("Preview — nothing is recorded")
    expect(main.get_by_role("heading", level=1)).to_have_text("A trial welcome")
    assert_accessible(page)
    main.get_by_role("button", name="Get started").click()
    expect(main.get_by_role("heading", level=1)).to_have_text("Trial finished")
    expect(banner).to_be_visible()

    banner.get_by_role("link", name="Back to the console").click()
    expect(main.get_by_role("heading", level=1)).to_have_text(f"Draft of {journey_id}")
    main.get_by_role("button", name="Publish as the current version").click()
    expect(main.get_by_role("heading", level=1)).to_contain_text(
        "Trial journey from the browser test"
    )
    expect(main.get_by_role("status").filter(has_text=f"new runs of {journey_id}")).to_be_visible()
    assert_accessible(page)

    from app.engine.registry import get_journey

    with live_server.app.app_context():
        published = get_journey(journey_id)
        assert published is not None
        assert published.steps[0].id == "welcome"


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}]
)
def test_a_skipped_journey_file_is_listed_with_its_problems(
    page: Page, live_server: LiveServer, viewport: dict[str, int]
) -> None:
    from pathlib import Path

    from app.engine.loading import JourneyDefinitionError
    from app.engine.registry import BROKEN_KEY

    skipped = JourneyDefinitionError(
        Path("journeys/spring-offer.yaml"),
        [
            (
                "line 57, step 'company': when",
                "refers to option 'partnership' of field 'kind', which step 'about' does not "
                "offer (it offers 'limited', 'sole')",
            )
        ],
    )
    live_server.app.extensions[BROKEN_KEY] = [skipped]
    try:
        page.set_viewport_size(viewport)
        sign_in_as(page, live_server, "viewer")
        page.goto(f"{live_server.url}/admin/journeys")
        section = page.get_by_role("region", name="1 journey file skipped: fix it")
        expect(section.get_by_role("heading", name="journeys/spring-offer.yaml")).to_be_visible()
        expect(section.get_by_role("listitem")).to_have_text(
            "line 57, step 'company': when: refers to option 'partnership' of field 'kind', "
            "which step 'about' does not offer (it offers 'limited', 'sole')"
        )
        assert_accessible(page)
    finally:
        live_server.app.extensions[BROKEN_KEY] = []

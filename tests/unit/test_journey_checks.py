"""Journey checks a product team meets before any customer does: conditions on fields or
options that don't exist, steps that can never show, consent items that cover nothing;
each error names the journey's file, the line and the step's id."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine.loading import JourneyDefinitionError, check_yaml, load_journey

HEAD = """\
id: shop
name: Share your accounts with Acme
business:
  name: Acme
  purpose: to check your accounts
steps:
  - id: welcome
    type: welcome
    title: Hello
  - id: consent
    type: consent
    title: What you share
    decline_text: Then we cannot check your accounts.
    items:
      - key: accounts
        category: Your accounts
        purpose: To check them
        retention: One year
        recipients: Acme
        required: true
      - key: marketing
        category: Your email address
        purpose: To send you offers
        retention: Until you say stop
        recipients: Acme
"""

ABOUT = """\
  - id: about
    type: form
    title: About your business
    fields:
      - name: kind
        label: What kind of business is it?
        type: radio
        options:
          - value: sole
            label: Sole trader
          - value: limited
            label: Limited company
"""

SOFTWARE = """\
  - id: software
    type: platform_select
    title: Your software
    platforms: [xero, sage]
  - id: connect
    type: connect
    title: Connect it
"""

DONE = """\
  - id: done
    type: done
    title: Thank you
"""


def _company(when: str) -> str:
    return f"""\
  - id: company
    type: form
    title: Your company
    when: {when}
    fields:
      - name: number
        label: Company number
"""


def _errors(tmp_path: Path, text: str) -> list[str]:
    """Each error of the journey file ``shop.yaml`` with ``text``, after the file's path."""
    path = tmp_path / "shop.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(JourneyDefinitionError) as caught:
        load_journey(path)
    lines = str(caught.value).splitlines()
    assert all(line.startswith(f"{path}, line ") for line in lines), lines
    return [line.removeprefix(f"{path}, ") for line in lines]


def _line(text: str, fragment: str) -> int:
    """The line (from 1) of ``text`` that holds ``fragment``."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if fragment in line)


def test_the_journey_used_in_these_tests_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "shop.yaml"
    path.write_text(HEAD + ABOUT + _company('about.kind == "limited"') + SOFTWARE + DONE)
    assert [s.id for s in load_journey(path).steps] == [
        "welcome",
        "consent",
        "about",
        "company",
        "software",
        "connect",
        "done",
    ]


def test_a_condition_on_an_option_a_field_does_not_offer(tmp_path: Path) -> None:
    text = HEAD + ABOUT + _company('about.kind == "partnership"') + SOFTWARE + DONE
    assert _errors(tmp_path, text) == [
        f"line {_line(text, 'when:')}, step 'company': when: refers to option 'partnership' "
        "of field 'kind', which step 'about' does not offer (it offers 'limited', 'sole')"
    ]


def test_a_condition_on_a_platform_the_choice_does_not_offer(tmp_path: Path) -> None:
    text = HEAD + SOFTWARE + _company('software.platform in ["xero", "quickbooks_online"]') + DONE
    assert _errors(tmp_path, text) == [
        f"line {_line(text, 'when:')}, step 'company': when: refers to option "
        "'quickbooks_online' of field 'platform', which step 'software' does not offer "
        "(it offers 'sage', 'xero')"
    ]


def test_a_condition_comparing_a_ticked_box_with_words(tmp_path: Path) -> None:
    text = HEAD + SOFTWARE + _company('consent.marketing == "yes"') + DONE
    assert _errors(tmp_path, text) == [
        f"line {_line(text, 'when:')}, step 'company': when: compares 'consent.marketing' "
        "with 'yes', but it is true (ticked) or false"
    ]


def test_a_condition_on_an_unknown_field(tmp_path: Path) -> None:
    text = HEAD + ABOUT + _company('about.size == "large"') + SOFTWARE + DONE
    assert _errors(tmp_path, text) == [
        f"line {_line(text, 'when:')}, step 'company': when: unknown field 'size' of step "
        "'about' (it has: kind)"
    ]


def test_a_condition_on_an_unknown_step(tmp_path: Path) -> None:
    text = HEAD + ABOUT + _company('details.kind == "limited"') + SOFTWARE + DONE
    assert _errors(tmp_path, text) == [
        f"line {_line(text, 'when:')}, step 'company': when: unknown step 'details' in "
        "'details.kind'"
    ]


def test_a_condition_no_answer_makes_true_makes_the_step_unreachable(tmp_path: Path) -> None:
    when = 'about.kind == "sole" and about.kind == "limited"'
    text = HEAD + ABOUT + _company(when) + SOFTWARE + DONE
    assert _errors(tmp_path, text) == [
        f"line {_line(text, 'when:')}, step 'company': when: the condition is false whatever "
        "the customer answers before: the step is unreachable"
    ]


def test_a_condition_on_a_later_answer_makes_the_step_unreachable(tmp_path: Path) -> None:
    text = HEAD + _company('software.platform == "xero"') + SOFTWARE + DONE
    assert _errors(tmp_path, text) == [
        f"line {_line(text, 'when:')}, step 'company': when: 'software.platform' is answered "
        "at or after this step: the step is unreachable"
    ]


def test_steps_after_a_done_step_are_unreachable(tmp_path: Path) -> None:
    early_done = DONE.replace("id: done", "id: thanks")
    text = HEAD + early_done + SOFTWARE + DONE
    assert _errors(tmp_path, text) == [
        f"line {_line(text, 'id: thanks') + 1}, step 'thanks': type: only the last step can "
        "be of type 'done': the steps after it are unreachable"
    ]


UPLOAD = """\
  - id: upload
    type: upload
    title: Upload your accounts
    covered_by: [accounts]
"""


def test_a_consent_item_that_covers_nothing(tmp_path: Path) -> None:
    text = HEAD + UPLOAD + DONE
    assert _errors(tmp_path, text) == [
        f"line {_line(text, 'key: marketing')}, step 'consent': items[1].key: consent item "
        "'marketing' covers nothing: no 'connect' or 'form' step comes after it, no 'upload' "
        "step's covered_by names it and no condition reads it"
    ]


def test_a_consent_item_a_condition_reads_is_used(tmp_path: Path) -> None:
    reads = UPLOAD.replace("    title: Upload", "    when: consent.marketing\n    title: Upload")
    path = tmp_path / "shop.yaml"
    path.write_text(HEAD + reads + DONE)
    assert load_journey(path).id == "shop"


def test_optional_items_before_connecting_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "shop.yaml"
    path.write_text(HEAD + SOFTWARE + DONE)
    assert load_journey(path).steps[1].id == "consent"


def test_a_shape_error_names_the_step_and_line_too(tmp_path: Path) -> None:
    text = HEAD + SOFTWARE.replace("    title: Connect it\n", "") + DONE
    assert _errors(tmp_path, text) == [
        f"line {_line(text, 'id: connect')}, step 'connect': title: Field required"
    ]


def test_the_drafts_editor_names_the_step_and_line(tmp_path: Path) -> None:
    from app import create_app
    from app.extensions import db
    from tests.conftest import test_settings

    text = HEAD + ABOUT + _company('about.kind == "partnership"') + SOFTWARE + DONE
    with create_app(test_settings(tmp_path)).app_context():
        checked = check_yaml(text)
        db.engine.dispose()
    assert checked.journey is None
    assert checked.problems == [
        (
            f"line {_line(text, 'when:')}, step 'company': when",
            "refers to option 'partnership' of field 'kind', which step 'about' does not offer "
            "(it offers 'limited', 'sole')",
        )
    ]

"""Journey files: validated on load, with messages that name the file, the place and the fault."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app.engine.loading import JourneyDefinitionError, load_directory, load_journey

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = yaml.safe_load((ROOT / "journeys" / "default.yaml").read_text())


def _write(tmp_path: Path, data: object, name: str = "default") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


def _problems(path: Path) -> str:
    with pytest.raises(JourneyDefinitionError) as caught:
        load_journey(path)
    return str(caught.value)


def _variant(**changes: object) -> dict:
    data = yaml.safe_load(yaml.safe_dump(DEFAULT))
    data.update(changes)
    return data


def test_the_shipped_journey_is_valid() -> None:
    journey = load_journey(ROOT / "journeys" / "default.yaml")
    assert [s.type for s in journey.steps] == [
        "welcome",
        "consent",
        "platform_select",
        "connect",
        "upload",
        "done",
    ]
    assert len(journey.version) == 64


def test_the_version_follows_the_content(tmp_path: Path) -> None:
    original = load_journey(_write(tmp_path, DEFAULT)).version
    changed = _variant(name="Another name")
    assert load_journey(_write(tmp_path, changed)).version != original
    assert load_journey(_write(tmp_path, DEFAULT)).version == original


def test_a_missing_field_is_named_with_its_path(tmp_path: Path) -> None:
    data = _variant()
    del data["steps"][1]["items"][0]["purpose"]
    message = _problems(_write(tmp_path, data))
    assert "default.yaml" in message
    assert "step 'consent': items[0].purpose: Field required" in message


def test_an_unknown_field_is_refused(tmp_path: Path) -> None:
    data = _variant()
    data["steps"][0]["colour"] = "red"
    assert "step 'welcome': colour: unknown field" in _problems(_write(tmp_path, data))


def test_an_unknown_step_type_is_refused(tmp_path: Path) -> None:
    data = _variant()
    data["steps"][0]["type"] = "wellcome"
    assert "step 'welcome': unknown step type" in _problems(_write(tmp_path, data))


def test_an_unknown_platform_is_refused(tmp_path: Path) -> None:
    data = _variant()
    data["steps"][2]["platforms"] = ["sandbox", "abacus"]
    assert "unknown platform 'abacus'" in _problems(_write(tmp_path, data))


def test_duplicate_step_ids_are_refused(tmp_path: Path) -> None:
    data = _variant()
    data["steps"][1]["id"] = "welcome"
    assert "duplicate step id 'welcome'" in _problems(_write(tmp_path, data))


def test_the_last_step_must_be_done(tmp_path: Path) -> None:
    data = _variant()
    data["steps"] = data["steps"][:-1]
    assert "the last step must be of type 'done'" in _problems(_write(tmp_path, data))


def test_connect_needs_a_platform_choice_before_it(tmp_path: Path) -> None:
    data = _variant()
    steps = data["steps"]
    data["steps"] = [steps[0], steps[1], steps[3], steps[2], steps[4]]
    assert "a 'connect' step must come after a 'platform_select' step" in _problems(
        _write(tmp_path, data)
    )


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    message = _problems(_write(tmp_path, "id: default\nsteps: [\n  - oops"))
    assert "not valid YAML" in message
    assert "line" in message


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    assert "must be a mapping" in _problems(_write(tmp_path, "- just\n- a list\n"))


def test_the_id_must_match_the_file_name(tmp_path: Path) -> None:
    assert "must match the file name" in _problems(_write(tmp_path, DEFAULT, name="other"))


def test_a_directory_reports_every_broken_file(tmp_path: Path) -> None:
    _write(tmp_path, "id: [", name="one")
    _write(tmp_path, {"id": "two"}, name="two")
    with pytest.raises(JourneyDefinitionError) as caught:
        load_directory(tmp_path)
    assert "one.yaml" in str(caught.value)
    assert "two.yaml" in str(caught.value)


def _business() -> dict:
    return yaml.safe_load((ROOT / "journeys" / "business.yaml").read_text())


def _problems_of(tmp_path: Path, data: dict, name: str) -> str:
    return _problems(_write(tmp_path, data, name=name))


def test_the_example_journeys_are_valid() -> None:
    for name in ("default", "reconnect", "business"):
        assert load_journey(ROOT / "journeys" / f"{name}.yaml").id == name


def test_a_condition_on_an_unknown_field_is_refused(tmp_path: Path) -> None:
    data = _business()
    data["steps"][3]["when"] = 'details.company_kind == "limited"'
    message = _problems_of(tmp_path, data, "business")
    assert "step 'company': when: unknown field 'company_kind' of step 'details'" in message
    assert "company_type" in message  # says what the step does have


def test_a_condition_on_an_unknown_step_is_refused(tmp_path: Path) -> None:
    data = _business()
    data["steps"][3]["when"] = "about.size > 3"
    assert "step 'company': when: unknown step 'about' in 'about.size'" in _problems_of(
        tmp_path, data, "business"
    )


def test_a_condition_on_a_later_answer_makes_the_step_unreachable(tmp_path: Path) -> None:
    data = _business()
    data["steps"][2]["when"] = 'software.platform == "xero"'
    assert "'software.platform' is answered at or after this step: the step is unreachable" in (
        _problems_of(tmp_path, data, "business")
    )


def test_an_always_false_condition_makes_the_step_unreachable(tmp_path: Path) -> None:
    data = _business()
    data["steps"][3]["when"] = "false"
    assert "step 'company': when: the condition is always false" in _problems_of(
        tmp_path, data, "business"
    )


def test_a_malformed_condition_says_where(tmp_path: Path) -> None:
    data = _business()
    data["steps"][3]["when"] = 'details.company_type == "limited" and'
    message = _problems_of(tmp_path, data, "business")
    assert "step 'company': when: not a valid condition:" in message
    assert "position" in message


def test_missing_translations_are_named(tmp_path: Path) -> None:
    data = _variant()
    del data["steps"][1]["items"][0]["purpose"]["de"]
    data["steps"][0]["title"] = "Only in English"
    message = _problems(_write(tmp_path, data))
    assert "step 'consent': items[0].purpose: missing translation for de" in message
    assert "step 'welcome': title: missing translations: give this text in en, fr, de" in message


def test_a_colour_pair_below_aa_contrast_is_named_with_its_ratio(tmp_path: Path) -> None:
    data = _business()
    data["business"]["brand"]["primary_colour"] = "#7fb3ff"
    message = _problems_of(tmp_path, data, "business")
    assert (
        "business.brand.primary_colour: white button text on primary_colour has a contrast of 2."
        in message
    )
    assert "below the 4.5:1 WCAG AA needs" in message


def test_a_badly_written_colour_is_refused(tmp_path: Path) -> None:
    data = _business()
    data["business"]["brand"]["accent_colour"] = "orange"
    assert "business.brand.accent_colour: String should match pattern" in _problems_of(
        tmp_path, data, "business"
    )


def test_broken_internal_references_are_named(tmp_path: Path) -> None:
    data = _business()
    data["business"]["brand"]["logo"] = "assets/missing.svg"
    data["steps"][6]["overrides"]["quickbooks"] = "Sign in to QuickBooks"
    message = _problems_of(tmp_path, data, "business")
    assert "business.brand.logo: no file 'assets/missing.svg' in the journeys folder" in message
    assert (
        "step 'instructions': overrides.quickbooks: platform 'quickbooks' is not offered "
        "before this step" in message
    )


def test_a_form_field_without_its_options_is_refused(tmp_path: Path) -> None:
    data = _business()
    data["steps"][2]["fields"][1]["options"] = []
    assert "step 'details': fields[1].options: a radio field needs options" in _problems_of(
        tmp_path, data, "business"
    )


def test_an_unknown_step_type_names_the_known_ones(tmp_path: Path) -> None:
    data = _variant()
    data["steps"][0]["type"] = "wellcome"
    message = _problems(_write(tmp_path, data))
    assert "step 'welcome': unknown step type 'wellcome'" in message
    assert "platform_select" in message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    data = _business()
    data["steps"][1]["id"] = "welcome"
    data["steps"][3]["when"] = "details.nope"
    data["business"]["brand"]["text_colour"] = "#999999"
    message = _problems_of(tmp_path, data, "business")
    assert "duplicate step id 'welcome'" in message
    assert "unknown field 'nope'" in message
    assert "text_colour on white has a contrast" in message


def test_text_rules_on_other_field_types_are_refused(tmp_path: Path) -> None:
    data = _business()
    data["steps"][2]["fields"][4]["max_length"] = 5  # employees, a number
    data["steps"][2]["fields"][5]["min"] = 1  # trading_since, a date
    message = _problems_of(tmp_path, data, "business")
    assert (
        "step 'details': fields[4].max_length: max_length applies to text, email and phone "
        "fields only" in message
    )
    assert "step 'details': fields[5].min: min and max apply to number fields only" in message


def test_connecting_must_be_shown_whenever_the_platform_choice_is(tmp_path: Path) -> None:
    data = _business()
    data["steps"][4]["when"] = "consent.accounts"
    message = _problems_of(tmp_path, data, "business")
    assert "step 'connect': when: must be the same as the 'platform_select' step's when" in message


def test_an_empty_condition_is_refused(tmp_path: Path) -> None:
    data = _business()
    data["steps"][3]["when"] = ""
    assert "step 'company': when: String should have at least 1 character" in _problems_of(
        tmp_path, data, "business"
    )


def test_a_light_background_that_hides_the_grey_text_is_refused(tmp_path: Path) -> None:
    data = _business()
    data["business"]["brand"]["background_colour"] = "#b0b8c4"
    assert "grey footer text on background_colour has a contrast of" in _problems_of(
        tmp_path, data, "business"
    )


def test_yml_files_are_journeys_too(tmp_path: Path) -> None:
    (tmp_path / "default.yml").write_text(yaml.safe_dump(DEFAULT))
    assert set(load_directory(tmp_path)) == {"default"}


def _software_step(data: dict) -> dict:
    return next(s for s in data["steps"] if s["type"] == "platform_select")


def test_not_listed_off_keeps_the_version_a_journey_had_before_the_option(tmp_path: Path) -> None:
    without = _variant()
    del _software_step(without)["not_listed"]
    plain = load_journey(_write(tmp_path, without)).version
    off = _variant()
    _software_step(off)["not_listed"] = False
    assert load_journey(_write(tmp_path, off)).version == plain
    assert load_journey(_write(tmp_path, DEFAULT)).version != plain  # on: a new version


def test_not_listed_text_needs_not_listed_on(tmp_path: Path) -> None:
    data = _variant()
    step = _software_step(data)
    step["not_listed"] = False
    step["not_listed_text"] = {"en": "Tell us", "fr": "Dites-le", "de": "Sagen Sie es"}
    message = _problems(_write(tmp_path, data))
    assert "not_listed_text: shown only with not_listed: true" in message


def test_not_listed_text_needs_every_language(tmp_path: Path) -> None:
    data = _variant()
    _software_step(data)["not_listed_text"] = {"en": "Tell us"}
    message = _problems(_write(tmp_path, data))
    assert "not_listed_text" in message


def _upload_step(data: dict) -> dict:
    return next(s for s in data["steps"] if s["type"] == "upload")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"kinds": ["pdf", "docx"]}, "kinds[1]: Input should be 'pdf', 'csv' or 'xlsx'"),
        ({"kinds": []}, "kinds"),
        ({"kinds": ["pdf", "pdf"]}, "kinds[1]: kind 'pdf' is listed twice"),
        ({"max_files": 0}, "max_files"),
        ({"max_files": 51}, "max_files"),
        ({"max_file_mb": 26}, "max_file_mb"),
        ({"covered_by": ["bank_statements"]}, "'bank_statements' is not an item of a consent step"),
        ({"fallback": False, "offer_text": "Send files"}, "offer_text: shown only with fallback"),
        ({"when": "consent.ongoing_monitoring"}, "shown when chosen, not by when"),
    ],
)
def test_an_upload_step_is_checked_like_the_rest(
    tmp_path: Path, change: dict, expected: str
) -> None:
    data = _variant()
    _upload_step(data).update(change)
    message = _problems(_write(tmp_path, data))
    assert "default.yaml" in message
    assert expected in message


def test_a_fallback_upload_needs_a_software_step(tmp_path: Path) -> None:
    data = _variant()
    data["steps"] = [s for s in data["steps"] if s["type"] not in ("platform_select", "connect")]
    message = _problems(_write(tmp_path, data))
    assert "fallback: a fallback is offered instead of connecting" in message


def test_covered_by_must_name_an_earlier_consent_item(tmp_path: Path) -> None:
    data = _variant()
    upload = _upload_step(data)
    data["steps"].remove(upload)
    data["steps"].insert(1, upload)  # before the consent step
    message = _problems(_write(tmp_path, data))
    assert "'financial_statements' is not an item of a consent step before this one" in message


def test_uploads_days_unset_keeps_the_version(tmp_path: Path) -> None:
    plain = load_journey(_write(tmp_path, _variant())).version
    data = _variant(retention={"abandoned_runs_days": 30})
    with_runs = load_journey(_write(tmp_path, data)).version
    data["retention"]["uploads_days"] = None
    assert load_journey(_write(tmp_path, data)).version == with_runs
    data["retention"]["uploads_days"] = 90
    assert load_journey(_write(tmp_path, data)).version not in (plain, with_runs)


def test_uploaded_words_on_the_done_step_need_an_upload_step(tmp_path: Path) -> None:
    data = _variant()
    data["steps"] = [s for s in data["steps"] if s["type"] != "upload"]
    message = _problems(_write(tmp_path, data))
    assert "uploaded_title: shown only after an 'upload' step" in message
    assert "uploaded_body: shown only after an 'upload' step" in message
    for option in ("uploaded_title", "uploaded_body"):
        del data["steps"][-1][option]
    plain = load_journey(_write(tmp_path, data)).version
    data["steps"][-1]["uploaded_title"] = None
    assert load_journey(_write(tmp_path, data)).version == plain


def _connect_step(data: dict) -> dict:
    return next(s for s in data["steps"] if s["type"] == "connect")


def test_delegate_off_keeps_the_version_a_journey_had_before_the_option(tmp_path: Path) -> None:
    without = _variant()
    for option in ("delegate", "delegate_days", "delegate_text"):
        _connect_step(without).pop(option, None)
    plain = load_journey(_write(tmp_path, without)).version
    off = _variant()
    _connect_step(off).update(delegate=False, delegate_days=7)
    assert load_journey(_write(tmp_path, off)).version == plain
    assert load_journey(_write(tmp_path, DEFAULT)).version != plain  # on: a new version


@pytest.mark.parametrize("days", [0, 31, -1, "a week"])
def test_delegate_days_is_between_1_and_30(tmp_path: Path, days: object) -> None:
    data = _variant()
    _connect_step(data).update(delegate=True, delegate_days=days)
    assert "delegate_days" in _problems(_write(tmp_path, data))


def test_delegate_options_need_delegate_on(tmp_path: Path) -> None:
    data = _variant()
    step = _connect_step(data)
    step.update(delegate=False, delegate_days=3)
    step["delegate_text"] = {"en": "Ask", "fr": "Demandez", "de": "Fragen"}
    message = _problems(_write(tmp_path, data))
    assert "delegate_days: used only with delegate: true" in message
    assert "delegate_text: used only with delegate: true" in message


def test_delegate_text_needs_every_language(tmp_path: Path) -> None:
    data = _variant()
    _connect_step(data).update(delegate=True, delegate_text={"en": "Ask your accountant"})
    assert "delegate_text" in _problems(_write(tmp_path, data))


def _done_step(data: dict) -> dict:
    return next(s for s in data["steps"] if s["type"] == "done")


def test_feedback_on_by_default_keeps_the_version_a_journey_had_before_the_option(
    tmp_path: Path,
) -> None:
    plain = load_journey(_write(tmp_path, _variant()))
    assert plain.steps[-1].feedback is True  # type: ignore[union-attr]
    on = _variant()
    _done_step(on)["feedback"] = True
    assert load_journey(_write(tmp_path, on)).version == plain.version
    off = _variant()
    _done_step(off)["feedback"] = False
    assert load_journey(_write(tmp_path, off)).version != plain.version  # off: a new version

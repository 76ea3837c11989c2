"""Journey files: validated on load, with messages that name the file, the place and the fault."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app.journey.definitions import JourneyDefinitionError, load_directory, load_journey

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
        "instructions",
        "connect",
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
    assert "steps[1].items[0].purpose: Field required" in message


def test_an_unknown_field_is_refused(tmp_path: Path) -> None:
    data = _variant()
    data["steps"][0]["colour"] = "red"
    assert "steps[0].colour: unknown field" in _problems(_write(tmp_path, data))


def test_an_unknown_step_type_is_refused(tmp_path: Path) -> None:
    data = _variant()
    data["steps"][0]["type"] = "wellcome"
    assert "steps[0]" in _problems(_write(tmp_path, data))


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
    data["steps"] = [steps[0], steps[1], steps[4], steps[2], steps[3], steps[5]]
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

"""A journey that lets the customer choose how long to share: sensible choices within the
policy's cap, and Australia's Consumer Data Right (12 months at most, the customer's own
choice) checked with messages that say what to change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from app.engine.loading import JourneyDefinitionError, load_journey

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = yaml.safe_load((ROOT / "journeys" / "default.yaml").read_text())
CDR = "Australia's Consumer Data Right"


def _journey(tmp_path: Path, **policy: Any) -> Path:
    data = yaml.safe_load(yaml.safe_dump(DEFAULT))
    data["consent_policy"].update(policy)
    path = tmp_path / "default.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _problems(path: Path) -> str:
    with pytest.raises(JourneyDefinitionError) as caught:
        load_journey(path)
    return str(caught.value)


def test_choices_within_the_lifetime_are_valid(tmp_path: Path) -> None:
    journey = load_journey(
        _journey(tmp_path, lifetime_days=365, durations={"choices": ["once", 90, 365]})
    )
    policy = journey.policy
    assert policy.duration_days("once") == 1
    assert policy.duration_days("90") == 90
    assert policy.duration_days("30") is None
    assert policy.preselected_duration is None


def test_the_default_is_selected_outside_australia(tmp_path: Path) -> None:
    path = _journey(tmp_path, durations={"choices": ["once", 90], "default": 90})
    assert load_journey(path).policy.preselected_duration == "90"


def test_the_journey_version_is_unchanged_without_durations(tmp_path: Path) -> None:
    # Journeys written before durations existed keep the version their records name.
    shipped = load_journey(ROOT / "journeys" / "default.yaml")
    assert load_journey(_journey(tmp_path)).version == shipped.version
    assert load_journey(_journey(tmp_path, durations={"choices": ["once", 90]})).version != (
        shipped.version
    )


def test_a_choice_longer_than_the_lifetime_is_refused(tmp_path: Path) -> None:
    message = _problems(_journey(tmp_path, lifetime_days=90, durations={"choices": [30, 180]}))
    assert (
        "consent_policy.durations.choices[1]: 180 days is too long: "
        "lifetime_days allows at most 90 days" in message
    )


def test_repeated_choices_and_a_default_not_offered_are_refused(tmp_path: Path) -> None:
    message = _problems(_journey(tmp_path, durations={"choices": ["once", 30, 30], "default": 60}))
    assert "consent_policy.durations.choices[2]: 30 is listed twice" in message
    assert "consent_policy.durations.default: the default must be one of the choices" in message


@pytest.mark.parametrize("choices", [["once"], ["once", 0], ["never", 30], [30, 4000]])
def test_a_choice_must_be_once_or_a_positive_number_of_days(
    tmp_path: Path, choices: list[Any]
) -> None:
    assert "consent_policy.durations" in _problems(
        _journey(tmp_path, durations={"choices": choices})
    )


def test_australia_caps_ongoing_consent_at_12_months(tmp_path: Path) -> None:
    message = _problems(
        _journey(
            tmp_path,
            jurisdiction="AU",
            lifetime_days=None,
            durations={"choices": ["once", 365, 730]},
        )
    )
    assert (
        f"consent_policy.durations.choices[2]: 730 days is too long: {CDR} caps ongoing "
        "consent at 12 months (365 days)" in message
    )
    assert "choices[1]" not in message


def test_australia_caps_the_lifetime_too(tmp_path: Path) -> None:
    message = _problems(
        _journey(
            tmp_path, jurisdiction="AU", lifetime_days=400, durations={"choices": ["once", 90]}
        )
    )
    assert (
        f"consent_policy.lifetime_days: {CDR} caps ongoing consent at 12 months: "
        "at most 365 days" in message
    )


def test_australia_needs_the_customers_choice(tmp_path: Path) -> None:
    message = _problems(_journey(tmp_path, jurisdiction="AU"))
    assert f"consent_policy.durations: {CDR} has the customer choose how long" in message


def test_australia_selects_nothing_for_the_customer(tmp_path: Path) -> None:
    message = _problems(
        _journey(
            tmp_path, jurisdiction="AU-NSW", durations={"choices": ["once", 90], "default": 90}
        )
    )
    assert (
        f"consent_policy.durations.default: {CDR} has the customer make the choice: "
        "remove the default" in message
    )


def test_an_australian_journey_that_lets_the_customer_choose_is_valid(tmp_path: Path) -> None:
    path = _journey(
        tmp_path, jurisdiction="AU", lifetime_days=None, durations={"choices": ["once", 90, 365]}
    )
    policy = load_journey(path).policy
    assert policy.under_cdr
    assert policy.longest_days == 365

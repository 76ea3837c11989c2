"""The suite keeps its promise of at least 10,000 hostile inputs per run."""

from __future__ import annotations

from tests.hostile.targets import TARGETS

INPUTS_PER_RUN = 10_000


def test_a_run_sends_at_least_ten_thousand_hostile_inputs() -> None:
    assert sum(target.examples for target in TARGETS) >= INPUTS_PER_RUN


def test_every_target_has_a_distinct_name() -> None:
    # The figures are kept per target name.
    names = [target.name for target in TARGETS]
    assert len(names) == len(set(names))

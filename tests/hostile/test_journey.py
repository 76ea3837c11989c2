"""No input to the customer journey's pages and forms gets a server error."""

from __future__ import annotations

import pytest

from tests.hostile.targets import JOURNEY, Target, attack
from tests.hostile.world import World


@pytest.mark.parametrize("target", JOURNEY, ids=lambda target: target.name)
def test_hostile_input_to_the_journey_gets_no_server_error(world: World, target: Target) -> None:
    attack(world, target)

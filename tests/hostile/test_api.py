"""No input to the API (and the platforms' webhook receiver) gets a server error."""

from __future__ import annotations

import pytest

from tests.hostile.targets import API, Target, attack
from tests.hostile.world import World


@pytest.mark.parametrize("target", API, ids=lambda target: target.name)
def test_hostile_input_to_api_gets_no_server_error(world: World, target: Target) -> None:
    attack(world, target)

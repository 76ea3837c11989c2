"""No input to the admin console's forms and filters gets a server error."""

from __future__ import annotations

import pytest

from tests.hostile.targets import ADMIN, Target, attack
from tests.hostile.world import World


@pytest.mark.parametrize("target", ADMIN, ids=lambda target: target.name)
def test_hostile_input_to_admin_gets_no_server_error(world: World, target: Target) -> None:
    attack(world, target)

"""No input to the customer's page gets a server error."""

from __future__ import annotations

import pytest

from tests.hostile.targets import CUSTOMER_PAGE, Target, attack
from tests.hostile.world import World


@pytest.mark.parametrize("target", CUSTOMER_PAGE, ids=lambda target: target.name)
def test_hostile_input_to_customer_page_gets_no_server_error(world: World, target: Target) -> None:
    attack(world, target)

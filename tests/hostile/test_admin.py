"""No input to the admin console's forms and filters gets a server error."""

from __future__ import annotations

import pytest

from tests.hostile.targets import ADMIN, Target, attack
from tests.hostile.world import World

# An upload followed by a part whose name is not UTF-8 makes Werkzeug's multipart parser
# drop the whole form without closing the upload's temporary file (plain Flask does the
# same; the garbage collector closes it): a warning about Werkzeug, not about Onramp.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <function SpooledTemporaryFile.__del__"
    ":pytest.PytestUnraisableExceptionWarning"
)


@pytest.mark.parametrize("target", ADMIN, ids=lambda target: target.name)
def test_hostile_input_to_admin_gets_no_server_error(world: World, target: Target) -> None:
    attack(world, target)

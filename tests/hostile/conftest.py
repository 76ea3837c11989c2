"""One world (app, database, live Sandbox) per test module, all sharing the run's tally
(see figures.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hostile.figures import TALLY
from tests.hostile.probe import Tally
from tests.hostile.world import World, world_for


@pytest.fixture(scope="session")
def tally(request: pytest.FixtureRequest) -> Tally:
    return request.config.stash[TALLY]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, tally: Tally) -> Iterator[World]:
    with world_for(tmp_path_factory.mktemp("hostile"), tally) as world:
        yield world

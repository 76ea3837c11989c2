"""pytest hooks that keep one tally per run and print its figures at the end: hostile
inputs tried and 5xx seen, per target (under pytest-xdist, summed over the workers).

tests/conftest.py imports them, so that they are there whichever tests a run collects.
"""

from __future__ import annotations

import pytest

from tests.hostile.probe import Tally, figures, merge

TALLY = pytest.StashKey[Tally]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[TALLY] = Tally()


def pytest_sessionfinish(session: pytest.Session) -> None:
    # A pytest-xdist worker sends its figures back to the controller.
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["hostile"] = figures(session.config.stash[TALLY])


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    sent = getattr(node, "workeroutput", {}).get("hostile")
    config = getattr(node, "config", None)
    if sent and config is not None:
        merge(config.stash[TALLY], sent)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    tally = terminalreporter.config.stash[TALLY]
    if tally.total_inputs:
        terminalreporter.write_sep("=", "hostile-input figures")
        terminalreporter.write_line(tally.report())

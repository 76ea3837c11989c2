"""A broken step fails with a message a tester understands: which rule, which element,
which page; or which page was expected and which one the browser shows."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from e2e.pages.base import ARRIVAL_TIMEOUT_MS, UatPage, titled

BROKEN_STEP = """<!doctype html>
<html lang="en"><head><title>Broken step</title></head>
<body><main><h1>Broken step</h1>
<form><input type="email" id="email-without-label"><button>Continue</button></form>
</main></body></html>"""


class BrokenStep(UatPage):
    titles = titled("Broken step")


class SomeOtherStep(UatPage):
    titles = titled("Some other step")


def test_a_missing_label_names_the_rule_and_the_element(page: Page) -> None:
    page.set_content(BROKEN_STEP)

    with pytest.raises(pytest.fail.Exception) as failure:
        BrokenStep(page)

    message = str(failure.value)
    assert "axe found 1 accessibility violation(s)" in message
    assert "- label (critical): Form elements must have labels" in message
    assert "#email-without-label" in message
    assert "https://dequeuniversity.com/rules/axe/" in message
    assert "'Broken step'" in message


def test_the_wrong_page_says_what_was_expected_and_what_is_shown(page: Page) -> None:
    page.set_content(BROKEN_STEP.replace('<input type="email" id="email-without-label">', ""))
    page.set_default_timeout(1000)

    with pytest.raises(pytest.fail.Exception) as failure:
        SomeOtherStep(page)

    assert str(failure.value) == (
        "Expected the page 'Some other step' (SomeOtherStep), but after "
        f"{ARRIVAL_TIMEOUT_MS // 1000} s the browser shows 'Broken step' at about:blank"
    )

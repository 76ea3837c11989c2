"""What every UAT page object does when it is created: wait for its page, then check it.

A page object is scoped to the page's landmarks (``main``, ``banner``), finds things by
role and label only, and never asserts: scenarios do, with ``expect``. On creation it
waits until the browser shows its page (its level-1 heading), and runs axe-core on it,
so every page of every scenario is checked for WCAG 2.2 AA without anyone remembering
to. Both failures name what went wrong in words a tester can act on.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar, Self, TypeVar

import pytest
from playwright.sync_api import BrowserContext, Frame, Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from e2e.accessibility import assert_accessible
from e2e.words import in_language

# How long a page may take to arrive after a click (the provider's redirects included).
ARRIVAL_TIMEOUT_MS = 15_000

# Contexts made with JavaScript turned off (see :func:`without_javascript`).
_NO_SCRIPT_FLAG = "_onramp_uat_no_script"

PageT = TypeVar("PageT", bound="UatPage")


def without_javascript(context: BrowserContext) -> BrowserContext:
    """Mark a context made with ``java_script_enabled=False``: axe must run elsewhere.

    axe-core needs timers, which a page without JavaScript never fires, so its pages
    are checked in a twin page that has JavaScript (see :func:`check_accessibility`).
    """
    setattr(context, _NO_SCRIPT_FLAG, True)
    return context


def check_accessibility(page: Page | Frame) -> None:
    """axe-core on the page (or frame) as it is now; a page without JavaScript is checked
    in a twin."""
    if isinstance(page, Frame) or not getattr(page.context, _NO_SCRIPT_FLAG, False):
        assert_accessible(page)
        return
    browser = page.context.browser
    assert browser is not None
    html, url = page.content(), page.url
    twin = browser.new_context(viewport=page.viewport_size)
    try:
        twin_page = twin.new_page()
        # The same document at the same address: its stylesheets load as they did.
        twin_page.route(url, lambda route: route.fulfill(body=html, content_type="text/html"))
        twin_page.goto(url)
        assert_accessible(twin_page)
    finally:
        twin.close()


def titled(en: str, **translations: str) -> Mapping[str, str]:
    """A page's heading in English and, by language code, in its other languages (those
    not given are Onramp's own words, found in its catalogues)."""
    return MappingProxyType({"en": en, **translations})


class UatPage:
    """A page of Onramp or of the Sandbox, known by its level-1 heading.

    It is shown in a browser tab (a Playwright ``Page``) or, for an embedded journey, in
    a frame on the business's page (a ``Frame``): both are found and checked alike.
    ``titles`` gives the heading in each language the page is tested in; ``lang``
    picks one. Subclasses add the page's parts (locators) and actions; an action that
    leads to another page returns that page's object.
    """

    titles: ClassVar[Mapping[str, str]]

    def __init__(self, page: Page | Frame, lang: str = "en") -> None:
        self.page = page
        self.lang = lang
        self.main = page.get_by_role("main")
        self.banner = page.get_by_role("banner")
        self.heading = self.main.get_by_role("heading", level=1)
        self._arrive()
        self._settle()
        check_accessibility(page)

    @property
    def tab(self) -> Page:
        """The browser tab showing this page (the business's page, for a frame)."""
        return self.page if isinstance(self.page, Page) else self.page.page

    @property
    def title(self) -> str:
        """The heading in the page's language: as given, else Onramp's own words for it."""
        return self.titles.get(self.lang) or self._(self.titles["en"])

    def _arrive(self) -> None:
        wanted = self.main.get_by_role("heading", level=1, name=self.title, exact=True)
        try:
            wanted.wait_for(timeout=ARRIVAL_TIMEOUT_MS)
        except PlaywrightTimeoutError:
            shown = self.page.get_by_role("heading", level=1).all_inner_texts()
            pytest.fail(
                f"Expected the page {self.title!r} ({type(self).__name__}), but after "
                f"{ARRIVAL_TIMEOUT_MS // 1000} s the browser shows "
                f"{' / '.join(shown) or 'no main heading'!r} at {self.page.url}",
                pytrace=False,
            )

    def _settle(self) -> None:
        """Wait for htmx to finish any request (it dims the buttons meanwhile), so that
        axe sees the page as the customer reads it."""
        scripted = isinstance(self.page, Frame) or not getattr(
            self.page.context, _NO_SCRIPT_FLAG, False
        )
        if scripted:
            self.page.wait_for_function(
                "() => !document.querySelector('.htmx-request')", timeout=ARRIVAL_TIMEOUT_MS
            )

    def expecting_problem(self) -> Self:
        """The same page again after a form was refused, once it says what to correct."""
        self.error_summary.wait_for(timeout=ARRIVAL_TIMEOUT_MS)
        return type(self)(self.page, self.lang)

    def _(self, english: str, **values: str) -> str:
        """Onramp's own words, by their English text, in the page's language."""
        return in_language(self.lang, english, **values)

    def button(self, english: str, **values: str) -> Locator:
        return self.main.get_by_role("button", name=self._(english, **values), exact=True)

    def link(self, english: str, **values: str) -> Locator:
        return self.main.get_by_role("link", name=self._(english, **values), exact=True)

    def go(self, to: type[PageT]) -> PageT:
        """The next page, in the same language."""
        return to(self.page, self.lang)

    def reloaded(self) -> Self:
        """Refresh the browser: the same page comes back."""
        self.page.reload()
        return type(self)(self.page, self.lang)

    @property
    def alert(self) -> Locator:
        return self.main.get_by_role("alert")

    @property
    def status(self) -> Locator:
        return self.main.get_by_role("status")

    @property
    def error_summary(self) -> Locator:
        """The box listing what to correct, each item a link to its field."""
        return self.alert.filter(has=self.page.get_by_role("heading", level=2))

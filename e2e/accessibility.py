"""axe-core against the page in the browser, for WCAG 2.2 AA.

The pages' CSP allows scripts from 'self' only, so axe cannot be added as a
script tag; ``page.evaluate`` runs outside the page's CSP.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Frame, Locator, Page, expect

AXE_PATH = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

RUN_AXE = """async (tags) => {
  const results = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
  return results.violations;
}"""


@cache
def _axe_source() -> str:
    if not AXE_PATH.exists():
        pytest.fail(f"axe-core is missing ({AXE_PATH}): run `make install`", pytrace=False)
    return AXE_PATH.read_text(encoding="utf-8")


def _describe(violation: dict[str, Any]) -> str:
    targets = "\n".join(
        "    " + " >>> ".join(str(part) for part in node["target"]) for node in violation["nodes"]
    )
    return (
        f"- {violation['id']} ({violation['impact']}): {violation['help']}\n"
        f"    {violation['helpUrl']}\n{targets}"
    )


def assert_accessible(page: Page | Frame) -> None:
    """Fail listing every WCAG 2.2 AA violation axe finds on the page (or in the frame,
    such as an embedded journey's) as it is now."""
    # A page the browser shows before its stylesheet has arrived lays out unstyled (small
    # buttons, crowded targets): axe judges the page once everything it loads is there.
    page.wait_for_load_state("load")
    # htmx swaps keep the window, and with it an axe injected earlier.
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    violations: list[dict[str, Any]] = page.evaluate(RUN_AXE, WCAG_TAGS)
    if violations:
        viewport = (page if isinstance(page, Page) else page.page).viewport_size
        width = viewport["width"] if viewport else "?"
        report = "\n".join(_describe(v) for v in violations)
        pytest.fail(
            f"axe found {len(violations)} accessibility violation(s) on {page.url} "
            f"({page.title()!r}, {width}px wide):\n{report}",
            pytrace=False,
        )


def assert_no_horizontal_scroll(page: Page) -> None:
    """The page fits its viewport's width (WCAG 1.4.10 Reflow), naming what overflows,
    and no button's words are cut off inside it (a submit input keeps them on one line)."""
    assert page.viewport_size is not None
    overflow: dict[str, Any] = page.evaluate(
        """(width) => {
          const wide = [...document.querySelectorAll('body *')]
            .filter((el) => el.getBoundingClientRect().right > width + 0.5)
            .slice(0, 5)
            .map((el) => el.outerHTML.slice(0, 120));
          const cut = [...document.querySelectorAll('button, input[type=submit], .button')]
            .filter((el) => el.offsetParent !== null && el.scrollWidth > el.clientWidth + 1)
            .map((el) => el.outerHTML.slice(0, 120));
          return {scrollWidth: document.documentElement.scrollWidth, width, wide, cut};
        }""",
        page.viewport_size["width"],
    )
    assert overflow["scrollWidth"] <= overflow["width"], (
        f"{page.url} scrolls sideways: {overflow['scrollWidth']}px of content in a "
        f"{overflow['width']}px viewport; overflowing: {overflow['wide']}"
    )
    assert not overflow["cut"], (
        f"{page.url} cuts off the words of {overflow['cut']} at {overflow['width']}px"
    )


# Enough Tab presses to cross any page of Onramp's from its top.
MAX_TABS = 40


def tab_to(page: Page, target: Locator) -> None:
    """Press Tab until ``target`` has focus, then check that the focus can be seen."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            break
    expect(target).to_be_focused()
    expect(target).to_be_in_viewport()
    # WCAG 2.4.7: the stylesheet's :focus-visible ring is drawn.
    expect(target).to_have_css("outline-style", "solid")

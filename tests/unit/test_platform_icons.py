"""The platforms' logos keep their contrast, and every one the catalogue names is served."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.platform_icons import (
    BUTTON_BACKGROUND,
    INK,
    MINIMUM_CONTRAST,
    contrast,
    decorative,
    fill_for,
    slugs,
    write_icons,
)
from app.platforms import PLATFORMS

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "node_modules" / "simple-icons"
SERVED = ROOT / "static" / "vendor" / "icons"


def test_contrast_is_wcags_ratio() -> None:
    assert contrast("FFFFFF", "000000") == pytest.approx(21)
    assert contrast("777777", "FFFFFF") == pytest.approx(4.48, abs=0.01)
    assert contrast("ABCDEF", "ABCDEF") == pytest.approx(1)


@pytest.mark.parametrize(
    ("brand", "fill"),
    [
        ("13B5EA", INK),  # Xero's light blue: 2.4:1 on white, too faint
        ("00D639", INK),  # Sage's green: 2:1
        ("2CA01C", "2CA01C"),  # QuickBooks' green: 3.4:1
        ("7B14EF", "7B14EF"),  # MYOB's purple
    ],
)
def test_a_brand_colour_is_used_only_where_it_keeps_contrast(brand: str, fill: str) -> None:
    assert fill_for(brand) == fill
    assert contrast(fill_for(brand), BUTTON_BACKGROUND) >= MINIMUM_CONTRAST


def test_a_logo_is_decorative() -> None:
    svg = '<svg role="img" viewBox="0 0 24 24"><title>Xero</title><path d="M0 0"/></svg>'

    assert decorative(svg, INK) == (
        f'<svg fill="#{INK}" aria-hidden="true" viewBox="0 0 24 24"><path d="M0 0"/></svg>'
    )


def test_the_catalogue_names_icons_the_package_has(tmp_path: Path) -> None:
    assert slugs() == {"xero", "quickbooks", "sage", "myob", "zoho"}
    assert PLATFORMS["zoho_books"].icon == "zoho"
    assert PLATFORMS["sandbox"].icon is None

    written = write_icons(PACKAGE, tmp_path)

    assert sorted(p.name for p in written) == sorted(f"{slug}.svg" for slug in slugs())
    xero = (tmp_path / "xero.svg").read_text()
    assert xero.startswith(f'<svg fill="#{INK}"')
    assert "<title>" not in xero


def test_make_install_serves_every_icon_the_catalogue_names() -> None:
    for slug in slugs():
        assert (SERVED / f"{slug}.svg").is_file(), f"{slug}.svg missing: run `make install`"

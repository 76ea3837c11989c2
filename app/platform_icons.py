"""The platforms' logos, from the npm package simple-icons (CC0-1.0), as the journey's
software step shows them: one SVG per catalogue ``icon`` slug in static/vendor/icons/.

``make install`` runs this module once npm has installed the package. Each logo is
filled with its brand colour where that keeps 3:1 contrast against the button it sits
on (WCAG 1.4.11), otherwise with the page's ink; its ``<title>`` is dropped, since the
picture is decorative (``alt=""``) and the platform's name is written beside it.

    python -m app.platform_icons node_modules/simple-icons static/vendor/icons
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from app.platforms import PLATFORMS

# The platform buttons' background (static/css/onramp.css --surface) and the page's ink.
BUTTON_BACKGROUND = "FFFFFF"
INK = "1A1D23"
# WCAG 1.4.11: graphical objects keep 3:1 against what is next to them.
MINIMUM_CONTRAST = 3.0


def _luminance(hex_colour: str) -> float:
    """WCAG 2 relative luminance of an ``RRGGBB`` colour."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(first: str, second: str) -> float:
    """WCAG 2 contrast ratio of two ``RRGGBB`` colours (1 to 21)."""
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def fill_for(brand: str) -> str:
    """The brand colour where it keeps 3:1 against the button, else the ink."""
    return brand.upper() if contrast(brand, BUTTON_BACKGROUND) >= MINIMUM_CONTRAST else INK


def decorative(svg: str, fill: str) -> str:
    """The package's SVG filled with ``fill``, without its title or ``role="img"``."""
    svg = re.sub(r"<title>.*?</title>", "", svg, flags=re.DOTALL)
    svg = svg.replace(' role="img"', "")
    return svg.replace("<svg ", f'<svg fill="#{fill}" aria-hidden="true" ', 1)


def slugs() -> set[str]:
    """The icons the catalogue names."""
    return {p.icon for p in PLATFORMS.values() if p.icon}


def write_icons(package: Path, out: Path) -> list[Path]:
    """Write each icon the catalogue names into ``out``; fail on one the package lacks."""
    colours = {
        icon["slug"]: icon["hex"]
        for icon in json.loads((package / "data" / "simple-icons.json").read_text("utf-8"))
        if "slug" in icon
    }
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for slug in sorted(slugs()):
        source = package / "icons" / f"{slug}.svg"
        if not source.is_file() or slug not in colours:
            raise SystemExit(f"simple-icons has no icon {slug!r} (app/platforms.yaml names it)")
        target = out / f"{slug}.svg"
        target.write_text(decorative(source.read_text("utf-8"), fill_for(colours[slug])), "utf-8")
        written.append(target)
    return written


if __name__ == "__main__":  # pragma: no cover - run by make install
    package_dir, out_dir = (Path(arg) for arg in sys.argv[1:3])
    for path in write_icons(package_dir, out_dir):
        print(path)

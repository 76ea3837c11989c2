"""A journey's look: logo, colours and font, checked for WCAG AA contrast.

Colours reach the page as CSS custom properties in a stylesheet of their own
(the strict CSP allows no inline styles).
"""

from __future__ import annotations

from pathlib import Path

from flask import Response, abort, make_response, send_file
from pydantic import BaseModel, ConfigDict, Field

HEX_COLOUR = r"^#[0-9a-fA-F]{6}$"
WHITE = "#ffffff"
# The grey of hints and the footer (static/css/onramp.css --muted), drawn on the background.
MUTED = "#4b5563"
AA_NORMAL_TEXT = 4.5
LOGO_TYPES = {".svg", ".png", ".jpg", ".jpeg", ".webp"}
# Font names, quotes, commas and spaces only: the stack is written into a stylesheet.
FONT_STACK = r"^[A-Za-z0-9 ,\-\"']{1,200}$"


def relative_luminance(colour: str) -> float:
    """WCAG 2.2 relative luminance of a ``#rrggbb`` colour."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG contrast ratio between two colours, from 1 to 21."""
    lighter, darker = sorted((relative_luminance(foreground), relative_luminance(background)))[::-1]
    return (lighter + 0.05) / (darker + 0.05)


def darken(colour: str, amount: float = 0.15) -> str:
    """The colour a little darker, for hover states."""
    channels = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c * (1 - amount)):02x}" for c in channels)


class Brand(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    logo: str | None = Field(
        default=None, description="An image file, relative to the journeys folder."
    )
    primary_colour: str = Field(default="#1f4ed8", pattern=HEX_COLOUR)
    accent_colour: str = Field(default="#0f766e", pattern=HEX_COLOUR)
    text_colour: str = Field(default="#1a1d23", pattern=HEX_COLOUR)
    background_colour: str = Field(default="#f4f6f9", pattern=HEX_COLOUR)
    font_stack: str | None = Field(default=None, pattern=FONT_STACK)

    def contrast_pairs(self) -> list[tuple[str, str, str, str]]:
        """(what, foreground field, foreground, background) for every pairing the pages use."""
        return [
            ("white button text on primary_colour", "primary_colour", WHITE, self.primary_colour),
            ("primary_colour links on white", "primary_colour", self.primary_colour, WHITE),
            ("white text on accent_colour", "accent_colour", WHITE, self.accent_colour),
            ("text_colour on white", "text_colour", self.text_colour, WHITE),
            (
                "text_colour on background_colour",
                "background_colour",
                self.text_colour,
                self.background_colour,
            ),
            (
                "grey footer text on background_colour",
                "background_colour",
                MUTED,
                self.background_colour,
            ),
        ]

    def problems(self, root: Path | None) -> list[tuple[str, str]]:
        """Colour pairs below WCAG AA and a logo that is not there."""
        found = []
        for what, field, foreground, background in self.contrast_pairs():
            ratio = contrast_ratio(foreground, background)
            if ratio < AA_NORMAL_TEXT:
                found.append(
                    (
                        field,
                        f"{what} has a contrast of {ratio:.2f}:1, below the 4.5:1 WCAG AA needs",
                    )
                )
        if self.logo is not None:
            path = Path(self.logo)
            if path.is_absolute() or ".." in path.parts or path.suffix.lower() not in LOGO_TYPES:
                found.append(
                    ("logo", "must be an .svg, .png, .jpg or .webp file inside the journeys folder")
                )
            elif root is not None and not (root / path).is_file():
                found.append(("logo", f"no file {self.logo!r} in the journeys folder"))
        return found

    def stylesheet(self) -> str:
        """The journey's CSS custom properties."""
        lines = [
            f"--brand: {self.primary_colour};",
            f"--brand-dark: {darken(self.primary_colour)};",
            f"--accent: {self.accent_colour};",
            f"--ink: {self.text_colour};",
            f"--canvas: {self.background_colour};",
        ]
        if self.font_stack:
            lines.append(f"--font: {self.font_stack};")
        return ":root {\n  " + "\n  ".join(lines) + "\n}\n"


def logo_response(brand: Brand, journeys_dir: str, max_age: int) -> Response:
    """The brand's logo file, only from inside the journeys folder; 404 otherwise."""
    if brand.logo is None:
        abort(404)
    root = Path(journeys_dir).resolve()
    path = (root / brand.logo).resolve()
    if root not in path.parents or not path.is_file():
        abort(404)
    response = send_file(path, max_age=max_age)
    # An SVG opened on its own must not run anything.
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    return response


def stylesheet_response(brand: Brand) -> Response:
    """The brand's colours and font as a stylesheet response."""
    response = make_response(brand.stylesheet())
    response.mimetype = "text/css"
    return response

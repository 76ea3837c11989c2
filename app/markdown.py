"""Markdown for journey texts, rendered once and sanitised before it reaches a page."""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

# Raw HTML in journey files is not rendered; nh3 is a second fence behind that.
_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_ALLOWED_TAGS = {"p", "strong", "em", "a", "ul", "ol", "li", "br", "code", "h2", "h3", "blockquote"}


@lru_cache(maxsize=512)
def render_markdown(text: str | None) -> Markup:
    """Render journey Markdown to safe HTML (links get rel="noopener noreferrer")."""
    if not text:
        return Markup("")
    html = nh3.clean(
        _md.render(text),
        tags=_ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"https", "http", "mailto"},
        link_rel="noopener noreferrer",
    )
    return Markup(html)

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


# The colleagues' help pages (docs/colleagues/) are written by the project, not by
# journey authors: they may also use headings, tables, code blocks and images.
_docs_md = MarkdownIt("commonmark", {"html": False}).enable("table")
_DOC_TAGS = _ALLOWED_TAGS | {"h1", "h4", "pre", "img", "table", "thead", "tbody", "tr", "th", "td"}


def render_document(text: str) -> Markup:
    """Render a help document to safe HTML; relative links and images stay relative."""
    html = nh3.clean(
        _docs_md.render(text),
        tags=_DOC_TAGS,
        attributes={"a": {"href", "title"}, "img": {"src", "alt", "title"}},
        url_schemes={"https", "http", "mailto"},
        link_rel="noopener noreferrer",
    )
    return Markup(html)

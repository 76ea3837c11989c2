from app.markdown import render_markdown


def test_journey_markdown_renders_emphasis_and_lists() -> None:
    html = render_markdown("**Hello**\n\n1. one\n2. two")
    assert "<strong>Hello</strong>" in html
    assert "<ol>" in html


def test_raw_html_and_scripts_never_reach_the_page() -> None:
    html = render_markdown(
        '<script>alert(1)</script> [x](javascript:alert(1)) <b onclick="x">b</b>'
    )
    assert "<script" not in html
    assert "<b " not in html
    assert 'href="javascript' not in html
    assert "&lt;script&gt;" in html  # shown as text, harmless


def test_links_do_not_leak_the_referrer() -> None:
    html = render_markdown("[privacy](https://example.com/privacy)")
    assert 'rel="noopener noreferrer"' in html

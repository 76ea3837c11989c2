"""The side-by-side diff of journey versions, on their canonical YAML."""

from __future__ import annotations

from pathlib import Path

from app.engine.diff import canonical_yaml, compare, side_by_side
from app.engine.loading import parse_journey

JOURNEY = {
    "id": "short",
    "name": "Short",
    "business": {"name": "Acme", "purpose": "to lend"},
    "steps": [
        {"id": "welcome", "type": "welcome", "title": "Hello"},
        {"id": "done", "type": "done", "title": "Thanks"},
    ],
}


def test_identical_texts_have_no_hunks() -> None:
    diff = side_by_side("a\nb\n", "a\nb\n")
    assert diff.identical
    assert (diff.added, diff.removed) == (0, 0)


def test_a_changed_line_is_paired_and_extra_lines_stand_alone() -> None:
    diff = side_by_side("a\nb\nc\n", "a\nB\nc\nd\n", context=1)
    rows = [(r.kind, r.old_number, r.old, r.new_number, r.new) for h in diff.hunks for r in h.rows]
    assert rows == [
        ("same", 1, "a", 1, "a"),
        ("changed", 2, "b", 2, "B"),
        ("same", 3, "c", 3, "c"),
        ("added", None, None, 4, "d"),
    ]
    assert (diff.removed, diff.added) == (1, 2)


def test_distant_changes_make_separate_hunks_with_their_line_numbers() -> None:
    old = "\n".join(str(i) for i in range(1, 21))
    new = old.replace("2\n", "two\n", 1).replace("19", "nineteen")
    diff = side_by_side(old, new, context=1)
    assert len(diff.hunks) == 2
    assert (diff.hunks[1].old_start, diff.hunks[1].new_start) == (18, 18)
    assert [r.kind for r in diff.hunks[1].rows] == ["same", "changed", "same"]


def test_a_removed_line_has_no_partner() -> None:
    diff = side_by_side("a\nb\n", "a\n")
    assert [(r.kind, r.old, r.new) for r in diff.hunks[0].rows] == [
        ("same", "a", "a"),
        ("removed", "b", None),
    ]


def test_canonical_yaml_leaves_out_defaults_and_reads_like_the_file() -> None:
    text = canonical_yaml(parse_journey(JOURNEY, Path("x")))
    assert text.startswith("id: short\nname: Short\n")
    assert "locales" not in text  # the default, [en]
    assert "body" not in text


def test_only_what_changed_between_versions_is_shown() -> None:
    old = parse_journey(JOURNEY, Path("x"))
    steps = [{**JOURNEY["steps"][0], "title": "Hi"}, JOURNEY["steps"][1]]  # type: ignore[index]
    new = parse_journey({**JOURNEY, "steps": steps}, Path("x"))
    diff = compare(old, new)
    changed = [r for h in diff.hunks for r in h.rows if r.kind != "same"]
    assert [(r.old, r.new) for r in changed] == [("  title: Hello", "  title: Hi")]

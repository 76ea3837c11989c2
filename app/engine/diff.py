"""Comparing two journey versions line by line, on their canonical YAML."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

import yaml

from app.engine.schema import Journey

Kind = Literal["same", "removed", "added", "changed"]


def canonical_yaml(journey: Journey) -> str:
    """A journey as YAML in one fixed shape: comments, quoting and key order don't matter.

    Defaults are left out, so the text reads like the file an editor would write.
    """
    data = journey.model_dump(mode="json", exclude_defaults=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


@dataclass(frozen=True)
class Row:
    """One line of the side-by-side view; a side is None where the other has a line alone."""

    kind: Kind
    old_number: int | None
    old: str | None
    new_number: int | None
    new: str | None


@dataclass(frozen=True)
class Hunk:
    """A run of changes with a few unchanged lines around it."""

    rows: list[Row]

    @property
    def old_start(self) -> int:
        return next((r.old_number for r in self.rows if r.old_number is not None), 0)

    @property
    def new_start(self) -> int:
        return next((r.new_number for r in self.rows if r.new_number is not None), 0)


@dataclass(frozen=True)
class Diff:
    hunks: list[Hunk]
    added: int
    removed: int

    @property
    def identical(self) -> bool:
        return not self.hunks


def side_by_side(old: str, new: str, context: int = 3) -> Diff:
    """The lines that differ between ``old`` and ``new``, paired side by side."""
    a, b = old.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    hunks: list[Hunk] = []
    added = removed = 0
    for group in matcher.get_grouped_opcodes(context):
        rows: list[Row] = []
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                rows += [
                    Row("same", i + 1, a[i], j + 1, b[j])
                    for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
                ]
                continue
            removed += i2 - i1
            added += j2 - j1
            for k in range(max(i2 - i1, j2 - j1)):
                i, j = i1 + k, j1 + k
                left = (i + 1, a[i]) if i < i2 else (None, None)
                right = (j + 1, b[j]) if j < j2 else (None, None)
                kind: Kind = (
                    "changed"
                    if left[1] is not None and right[1] is not None
                    else ("removed" if left[1] is not None else "added")
                )
                rows.append(Row(kind, left[0], left[1], right[0], right[1]))
        hunks.append(Hunk(rows))
    return Diff(hunks, added, removed)


def compare(old: Journey, new: Journey) -> Diff:
    """The side-by-side difference between two versions of a journey."""
    return side_by_side(canonical_yaml(old), canonical_yaml(new))

"""The console's sections, in the order the navigation shows them.

Each admin area registers itself with :func:`section`; a colleague sees only the
sections their role may read.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_login import current_user

from app.admin.guard import may_open


@dataclass(frozen=True)
class Section:
    endpoint: str
    label: str
    permission: str
    order: int


_SECTIONS: dict[str, Section] = {}


def section(endpoint: str, label: str, permission: str = "read", order: int = 50) -> None:
    _SECTIONS[endpoint] = Section(endpoint, label, permission, order)


def visible_sections() -> list[Section]:
    if not current_user.is_authenticated:
        return []
    return sorted(
        (s for s in _SECTIONS.values() if current_user.can(s.permission) and may_open(s.endpoint)),
        key=lambda s: (s.order, s.label),
    )

"""A copy of journeys/ whose default journey allows a business's site to embed it."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def journeys_allowing(folder: Path, origins: list[str], return_urls: list[str]) -> Path:
    """journeys/ copied into ``folder``, the default journey given an ``integration`` section."""
    copy = folder / "journeys"
    shutil.copytree(ROOT / "journeys", copy)
    path = copy / "default.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["integration"] = {"allowed_origins": origins, "return_urls": return_urls}
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return copy

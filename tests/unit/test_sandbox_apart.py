"""The Sandbox is a third-party platform: it and Onramp share nothing but HTTP.

The sandbox imports nothing of Onramp but its extensions and config, and Onramp
imports the sandbox only to mount it.
"""

from __future__ import annotations

import ast
from pathlib import Path

from app.config import ROOT

APP = ROOT / "app"
SANDBOX = APP / "sandbox"
# What the sandbox may use of Onramp's ground: the Flask extensions and the config loader.
SANDBOX_MAY_IMPORT = {"app.extensions", "app.config"}
# Where Onramp mounts it; `flask demo` reads the test login the sandbox registered there.
MOUNT_POINTS = {"app/__init__.py": {"app.sandbox"}}


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function, relative or not."""
    package = list(path.relative_to(ROOT).parent.parts)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            found.add(".".join([*base, *([node.module] if node.module else [])]))
    return found


def _of_app(modules: set[str]) -> set[str]:
    return {m for m in modules if m == "app" or m.startswith("app.")}


def test_the_sandbox_imports_nothing_of_onramp_but_extensions_and_config() -> None:
    strays = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in SANDBOX.rglob("*.py")
        for module in _of_app(_imports(path))
        if module not in SANDBOX_MAY_IMPORT and not module.startswith("app.sandbox")
    }

    assert strays == set()


def test_onramp_imports_the_sandbox_only_to_mount_it() -> None:
    importers = {
        str(path.relative_to(ROOT)): {
            m for m in _imports(path) if m == "app.sandbox" or m.startswith("app.sandbox.")
        }
        for path in APP.rglob("*.py")
        if SANDBOX not in path.parents
    }

    assert {path: found for path, found in importers.items() if found} == MOUNT_POINTS

"""The built-in Sandbox answering in its own dialect with a list of organisations.

Shared by the integration and browser tests that exercise choosing an organisation.
Playing a real vendor is ``SANDBOX_PLAYS`` (app/platforms.py ``played_by_sandbox``).
"""

from __future__ import annotations

# The Sandbox answering like Xero: a list of every organisation the token reaches.
SANDBOX_LIST = {
    "strategy": "list_api",
    "url": "{sandbox_url}/api/organisations",
    "list": "organisations",
    "id": "id",
    "name": "name",
}
LIST_ORGANISATIONS = {"sandbox": {"organisation": SANDBOX_LIST}}

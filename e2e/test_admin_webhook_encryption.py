"""An admin sets, replaces and removes an endpoint's payload encryption key in the console,
and a private key pasted by mistake is refused on the field; the page stays accessible."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from joserfc.jwk import ECKey
from playwright.sync_api import BrowserContext, Locator, Page, expect

from e2e.accessibility import assert_accessible
from e2e.admin import AdminScreen, WebhooksPage
from e2e.conftest import AdminSeed
from e2e.live import LiveServer


class EncryptionPage(AdminScreen):
    title = "Payload encryption"

    @property
    def key_field(self) -> Locator:
        return self.main.get_by_label("The receiver's public key (JWK or PEM)")

    @property
    def current_key(self) -> Locator:
        return self.main.get_by_role("definition")

    def save(self, pasted: str) -> EncryptionPage:
        self.key_field.fill(pasted)
        self.main.get_by_role("button", name="Save the key").click()
        return EncryptionPage(self.page)

    def remove(self) -> EncryptionPage:
        self.main.get_by_role("button", name="Remove the key").click()
        return EncryptionPage(self.page)


def test_an_admin_encrypts_an_endpoints_payloads(
    new_context: Callable[..., BrowserContext],
    admin_sessions: Callable[[str], dict[str, Any]],
    live_server: LiveServer,
    admin_seed: AdminSeed,
) -> None:
    page: Page = new_context(storage_state=admin_sessions("admin")).new_page()
    page.goto(f"{live_server.url}/admin/webhooks")
    webhooks = WebhooksPage(page)
    webhooks.endpoints.get_by_role("link", name=f"Encryption for {admin_seed.endpoint_url}").click()
    encryption = EncryptionPage(page)
    expect(encryption.main).to_contain_text("None: payloads are sent as signed JSON.")
    assert_accessible(page)

    key = ECKey.generate_key("P-256", private=True)
    refused = encryption.save(json.dumps(key.as_dict(private=True)))
    expect(refused.error_summary).to_contain_text("this is a private key")
    expect(refused.key_field).to_have_attribute("aria-invalid", "true")
    expect(refused.key_field).to_have_value("")
    assert_accessible(page)

    saved = refused.save(json.dumps(key.as_dict(private=False)))
    expect(saved.current_key.first).to_have_text(key.thumbprint())
    expect(saved.main).to_contain_text("EC P-256")
    assert_accessible(page)

    removed = saved.remove()
    expect(removed.main).to_contain_text("None: payloads are sent as signed JSON.")

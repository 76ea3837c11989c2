"""Mutual TLS in the console: a client certificate pasted without JavaScript, shown back
as its details only, on a page that stays accessible."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import BrowserContext, expect

from e2e.accessibility import assert_accessible, assert_no_horizontal_scroll
from e2e.admin import WebhooksPage
from e2e.conftest import AdminSeed
from e2e.live import LiveServer
from tests.integration.tls_receiver import issue


def test_a_client_certificate_is_set_and_removed_without_javascript(
    new_context: Callable[..., BrowserContext],
    admin_sessions: Callable[[str], dict[str, Any]],
    live_server: LiveServer,
    admin_seed: AdminSeed,
) -> None:
    client = issue("onramp-e2e-client", issue("E2E clients CA", ca=True))
    page = new_context(storage_state=admin_sessions("admin"), java_script_enabled=False).new_page()
    page.goto(f"{live_server.url}/admin/webhooks")
    webhooks = WebhooksPage(page)
    webhooks.endpoints.get_by_role(
        "link", name=f"Mutual TLS for {admin_seed.endpoint_url}", exact=True
    ).click()
    main = page.get_by_role("main")
    expect(main.get_by_role("heading", level=1)).to_have_text("Mutual TLS")

    main.get_by_label("Client certificate (PEM)").fill(client.certificate_pem)
    main.get_by_label("Private key (PEM, without a passphrase)").fill(client.key_pem)
    main.get_by_role("button", name="Present this certificate").click()

    expect(main).to_contain_text("The endpoint presents the new client certificate.")
    certificates = main.get_by_role("table", name="Client certificates, newest first")
    expect(certificates).to_contain_text("CN=onramp-e2e-client")
    expect(certificates).to_contain_text("CN=E2E clients CA")
    expect(main).not_to_contain_text(client.key_pem.splitlines()[1])

    on_a_phone = {"width": 390, "height": 844}
    with_script = new_context(storage_state=admin_sessions("admin"), viewport=on_a_phone)
    checked = with_script.new_page()
    checked.goto(page.url)
    assert_accessible(checked)
    assert_no_horizontal_scroll(checked)

    main.get_by_role("button", name="Remove the client certificate").click()
    expect(main).to_contain_text("No client certificate: none is presented.")

"""The platform catalogue: data for every platform, credentials from the environment
or the instance file, and never a broken button."""

from __future__ import annotations

from pathlib import Path

import yaml
from flask import Flask
from flask.testing import FlaskClient

from app.platforms import PLATFORMS, effective, expand, unavailable_reason
from tests.integration.conftest import REQUIRED_CONSENTS
from tests.pages import text_of

EXPECTED = {
    "sandbox",
    "xero",
    "quickbooks",
    "sage",
    "freeagent",
    "myob",
    "zoho_books",
    "freshbooks",
    "wave",
    "netsuite",
    "business_central",
}


def test_the_catalogue_describes_every_platform() -> None:
    assert set(PLATFORMS) == EXPECTED
    xero = PLATFORMS["xero"]
    assert xero.authorize_url == "https://login.xero.com/identity/connect/authorize"
    assert xero.token_url == "https://identity.xero.com/connect/token"
    assert "offline_access" in xero.scopes
    assert PLATFORMS["quickbooks"].organisation.id == "realmId"
    assert PLATFORMS["netsuite"].organisation.id == "company"


def test_account_specific_urls_need_their_setting(app: Flask) -> None:
    netsuite = PLATFORMS["netsuite"]
    with app.app_context():
        assert expand(netsuite, netsuite.authorize_url) is None
        app.config["NETSUITE_ACCOUNT_ID"] = "1234567"
        assert expand(netsuite, netsuite.authorize_url) == (
            "https://1234567.app.netsuite.com/app/login/oauth2/authorize.nl"
        )
        zoho = PLATFORMS["zoho_books"]
        assert expand(zoho, zoho.token_url) == "https://accounts.zoho.com/oauth/v2/token"
        app.config["ZOHO_BOOKS_REGION"] = "eu"
        assert expand(zoho, zoho.token_url) == "https://accounts.zoho.eu/oauth/v2/token"


def test_a_platform_without_credentials_is_unavailable_and_says_why(app: Flask) -> None:
    with app.app_context():
        assert unavailable_reason(PLATFORMS["sandbox"]) is None
        assert unavailable_reason(PLATFORMS["xero"]) == "no client id and secret configured"


def test_credentials_come_from_the_environment_or_the_instance_file(
    app: Flask, tmp_path: Path
) -> None:
    instance_file = tmp_path / "platforms.yaml"
    instance_file.write_text(yaml.safe_dump({"sage": {"client_id": "i", "client_secret": "s"}}))
    app.config["PLATFORMS_FILE"] = str(instance_file)
    app.config["XERO_CLIENT_ID"], app.config["XERO_CLIENT_SECRET"] = "id", "secret"
    with app.app_context():
        assert unavailable_reason(PLATFORMS["xero"]) is None
        assert unavailable_reason(PLATFORMS["sage"]) is None
        assert unavailable_reason(PLATFORMS["freeagent"]) == "no client id and secret configured"


def test_platforms_list_prints_each_callback_url(app: Flask) -> None:
    output = app.test_cli_runner().invoke(args=["platforms", "list"]).output
    for key in EXPECTED:
        assert f"callback: http://localhost/connect/{key}/callback" in output
    assert "no credentials; unavailable: no client id and secret configured" in output


def test_unavailable_platforms_are_not_offered_to_customers(
    customer_client: FlaskClient,
) -> None:
    customer_client.post("/journey/welcome")
    customer_client.post("/journey/consent", data=REQUIRED_CONSENTS)
    page = text_of(customer_client.get("/journey/software"))
    assert page.count('name="platform"') == 1
    for name in ("Xero", "QuickBooks Online", "Sage Business Cloud Accounting", "FreeAgent"):
        assert name not in page


def test_a_disabled_sandbox_is_not_offered(tmp_path: Path) -> None:
    from app import create_app
    from app.extensions import db
    from tests.conftest import test_settings

    app = create_app(test_settings(tmp_path, SANDBOX_ENABLED=False))
    with app.app_context():
        assert unavailable_reason(PLATFORMS["sandbox"]) == "the Sandbox is turned off"
    # The not-found page speaks for the default journey's business (it asks the database).
    assert app.test_client().get("/sandbox/authorize").status_code == 404
    with app.app_context():
        db.engine.dispose()


def test_platforms_list_shows_settings_their_values_and_what_is_missing(app: Flask) -> None:
    app.config["NETSUITE_CLIENT_ID"], app.config["NETSUITE_CLIENT_SECRET"] = "id", "secret"
    app.config["ZOHO_BOOKS_CLIENT_ID"], app.config["ZOHO_BOOKS_CLIENT_SECRET"] = "id", "secret"
    app.config["ZOHO_BOOKS_REGION"] = "com.cn"
    app.config["SAGE_TOKEN_AUTH"] = "client_secret_basic"
    output = app.test_cli_runner().invoke(args=["platforms", "list"]).output
    assert "account_id = not set  [ONRAMP_NETSUITE_ACCOUNT_ID]" in output
    assert "unavailable: account_id is not set" in output
    assert (
        "region = com.cn (one of com, eu, in, com.au, jp, ca)  [ONRAMP_ZOHO_BOOKS_REGION]" in output
    )
    assert (
        "unavailable: region is 'com.cn'; it must be one of com, eu, in, com.au, jp, ca" in output
    )
    assert "environment = production (one of production, sandbox)" in output
    assert (
        "token_auth = client_secret_basic (one of client_secret_basic, client_secret_post)"
        "  [ONRAMP_SAGE_TOKEN_AUTH]" in output
    )
    assert "webhook_key = not set  [ONRAMP_XERO_WEBHOOK_KEY]" in output


def test_platforms_list_shows_the_scopes_as_sent_with_their_separator(app: Flask) -> None:
    output = app.test_cli_runner().invoke(args=["platforms", "list"]).output
    assert "scopes: ZohoBooks.settings.READ,ZohoBooks.contacts.READ," in output
    assert "ZohoBooks.banking.READ  (separated by ',')" in output
    assert "scopes: com.intuit.quickbooks.accounting  (separated by space)" in output
    assert "scopes: none\n" in output  # FreeAgent has none


def test_a_token_auth_setting_changes_how_the_client_authenticates(app: Flask) -> None:
    app.config["SAGE_CLIENT_ID"], app.config["SAGE_CLIENT_SECRET"] = "id", "secret"
    with app.app_context():
        assert effective(PLATFORMS["sage"]).token_auth == "client_secret_post"
        app.config["SAGE_TOKEN_AUTH"] = "client_secret_basic"
        assert effective(PLATFORMS["sage"]).token_auth == "client_secret_basic"
        app.config["SAGE_TOKEN_AUTH"] = "private_key_jwt"
        assert unavailable_reason(PLATFORMS["sage"]) == (
            "token_auth is 'private_key_jwt'; it must be one of client_secret_basic, "
            "client_secret_post"
        )

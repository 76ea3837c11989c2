"""The sandbox's throwaway tables survive a change of columns: a developer's
instance/sandbox.db from an older version is rebuilt, not left to break."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import Flask
from sqlalchemy import create_engine, inspect, text

from tests.sandbox.conftest import Vendor

OLD_TOKENS = """
CREATE TABLE sandbox_tokens (
    id INTEGER PRIMARY KEY, client_id VARCHAR(100), token_type VARCHAR(40),
    access_token VARCHAR(255) UNIQUE, refresh_token VARCHAR(255) UNIQUE, scope TEXT,
    user_email VARCHAR(320), organisation_id VARCHAR(36), issued_at DATETIME,
    expires_in INTEGER, access_token_revoked_at DATETIME, refresh_token_revoked_at DATETIME
)
"""


def test_an_older_sandbox_database_is_rebuilt_with_the_new_columns(
    tmp_path: Path, build_sandbox: Callable[..., Flask]
) -> None:
    url = f"sqlite:///{tmp_path / 'old-sandbox.db'}"
    old = create_engine(url)
    with old.begin() as connection:
        connection.execute(text(OLD_TOKENS))
        connection.execute(
            text("INSERT INTO sandbox_tokens (access_token, expires_in) VALUES ('old', 60)")
        )
    old.dispose()

    sandbox = build_sandbox(
        SANDBOX_DATABASE_URL=url, SANDBOX_REDIRECT_URIS=["http://localhost/connect/sage/callback"]
    )

    engine = create_engine(url)
    columns = {column["name"] for column in inspect(engine).get_columns("sandbox_tokens")}
    engine.dispose()
    assert {"dialect", "grant_id", "granted_at"} <= columns
    sage = Vendor("sage", sandbox.test_client(), sandbox.test_client(use_cookies=False))
    assert sage.connect()["access_token"]


def test_a_current_sandbox_database_keeps_its_tokens(
    tmp_path: Path, build_sandbox: Callable[..., Flask]
) -> None:
    url = f"sqlite:///{tmp_path / 'current.db'}"
    uris = ["http://localhost/connect/sage/callback"]
    first = build_sandbox(SANDBOX_DATABASE_URL=url, SANDBOX_REDIRECT_URIS=uris)
    tokens = Vendor("sage", first.test_client(), first.test_client(use_cookies=False)).connect()

    second = build_sandbox(SANDBOX_DATABASE_URL=url, SANDBOX_REDIRECT_URIS=uris)

    sage = Vendor("sage", second.test_client(), second.test_client(use_cookies=False))
    assert sage.refresh(tokens["refresh_token"]).status_code == 200

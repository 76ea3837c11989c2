"""The sandbox's own tables (app/sandbox/storage.py): authorization codes and the tokens
issued for them, each remembering the dialect (app/sandbox/dialects.py) it was issued in."""

from __future__ import annotations

from datetime import datetime, timedelta

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin
from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.sandbox.storage import SandboxBase, UTCTimestamp, utcnow


class SandboxAuthorizationCode(SandboxBase, AuthorizationCodeMixin):  # type: ignore[misc]
    """A code waiting to be exchanged; deleted on exchange so it works once."""

    __tablename__ = "sandbox_authorization_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(120), unique=True)
    client_id: Mapped[str] = mapped_column(String(100))
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text, default="")
    # Optional in the dialects whose vendors do not ask PKCE of every client.
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(10))
    dialect: Mapped[str] = mapped_column(String(40))
    user_email: Mapped[str] = mapped_column(String(320))
    organisation_id: Mapped[str] = mapped_column(String(36))
    expires_at: Mapped[datetime] = mapped_column(UTCTimestamp)
    # sandbox_* parameters of the authorization request: how to impersonate a platform.
    quirks: Mapped[dict[str, str] | None] = mapped_column(JSON)

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def is_expired(self) -> bool:
        return self.expires_at <= utcnow()


class SandboxToken(SandboxBase, TokenMixin):  # type: ignore[misc]
    """An access token and its refresh token, for one organisation."""

    __tablename__ = "sandbox_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    dialect: Mapped[str] = mapped_column(String(40))
    # One per approval: every token refreshed from it shares the approval's id and time.
    grant_id: Mapped[str] = mapped_column(String(36))
    granted_at: Mapped[datetime] = mapped_column(UTCTimestamp)
    client_id: Mapped[str] = mapped_column(String(100))
    token_type: Mapped[str] = mapped_column(String(40))
    access_token: Mapped[str] = mapped_column(String(255), unique=True)
    refresh_token: Mapped[str | None] = mapped_column(String(255), unique=True)
    scope: Mapped[str] = mapped_column(Text, default="")
    user_email: Mapped[str] = mapped_column(String(320))
    organisation_id: Mapped[str] = mapped_column(String(36))
    issued_at: Mapped[datetime] = mapped_column(UTCTimestamp, default=utcnow)
    expires_in: Mapped[int]
    access_token_revoked_at: Mapped[datetime | None] = mapped_column(UTCTimestamp)
    refresh_token_revoked_at: Mapped[datetime | None] = mapped_column(UTCTimestamp)

    def check_client(self, client: ClientMixin) -> bool:
        return bool(self.client_id == client.get_client_id())

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return self.issued_at + timedelta(seconds=self.expires_in) <= utcnow()

    def is_revoked(self) -> bool:
        # Asked only of access tokens: a rotated refresh token leaves its access
        # token usable until it expires, as real platforms do.
        return self.access_token_revoked_at is not None


class SandboxGrantChange(SandboxBase):
    """What a tester did to one approval from the Connected apps page: its refresh token
    set to expire, or its organisation removed (the look-ups no longer list it while
    its tokens still work)."""

    __tablename__ = "sandbox_grant_changes"

    grant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    refresh_expires_at: Mapped[datetime | None] = mapped_column(UTCTimestamp)
    organisation_removed_at: Mapped[datetime | None] = mapped_column(UTCTimestamp)

"""The accounting platforms a customer can choose from, loaded from ``platforms.yaml``.

A platform can be connected on an instance when its OAuth client is configured
(``ONRAMP_<KEY>_CLIENT_ID`` and ``_CLIENT_SECRET``, or ``instance/platforms.yaml``)
and Onramp knows how to find the organisation it connected. Until then the journey
shows it as unavailable, never as a broken button. The built-in Sandbox needs no
credentials of the customer's: it is Onramp's own test platform.
"""

from __future__ import annotations

import re
import string
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from flask import current_app
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, ConfigDict, Field

CATALOGUE_FILE = Path(__file__).with_name("platforms.yaml")
# How organisations are found that Onramp can do (app/connections/oauth.py).
Strategy = Literal["api", "list_api", "graphql", "redirect_param", "token_field"]
SUPPORTED_STRATEGIES = set(get_args(Strategy))
# How the client authenticates at the token endpoint (RFC 7591 names).
TokenAuth = Literal["client_secret_basic", "client_secret_post"]
TOKEN_AUTH_METHODS: tuple[str, ...] = get_args(TokenAuth)
# Placeholders only known once a token arrives, or once the platform's environments
# are listed (Business Central): left in the URL until then.
RUNTIME_PLACEHOLDERS = ("api_domain", "id", "environment")
# A vendor's scheme and host at the start of a URL: what the Sandbox takes over when it
# plays that vendor (``played_by_sandbox``).
VENDOR_HOST = re.compile(r"^https://[^/]+")

SANDBOX_INSTRUCTIONS = _l(
    """\
The Sandbox is a practice accounting platform: no real business data is involved.

1. Select **Continue to Sandbox Accounting**. Its sign-in page opens in this window.
2. Sign in with the test login you were given (for the demo: `demo@sandbox.test`,
   password `sandbox-demo`).
3. Choose the organisation you want to connect, then select **Approve**.
4. You'll come straight back here and see which organisation is connected.

We ask only for **read-only** access to your accounting data. You can revoke it at any time.
"""
)
GENERIC_INSTRUCTIONS = _l(
    """\
1. Select **Continue**. Your accounting software's sign-in page opens in this window.
2. Sign in as a user who can manage connected apps.
3. Choose the organisation to connect and approve **read-only** access.
4. You'll come straight back here and see which organisation is connected.
"""
)


class EnvironmentLookup(BaseModel):
    """Where a platform lists the environments an organisation may live in (Business
    Central): each one's companies are looked up at the organisation URL's {environment}."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    list: str
    name: str


class OrganisationLookup(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    strategy: Strategy
    url: str | None = None
    # Dotted path to the list in the answer; None: the answer is the list (Xero).
    list: str | None = None
    id: str
    name: str | None = None
    name_param: str | None = None
    name_url: str | None = None
    header: str | None = None
    # The GraphQL query sent to ``url`` (strategy graphql).
    query: str | None = None
    environments: EnvironmentLookup | None = None
    # Further values kept with the connection and handed to the business with its
    # credentials: name -> dotted path within the organisation's item.
    details: dict[str, str] = Field(default_factory=dict)
    # Where the platform reports the signed-in user's role in the organisation, and who
    # they are (their email or name): dotted paths within the organisation's item.
    role: str | None = None
    user: str | None = None


class RoleRule(BaseModel):
    """What a platform's user roles allow: a role in ``too_weak`` cannot give the access
    Onramp asks for, so a sign-in with it is refused before anything is linked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    too_weak: tuple[str, ...]
    # The roles that can, as the customer is told to look for them.
    enough: tuple[str, ...]
    # Each role's name as the platform's own screens show it.
    names: dict[str, str] = Field(default_factory=dict)
    # Where the rule comes from (docs/platforms/<key>.md cites it too).
    source: str

    def name(self, role: str) -> str:
        return self.names.get(role, role)

    @property
    def enough_names(self) -> list[str]:
        """The roles that can give access, as the platform's screens name them."""
        return [self.name(role) for role in self.enough]

    def refuses(self, role: str | None) -> bool:
        """Whether a user with ``role`` cannot give the access asked for (None: not reported)."""
        return role is not None and role in self.too_weak


class OrganisationsIn(BaseModel):
    """Where an event names organisations: ``field`` of each item of the ``list`` (a
    dotted path; None when the body itself is the list)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    list: str | None = None
    field: str


class WebhookSpec(BaseModel):
    """How a platform signs the events it sends: base64 HMAC-SHA256 of the raw body."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    header: str
    secret: str = Field(description="The setting holding the signing key.")
    # Every format the platform sends, current first; the first that fits is read.
    organisations: tuple[OrganisationsIn, ...]


class Certification(BaseModel):
    """What a vendor asks of an app before it serves many customers: the go-live
    checklist's certification section for the platform (app/ops/certification.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Linked connections the vendor allows (or reviews the app beyond); a setting
    # ``connection_cap`` (ONRAMP_<KEY>_CONNECTION_CAP) replaces it.
    connection_cap: int | None = None
    # Where the cap comes from, in a sentence for the checklist.
    cap_note: str | None = None
    # The certification checks that apply, by name (app/ops/certification.py CHECKS).
    checks: tuple[str, ...] = ()


class Platform(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    name: str
    # Letters on a neutral tile, where the platform has no ``icon``.
    monogram: str = Field(max_length=3)
    # The platform's logo: a simple-icons slug (npm, CC0-1.0), served from
    # static/vendor/icons/ (app/platform_icons.py); None where the package has none.
    icon: str | None = Field(default=None, pattern=r"^[a-z0-9]+$")
    authorize_url: str
    token_url: str
    revocation_url: str | None = None
    issuer: str | None = None
    # RFC 9207 / RFC 8414: the platform always names itself in its redirect back (``iss``),
    # so a redirect without it is refused.
    authorization_response_iss_parameter_supported: bool = False
    scopes: list[str] = Field(default_factory=list)
    scope_separator: str = " "
    extra_params: dict[str, str] = Field(default_factory=dict)
    pkce: bool = True
    token_auth: TokenAuth = "client_secret_basic"
    # Headers sent with every token request (QuickBooks: ask for the hard expiry).
    token_headers: dict[str, str] = Field(default_factory=dict)
    # RFC 7009's form body, or the JSON body Intuit's own clients send.
    revocation_body: Literal["form", "json"] = "form"
    # Revoking the refresh token ends the whole grant: the access token is not revoked on
    # its own (a second call may be refused and misreported as a failure).
    revoke_refresh_only: bool = False
    settings: dict[str, str | None] = Field(default_factory=dict)
    # URL placeholders chosen by a setting: setting -> its value -> placeholder -> URL,
    # e.g. QuickBooks' API host per environment or Zoho's accounts host per data centre.
    hosts: dict[str, dict[str, dict[str, str]]] = Field(default_factory=dict)
    organisation: OrganisationLookup
    webhook: WebhookSpec | None = None
    # The platform sends the customer's browser to the app's Disconnect URL after they
    # disconnect it inside the platform, naming the organisation as ``organisation.id``
    # (Intuit: /connect/quickbooks/disconnected?realmId=...).
    disconnect_url: bool = False
    access_token_seconds: int | None = None
    refresh_token_days: int | None = None
    certification: Certification = Field(default_factory=Certification)
    # The user roles that cannot give the access asked for, where the platform reports the
    # signed-in user's role (``organisation.role``).
    roles: RoleRule | None = None
    # Authorize parameters that make the platform ask for a login again even when the
    # browser is signed in there (OpenID Connect's prompt=login): sent on the attempt after
    # a role too weak, so that the customer can sign in as someone else.
    login_prompt: dict[str, str] = Field(default_factory=dict)

    @property
    def instructions(self) -> str | LazyString:
        """The default customer instructions (Markdown); a journey may replace them."""
        return SANDBOX_INSTRUCTIONS if self.key == "sandbox" else GENERIC_INSTRUCTIONS


@cache
def _catalogue() -> dict[str, Platform]:
    raw: dict[str, Any] = yaml.safe_load(CATALOGUE_FILE.read_text(encoding="utf-8"))
    return {key: Platform.model_validate({"key": key, **entry}) for key, entry in raw.items()}


PLATFORMS = _catalogue()


def dig(value: Any, path: str | None) -> Any:
    """``a.b.c`` of nested JSON objects; None where the path leads nowhere (or is None)."""
    if not path:
        return None
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def get_platform(key: str) -> Platform | None:
    return PLATFORMS.get(key)


def effective(platform: Platform) -> Platform:
    """The platform as this instance uses it: played by the Sandbox (``SANDBOX_PLAYS``),
    with a ``token_auth`` setting (how the client authenticates at the token endpoint,
    where a vendor's app registration asks another way), then ``PLATFORM_OVERRIDES``
    (tests).
    """
    if platform.key in sandbox_plays():
        platform = Platform.model_validate(played_by_sandbox(platform))
    token_auth = setting(platform, "token_auth")
    if token_auth in TOKEN_AUTH_METHODS and token_auth != platform.token_auth:
        platform = platform.model_copy(update={"token_auth": token_auth})
    overrides = (current_app.config.get("PLATFORM_OVERRIDES") or {}).get(platform.key)
    if not overrides:
        return platform
    return Platform.model_validate({**platform.model_dump(), **overrides})


def sandbox_plays() -> set[str]:
    """The platforms the Sandbox plays on this instance (``SANDBOX_PLAYS``, a list or
    comma-separated): customers choosing one connect to the Sandbox speaking that
    vendor's dialect. For UAT and demos; only while the Sandbox is served."""
    if not current_app.config.get("SANDBOX_URL"):
        return set()
    value = current_app.config.get("SANDBOX_PLAYS") or []
    keys = value.split(",") if isinstance(value, str) else value
    return {str(key).strip() for key in keys if str(key).strip() in PLATFORMS} - {"sandbox"}


def played_by_sandbox(platform: Platform) -> dict[str, Any]:
    """The platform as the Sandbox plays it: every vendor host swapped for
    ``{sandbox_url}/v/<key>``, the vendor's paths, parameters and shapes kept."""
    target = "{sandbox_url}/v/" + platform.key

    def swap(value: Any) -> Any:
        if isinstance(value, str):
            return VENDOR_HOST.sub(target, value)
        if isinstance(value, dict):
            return {key: swap(item) for key, item in value.items()}
        return value

    data = platform.model_dump()
    for field in ("authorize_url", "token_url", "revocation_url", "hosts"):
        data[field] = swap(data[field])
    organisation = data["organisation"]
    for field in ("url", "name_url"):
        organisation[field] = swap(organisation[field])
    if organisation["environments"]:
        organisation["environments"]["url"] = swap(organisation["environments"]["url"])
    return data


def _instance_file() -> dict[str, Any]:
    path = Path(
        current_app.config.get("PLATFORMS_FILE")
        or Path(current_app.instance_path) / "platforms.yaml"
    )
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return data if isinstance(data, dict) else {}


def setting(platform: Platform, name: str) -> str | None:
    """A platform setting or credential: environment first, then instance/platforms.yaml."""
    value = current_app.config.get(f"{platform.key.upper()}_{name.upper()}")
    if value is None:
        value = (_instance_file().get(platform.key) or {}).get(name)
    if value is None:
        value = platform.settings.get(name)
    return str(value) if value is not None else None


def connection_cap(platform: Platform) -> int | None:
    """The most linked connections the vendor allows this app: the ``connection_cap``
    setting, else the catalogue's figure; None where no cap is known."""
    value = setting(platform, "connection_cap")
    if value is not None and value.strip().isdigit():
        return int(value)
    return platform.certification.connection_cap


def credentials(platform: Platform) -> tuple[str, str] | None:
    if platform.key == "sandbox" or platform.key in sandbox_plays():
        config = current_app.config
        return config["SANDBOX_CLIENT_ID"], config["SANDBOX_CLIENT_SECRET"]
    client_id, secret = setting(platform, "client_id"), setting(platform, "client_secret")
    return (client_id, secret) if client_id and secret else None


def host(platform: Platform, placeholder: str) -> str | None:
    """The URL a ``hosts`` placeholder stands for under this instance's settings."""
    for name, choices in platform.hosts.items():
        if any(placeholder in urls for urls in choices.values()):
            chosen = choices.get(setting(platform, name) or "", {})
            return chosen.get(placeholder)
    return None


def expand(platform: Platform, template: str) -> str | None:
    """A URL with its {placeholders} filled in, or None if a setting is missing."""
    values: dict[str, str] = {}
    for _, field, _, _ in string.Formatter().parse(template):
        if not field:
            continue
        if field == "sandbox_url":
            values[field] = str(current_app.config.get("SANDBOX_URL") or "").rstrip("/")
        elif any(field in urls for choices in platform.hosts.values() for urls in choices.values()):
            values[field] = expand(platform, host(platform, field) or "") or ""
        elif field in RUNTIME_PLACEHOLDERS:
            values[field] = "{" + field + "}"
        else:
            values[field] = setting(platform, field) or ""
        if not values[field]:
            return None
    return template.format(**values)


def setting_problems(platform: Platform) -> list[str]:
    """What is wrong with this instance's settings for the platform, in words."""
    problems = []
    for name, choices in platform.hosts.items():
        value = setting(platform, name)
        if value not in choices:
            allowed = ", ".join(choices)
            problems.append(f"{name} is {value!r}; it must be one of {allowed}")
    for name, default in platform.settings.items():
        if default is None and name not in platform.hosts and not setting(platform, name):
            problems.append(f"{name} is not set")
    token_auth = setting(platform, "token_auth")
    if token_auth is not None and token_auth not in TOKEN_AUTH_METHODS:
        allowed = ", ".join(TOKEN_AUTH_METHODS)
        problems.append(f"token_auth is {token_auth!r}; it must be one of {allowed}")
    return problems


def unavailable_reason(platform: Platform) -> str | None:
    """Why a platform can't be connected here, or None when it can."""
    platform = effective(platform)
    if platform.key == "sandbox":
        return None if current_app.config.get("SANDBOX_URL") else "the Sandbox is turned off"
    if credentials(platform) is None:
        return "no client id and secret configured"
    problems = setting_problems(platform)
    if problems:
        return "; ".join(problems)
    if expand(platform, platform.authorize_url) is None:
        return "a setting its URLs need is missing"
    if platform.organisation.strategy not in SUPPORTED_STRATEGIES:
        return f"finding the organisation by {platform.organisation.strategy} is not supported yet"
    return None


def is_available(platform: Platform) -> bool:
    """Whether a customer can connect this platform on this instance right now."""
    return unavailable_reason(platform) is None

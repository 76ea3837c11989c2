"""The sandbox's pages and endpoints: authorize, token, revoke, metadata, the API and
the Connected apps page."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from authlib.common.urls import add_params_to_uri
from authlib.integrations.flask_oauth2 import current_token
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import AuthorizationCodeGrant
from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from wtforms import SelectChoice

from app.sandbox import change_notifications, grants
from app.sandbox.authorization_server import (
    Grantee,
    SandboxServer,
    issuer,
    quirks_of,
    registered_client,
    require_token,
    server_metadata,
    short_token_seconds,
    slow_seconds,
)
from app.sandbox.data import (
    ROLE_NAMES,
    SCOPES,
    USERS,
    Organisation,
    find_organisation,
    find_user,
    organisations_of,
    role_of,
)
from app.sandbox.dialects import DIALECTS, NATIVE, Dialect, dialect_organisation_id
from app.sandbox.forms import (
    MAX_EXPIRY_MINUTES,
    ConsentForm,
    GrantChangeForm,
    NotifyForm,
    RevokeForm,
    SignInForm,
    SignOutForm,
)
from app.sandbox.headers import allow_form_action, security_headers
from app.sandbox.storage import utcnow
from app.sandbox.tables import SandboxToken

bp = Blueprint("sandbox", __name__)
# Its own headers wherever it is served: they come first, the host app's only fill gaps.
bp.after_request(security_headers)

# The sandbox's own keys in the shared Flask session: Onramp never reads them.
SESSION_KEY = "sandbox_user"
REVOKED_KEY = "sandbox_revoked"
NOTIFIED_KEY = "sandbox_notified"
CHANGED_KEY = "sandbox_changed"
# The state of the authorization request that last showed the sign-in page.
PROMPTED_KEY = "sandbox_prompted"
# In app.extensions: True when the Sandbox is served inside Onramp, whose routes then sit
# beside it under the same PUBLIC_URL.
MOUNTED_KEY = "sandbox_mounted"


def server_for(dialect: str = NATIVE) -> SandboxServer:
    """This app's authorization server for ``dialect``."""
    servers: dict[str, SandboxServer] = current_app.extensions["sandbox_oauth"]
    return servers[dialect]


@bp.route("/authorize", methods=["GET", "POST"])
def authorize() -> ResponseReturnValue:
    """Check the request, sign the test user in, then ask for consent."""
    return run_authorization(NATIVE)


def run_authorization(dialect: str) -> ResponseReturnValue:
    """The authorization endpoint in ``dialect``: sign the test user in, then ask consent.

    Every form posts back here with the query string intact, so the original
    authorization request is validated afresh on each step.
    """
    server = server_for(dialect)
    try:
        grant = server.get_consent_grant()
    except OAuth2Error as error:
        return _authorization_error(error, server.dialect)
    except ValueError:
        # Malformed beyond an OAuth error: Authlib raises ValueError when its error
        # description would echo characters RFC 6749 forbids there (a quote in
        # redirect_uri, say), and Werkzeug when the query string is not UTF-8.
        return render_template("sandbox/error.html", description=None), 400

    email = session.get(SESSION_KEY)
    state = grant.request.payload.state or ""
    if email is not None and _login_prompted(grant) and session.get(PROMPTED_KEY) != state:
        # prompt=login: this request signs in afresh, once (its posts come back here).
        session.pop(SESSION_KEY, None)
        email = None
    if email is None:
        session[PROMPTED_KEY] = state
        return _sign_in()
    if SignOutForm().sign_out.data:
        session.pop(SESSION_KEY, None)
        return redirect(_this_request())
    return _consent(server, grant, email)


def _login_prompted(grant: AuthorizationCodeGrant) -> bool:
    """Whether the request asks for a login even from a browser signed in (OpenID Connect
    Core 1.0 §3.1.2.1, ``prompt=login``)."""
    return "login" in str(grant.request.payload.data.get("prompt") or "").split()


def _sign_in(lede: str | None = None) -> ResponseReturnValue:
    form = SignInForm()
    # A consent form posted after the session ended is not a failed sign-in.
    if form.sign_in.data and form.validate_on_submit():
        session[SESSION_KEY] = form.email.data.strip().lower()
        return redirect(_this_request())
    return render_template(
        "sandbox/sign_in.html",
        form=form,
        action=_this_request(),
        users=USERS,
        role_names=ROLE_NAMES,
        lede=lede,
    )


def _consent(
    server: SandboxServer, grant: AuthorizationCodeGrant, email: str
) -> ResponseReturnValue:
    form = ConsentForm()
    # Each login sees its own organisations, each with its role there.
    mine = organisations_of(email)
    form.organisation.choices = [SelectChoice(org.id, org.name) for org in mine]
    roles = {org.id: ROLE_NAMES.get(role_of(email, org.id) or "", "") for org in mine}
    dialect = server.dialect
    if form.deny.data:
        return server.create_authorization_response(grant=grant, grant_user=None)
    if form.simulate_error.data:
        simulated = OAuth2Error(
            error="server_error",
            description="The sandbox simulated a server error because you asked it to.",
            state=grant.request.payload.state,
            redirect_uri=grant.redirect_uri,
        )
        return _redirect_with_error(simulated, dialect)
    if form.approve.data and form.validate():
        grantee = Grantee(
            email=email,
            organisation_id=form.organisation.data,
            slow_seconds=slow_seconds() if form.slow.data else 0.0,
            token_seconds=short_token_seconds() if form.short_lived.data else 0,
        )
        response = server.create_authorization_response(grant=grant, grant_user=grantee)
        chosen = find_organisation(form.organisation.data)
        if chosen is None or "code" not in _query_of(response.headers.get("Location", "")):
            return response  # an error on its way back names no organisation
        return _name_organisation_on_redirect(response, grant, chosen, dialect)

    # Chromium checks form-action against the redirect that follows the post.
    redirect_to = urlsplit(grant.redirect_uri)
    allow_form_action(f"{redirect_to.scheme}://{redirect_to.netloc}")
    return render_template(
        "sandbox/consent.html",
        form=form,
        sign_out_form=SignOutForm(formdata=None),
        client=grant.client,
        playing=dialect.playing,
        scopes=_scopes_shown(dialect, grant.request.scope),
        email=email,
        roles=roles,
        action=_this_request(),
        slow_seconds=f"{slow_seconds():g}",
        short_token_seconds=short_token_seconds(),
    )


def _query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def _scopes_shown(dialect: Dialect, scope: str) -> list[str]:
    """What the consent screen lists: the Sandbox's own scopes in words, a vendor's as
    the raw strings the app asked for."""
    if dialect.key == NATIVE:
        return [SCOPES[s] for s in scope.split() if s in SCOPES]
    return dialect.split_scope(scope)


def _name_organisation_on_redirect(
    response: Response, grant: AuthorizationCodeGrant, chosen: Organisation, dialect: Dialect
) -> Response:
    """The organisation named on the redirect back: as the vendor played does, or as
    the ``sandbox_org_param`` quirks ask of the Sandbox speaking for itself."""
    data = grant.request.payload.data
    extra = dialect.redirect_params(chosen, data)
    quirks = quirks_of(data)
    if dialect.key == NATIVE and quirks.get("sandbox_org_param"):
        extra.append((quirks["sandbox_org_param"], chosen.id))
    if dialect.key == NATIVE and quirks.get("sandbox_org_name_param"):
        extra.append((quirks["sandbox_org_name_param"], chosen.name))
    if extra:
        response.headers["Location"] = add_params_to_uri(response.headers["Location"], extra)
    return response


def _authorization_error(error: OAuth2Error, dialect: Dialect) -> ResponseReturnValue:
    # RFC 6749 §4.1.2.1: never redirect to a client or redirect_uri we cannot trust.
    if error.redirect_uri:
        return _redirect_with_error(error, dialect)
    return render_template("sandbox/error.html", description=error.get_error_description()), 400


def _redirect_with_error(error: OAuth2Error, dialect: Dialect) -> ResponseReturnValue:
    """Send ``error`` back to the client, naming this issuer (RFC 9207) where the
    dialect does (no vendor played here documents it)."""
    params = list(error.get_body())
    if dialect.announces_issuer:
        params.append(("iss", issuer()))
    return redirect(add_params_to_uri(error.redirect_uri, params))


def _this_request() -> str:
    """This authorization request's own path and query, to post back to."""
    return request.full_path


@bp.route("/connections", methods=["GET", "POST"])
def connections() -> ResponseReturnValue:
    """Connected apps: the organisations the test user let Onramp read, each revocable,
    per platform the Sandbox played.

    Revoking here is how a tester makes Onramp's next refresh fail, as it would after
    a customer removed the app in their accounting platform. Where a played vendor
    sends change notifications and they are configured, one can be sent from here.
    """
    email = session.get(SESSION_KEY)
    if email is None:
        return _sign_in("Sign in to see the apps you have connected and revoke their access.")
    if SignOutForm().sign_out.data:
        session.pop(SESSION_KEY, None)
        return redirect(url_for(".connections"), 303)
    notify = NotifyForm()
    if notify.notify.data:
        about = find_organisation(notify.organisation.data or "")
        if (
            notify.validate()
            and about is not None
            and change_notifications.can_notify(notify.dialect.data)
        ):
            session[NOTIFIED_KEY] = _notified(notify.dialect.data, about)
        return redirect(url_for(".connections"), 303)
    change = GrantChangeForm()
    if change.expire.data or change.remove.data or change.disconnect.data:
        return _change_grant(email, change)
    form = RevokeForm()
    if form.validate_on_submit():
        revoked = grants.revoke(email, form.organisation.data, form.dialect.data or None)
        if revoked is not None:
            session[REVOKED_KEY] = revoked.name
        return redirect(url_for(".connections"), 303)
    if request.method == "POST":
        return redirect(url_for(".connections"), 303)  # nothing to do: a tampered form
    # Chromium checks form-action against the redirect that follows "Disconnect in ...".
    for key in DIALECTS:
        if (url := disconnect_url(key)) is not None:
            target = urlsplit(url)
            allow_form_action(f"{target.scheme}://{target.netloc}")
    return render_template(
        "sandbox/connections.html",
        grants=grants.granted(email),
        client=registered_client(),
        scopes=SCOPES,
        dialects=DIALECTS,
        can_notify={key: change_notifications.can_notify(key) for key in DIALECTS},
        revoked=session.pop(REVOKED_KEY, None),
        notified=session.pop(NOTIFIED_KEY, None),
        changed=session.pop(CHANGED_KEY, None),
        revoke_form=RevokeForm(formdata=None),
        change_form=GrantChangeForm(formdata=None),
        max_expiry_minutes=MAX_EXPIRY_MINUTES,
        can_disconnect={key: disconnect_url(key) is not None for key in DIALECTS},
        notify_form=NotifyForm(formdata=None),
        sign_out_form=SignOutForm(formdata=None),
        email=email,
    )


def _change_grant(email: str, form: GrantChangeForm) -> ResponseReturnValue:
    """Break the approval as the button pressed says; back to the page with a word on
    what was done, or, for a disconnect, on to the app's Disconnect URL."""
    grant = grants.find_grant(email, form.grant.data or "") if form.validate() else None
    if grant is None:
        return redirect(url_for(".connections"), 303)
    dialect = DIALECTS[grant.dialect]
    named = grant.organisation.name + (f" ({dialect.playing})" if dialect.playing else "")
    if form.expire.data:
        minutes = form.minutes.data or 0
        grants.expire_refresh_token(grant.grant_id, utcnow() + timedelta(minutes=minutes))
        when = "now" if minutes == 0 else f"in {minutes} minute{'s' if minutes != 1 else ''}"
        session[CHANGED_KEY] = f"The refresh token for {named} expires {when}."
    elif form.remove.data:
        grants.remove_organisation(grant.grant_id)
        session[CHANGED_KEY] = (
            f"{named} was removed: look-ups no longer list it, though the app's keys still work."
        )
    elif dialect.disconnect_param is not None:
        grants.revoke(email, grant.organisation.id, grant.dialect)
        url = disconnect_url(grant.dialect)
        if url is not None:
            realm = dialect_organisation_id(grant.dialect, grant.organisation)
            return redirect(add_params_to_uri(url, [(dialect.disconnect_param, realm)]), 303)
        session[REVOKED_KEY] = grant.organisation.name
    return redirect(url_for(".connections"), 303)


def disconnect_url(dialect: str) -> str | None:
    """Where the platform played by ``dialect`` sends the browser after a disconnect made
    inside it (``SANDBOX_DISCONNECT_URLS``; mounted inside Onramp, Onramp's own)."""
    if DIALECTS[dialect].disconnect_param is None:
        return None
    configured = current_app.config.get("SANDBOX_DISCONNECT_URLS") or {}
    url = configured.get(dialect) if isinstance(configured, dict) else None
    if url:
        return str(url)
    if current_app.extensions.get(MOUNTED_KEY):
        return f"{current_app.config['PUBLIC_URL']}/connect/{dialect}/disconnected"
    return None


def _notified(dialect: str, organisation: Organisation) -> str:
    """Send the change notification; what to tell the tester about it."""
    about = f"{DIALECTS[dialect].vendor}'s change notification about {organisation.name}"
    status = change_notifications.send_change_notification(dialect, organisation.id)
    if status is None:
        return f"{about} could not be delivered: the receiver did not answer."
    return f"{about} was sent: the receiver answered {status}."


@bp.post("/token")
def token() -> Response:
    """Exchange an authorization code or a refresh token for tokens."""
    return server_for(NATIVE).create_token_response()


@bp.post("/revoke")
def revoke() -> Response:
    """Revoke an access or refresh token (RFC 7009)."""
    return server_for(NATIVE).create_endpoint_response("revocation")


@bp.get("/.well-known/oauth-authorization-server")
def metadata() -> Response:
    """Authorization server metadata (RFC 8414)."""
    return jsonify(server_metadata())


@bp.get("/api/organisation")
@require_token("accounting.read")
def organisation() -> ResponseReturnValue:
    """The organisation the bearer token was issued for."""
    token: SandboxToken = current_token._get_current_object()
    found = find_organisation(token.organisation_id)
    if found is None or grants.organisation_removed(token.grant_id):
        return jsonify(error="not_found"), 404
    # Who approved, and their role there: Onramp refuses a role too weak to read the data.
    user = find_user(token.user_email)
    return jsonify(
        id=found.id,
        name=found.name,
        user={
            "email": token.user_email,
            "name": f"{user.first_name} {user.last_name}" if user else token.user_email,
            "role": role_of(token.user_email, found.id),
        },
    )


@bp.get("/api/organisations")
@require_token("accounting.read")
def organisations() -> ResponseReturnValue:
    """Every organisation the signed-in user has, as platforms like Xero list them."""
    token: SandboxToken = current_token._get_current_object()
    listed = grants.visible_organisations(token)
    return jsonify(
        organisations=[
            {"id": org.id, "name": org.name, "role": role_of(token.user_email, org.id)}
            for org in listed
        ]
    )

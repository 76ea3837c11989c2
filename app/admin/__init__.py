"""The admin console: product, support and operations colleagues sign in here."""

from __future__ import annotations

from flask import Blueprint, Flask
from flask_login import current_user

from app.admin.accounts import load_session_user
from app.admin.guard import guard
from app.admin.scope import current_scope
from app.admin.sessions import browser_identifier
from app.extensions import login_manager

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(guard)


@bp.context_processor
def _customer_scope() -> dict[str, object]:
    # Pages that sum up every customer leave those figures out for a colleague who sees
    # only their own (see scope.py).
    return {"customer_scope": current_scope()}


def init_admin(app: Flask) -> None:
    # Each area of the console is a module whose routes register on ``bp`` when imported;
    # imported here, once the blueprint exists, and named one by one so readers and tools
    # see every area.
    from app.admin import (  # noqa: F401
        api_keys,
        audit_log,
        consents,
        customers,
        evidence_page,
        funnel_page,
        golive,
        help,
        journeys,
        journeys_preview,
        privacy_map_page,
        users,
        views,
        webhook_encryption,
        webhook_tls,
        webhooks,
    )
    from app.admin.sso import init_sso

    init_sso(app)

    # Flask-Login's context processor loads the signed-in colleague for every template,
    # a customer's step page included; its proxy as a global loads them only where a
    # template names ``current_user`` (the console's pages).
    login_manager.init_app(app, add_context_processor=False)
    app.jinja_env.globals["current_user"] = current_user
    login_manager.user_loader(load_session_user)
    login_manager.login_view = "admin.login"
    # The guard redirects and explains; Flask-Login's own flash would repeat it in English.
    login_manager.login_message = None
    login_manager.session_protection = "strong"
    # Flask-Login 0.6.3's own identifier believes X-Forwarded-For (flask-login#700) and
    # there is no public setting for it.
    login_manager._session_identifier_generator = browser_identifier
    app.register_blueprint(bp)

"""Every Flask extension is created here once and ``init_app``'d by the factory."""

from __future__ import annotations

from flask_babel import Babel
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_static_digest import FlaskStaticDigest
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
htmx = Htmx()
babel = Babel()
# Responses in zstd, br or gzip, as the browser accepts; registered by app.security, which
# leaves out the pages that show a credential (BREACH, docs/security.md).
compress = Compress()
login_manager = LoginManager()
# Content-hashed static URLs (app/static_files.py).
static_digest = FlaskStaticDigest()
# Storage: Redis when REDIS_URL is set (shared by every process), else this process's memory.
limiter = Limiter(key_func=get_remote_address)

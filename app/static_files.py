"""Static files: each URL names its file's content, so browsers keep it for years.

`make serve-deps` runs `flask digest compile` (Flask-Static-Digest): beside each file
under static/ it writes a copy named with the MD5 of its content, that copy gzipped and
brotli-compressed, and static/cache_manifest.json, from which templates'
``static_url_for`` names the copy. WhiteNoise serves /static/ ahead of Flask: a hashed
name with ``max-age`` of a year and ``immutable`` (a changed file gets a new name), any
other name (the embed script businesses link to) for a minute; each in br or gzip when
the browser accepts it.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.datastructures import Headers
from whitenoise import WhiteNoise

from app.extensions import static_digest
from app.urls import remembered

# Flask-Static-Digest's names: "css/onramp-<32 hex digits>.css".
DIGESTED_NAME = r"-[0-9a-f]{32}\.[^/]+$"
# A name without a hash may change under the same URL: browsers ask again after this.
UNHASHED_MAX_AGE_SECONDS = 60


def _headers(headers: Headers, _path: str, _url: str) -> None:
    # Served ahead of Flask, so without app.security's headers: an SVG opened on its own
    # runs nothing, and no file is read as another type than it says.
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'"


def _remembered_static_urls(app: Flask) -> None:
    """Templates' ``static_url_for`` answers from memory once a file's URL is known: the
    manifest does not change while the app runs, and every page names the same few files
    (building each URL again was a twentieth of a step page's time)."""
    app.jinja_env.globals["static_url_for"] = remembered(static_digest.static_url_for)


def init_static_files(app: Flask) -> None:
    app.config.setdefault("FLASK_STATIC_DIGEST_COMPRESSION", ["gzip", "brotli"])
    static_digest.init_app(app)
    _remembered_static_urls(app)
    app.wsgi_app = WhiteNoise(  # type: ignore[method-assign]
        app.wsgi_app,
        root=app.static_folder,
        prefix=app.static_url_path,
        max_age=UNHASHED_MAX_AGE_SECONDS,
        immutable_file_test=DIGESTED_NAME,
        add_headers_function=_headers,
    )

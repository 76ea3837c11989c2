"""Gunicorn settings for `make run` and production: threaded workers, redacted access log.

Threads matter: the app calls OAuth providers (the built-in Sandbox included, which
may be served by this very process) and must never block other customers meanwhile.
"""

from __future__ import annotations

import os
import re
from typing import Any

from gunicorn.glogging import Logger

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'

# Journey links carry a signed token in their path: it is a credential, keep it out of logs.
_SECRET_PATHS = re.compile(r"^/j/[^/]+")


def redact_path(path: str) -> str:
    return _SECRET_PATHS.sub("/j/[redacted]", path)


class RedactingLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        atoms["U"] = redact_path(str(atoms.get("U", "")))
        return atoms


logger_class = RedactingLogger

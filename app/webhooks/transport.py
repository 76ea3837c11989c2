"""HTTP for webhooks: one POST, no redirects, no proxies, only to addresses the SSRF rules allow.

The check happens inside the connection, right before the socket connects, against the
addresses that socket then uses: a host name cannot pass the check with one address and
be connected to at another (DNS rebinding). TLS still verifies the certificate against
the URL's host name.
"""

from __future__ import annotations

import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util.connection import create_connection

from app.webhooks.mutual_tls import TLS, explain
from app.webhooks.ssrf import Policy, UnsafeDestination, checked_addresses

USER_AGENT = "Onramp-Webhooks/1"


@dataclass(frozen=True)
class Response:
    """What came back from one POST: a status code, or an error (never both)."""

    status_code: int | None
    latency_ms: int
    error: str | None = None
    retry_after: str | None = None
    refused: bool = False  # the SSRF rules stopped it before anything was sent
    # The receiver refused our client certificate in the TLS handshake (mutual TLS).
    client_certificate_refused: bool = False


def _connect(conn: HTTPConnection, policy: Policy) -> socket.socket:
    """Open a socket to the first reachable address of ``conn.host`` that the rules allow."""
    host = conn.host
    addresses = checked_addresses(host, conn.port or 0, policy)
    last_error: OSError | None = None
    for address in addresses:
        try:
            return create_connection(
                (str(address), conn.port or 0),
                conn.timeout,  # type: ignore[arg-type]
                source_address=conn.source_address,
                socket_options=conn.socket_options,
            )
        except TimeoutError as exc:
            raise ConnectTimeoutError(conn, f"connection to {host} timed out") from exc
        except OSError as exc:
            last_error = exc
    raise NewConnectionError(conn, f"failed to connect to {host}: {last_error}")


class _CheckedHTTPConnection(HTTPConnection):
    policy: Policy

    def _new_conn(self) -> socket.socket:
        return _connect(self, self.policy)


class _CheckedHTTPSConnection(HTTPSConnection):
    policy: Policy

    def _new_conn(self) -> socket.socket:
        return _connect(self, self.policy)


class _CheckedAdapter(HTTPAdapter):
    """An adapter whose connections check every address before connecting to it."""

    def __init__(self, policy: Policy, tls: TLS | None = None) -> None:
        self.policy = policy
        self.tls = tls
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        if self.tls is not None:
            kwargs["ssl_context"] = self.tls.context
        super().init_poolmanager(*args, **kwargs)
        http_conn = type("CheckedHTTP", (_CheckedHTTPConnection,), {"policy": self.policy})
        https_conn = type("CheckedHTTPS", (_CheckedHTTPSConnection,), {"policy": self.policy})
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("CheckedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
            "https": type(
                "CheckedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}
            ),
        }

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        super().cert_verify(conn, url, verify, cert)
        if self.tls is not None and self.tls.pinned:
            # The pinned CA in the context is the only trust: not requests' CA bundle too.
            conn.ca_certs = conn.ca_cert_dir = None


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    timeout: tuple[float, float],
    policy: Policy,
    tls: tuple[TLS, ...] = (),
) -> Response:
    """POST ``body``; errors are described without headers or body (they hold secrets).

    ``tls`` lists client TLS settings to try in order (mutual TLS, newest certificate
    first): the next is tried only when the receiver refused the client certificate.
    """
    if not tls:
        return _post_once(url, body, headers, timeout, policy, None)
    first = None
    for choice in tls:
        response = _post_once(url, body, headers, timeout, policy, choice)
        if not response.client_certificate_refused:
            return response
        first = first or response
    return first or response  # every certificate refused: say why the newest was


def _post_once(
    url: str,
    body: bytes,
    headers: dict[str, str],
    timeout: tuple[float, float],
    policy: Policy,
    tls: TLS | None,
) -> Response:
    session = requests.Session()
    session.trust_env = False  # no proxies, no .netrc: the request goes where the rules allow
    adapter = _CheckedAdapter(policy, tls)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    started = time.monotonic()
    try:
        with session.post(
            url,
            data=body,
            headers={"User-Agent": USER_AGENT, "Content-Type": "application/json", **headers},
            timeout=timeout,
            allow_redirects=False,
            stream=True,  # the receiver's body is never read: only its status matters
        ) as response:
            return Response(
                status_code=response.status_code,
                latency_ms=_elapsed_ms(started),
                retry_after=response.headers.get("Retry-After"),
            )
    except UnsafeDestination as exc:
        return Response(None, _elapsed_ms(started), f"refused: {exc.message}", refused=True)
    except requests.exceptions.ConnectTimeout:
        return Response(None, _elapsed_ms(started), "connect timeout")
    except requests.exceptions.ReadTimeout:
        return Response(None, _elapsed_ms(started), "read timeout: no answer in time")
    except requests.exceptions.SSLError as exc:
        return _tls_failure(exc, started, tls)
    except requests.exceptions.ConnectionError as exc:
        if tls is not None and _ssl_error(exc) is not None:
            # TLS 1.3: the receiver refuses a client certificate after our request is sent.
            return _tls_failure(exc, started, tls)
        return Response(None, _elapsed_ms(started), f"connection error: {_reason(exc)}")
    except requests.exceptions.RequestException as exc:
        return Response(None, _elapsed_ms(started), f"request error: {type(exc).__name__}")
    finally:
        session.close()


def _tls_failure(exc: Exception, started: float, tls: TLS | None) -> Response:
    cause = _ssl_error(exc)
    if cause is None:
        return Response(None, _elapsed_ms(started), "TLS error: the certificate was not accepted")
    error, refused = explain(cause, tls)
    return Response(None, _elapsed_ms(started), error, client_certificate_refused=refused)


def _ssl_error(exc: BaseException) -> ssl.SSLError | None:
    """The ``ssl`` module's error behind ``exc``: urllib3 wraps it in its arguments."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        wrapped = next((arg for arg in seen.args if isinstance(arg, BaseException)), None)
        seen = wrapped or seen.__cause__ or seen.__context__
    return None


def _innermost(exc: BaseException) -> BaseException:
    cause = exc
    while cause.__cause__ is not None or cause.__context__ is not None:
        cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
    return cause


def _reason(exc: Exception) -> str:
    """The innermost cause's message, short: no URL query strings, no headers."""
    cause = _innermost(exc)
    if isinstance(cause, UnsafeDestination):
        return f"refused: {cause.message}"
    text = str(cause) or type(cause).__name__
    return text.split(" (Caused by", 1)[0][:200]


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)

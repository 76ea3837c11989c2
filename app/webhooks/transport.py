"""HTTP for webhooks: one POST, no redirects, no proxies, only to addresses the SSRF rules allow.

The check happens inside the connection, right before the socket connects, against the
addresses that socket then uses: a host name cannot pass the check with one address and
be connected to at another (DNS rebinding). TLS still verifies the certificate against
the URL's host name.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util.connection import create_connection

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

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        http_conn = type("CheckedHTTP", (_CheckedHTTPConnection,), {"policy": self.policy})
        https_conn = type("CheckedHTTPS", (_CheckedHTTPSConnection,), {"policy": self.policy})
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("CheckedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
            "https": type(
                "CheckedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}
            ),
        }


def post(
    url: str, body: bytes, headers: dict[str, str], timeout: tuple[float, float], policy: Policy
) -> Response:
    """POST ``body`` once; errors are described without headers or body (they hold secrets)."""
    session = requests.Session()
    session.trust_env = False  # no proxies, no .netrc: the request goes where the rules allow
    adapter = _CheckedAdapter(policy)
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
    except requests.exceptions.SSLError:
        return Response(None, _elapsed_ms(started), "TLS error: the certificate was not accepted")
    except requests.exceptions.ConnectionError as exc:
        return Response(None, _elapsed_ms(started), f"connection error: {_reason(exc)}")
    except requests.exceptions.RequestException as exc:
        return Response(None, _elapsed_ms(started), f"request error: {type(exc).__name__}")
    finally:
        session.close()


def _reason(exc: Exception) -> str:
    """The innermost cause's message, short: no URL query strings, no headers."""
    cause: BaseException = exc
    while cause.__cause__ is not None or cause.__context__ is not None:
        cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
    if isinstance(cause, UnsafeDestination):
        return f"refused: {cause.message}"
    text = str(cause) or type(cause).__name__
    return text.split(" (Caused by", 1)[0][:200]


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)

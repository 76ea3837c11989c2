"""The loopback servers the suite starts hold their port from the moment it is chosen."""

import errno
import socket

import pytest
import requests
from werkzeug.wrappers import Request, Response

from tests.serving import loopback_port, serving


@Request.application  # type: ignore[arg-type]
def _hello(request: Request) -> Response:
    return Response(f"hello from {request.host}")


def test_the_port_named_before_the_app_exists_is_the_port_served() -> None:
    with loopback_port() as port:
        address = f"127.0.0.1:{port.port}"
        # Nobody else can take the port while the app is being built.
        with socket.socket() as intruder, pytest.raises(OSError) as refused:
            intruder.bind(("127.0.0.1", port.port))
        assert refused.value.errno == errno.EADDRINUSE

        with serving(_hello, port):
            answer = requests.get(port.url, timeout=10)
    assert answer.text == f"hello from {address}"


def test_a_server_without_a_named_port_reports_its_own() -> None:
    with serving(_hello) as server:
        answer = requests.get(f"http://127.0.0.1:{server.server_port}/", timeout=10)
    assert answer.status_code == 200

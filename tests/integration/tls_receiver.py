"""An HTTPS webhook receiver that requires a client certificate, and the certificates for
it, all made here with ``cryptography``: a CA, the receiver's certificate for 127.0.0.1,
and client certificates that CA signs."""

from __future__ import annotations

import ipaddress
import ssl
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Issued:
    certificate_pem: str
    key_pem: str
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def issue(
    common_name: str,
    issuer: Issued | None = None,
    *,
    ca: bool = False,
    server_ip: str | None = None,
    not_after: datetime | None = None,
) -> Issued:
    """A certificate for ``common_name``, signed by ``issuer`` (self-signed without one)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.certificate.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(not_after or now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
    if server_ip:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(server_ip))]),
            critical=False,
        )
    certificate = builder.sign(issuer.key if issuer else key, hashes.SHA256())
    return Issued(
        certificate.public_bytes(serialization.Encoding.PEM).decode(),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        certificate,
        key,
    )


class TLSReceiver:
    """HTTPS on 127.0.0.1 that answers 200 only to a client certificate ``client_ca`` signed;
    ``seen`` lists the common name of the client certificate behind each request."""

    def __init__(self, folder: Path, server: Issued, client_ca: Issued) -> None:
        self.seen: list[str] = []
        self._arrived = threading.Condition()
        receiver = self
        (folder / "server.pem").write_text(server.certificate_pem + server.key_pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(folder / "server.pem")
        context.load_verify_locations(cadata=client_ca.certificate_pem)
        context.verify_mode = ssl.CERT_REQUIRED
        # TLS 1.2: the receiver's alert arrives during the handshake. With TLS 1.3 it comes
        # after the request is sent, and may be lost when the receiver hangs up first.
        context.maximum_version = ssl.TLSVersion.TLSv1_2

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                peer = self.connection.getpeercert()  # type: ignore[attr-defined]
                subject = dict(item[0] for item in peer["subject"])
                with receiver._arrived:
                    receiver.seen.append(subject["commonName"])
                    receiver._arrived.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server.server_address[1]}/hooks"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

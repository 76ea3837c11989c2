"""Receive Onramp's encrypted webhooks: verify the signature, THEN decrypt.

Needs Python 3.10+ and two libraries: ``pip install standardwebhooks joserfc``.

1. Make a key pair; give Onramp the public half, keep the private half on the receiver:

       python receive_encrypted_webhook.py keygen private.jwk > public.jwk
       flask webhooks encrypt ENDPOINT_ID --public-key public.jwk

2. Run the receiver with the endpoint's signing secret and the private key(s):

       WEBHOOK_SECRET=whsec_... python receive_encrypted_webhook.py serve private.jwk [old.jwk]

   During a rotation give both private keys: each JWE names its key by ``kid``
   (the key's RFC 7638 thumbprint), so the receiver picks the right one.

Behind a real web framework, call :func:`verify_and_decrypt` with the raw request body
(bytes, exactly as received) and the request headers.
"""

from __future__ import annotations

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, JWKRegistry, Key, KeySet, OKPKey, RSAKey
from standardwebhooks import Webhook, WebhookVerificationError

# What Onramp uses; pass them explicitly: joserfc refuses algorithms it was not told to allow.
ALGORITHMS = ["RSA-OAEP-256", "ECDH-ES+A256KW", "A256GCM"]


class Rejected(Exception):
    """A request that must be answered 4xx and not acted on."""


def load_private_keys(*paths: str) -> KeySet:
    """Private JWK files, each known by the ``kid`` Onramp puts in the JWE header: the
    key's RFC 7638 thumbprint (set here when the file has no ``kid``)."""
    keys = []
    for path in paths:
        with open(path, encoding="utf-8") as file:
            key = JWKRegistry.import_key(json.load(file))
        key.ensure_kid()
        keys.append(key)
    return KeySet(keys)


def verify_and_decrypt(
    body: bytes, headers: dict[str, str], secret: str, private_keys: KeySet
) -> dict[str, Any]:
    """The event, once its signature checks out over the raw body and it decrypts.

    The Standard Webhooks signature covers the JWE exactly as sent, so it is checked
    first, without parsing anything; only a genuine message is then decrypted.
    """
    try:
        Webhook(secret).verify(body, headers, json_parse=False)
    except WebhookVerificationError as exc:
        raise Rejected(f"signature: {exc}") from exc
    content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    if not content_type.startswith("application/jose"):
        # Onramp sends JSON in the clear to endpoints without a key.
        return dict(json.loads(body))
    try:
        # joserfc picks the private key whose kid the JWE header names.
        plaintext = jwe.decrypt_compact(body, private_keys, algorithms=ALGORITHMS).plaintext
    except JoseError as exc:
        raise Rejected(f"decryption: {exc}") from exc
    return dict(json.loads(plaintext or b"{}"))


def keygen(private_path: str, kind: str = "EC") -> dict[str, Any]:
    """Write a new private JWK to ``private_path``; returns the public JWK to give Onramp."""
    key: Key
    if kind == "RSA":
        key = RSAKey.generate_key(3072, private=True)
    elif kind == "X25519":
        key = OKPKey.generate_key("X25519", private=True)
    else:
        key = ECKey.generate_key("P-256", private=True)
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(key.as_dict(private=True), file)
    return dict(key.as_dict(private=False))


def serve(secret: str, private_keys: KeySet, port: int = 8000) -> None:
    """A bare receiver on ``port`` that prints each event it accepts."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                event = verify_and_decrypt(body, dict(self.headers.items()), secret, private_keys)
            except Rejected as exc:
                self.send_error(400, str(exc))
                return
            print(event["type"], json.dumps(event["data"]))
            self.send_response(204)
            self.end_headers()

    HTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    if sys.argv[1:2] == ["keygen"] and len(sys.argv) >= 3:
        print(json.dumps(keygen(sys.argv[2], *sys.argv[3:4])))
    elif sys.argv[1:2] == ["serve"] and len(sys.argv) >= 3:
        serve(os.environ["WEBHOOK_SECRET"], load_private_keys(*sys.argv[2:]))
    else:
        sys.exit(__doc__)

"""A local Web Push service for tests: a real HTTP server on 127.0.0.1 playing the browser's
push service. It checks each POST's VAPID signature (RFC 8292) and decrypts the aes128gcm
payload (RFC 8291) with the subscription's private key and auth secret, written out here from
the RFCs (not with the library the app sends with). Answers 201, or 410 for a subscription
marked gone, or a redirect for one marked so."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def _point(key) -> bytes:
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


@dataclass
class Browser:
    """One subscription: the keys a browser makes, and what reached it."""

    token: str
    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth_secret: bytes = field(default_factory=lambda: os.urandom(16))
    received: list[dict] = field(default_factory=list)
    answer: int = 201

    def keys(self) -> dict:
        return {"p256dh": b64(_point(self.private_key.public_key())), "auth": b64(self.auth_secret)}

    def decrypt(self, body: bytes) -> bytes:
        """RFC 8291 section 3.4 and RFC 8188: one aes128gcm record."""
        salt, record_size, id_length = body[:16], int.from_bytes(body[16:20]), body[20]
        server_point = body[21 : 21 + id_length]
        ciphertext = body[21 + id_length :]
        assert len(ciphertext) <= record_size
        server_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), server_point)
        shared = self.private_key.exchange(ec.ECDH(), server_key)
        ua_point = _point(self.private_key.public_key())
        ikm = _hkdf(self.auth_secret, shared, b"WebPush: info\x00" + ua_point + server_point, 32)
        key = _hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
        nonce = _hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12)
        padded = AESGCM(key).decrypt(nonce, ciphertext, None)
        stripped = padded.rstrip(b"\x00")
        assert stripped.endswith(b"\x02"), "the last record ends with the 0x02 delimiter"
        return stripped[:-1]


class PushPeer:
    """``start()`` then ``subscribe()`` browsers; ``base`` is its origin; ``refused`` counts
    requests it turned away (bad signature, undecryptable body)."""

    def __init__(self, vapid_public_key: str) -> None:
        self.vapid_public_key = vapid_public_key
        self.browsers: dict[str, Browser] = {}
        self.refused: list[str] = []
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                status = peer.receive(self.path, self.headers, self._body())
                self.send_response(status)
                if status == 307:
                    self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> PushPeer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(10)

    def subscribe(self, answer: int = 201) -> tuple[Browser, dict]:
        """A new browser and the subscription JSON it would give the app."""
        browser = Browser(token=b64(os.urandom(12)), answer=answer)
        self.browsers[browser.token] = browser
        endpoint = f"{self.base}/push/{browser.token}"
        return browser, {"endpoint": endpoint, "keys": browser.keys()}

    def receive(self, path: str, headers, body: bytes) -> int:
        browser = self.browsers.get(path.rsplit("/", 1)[-1])
        if browser is None:
            return 404
        try:
            self._check_vapid(headers)
            assert headers.get("Content-Encoding") == "aes128gcm"
            assert int(headers.get("TTL", "-1")) >= 0
            message = json.loads(browser.decrypt(body))
        except Exception as exc:  # a test sees it in ``refused``
            self.refused.append(f"{type(exc).__name__}: {exc}")
            return 400
        if browser.answer != 201:
            return browser.answer
        browser.received.append(message)
        return 201

    def _check_vapid(self, headers) -> None:
        """RFC 8292: ``vapid t=<JWT signed ES256 by k>, k=<our public key>``; aud is our
        origin, exp within 24 h, sub a contact."""
        scheme, _, params = headers["Authorization"].partition(" ")
        assert scheme == "vapid"
        values = dict(part.strip().split("=", 1) for part in params.split(","))
        assert values["k"] == self.vapid_public_key, "signed with another key"
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(values["k"]))
        claims = jwt.decode(values["t"], public, algorithms=["ES256"], audience=self.base)
        assert time.time() < claims["exp"] <= time.time() + 24 * 3600
        assert claims["sub"].startswith(("mailto:", "https:"))

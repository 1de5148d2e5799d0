"""A tiny carrier API peer (EasyPost-style shape) on 127.0.0.1 for the http carrier's tests:
it checks the bearer key, labels once per Idempotency-Key and serves trackers."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support.aws import free_port

API_KEY = "test-carrier-key"


class CarrierPeer:
    def __init__(self) -> None:
        self.labels: dict[str, dict] = {}  # idempotency key -> answer
        self.trackers: dict[str, list[dict]] = {}
        self.requests: list[tuple[str, str]] = []
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorised(self) -> bool:
                if self.headers.get("Authorization") != f"Bearer {API_KEY}":
                    self._answer(401, {"error": "unauthorized"})
                    return False
                return True

            def do_POST(self):
                peer.requests.append(("POST", self.path))
                if not self._authorised():
                    return
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                key = self.headers.get("Idempotency-Key") or body["reference"]
                if key not in peer.labels:
                    number = f"HTTP{len(peer.labels) + 1:06d}"
                    peer.labels[key] = {
                        "tracking_number": number,
                        "label_url": f"https://labels.invalid/{number}.pdf",
                        "estimated_delivery": "2026-12-05T12:00:00+00:00",
                    }
                    peer.trackers[number] = []
                self._answer(201, peer.labels[key])

            def do_GET(self):
                peer.requests.append(("GET", self.path))
                if not self._authorised():
                    return
                number = self.path.rsplit("/", 1)[-1]
                if number not in peer.trackers:
                    self._answer(404, {"error": "not_found"})
                    return
                self._answer(200, {"events": peer.trackers[number]})

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> CarrierPeer:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

"""A real localstripe server for tests: bound to 127.0.0.1 on a free port, state in memory.

``python -m tests.support.localstripe PORT`` runs the server (the peer's own app, with its
save-to-/tmp pickling switched off); ``LocalStripe`` starts and stops that process."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from config.settings import ROOT
from tests.support.aws import free_port


class LocalStripe:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 20.0) -> LocalStripe:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.localstripe", str(self.port)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"localstripe exited with {self.process.returncode}")
            try:
                urllib.request.urlopen(f"{self.url}/js.stripe.com/v3/", timeout=0.5)
                return self
            except urllib.error.HTTPError:
                return self  # answering
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("localstripe did not start in time")

    def post(self, path: str, data: dict | None = None, api_key: str | None = None) -> int:
        body = urllib.parse.urlencode(data or {}).encode()
        request = urllib.request.Request(f"{self.url}{path}", data=body, method="POST")
        if api_key:
            request.add_header("Authorization", f"Bearer {api_key}")
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.url}/_config/data", method="DELETE")
        urllib.request.urlopen(request, timeout=5).close()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def _serve(port: int) -> None:
    from aiohttp import web
    from localstripe import resources, server

    # Keep the state in memory: localstripe pickles its store to /tmp after every write.
    resources.store.dump_to_disk = lambda: None
    web.run_app(server.app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    _serve(int(sys.argv[1]))

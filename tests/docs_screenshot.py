"""``make docs-screenshot``: /docs rendered by headless Chromium with no network, as a PNG.

    python -m tests.docs_screenshot [--url http://127.0.0.1:8000] [--out docs/swagger-ui.png]

Without ``--url`` the app is served in this process (the page and the document need no
database). Chromium may reach 127.0.0.1 only: every other host is unresolvable, so the page
proves Swagger UI comes from the app's own assets. The image is not kept in git."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from config.settings import ROOT


def chromium_command(url: str, out: Path, profile: str) -> list[str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("needs chromium (Debian: apt-get install chromium)")
    return [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--proxy-server=127.0.0.1:9",
        "--proxy-bypass-list=127.0.0.1",
        "--virtual-time-budget=15000",
        "--window-size=1400,1000",
        f"--screenshot={out}",
        url,
    ]


def serve_in_process() -> tuple[str, object]:
    from werkzeug.serving import make_server

    from app import create_app

    server = make_server("127.0.0.1", 0, create_app({"TESTING": True}), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running app (default: serve one in this process)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "swagger-ui.png")
    args = parser.parse_args()
    server = None
    base = args.url.rstrip("/") if args.url else None
    if base is None:
        base, server = serve_in_process()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run(
                chromium_command(f"{base}/docs", args.out.resolve(), profile),
                check=True,
                capture_output=True,
                timeout=120,
            )
    finally:
        if server is not None:
            server.shutdown()
    print(f"screenshot of {base}/docs written to {args.out}")


if __name__ == "__main__":
    main()

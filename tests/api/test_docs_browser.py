"""/docs renders in a real browser with no network: headless Chromium loads it from a live
app, every other host unreachable, and Swagger UI shows the document's operations.

Skipped where Chromium is not installed (Debian: ``apt-get install chromium``).
``make docs-screenshot`` saves the same page as docs/swagger-ui.png."""

from __future__ import annotations

import re
import shutil
import subprocess
import threading

import pytest
from werkzeug.serving import make_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium (apt-get install chromium)")


def offline_chromium(*args: str) -> list[str]:
    """Headless Chromium that can reach 127.0.0.1 and nothing else."""
    return [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--proxy-server=127.0.0.1:9",
        "--proxy-bypass-list=127.0.0.1",
        "--virtual-time-budget=15000",
        *args,
    ]


@pytest.fixture
def live_docs(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/docs"
    server.shutdown()
    thread.join(10)


def test_docs_render_the_operations_offline(live_docs, app, tmp_path):
    # when headless Chromium, with every other host unreachable, loads /docs
    dom = subprocess.run(
        offline_chromium(f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", live_docs),
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    ).stdout
    # then Swagger UI rendered the document: its title and one block per operation
    operations = re.findall(r'class="opblock opblock-(get|post|put|patch|delete)', dom)
    assert "Bookstore API" in dom, dom[:2000]
    assert len(operations) >= 50, f"{len(operations)} operations rendered"
    assert "opblock-summary-path" in dom and "/api/v1/checkout" in dom

"""``make fuzz``: the long schemathesis pass against a live app (``make run``), anonymous and
as a freshly registered customer; prints the figures and fails on any 5xx.

    python -m tests.fuzz_live [--url http://127.0.0.1:8000] [--examples 100]
"""

from __future__ import annotations

import argparse
import sys
import uuid

import requests
import schemathesis

from tests.support.fuzzing import fuzz

PASSWORD = "Fuzz-Granite-Meadow-7"


def customer_headers(url: str) -> dict[str, str]:
    email = f"fuzz-{uuid.uuid4().hex[:12]}@example.com"
    api = f"{url}/api/v1"
    requests.post(f"{api}/auth/register", json={"email": email, "password": PASSWORD}, timeout=10)
    login = requests.post(
        f"{api}/auth/login", json={"email": email, "password": PASSWORD}, timeout=10
    )
    login.raise_for_status()
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--examples", type=int, default=100, help="per operation and mode")
    args = parser.parse_args(argv)
    url = args.url.rstrip("/")
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    failed = False
    for label, headers in (("anonymous", {}), ("customer", customer_headers(url))):
        figures = fuzz(
            schema,
            headers,
            args.examples,
            call=lambda case, h=headers: case.call(base_url=url, headers=h),
        )
        print(figures.line(f"{url}, {label}"), flush=True)
        for line in figures.server_errors[:20]:
            print("  " + line)
        failed = failed or bool(figures.server_errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

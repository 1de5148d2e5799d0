"""The document is usable by a typed frontend: openapi-typescript generates types from the live
document and a small usage file (clients/typescript/usage.ts) type-checks against them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

CLIENT_DIR = Path(__file__).resolve().parents[2] / "clients" / "typescript"
BIN = CLIENT_DIR / "node_modules" / ".bin"


@pytest.fixture(scope="module")
def node_tools():
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed: the TypeScript client check needs Node.js and npm")
    if not (BIN / "openapi-typescript").exists() or not (BIN / "tsc").exists():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--silent"],
            cwd=CLIENT_DIR,
            check=True,
            timeout=300,
        )
    return BIN


def test_usage_type_checks_against_types_generated_from_the_document(app, node_tools, tmp_path):
    # given the document the app serves now
    (tmp_path / "openapi.json").write_bytes(app.test_client().get("/openapi.json").data)
    shutil.copy(CLIENT_DIR / "usage.ts", tmp_path / "usage.ts")
    # when types are generated from it
    subprocess.run(
        [
            node_tools / "openapi-typescript",
            "openapi.json",
            "--default-non-nullable",
            "false",
            "-o",
            "schema.d.ts",
        ],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=120,
    )
    # then the usage file type-checks against them
    check = subprocess.run(
        [node_tools / "tsc", "--noEmit", "--strict", "--target", "es2020", "usage.ts"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr

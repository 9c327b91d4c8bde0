"""The emulator is self-contained: its schema ships inside it and it needs no pytest."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import tgemulator
from tgemulator.schema import SCHEMA_ENV, default_schema_path, load_schema, packaged_schema_path

PACKAGE_DIR = Path(tgemulator.__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent

# Run in a fresh interpreter: loads the schema with no override, starts a server and asks
# it getMe over HTTP, then reports where everything came from.
PROBE = """
import asyncio, json, sys
import aiohttp
import tgemulator
from tgemulator.schema import default_schema_path

async def main():
    async with tgemulator.run_emulator() as running:
        async with aiohttp.ClientSession() as http:
            async with http.post(running.api_url("getMe")) as response:
                me = await response.json()
    print(json.dumps({
        "package": tgemulator.__file__,
        "schema": str(default_schema_path()),
        "version": tgemulator.load_schema().version,
        "me": me,
        "pytest_loaded": "pytest" in sys.modules,
    }))

asyncio.run(main())
"""


def test_default_schema_lies_inside_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SCHEMA_ENV, raising=False)
    path = default_schema_path().resolve()
    assert path == packaged_schema_path()
    assert path.is_file()
    assert path.is_relative_to(PACKAGE_DIR / "schema")
    assert path.is_relative_to(REPO_ROOT)
    assert load_schema.__wrapped__().version == "Bot API 10.1"


def test_schema_env_overrides_the_packaged_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    raw = json.loads(packaged_schema_path().read_text(encoding="utf-8"))
    raw["version"] = "Bot API 99.9"
    override = tmp_path / "other.json"
    override.write_text(json.dumps(raw), encoding="utf-8")
    monkeypatch.setenv(SCHEMA_ENV, str(override))
    assert default_schema_path() == override
    assert load_schema.__wrapped__().version == "Bot API 99.9"


def test_a_copy_of_the_package_alone_loads_its_schema_and_serves(tmp_path: Path) -> None:
    """Only the package folder is on the path: no repository around it, no shared files."""
    site = tmp_path / "site"
    shutil.copytree(
        PACKAGE_DIR, site / "tgemulator", ignore=shutil.ignore_patterns("tests", "__pycache__")
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in (SCHEMA_ENV, "PYTHONPATH")}
    env["PYTHONPATH"] = str(site)
    # -P: the working folder is not put on sys.path, so nothing of the repository leaks in.
    completed = subprocess.run(
        [sys.executable, "-P", "-c", PROBE],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert Path(report["package"]).is_relative_to(site)
    assert Path(report["schema"]) == site / "tgemulator" / "schema" / "bot-api-10.1.json"
    assert report["version"] == "Bot API 10.1"
    assert report["me"]["ok"] is True
    assert report["me"]["result"]["is_bot"] is True
    assert report["pytest_loaded"] is False

"""The image and the compose file, checked by parsing them (no Docker engine needed; R10).

Docker is not run here; these tests hold what the files promise: a multi-stage
build that ships every package, a non-root user, the version from
``bot/version.py`` in the label, a health check on ``/ready``, and a compose file
with the desk, PostgreSQL and Redis, their health checks and volumes, and every
setting documented in ``.env.example`` and the README.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from bot.settings import Settings
from bot.version import __version__
from plugins.cabinet_webhook import CabinetWebhookSettings

ROOT = Path(__file__).resolve().parent.parent
# The sed expression the Dockerfile and scripts/update.sh read the version with.
VERSION_SED = r's/^__version__ = "\(.*\)"$/\1/p'


def stages() -> list[list[dict[str, Any]]]:
    """The Dockerfile's instructions, one list per stage (comments left out)."""
    parser = DockerfileParser(str(ROOT / "Dockerfile"), build_args={"VERSION": __version__})
    found: list[list[dict[str, Any]]] = []
    for item in parser.structure:
        if item["instruction"] == "FROM":
            found.append([])
        if item["instruction"] != "COMMENT" and found:
            found[-1].append(item)
    return found


def values(stage: list[dict[str, Any]], instruction: str) -> list[str]:
    return [i["value"] for i in stage if i["instruction"] == instruction]


def packages() -> list[str]:
    """The project's top-level packages the installed desk needs (not the emulator)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    names = [pattern.rstrip("*") for pattern in include]
    return [n for n in names if n != "tgemulator" and (ROOT / n / "__init__.py").is_file()]


def test_the_build_is_multi_stage_and_ships_every_package() -> None:
    build, runtime = stages()
    assert values(build, "FROM") == ["python:3.11-slim AS build"]
    assert values(runtime, "FROM")[0].startswith("python:3.11-slim")
    copied = {shlex.split(v)[0] for v in values(build, "COPY")}
    missing = set(packages()) - copied
    assert not missing, f"the image would miss {sorted(missing)}"
    ignored = set((ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    assert not ignored & copied
    # The runtime stage takes the installed environment, not the sources.
    assert values(runtime, "COPY") == ["--from=build /opt/desk /opt/desk"]


def test_the_desk_runs_as_an_unprivileged_user() -> None:
    runtime = stages()[-1]
    users = values(runtime, "USER")
    assert users and users[-1] not in ("root", "0")
    created = " ".join(values(runtime, "RUN"))
    assert "useradd" in created and users[-1] in created.split()


def test_migrations_then_serve_and_a_health_check_on_ready() -> None:
    runtime = stages()[-1]
    assert json.loads(values(runtime, "ENTRYPOINT")[-1]) == ["ctv-desk"]
    assert json.loads(values(runtime, "CMD")[-1]) == ["run"]  # migrates, then serves
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["scripts"]["ctv-desk"] == "bot.cli:main"
    [check] = values(runtime, "HEALTHCHECK")
    assert "/ready" in check and "--start-period" in check
    assert "8080" in values(runtime, "EXPOSE")


def test_the_label_carries_the_version_defined_once() -> None:
    parser = DockerfileParser(str(ROOT / "Dockerfile"), build_args={"VERSION": __version__})
    assert parser.labels["org.opencontainers.image.version"] == __version__
    build = stages()[0]
    guard = next(v for v in values(build, "RUN") if "bot/version.py" in v)
    assert VERSION_SED in guard and "exit 1" in guard
    assert VERSION_SED in (ROOT / "scripts" / "update.sh").read_text(encoding="utf-8")
    # The sed expression, applied as sed would, finds the version in the file as it is.
    pattern = re.compile(r'^__version__ = "(.*)"$')
    lines = (ROOT / "bot" / "version.py").read_text(encoding="utf-8").splitlines()
    assert [m.group(1) for line in lines if (m := pattern.match(line))] == [__version__]
    assert re.fullmatch(r"\d+\.\d+(\.\d+)?", __version__)
    assert f"## {__version__}" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text("utf-8"))
    return loaded


def test_compose_has_the_desk_postgres_and_redis_healthy(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"desk", "postgres", "redis"}
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        assert service.get("restart") == "unless-stopped"
    desk = services["desk"]
    assert desk["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    assert "/ready" in " ".join(desk["healthcheck"]["test"])
    assert desk["environment"]["DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert desk["environment"]["REDIS_URL"].startswith("redis://redis:")
    assert desk["build"]["args"] == {"VERSION": "${CTV_VERSION:-}"}
    # SIGTERM to exit takes up to 10 s; Docker must not kill it sooner.
    assert int(desk["stop_grace_period"].rstrip("s")) > 10


def test_compose_keeps_the_data_in_volumes(compose: dict[str, Any]) -> None:
    services = compose["services"]
    mounts = {name: service.get("volumes", []) for name, service in services.items()}
    assert "pgdata:/var/lib/postgresql/data" in mounts["postgres"]
    assert "redisdata:/data" in mounts["redis"]
    assert set(compose["volumes"]) == {"pgdata", "redisdata"}


def test_every_setting_is_in_env_example_and_the_readme(compose: dict[str, Any]) -> None:
    assert compose["services"]["desk"]["env_file"] == ".env"
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    names = [name.upper() for name in Settings.model_fields]
    names += [name.upper() for name in CabinetWebhookSettings.model_fields]
    assert [n for n in names if not re.search(rf"^#? ?{n}=", example, re.MULTILINE)] == []
    assert [n for n in names if f"`{n}`" not in readme] == []


def test_the_readme_documents_an_update_by_replacing_containers() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "scripts/update.sh" in readme
    assert os.access(ROOT / "scripts" / "update.sh", os.X_OK)

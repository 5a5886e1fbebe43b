"""The compose files: compose.yaml is one service that runs with only DISCORD_TOKEN set (plus the
opt-in ``monitoring`` profile), and compose.replicas.yaml holds the builder and the sharded replicas
on the same volumes."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import BotSettings
from tests.support import REPO

VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<default>[^}]*))?\}")


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((REPO / name).read_text())
    assert isinstance(data, dict)
    return data


def interpolate(value: str, given: dict[str, str]) -> str:
    """Compose's ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?error}`` with only ``given`` set."""

    def one(match: re.Match[str]) -> str:
        name, op, default = match["name"], match["op"], match["default"]
        if given.get(name):
            return given[name]
        if op and op.endswith("?"):
            raise AssertionError(f"{name} is required: {default}")
        return default or ""

    return VARIABLE.sub(one, value)


def default_services(compose: dict[str, Any]) -> dict[str, Any]:
    """What a plain ``docker compose up`` starts: the services in no profile."""
    return {name: s for name, s in compose["services"].items() if not s.get("profiles")}


def image_env() -> dict[str, str]:
    """The Dockerfile's ENV values: what every container starts with."""
    env: dict[str, str] = {}
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    for line in text.splitlines():
        if line.startswith("ENV "):
            env.update(pair.split("=", 1) for pair in shlex.split(line.removeprefix("ENV ")))
    return env


def required_variables(name: str) -> set[str]:
    """Variables the file reads with no default (compose would pass them empty or refuse to start)."""
    text = (REPO / name).read_text()
    return {m["name"] for m in VARIABLE.finditer(text) if not (m["op"] or "").endswith("-")}


def test_compose_yaml_is_one_service_on_two_volumes_with_an_optional_env_file() -> None:
    compose = load("compose.yaml")
    assert list(default_services(compose)) == ["policybot"]
    service = compose["services"]["policybot"]
    assert "command" not in service and "depends_on" not in service  # the image's CMD: policybot run
    assert service["env_file"] == [{"path": ".env", "required": False}]  # works without a .env file
    assert sorted(service["volumes"]) == ["corpus:/app/corpus", "data:/app/data"]
    assert {"data", "corpus"} <= set(compose["volumes"])
    assert "ports" not in service  # metrics stay on the compose network
    assert service["build"]["args"]["TORCH_INDEX_URL"] == "${TORCH_INDEX_URL:-}"  # empty default: as here


def test_compose_yaml_needs_only_discord_token(monkeypatch: pytest.MonkeyPatch) -> None:
    assert required_variables("compose.yaml") == set()  # every other variable has a default
    service = load("compose.yaml")["services"]["policybot"]
    given = {"DISCORD_TOKEN": "the-token"}
    environment = {key: interpolate(str(value), given) for key, value in service["environment"].items()}
    assert set(environment) == {"DISCORD_TOKEN", "POLICYBOT_METRICS_PORT", "POLICYBOT_METRICS_HOST"}
    for key in list(os.environ):
        if key.startswith(("POLICYBOT_", "DISCORD_")):
            monkeypatch.delenv(key)
    for key, value in {**image_env(), **environment}.items():
        monkeypatch.setenv(key, value)
    settings = BotSettings(_env_file=None)  # type: ignore[call-arg]
    assert settings.token() == "the-token"
    assert settings.role == "auto" and not settings.use_sharding  # leads, ingests and serves: one process
    assert settings.data_dir == Path("/app/data") and settings.corpus_dir == Path("/app/corpus")
    monkeypatch.setenv("DISCORD_TOKEN", interpolate(str(service["environment"]["DISCORD_TOKEN"]), {}))
    assert BotSettings(_env_file=None).token() is None  # type: ignore[call-arg]  # unset: blank, so `run` explains


def test_compose_replicas_yaml_has_the_builder_and_one_replica_per_shard() -> None:
    compose = load("compose.replicas.yaml")
    services = compose["services"]
    assert services["builder"]["command"] == ["policybot", "builder"]
    replicas = [s for name, s in services.items() if name.startswith("replica-")]
    counts = {int(r["environment"]["POLICYBOT_SHARD_COUNT"]) for r in replicas}
    assert counts == {len(replicas)} and len(replicas) == 2
    assert sorted(int(r["environment"]["POLICYBOT_SHARD_IDS"]) for r in replicas) == list(range(len(replicas)))
    assert [r["environment"]["POLICYBOT_SYNC_COMMANDS"] for r in replicas].count("true") == 1
    assert all(r["depends_on"]["builder"]["condition"] == "service_healthy" for r in replicas)
    assert all(sorted(s["volumes"]) == ["corpus:/app/corpus", "data:/app/data"] for s in services.values())
    default = load("compose.yaml")
    used = {v.split(":", 1)[0] for s in default_services(default).values() for v in s["volumes"]}
    assert set(compose["volumes"]) == used  # the same data, either way


def test_the_monitoring_profile_adds_prometheus_and_grafana_on_loopback() -> None:
    services = load("compose.yaml")["services"]
    profiled = {name: s for name, s in services.items() if s.get("profiles")}
    assert set(profiled) == {"prometheus", "grafana"}
    assert all(s["profiles"] == ["monitoring"] for s in profiled.values())
    assert all(port.startswith("127.0.0.1:") for s in profiled.values() for port in s["ports"])
    mounts = [v.split(":")[0] for s in profiled.values() for v in s["volumes"] if v.startswith("./")]
    assert mounts and all((REPO / m).exists() for m in mounts)  # every provisioned file is in the repository


def test_compose_postgres_yaml_runs_a_builder_and_two_bots_sharing_only_the_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compose = load("compose.postgres.yaml")
    services = compose["services"]
    assert set(services) == {"postgres", "builder", "bot-0", "bot-1"}
    assert services["builder"]["command"] == ["policybot", "builder"]
    policybot = {name: s for name, s in services.items() if name != "postgres"}
    mounts = [v.split(":", 1)[0] for s in policybot.values() for v in s["volumes"]]
    assert len(mounts) == len(set(mounts)) == 3  # one cache each, none shared: no shared volume
    assert all(s["depends_on"]["postgres"]["condition"] == "service_healthy" for s in policybot.values())
    assert "healthcheck" in services["postgres"] and "ports" not in services["postgres"]
    assert required_variables("compose.postgres.yaml") == {"POSTGRES_PASSWORD"}
    given = {"DISCORD_TOKEN": "the-token", "POSTGRES_PASSWORD": "pw"}
    bots = [s for name, s in policybot.items() if name.startswith("bot-")]
    assert sorted(int(b["environment"]["POLICYBOT_SHARD_IDS"]) for b in bots) == [0, 1]
    for key in list(os.environ):
        if key.startswith(("POLICYBOT_", "DISCORD_")):
            monkeypatch.delenv(key)
    for service in policybot.values():
        environment = {key: interpolate(str(value), given) for key, value in service["environment"].items()}
        for key, value in {**image_env(), **environment}.items():
            monkeypatch.setenv(key, value)
        settings = BotSettings(_env_file=None)  # type: ignore[call-arg]
        assert settings.database_url is not None
        assert settings.database_url.get_secret_value() == "postgresql://policybot:pw@postgres:5432/policybot"

"""deploy/docker-compose.yml is valid Compose and speaks the code's settings names."""

from __future__ import annotations

import json
import re
from importlib.util import find_spec
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator

from leadscore.settings import Settings

COMPOSE = Path(__file__).resolve().parents[3] / "deploy" / "docker-compose.yml"


def compose_spec() -> dict[str, object]:
    """The Compose specification's JSON Schema, as vendored by check-jsonschema (offline)."""
    # Located without importing check_jsonschema (its CLI wants a newer click than faust's).
    package = find_spec("check_jsonschema")
    assert package is not None and package.submodule_search_locations
    root = Path(next(iter(package.submodule_search_locations)))
    spec = root / "builtin_schemas" / "vendor" / "compose-spec.json"
    return json.loads(spec.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_compose_file_matches_the_compose_specification() -> None:
    validator = Draft202012Validator(compose_spec())
    errors = [
        f"{'/'.join(map(str, e.path))}: {e.message}"
        for e in validator.iter_errors(yaml.safe_load(COMPOSE.read_text()))
    ]
    assert errors == []


def test_the_check_catches_a_broken_file() -> None:
    broken = yaml.safe_load(COMPOSE.read_text())
    broken["services"]["worker"]["restart_policy"] = "always"
    assert list(Draft202012Validator(compose_spec()).iter_errors(broken))


def test_compose_uses_only_settings_the_code_reads() -> None:
    names = set(re.findall(r"\bLEADSCORE_[A-Z_]+\b", COMPOSE.read_text()))
    known = {"LEADSCORE_" + field.upper() for field in Settings.model_fields}
    assert names, "compose sets no LEADSCORE_ variables"
    assert names <= known, f"unknown settings in compose: {sorted(names - known)}"


def test_each_stage_is_a_service_running_its_cli_command() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    for stage in ("collector", "worker", "sink"):
        assert services[stage]["command"] == [stage]
    assert {"kafka", "clickhouse"} <= set(services)

"""The compose stack runs production settings: it never seeds a demo unless asked (`--profile demo`), never
ships a known password (every secret must come from infra/.env), and has a worker for every task queue."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings

COMPOSE = Path(settings.BASE_DIR) / "infra" / "compose.yaml"
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY")
SUBSTITUTION = re.compile(r"\$\{([A-Z0-9_]+)(:?[-?])?([^}]*)\}")


def _compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text()))


def test_no_secret_has_a_default_value() -> None:
    found = SUBSTITUTION.findall(COMPOSE.read_text())

    defaults = {(name, value) for name, op, value in found if SECRET_NAME.search(name) and op == ":-" and value}
    required = {name for name, op, _ in found if op == ":?"}

    assert defaults == set(), f"known secrets in compose.yaml: {defaults}"
    assert {"SECRET_KEY", "POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD"} <= required


def test_the_demo_is_seeded_only_under_the_demo_profile() -> None:
    services = _compose()["services"]

    seeding = {name for name, svc in services.items() if "seed_demo" in str(svc.get("command", ""))}

    assert seeding == {"seed-demo"}
    assert services["seed-demo"]["profiles"] == ["demo"]
    for name, svc in services.items():
        if name != "seed-demo":
            assert "demo" not in svc.get("profiles", []), name
            assert "createsuperuser" not in str(svc.get("command", "")), name


def test_every_atrium_service_runs_production_settings() -> None:
    env = _compose()["x-atrium-env"]

    assert env["DJANGO_SETTINGS_MODULE"] == "config.settings.production"


def test_every_queue_tasks_are_routed_to_has_a_worker() -> None:
    """A task routed to a queue no worker consumes never runs: the webhooks queue has its worker in the stack."""
    consumed: set[str] = set()
    for svc in _compose()["services"].values():
        command = [str(part) for part in svc.get("command") or []]
        if command[:4] != ["celery", "-A", "config", "worker"]:
            continue
        queues = command[command.index("-Q") + 1] if "-Q" in command else "celery"  # Celery's default queue
        consumed |= set(queues.split(","))
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert "webhooks" in routed
    assert routed | {"celery"} <= consumed

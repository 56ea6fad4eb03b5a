"""The API as a customer meets it: the owner makes a key on their profile page (the secret shown once), opens the
docs page (served from this host, the bearer scheme offered), and scripts the workspace with the key over HTTP —
creating a project and a task, moving the task — then revokes the key, which stops working at once."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from tests.e2e.conftest import LiveSite, shoot
from tests.e2e.test_projects_journey import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

HOST = "e2e-co.localhost"


def call(live_site: LiveSite, method: str, path: str, key: str, **kwargs: Any) -> requests.Response:
    """As curl would: to 127.0.0.1 with the workspace's Host header."""
    headers = {"Host": f"{HOST}:{live_site.port}", "Authorization": f"Bearer {key}"}
    session = requests.Session()
    session.trust_env = False
    return session.request(method, f"http://127.0.0.1:{live_site.port}{path}", headers=headers, timeout=10, **kwargs)


def test_a_customer_makes_a_key_reads_the_docs_and_scripts_the_workspace(page: Any, live_site: LiveSite) -> None:
    name = f"Deploy bot {uuid.uuid4().hex[:6]}"
    sign_in(page, live_site, "owner@e2e.test", "e2e-owner-password")
    page.goto(live_site.url(HOST, "/settings/profile/#api-keys"))
    page.get_by_label("Key name").fill(name)
    page.get_by_text("Read and write").click()
    page.get_by_role("button", name="Create API key").click()
    secret = page.locator("#new-api-key-secret").input_value()
    assert secret.startswith("atr_")
    page.locator("#api-keys").scroll_into_view_if_needed()
    shoot(page, "api-key-created")

    page.goto(live_site.url(HOST, "/api/docs/"))
    page.wait_for_selector("text=Atrium API")
    page.wait_for_selector("button.authorize")
    shoot(page, "api-docs")

    me = call(live_site, "GET", "/api/v1/me/", secret)
    assert me.status_code == 200, me.text
    assert me.json()["auth"]["scope"] == "write"
    assert int(me.headers["RateLimit-Remaining"]) >= 0
    project = call(live_site, "POST", "/api/v1/projects/", secret, json={"name": f"Scripted {name}"})
    assert project.status_code == 201, project.text
    pid = project.json()["id"]
    task = call(live_site, "POST", f"/api/v1/projects/{pid}/tasks/", secret, json={"title": "Ship it"})
    assert task.status_code == 201, task.text
    moved = call(
        live_site, "POST", f"/api/v1/projects/{pid}/tasks/{task.json()['id']}/move/", secret,
        json={"status": "done", "position": 0},
    )  # fmt: skip
    assert moved.json()["status"] == "done"

    page.goto(live_site.url(HOST, f"/projects/{pid}/"))
    assert page.locator('[data-status="done"] .task-card__title').first.inner_text().strip() == "Ship it"

    page.goto(live_site.url(HOST, "/settings/profile/#api-keys"))
    page.get_by_role("link", name=f"Revoke {name}").click()
    page.get_by_label("Type the key's name to confirm").fill(name)
    page.get_by_role("button", name=f"Revoke “{name}”").click()
    page.wait_for_url(live_site.url(HOST, "/settings/profile/#api-keys"))
    refused = call(live_site, "GET", "/api/v1/me/", secret)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "authentication_failed"

"""The load benchmark's people (`make bench-load` runs this with locust, headless; see bench/load.py).

Each simulated person belongs to one of the seeded workspaces, signs in on its host with the login form, then mixes
page views, project/task/comment writes through the pages, API reads and writes with the workspace's key, uploads of
a small image (the thumbnail is made by the Celery worker) and the occasional fresh sign-in. Every response is
checked: its `X-Atrium-Schema` (set by bench/middleware.py) must name the schema of the host asked, and no page may
name another seeded workspace. Every write carries a unique marker (`load-<hex>`); those the server acknowledged
(a redirect or 201) are recorded with the schema they belong to, so bench/load.py can look for each one in that
schema's rows afterwards.

Reads its world from LOAD_WORLD (JSON written by bench/load.py), writes what it saw to LOAD_RESULTS, and stops the run
after LOAD_MAX_REQUESTS requests (or at --run-time, whichever comes first).
"""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import secrets
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import gevent
from locust import HttpUser, between, events, task
from locust.env import Environment

WORLD: dict[str, Any] = json.loads(Path(os.environ["LOAD_WORLD"]).read_text()) if os.environ.get("LOAD_WORLD") else {}
RESULTS_PATH = os.environ.get("LOAD_RESULTS", "")
MAX_REQUESTS = int(os.environ.get("LOAD_MAX_REQUESTS", "20000"))
WORKSPACE_NAME = re.compile(rb"Load Workspace (\d{2})")

_next_person = itertools.count()
acknowledged: list[dict[str, str]] = []  # {"schema", "kind", "marker"}
cross_tenant: list[str] = []
no_answer: list[str] = []
statuses: Counter[int] = Counter()
requests_seen = 0


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (96, 64), (40, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


PNG = _png() if WORLD else b""


def marker() -> str:
    return f"load-{uuid.uuid4().hex[:16]}"


_environment: list[Environment] = []


@events.init.add_listener
def _remember(environment: Environment, **kwargs: Any) -> None:
    _environment.append(environment)


@events.request.add_listener
def _count(response: Any = None, exception: Any = None, **kwargs: Any) -> None:
    global requests_seen
    if isinstance(exception, gevent.GreenletExit):
        return  # a request cut short by the end of the run (past --stop-timeout): no answer to judge
    requests_seen += 1
    status = getattr(response, "status_code", 0) or 0
    statuses[status] += 1
    if status == 0:
        no_answer.append(f"{kwargs.get('name')}: {exception!r}"[:300])
    if requests_seen == MAX_REQUESTS and _environment and _environment[0].runner is not None:
        gevent.spawn(_environment[0].runner.quit)  # the request cap: stop every person, then write the results


@events.quitting.add_listener
def _write_results(environment: Environment, **kwargs: Any) -> None:
    if not RESULTS_PATH:
        return
    total = environment.stats.total
    with open(RESULTS_PATH, "w") as out:
        json.dump(
            {
                "requests": total.num_requests,
                "failures": total.num_failures,
                "rps": total.total_rps,
                "p50_ms": total.get_response_time_percentile(0.5),
                "p95_ms": total.get_response_time_percentile(0.95),
                "statuses": {str(k): v for k, v in statuses.items()},
                "cross_tenant": cross_tenant,
                "no_answer": no_answer,
                "acknowledged": acknowledged,
                "by_name": {
                    name: {"requests": s.num_requests, "p95_ms": s.get_response_time_percentile(0.95)}
                    for (name, _method), s in environment.stats.entries.items()
                },
            },
            out,
        )


class Person(HttpUser):
    wait_time = between(0.1, 0.8)

    def on_start(self) -> None:
        n = next(_next_person)
        workspaces = WORLD["workspaces"]
        self.workspace = workspaces[n % len(workspaces)]
        self.schema: str = self.workspace["schema"]
        self.number: str = self.workspace["number"]
        self.email: str = self.workspace["members"][(n // len(workspaces)) % len(self.workspace["members"])]
        self.projects: list[int] = list(self.workspace["projects"])
        self.task_ids: list[tuple[int, int]] = [(int(p), int(t)) for p, t in self.workspace["tasks"]]
        self.client.headers["Host"] = self.workspace["host"]
        self.sign_in()

    # --- what every response is checked for ---------------------------------------------------------------------

    def request(
        self, method: str, path: str, name: str, *, ok: tuple[int, ...], goes_to: str = "", **kwargs: Any
    ) -> Any:
        """One request, checked; `goes_to`: a redirect must lead there (a regular expression), or it is no success
        (a write answered by a redirect to the sign-in page was not acknowledged)."""
        kwargs.setdefault("allow_redirects", False)
        with self.client.request(method, path, name=name, catch_response=True, **kwargs) as response:
            served = response.headers.get("X-Atrium-Schema")
            if not response.status_code:
                pass  # no answer at all (counted apart): nothing says which schema would have served it
            elif served != self.schema:
                cross_tenant.append(f"{name}: asked {self.workspace['host']} ({self.schema}), served by {served!r}")
                response.failure(f"served by schema {served!r}")
            elif "html" in response.headers.get("Content-Type", ""):
                others = {m for m in WORKSPACE_NAME.findall(response.content) if m.decode() != self.number}
                if others:
                    cross_tenant.append(f"{name}: a page of {self.number} names workspace(s) {sorted(others)}")
                    response.failure("another workspace on the page")
            response.acknowledged = False
            if response.status_code not in ok:
                response.failure(f"status {response.status_code}")
            elif goes_to and not re.match(goes_to, response.headers.get("Location", "")):
                response.failure(f"redirected to {response.headers.get('Location')!r}")
            else:
                response.acknowledged = served == self.schema
            return response

    def csrf(self) -> dict[str, str]:
        return {"X-CSRFToken": self.client.cookies.get("csrftoken") or ""}

    def acknowledge(self, kind: str, value: str) -> None:
        acknowledged.append({"schema": self.schema, "kind": kind, "marker": value})

    # --- sign-in ---------------------------------------------------------------------------------------------------

    def sign_in(self) -> None:
        self.client.cookies.clear()
        self.request("GET", "/login/", "sign-in page", ok=(200,))
        self.request(
            "POST",
            "/login/",
            "sign in",
            ok=(302,),
            goes_to=r"/(\?|$)",
            data={"login": self.email, "password": WORLD["password"]},
            headers=self.csrf(),
        )

    @task(1)
    def sign_in_again(self) -> None:
        self.sign_in()

    # --- pages -----------------------------------------------------------------------------------------------------

    @task(6)
    def page_views(self) -> None:
        self.request("GET", "/", "home", ok=(200,))
        self.request("GET", "/projects/", "projects", ok=(200,))
        self.request("GET", f"/projects/{secrets.choice(self.projects)}/", "board", ok=(200,))

    @task(2)
    def task_page(self) -> None:
        project, task_id = secrets.choice(self.task_ids)
        self.request("GET", f"/projects/{project}/tasks/{task_id}/", "task page", ok=(200,))

    @task(1)
    def project_write(self) -> None:
        name = marker()
        response = self.request(
            "POST",
            "/projects/new/",
            "project create",
            ok=(302,),
            goes_to=r"/projects/\d+/$",
            data={"name": name, "description": "Made under load.", "visibility": "workspace"},
            headers=self.csrf(),
        )
        if response.acknowledged:
            self.acknowledge("project", name)
            found = re.search(r"/projects/(\d+)/", response.headers.get("Location", ""))
            if found:
                self.projects.append(int(found.group(1)))

    @task(3)
    def task_write(self) -> None:
        title = marker()
        project = secrets.choice(self.projects)
        response = self.request(
            "POST",
            f"/projects/{project}/tasks/new/",
            "task create (page)",
            ok=(302,),
            goes_to=rf"/projects/{project}/$",
            data={"title": title, "status": "todo"},
            headers=self.csrf(),
        )
        if response.acknowledged:
            self.acknowledge("task", title)

    @task(3)
    def comment_write(self) -> None:
        body = marker()
        project, task_id = secrets.choice(self.task_ids)
        response = self.request(
            "POST",
            f"/projects/{project}/tasks/{task_id}/comments/",
            "comment",
            ok=(302,),
            goes_to=rf"/projects/{project}/tasks/{task_id}/#comment-\d+$",
            data={"body": body},
            headers=self.csrf(),
        )
        if response.acknowledged:
            self.acknowledge("comment", body)

    @task(1)
    def upload(self) -> None:
        name = f"{marker()}.png"
        project = secrets.choice(self.projects)
        response = self.request(
            "POST",
            f"/projects/{project}/documents/upload/",
            "upload",
            ok=(302,),
            goes_to=rf"/projects/{project}/documents/",
            files={"file": (name, PNG, "image/png")},
            headers=self.csrf(),
        )
        if response.acknowledged:
            self.acknowledge("document", name)

    # --- the API, with the workspace's key -----------------------------------------------------------------------

    def api_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.workspace['api_key']}"}

    @task(4)
    def api_reads(self) -> None:
        self.request("GET", "/api/v1/projects/", "api projects", ok=(200,), headers=self.api_headers())
        project = secrets.choice(self.projects)
        self.request(
            "GET", f"/api/v1/projects/{project}/tasks/?page_size=20", "api tasks", ok=(200,), headers=self.api_headers()
        )

    @task(3)
    def api_write(self) -> None:
        title = marker()
        project = secrets.choice(self.projects)
        response = self.request(
            "POST",
            f"/api/v1/projects/{project}/tasks/",
            "api task create",
            ok=(201,),
            json={"title": title},
            headers=self.api_headers(),
        )
        if response.acknowledged:
            self.acknowledge("task", title)
            self.task_ids.append((project, int(response.json()["id"])))

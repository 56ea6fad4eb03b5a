"""Schemathesis against the live schema: a real server (`manage.py runserver` on the test database) serves two
workspaces that hold objects with the same ids; the schema is read from workspace A's /api/schema/, and every
operation is called with generated data (bounded: a fixed number of examples per operation, derandomized so a run
is repeatable) and an A key that may read and write. No response may be a server error, be anything but JSON (or an
empty 204), or contain anything of workspace B (a marker string is in every B object's text)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import pytest
import schemathesis
from django.conf import settings
from django.db import connection
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from billing.models import BillingAccount
from shared_apps.accounts.models import Membership, Role, User
from shared_apps.accounts.services import api_key_create
from shared_apps.workspaces.services import workspace_delete
from tenant_apps.projects.models import Comment, Document, Project, Task
from tenants.models import Tenant
from tests.conftest import _make_tenant
from tests.factories import UserFactory
from tests.helpers import committed_sql, in_own_connection, subprocess_env

# The server works on the test database, which pytest-django creates for the tests that declare they use it.
pytestmark = pytest.mark.django_db

MARKER = "WORKSPACE-B-MARKER-91c4"
MAX_EXAMPLES = 8


@dataclass
class LiveApi:
    base_url: str
    host_a: str
    key_a: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _seed(slug: str, label: str, owner_email: str, members: list[str]) -> tuple[Tenant, User]:
    """A workspace with an owner, members, and the same projects, tasks and comments as its twin (explicit ids)."""

    tenant = _make_tenant(slug, f"{label} Inc")
    owner = UserFactory.create(email=owner_email, name=f"{label} Owner")
    Membership.objects.create(user=owner, tenant=tenant, role=Role.OWNER)
    for email in members:
        Membership.objects.create(user=UserFactory.create(email=email, name=f"{label} Member"), tenant=tenant)
    with tenant_context(tenant):
        for i in range(1, 4):
            project = Project.objects.create(
                pk=i, name=f"{label} project {i}", description=f"{label} text", created_by=owner
            )
            for j in range(1, 4):
                task = Task.objects.create(
                    pk=i * 10 + j, project=project, title=f"{label} task {j}", description=label, position=j
                )
                Comment.objects.create(pk=i * 100 + j, task=task, author=owner, body=f"{label} comment")
            # documents' rows (their bytes are not needed: a download signs a URL without reading them)
            Document.objects.create(
                pk=i,
                project=project,
                task=task,
                storage_prefix=tenant.schema_name,
                key=f"{tenant.schema_name}/files/{i:032x}.pdf",
                name=f"{label} file {i}.pdf",
                file_type="pdf",
                content_type="application/pdf",
                size=1000,
                uploaded_by=owner,
            )
        for model in (Project, Task, Comment, Document):
            table = model._meta.db_table
            committed = f"SELECT setval(pg_get_serial_sequence('\"{tenant.schema_name}\".{table}', 'id'), 1000)"

            with connection.cursor() as cursor:
                cursor.execute(committed)
    return tenant, owner


@pytest.fixture(scope="module")
def live_api(
    _session_tenants: Any, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveApi]:
    run = uuid.uuid4().hex[:6]
    slugs = {"a": f"st-a-{run}", "b": f"st-b-{run}"}
    emails = [f"owner-a-{run}@st.test", f"owner-b-{run}@st.test", f"member-a-{run}@st.test", f"member-b-{run}@st.test"]

    def setup() -> tuple[str, list[int]]:
        a, owner_a = _seed(slugs["a"], "Alpha", emails[0], [emails[2]])
        b, _owner_b = _seed(slugs["b"], MARKER, emails[1], [emails[3]])
        # Business plan: schemathesis's requests stay under the per-key rate (429s are allowed, but tell less).
        BillingAccount.objects.create(tenant=a, plan="business", status="active")
        secret = api_key_create(tenant=a, name="schemathesis", scope="write", acting_user=owner_a)[1]
        return secret, [a.pk, b.pk]

    with django_db_blocker.unblock():
        made = in_own_connection(setup)
    assert made, "seeding the two workspaces failed"
    secret, tenant_ids = made
    port = _free_port()
    # The server's log goes to a file: a pipe nobody reads fills up after a few hundred refusals and stalls it.
    log = (tmp_path_factory.mktemp("schemathesis") / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        env=subprocess_env(),
        cwd=settings.BASE_DIR,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 120  # a server starting on a busy two-core machine
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        server.kill()
        pytest.fail("runserver did not start; see " + log.name)
    try:
        yield LiveApi(base_url=f"http://127.0.0.1:{port}", host_a=f"{slugs['a']}.{settings.BASE_DOMAIN}", key_a=secret)
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()

        def teardown() -> None:

            for pk in tenant_ids:
                workspace_delete(tenant=Tenant.objects.get(pk=pk), acting_user=None)

        with django_db_blocker.unblock():
            in_own_connection(teardown)
        committed_sql("DELETE FROM account_emailaddress WHERE email = ANY(%s)", [emails])
        committed_sql("DELETE FROM accounts_user WHERE email = ANY(%s)", [emails])


def no_workspace_b_in_the_answer(ctx: Any, response: Any, case: Any) -> bool | None:
    body = response.content or b""
    assert MARKER.encode() not in body, f"workspace B's data in A's answer: {body[:300]!r}"
    return None


def json_or_nothing(ctx: Any, response: Any, case: Any) -> bool | None:
    if response.status_code == 204:
        assert not response.content
        return None
    content_type = response.headers.get("content-type") or response.headers.get("Content-Type") or [""]
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    assert content_type.startswith("application/json"), f"{response.status_code} answered as {content_type!r}"
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    no_workspace_b_in_the_answer,
    json_or_nothing,
]


def test_the_api_against_its_live_schema(live_api: LiveApi) -> None:
    """Each operation of the live schema, with valid and with invalid data (MAX_EXAMPLES each, derandomized)."""
    schema = schemathesis.openapi.from_url(
        f"{live_api.base_url}/api/schema/",
        headers={"Host": live_api.host_a, "Accept": "application/vnd.oai.openapi+json"},
    )
    headers = {"Host": live_api.host_a, "Authorization": f"Bearer {live_api.key_a}"}
    failures: list[str] = []
    calls = {"count": 0}
    operations = [cast(Any, result).ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25, [op.label for op in operations]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @hypothesis_settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.explicit, Phase.generate],
            )
            def run(case: Any) -> None:
                calls["count"] += 1
                case.call_and_validate(base_url=live_api.base_url, headers=headers, checks=CHECKS)

            try:
                run()
            except Exception as exc:  # noqa: BLE001 (collected, reported together below)
                failures.append(f"{operation.label} [{mode.value}]: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
    assert calls["count"] >= len(operations) * 2

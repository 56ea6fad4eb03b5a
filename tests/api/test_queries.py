"""What an API request costs does not grow with the data: every list and detail endpoint issues the same queries at
1 row as at hundreds (the rows come in one query, with everything each row shows), and the fixed part is small: the
key's one lookup, the rate limit (one upsert on the database cache, none with Redis), the page. (Wrong-key counters
are read only for keys that are wrong.)"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test.utils import CaptureQueriesContext

from shared_apps.accounts.models import Invitation, User
from tenant_apps.projects.models import Comment, Document, Project, Task, TaskStatus
from tenants.db import connection
from tenants.models import Tenant
from tests.api.conftest import key_for, with_key
from tests.conftest import HostClient
from tests.factories.people import add_members
from tests.factories.projects import grant
from tests.projects.conftest import Site


def queries_for(client: HostClient, path: str) -> list[str]:
    client.get(path)  # warm: the route, the plan, the key's last use
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, (path, response.content[:300])
    return [q["sql"] for q in queries.captured_queries]


def grow(tenant: Tenant, site: Site, people: dict[str, User]) -> None:
    members = [m.user for m in add_members(tenant, 60, prefix="apigrown")]
    Project.objects.bulk_create(Project(name=f"Grown {i:03d}") for i in range(120))
    tasks = Task.objects.bulk_create(
        Task(
            project=site.project,
            title=f"Grown {i}",
            status=list(TaskStatus)[i % 3],
            position=i + 1,
            assignee=members[i % 60],
        )
        for i in range(150)
    )
    Comment.objects.bulk_create(Comment(task=t, author=members[0], body="grown") for t in tasks)
    Comment.objects.bulk_create(Comment(task=site.task, author=m, body="grown") for m in members)
    Invitation.objects.bulk_create(
        Invitation(tenant=tenant, email=f"grown{i}@example.com", token_hash=f"{i:064d}", invited_by=people["owner"],
                   expires_at="2100-01-01T00:00:00Z")
        for i in range(60)
    )  # fmt: skip
    Document.objects.bulk_create(
        Document(
            project=site.project,
            task=tasks[i] if i % 2 else None,
            storage_prefix=tenant.schema_name,
            key=f"{tenant.schema_name}/files/{i:032x}.pdf",
            name=f"grown {i}.pdf",
            file_type="pdf",
            content_type="application/pdf",
            size=1000 + i,
            uploaded_by=members[i % 60],
        )
        for i in range(80)
    )
    for i, member in enumerate(members[:30]):  # shared with half of the new members, at every level
        grant(member, site.project, ("view", "change", "manage")[i % 3])


PATHS = [
    "/api/v1/me/",
    "/api/v1/projects/",
    "/api/v1/projects/?show=all&search=o&ordering=-updated_at",
    "/api/v1/projects/{p}/",
    "/api/v1/projects/{p}/tasks/",
    "/api/v1/projects/{p}/tasks/?status=todo&ordering=due_date",
    "/api/v1/projects/{p}/tasks/{t}/",
    "/api/v1/projects/{p}/tasks/{t}/comments/",
    "/api/v1/projects/{p}/sharing/",
    "/api/v1/projects/{p}/documents/",
    "/api/v1/members/",
    "/api/v1/members/?role=member&search=e",
    "/api/v1/invitations/",
    "/api/v1/labels/",
]


@pytest.mark.parametrize("who", ["manager", "viewer", "owner"])
def test_every_endpoint_costs_the_same_queries_at_1_row_and_at_hundreds(
    who: str, tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site
) -> None:
    client = with_key(tenant, key_for(tenant, people[who]))
    paths = [p.format(p=private_site.project.pk, t=private_site.task.pk) for p in PATHS]
    if who != "owner":
        paths = [p for p in paths if "invitations" not in p]
    if who == "viewer":
        paths = [p for p in paths if "sharing" not in p]
    small = {path: queries_for(client, path) for path in paths}
    with in_tenant(tenant):
        grow(tenant, private_site, people)
    large = {path: queries_for(client, path) for path in paths}
    for path in paths:
        assert len(large[path]) == len(small[path]), (path, len(small[path]), len(large[path]), large[path])


def test_a_page_of_50_tasks_is_a_handful_of_queries(
    tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site
) -> None:
    with in_tenant(tenant):
        grow(tenant, private_site, people)
    client = with_key(tenant, key_for(tenant, people["manager"]))
    # (the database cache's counter runs in a transaction of its own: a savepoint inside the test's transaction)
    sql = [q for q in queries_for(client, f"/api/v1/projects/{private_site.project.pk}/tasks/") if "SAVEPOINT" not in q]
    # on the database cache: SET LOCAL synchronous_commit TO OFF, then one INSERT … ON CONFLICT … RETURNING
    rate_limit = 0 if settings.REDIS_URL else 2
    # the key, the rate limit, the project with the caller's grants, the page of tasks, their labels
    assert len(sql) == 4 + rate_limit, "\n".join(q[:150] for q in sql)
    response = client.get(f"/api/v1/projects/{private_site.project.pk}/tasks/")
    assert len(response.json()["results"]) == 50
    assert response.json()["next"]

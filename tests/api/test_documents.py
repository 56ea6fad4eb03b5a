"""Documents through the API, on both storage backends: the presigned flow (start → POST to storage → confirm) with
the pages' checks and accounting, downloads as a redirect to a short signed URL after the project's permission
check, deletes per permission, isolation between workspaces that share ids, and list queries flat in size."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
import urllib3
from django.test.utils import CaptureQueriesContext

from shared_apps.accounts.models import ApiKey, ApiKeyScope, Role, User
from shared_apps.storage.models import StorageReservation
from tenant_apps.audit.models import AuditEntry
from tenant_apps.projects.models import Document, DocumentStatus, Project
from tenants.db import connection
from tenants.models import Tenant
from tests.api.conftest import error_of, key_for, with_key
from tests.conftest import HostClient
from tests.factories import MembershipFactory, ProjectFactory
from tests.projects.conftest import Site
from tests.storage_fixtures import moto_of, pdf, png, send_signed, stored_keys

pytestmark = pytest.mark.usefixtures("backend")


def documents(project: Project | int) -> str:
    pk = project if isinstance(project, int) else project.pk
    return f"/api/v1/projects/{pk}/documents/"


def upload(client: HostClient, project: Project, name: str, data: bytes, **extra: Any) -> Any:
    started = client.post(
        documents(project), {"name": name, "size": len(data), **extra}, content_type="application/json"
    )
    assert started.status_code == 201, started.content
    body = started.json()
    assert send_signed(client, body["upload"], name, data) in (200, 201, 204)
    return client.post(urlsplit(body["confirm"]).path)


def test_a_script_uploads_through_the_signed_form_then_downloads_by_redirect(
    backend: str,
    request: pytest.FixtureRequest,
    tenant: Tenant,
    in_tenant: Any,
    people: dict[str, User],
    private_site: Site,
) -> None:
    api = with_key(tenant, key_for(tenant, people["editor"]))
    data = pdf()

    started = api.post(
        documents(private_site.project),
        {"name": "Quarterly plan.pdf", "size": len(data), "task": private_site.task.pk},
        content_type="application/json",
    )

    assert started.status_code == 201, started.content
    body = started.json()
    assert body["document"]["status"] == "pending"
    assert body["upload"]["method"] == "POST"
    assert body["upload"]["max_bytes"] == len(data)
    assert body["confirm"].endswith(
        f"/api/v1/projects/{private_site.project.pk}/documents/{body['document']['id']}/confirm/"
    )
    # pending: nobody sees it yet, and its bytes are reserved
    assert api.get(documents(private_site.project)).json()["results"] == []
    with in_tenant(tenant):
        assert StorageReservation.objects.filter(prefix=tenant.schema_name).count() == 1

    assert send_signed(api, body["upload"], "Quarterly plan.pdf", data) in (200, 201, 204)
    confirmed = api.post(urlsplit(body["confirm"]).path)

    assert confirmed.status_code == 200, confirmed.content
    document = confirmed.json()
    assert (document["name"], document["file_type"], document["size"]) == ("Quarterly plan.pdf", "pdf", len(data))
    assert (document["status"], document["task"]) == ("ready", private_site.task.pk)
    listed = api.get(f"{documents(private_site.project)}?task={private_site.task.pk}").json()["results"]
    assert [d["id"] for d in listed] == [document["id"]]
    with in_tenant(tenant):
        row = Document.objects.get(pk=document["id"])
        entry = AuditEntry.objects.get(action="document.uploaded", target_id=str(row.pk))
    assert stored_keys(moto_of(request, backend)) == [row.key]
    assert entry.metadata["api_key"]["prefix"] == ApiKey.objects.get(user=people["editor"]).prefix

    # a viewer downloads: a redirect to a URL signed for a minute, never the bytes through the API
    viewer = with_key(tenant, key_for(tenant, people["viewer"], scope=ApiKeyScope.READ))
    response = viewer.get(f"{documents(private_site.project)}{row.pk}/download/")
    assert response.status_code == 302
    assert response["Cache-Control"] == "no-store"
    location = response["Location"]
    assert response.json() == {"url": location}
    assert row.key in location.replace("%2F", "/")
    assert "inline" in location
    assert (
        "attachment" in viewer.get(f"{documents(private_site.project)}{row.pk}/download/?attachment=true")["Location"]
    )
    if backend == "s3":
        assert "X-Amz-Expires=60" in location
        assert urllib3.request("GET", location, timeout=10).data == data
    else:
        served: Any = viewer.get(urlsplit(location).path + "?" + urlsplit(location).query)
        assert b"".join(served.streaming_content) == data


def test_uploads_meet_the_pages_checks_and_refusals_keep_nothing(
    backend: str,
    request: pytest.FixtureRequest,
    tenant: Tenant,
    in_tenant: Any,
    people: dict[str, User],
    private_site: Site,
    settings: Any,
) -> None:
    api = with_key(tenant, key_for(tenant, people["editor"]))
    url = documents(private_site.project)

    for body, field_or_code in (
        ({"name": "tool.exe", "size": 100}, "upload_refused"),
        ({"name": "big.pdf", "size": settings.STORAGE_UPLOAD_MAX_BYTES + 1}, "upload_refused"),
        ({"name": "empty.pdf", "size": 0}, "upload_refused"),
        ({"name": "a\x00.pdf", "size": 10}, "invalid"),
        ({"name": "x.pdf", "size": -1}, "invalid"),
        ({"name": "x.pdf", "size": 10**30}, "invalid"),
        ({"name": "x.pdf", "size": 10, "task": 2**63}, "invalid"),
    ):
        response = api.post(url, body, content_type="application/json")
        assert response.status_code == 400, (body, response.content)
        assert error_of(response)["code"] == field_or_code, body
    # a task of the project that does not exist: not found
    assert (
        api.post(url, {"name": "x.pdf", "size": 10, "task": 999_999}, content_type="application/json").status_code
        == 404
    )

    # what arrives must be what was named: a PNG's bytes under a .pdf name are deleted and refused at confirmation
    refused = upload(api, private_site.project, "fake.pdf", png(20, 20))
    assert refused.status_code == 400
    assert error_of(refused)["code"] == "upload_refused"
    with in_tenant(tenant):
        assert not Document.objects.exists()
        assert not StorageReservation.objects.exists()
        assert AuditEntry.objects.filter(action="document.refused").count() == 1
    assert stored_keys(moto_of(request, backend)) == []


def test_only_the_uploader_confirms_and_cancelling_gives_the_bytes_back(
    backend: str, tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site
) -> None:
    editor = with_key(tenant, key_for(tenant, people["editor"]))
    manager = with_key(tenant, key_for(tenant, people["manager"]))
    data = pdf()
    started = editor.post(
        documents(private_site.project), {"name": "p.pdf", "size": len(data)}, content_type="application/json"
    ).json()
    send_signed(editor, started["upload"], "p.pdf", data)

    assert manager.post(urlsplit(started["confirm"]).path).status_code == 403
    assert manager.post(urlsplit(started["cancel"]).path).status_code == 204  # not theirs: nothing happens
    with in_tenant(tenant):
        assert Document.objects.get().status == DocumentStatus.PENDING
    # a pending document is nobody's to read or download
    pending = f"{documents(private_site.project)}{started['document']['id']}/"
    assert editor.get(pending).status_code == 404
    assert editor.get(pending + "download/").status_code == 404

    assert editor.post(urlsplit(started["cancel"]).path).status_code == 204
    with in_tenant(tenant):
        assert not Document.objects.exists()
        assert not StorageReservation.objects.exists()
    assert editor.post(urlsplit(started["confirm"]).path).status_code == 404


def test_deleting_needs_edit_access_and_takes_the_bytes(
    backend: str,
    request: pytest.FixtureRequest,
    tenant: Tenant,
    in_tenant: Any,
    people: dict[str, User],
    private_site: Site,
    django_capture_on_commit_callbacks: Any,
) -> None:
    editor = with_key(tenant, key_for(tenant, people["editor"]))
    document = upload(editor, private_site.project, "p.pdf", pdf()).json()
    one = f"{documents(private_site.project)}{document['id']}/"

    assert with_key(tenant, key_for(tenant, people["viewer"])).delete(one).status_code == 403
    assert with_key(tenant, key_for(tenant, people["stranger"])).delete(one).status_code == 404
    assert with_key(tenant, key_for(tenant, people["editor"], scope=ApiKeyScope.READ)).delete(one).status_code == 403
    with in_tenant(tenant):
        assert Document.objects.filter(pk=document["id"]).exists()

    with django_capture_on_commit_callbacks(execute=True):
        assert editor.delete(one).status_code == 204
    with in_tenant(tenant):
        assert not Document.objects.exists()
        assert AuditEntry.objects.filter(action="document.deleted").count() == 1
    assert stored_keys(moto_of(request, backend)) == []
    assert editor.get(one).status_code == 404


def test_another_workspaces_documents_are_never_reachable_by_id_or_key(
    backend: str, tenant: Tenant, other_tenant: Tenant, in_tenant: Any
) -> None:
    both = MembershipFactory.create(tenant=tenant, role=Role.OWNER, user__email="both@example.com").user
    MembershipFactory.create(tenant=other_tenant, role=Role.OWNER, user=both)
    with in_tenant(tenant):
        ours = ProjectFactory.create(pk=910_001, name="Ours")
    with in_tenant(other_tenant):
        theirs = ProjectFactory.create(pk=910_001, name="Theirs")
    acme = with_key(tenant, key_for(tenant, both))
    globex_secret = key_for(other_tenant, both)
    globex = with_key(other_tenant, globex_secret)
    secret = upload(globex, theirs, "globex-secret.pdf", pdf()).json()

    # the same project id on acme's host is acme's project: globex's document id is not found there
    base = f"{documents(ours)}{secret['id']}/"
    for method, path in (("get", base), ("get", base + "download/"), ("delete", base), ("post", base + "confirm/")):
        response = getattr(acme, method)(path)
        assert response.status_code == 404, (method, path, response.status_code)
        assert "globex" not in response.content.decode()
    assert acme.get(documents(ours)).json()["results"] == []
    # globex's key on acme's host (and acme's on globex's) is no key at all
    assert with_key(tenant, globex_secret).get(documents(ours)).status_code == 401
    assert with_key(other_tenant, key_for(tenant, both)).get(f"{base}download/").status_code == 401
    with in_tenant(other_tenant):
        assert Document.objects.filter(pk=secret["id"]).exists()  # nothing deleted by acme's attempts


def test_a_row_naming_another_workspaces_prefix_is_not_served(
    backend: str, tenant: Tenant, other_tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site
) -> None:
    api = with_key(tenant, key_for(tenant, people["owner"]))
    document = upload(api, private_site.project, "p.pdf", pdf()).json()
    with in_tenant(tenant):
        Document.objects.filter(pk=document["id"]).update(
            storage_prefix=other_tenant.schema_name, key=f"{other_tenant.schema_name}/files/{'b' * 32}.pdf"
        )

    response = api.get(f"{documents(private_site.project)}{document['id']}/download/")

    assert response.status_code == 404
    error_of(response)


def test_the_document_list_costs_the_same_queries_at_1_and_60_documents(
    backend: str, tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site
) -> None:
    api = with_key(tenant, key_for(tenant, people["viewer"]))
    path = documents(private_site.project)

    def make(count: int, start: int) -> None:
        with in_tenant(tenant):
            Document.objects.bulk_create(
                Document(
                    project=private_site.project,
                    task=private_site.task if i % 2 else None,
                    storage_prefix=tenant.schema_name,
                    key=f"{tenant.schema_name}/files/{i:032x}.pdf",
                    name=f"file {i}.pdf",
                    file_type="pdf",
                    content_type="application/pdf",
                    size=1000 + i,
                    uploaded_by=people[("editor", "manager", "owner")[i % 3]],
                )
                for i in range(start, start + count)
            )

    def count() -> tuple[int, int]:
        api.get(path)
        with CaptureQueriesContext(connection) as queries:
            response = api.get(path)
        assert response.status_code == 200
        return len(queries.captured_queries), len(response.json()["results"])

    make(1, 0)
    small, one = count()
    make(59, 1)
    large, fifty = count()

    assert (one, fifty) == (1, 50)
    assert large == small

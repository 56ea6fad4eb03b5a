"""The isolation sweep: every URL of a workspace host, filled with another workspace's object ids, asked by the owner
of this workspace (with a session, and on the API with a key as well), for GET and the pattern's writing methods.

Workspace B (globex) holds objects whose names, emails and titles carry a marker. Workspace A (acme) is asked, through
every pattern of the workspace URLconf (config/urls_tenants.py, walked recursively, the API included), for ids that
exist only in B, for A's own parent with B's child, and for ids that exist in both (id 42 in each). The answers must
refuse (403/404/405, or send to the sign-in page), never carry the marker, and B's rows must be unchanged afterwards.

A pattern whose parameters the sweep cannot fill fails the test and is named: a new page or route must add an entry to
PARAMETERS in tests/urlwalk.py (which object each parameter names) — so it cannot ship without being swept.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.http import int_to_base36
from django_tenants.utils import tenant_context

from shared_apps.accounts.models import ApiKey, ApiKeyScope, Invitation, Membership, Role, User
from shared_apps.accounts.services import api_key_create
from shared_apps.identity.models import ScimToken, ScimUser, SsoConnection, VerifiedDomain, WorkspaceGroup
from shared_apps.identity.services.scim_tokens import scim_token_create
from tenant_apps.notifications.emails import unsubscribe_token
from tenant_apps.notifications.models import Notification, NotificationKind, NotificationPreference
from tenant_apps.projects.models import Comment, Document, Label, Project, Task
from tenant_apps.webhooks.models import Delivery, Endpoint
from tenants.db import connection, table_sql
from tenants.models import Tenant
from tests.conftest import HostClient, client_for, host_of
from tests.factories import CommentFactory, MembershipFactory, ProjectFactory, TaskFactory
from tests.factories.identity import saml_connection_for
from tests.factories.passkeys import passkey_for
from tests.factories.webhooks import endpoint_with_delivery
from tests.helpers import reauthenticated
from tests.urlwalk import PER_WORKSPACE, URLCONF, Swept, swept_patterns

__all__ = ["Swept", "swept_patterns"]  # the pooler's sweep (tests/pooler) reaches them through this module

MARK = "zqxbmark"  # in every name, title, body and email of workspace B
SAME_ID = 42  # exists in both workspaces, for every per-workspace kind
B_ONLY_ID = 7001  # exists in B only, for every per-workspace kind

# Plausible bodies for the writing methods: each form or serializer picks the fields it knows.
FORM = {
    "name": "hijacked",
    "title": "hijacked",
    "body": "hijacked",
    "description": "hijacked",
    "role": Role.MEMBER,
    "status": "done",
    "position": "0",
    "visibility": "workspace",
    "confirm_name": "hijacked",
    "email": "hijack@acme.test",
    "level": "view",
    "color": "red",
    "labels": ["42"],
    "version": "0",
}
REFUSED = {401, 403, 404, 405}
# Pages that answer 200 for a value they refuse, with nothing of anyone's in it: only the marker and 5xx are checked.
REFUSE_WITH_200 = {
    # allauth's "bad token" page for any uid/key pair that is not a live reset token (users are global, not B's)
    "account_reset_password_from_key",
    # SCIM's discovery (the same resource types and schemas on every workspace)
    "scim-resource-type",
    "scim-schema",
}


@dataclass
class World:
    """The objects of both workspaces, by kind: B's values for the refusals, A's for parents, and the shared id."""

    a: dict[str, Any] = field(default_factory=dict)
    b: dict[str, Any] = field(default_factory=dict)
    b_state: Callable[[], Any] = lambda: None  # B's rows as they stand, to compare before and after


def _bump_sequences(models: list[type[Any]]) -> None:
    with connection.cursor() as cursor:
        for model in models:
            table = table_sql(model)
            # The largest id read first, then set: on Citus a setval that reads a table is sent whole to the worker.
            cursor.execute(f"SELECT COALESCE(max(id), 0) FROM {table}")  # noqa: S608
            largest = int(cursor.fetchone()[0])
            cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, max(largest, 10000)])


def _site(owner: User, pk: int, label: str) -> dict[str, Any]:
    project = ProjectFactory.create(pk=pk, name=f"{label} project", description=label, created_by=owner)
    task = TaskFactory.create(pk=pk, project=project, title=f"{label} task", description=label, position=0)
    comment = CommentFactory.create(pk=pk, task=task, author=owner, body=f"{label} comment")
    schema = connection.schema_name
    document = Document.objects.create(
        pk=pk,
        project=project,
        task=task,
        storage_prefix=schema,
        key=f"{schema}/files/{pk:032x}.png",
        name=f"{label} plan.png",
        file_type="png",
        content_type="image/png",
        size=100,
        uploaded_by=owner,
    )
    tag = Label.objects.create(pk=pk, name=f"{label[-20:]} label", color="teal", created_by=owner)
    task.labels.add(tag)
    hooked = endpoint_with_delivery(label=label, pk=pk, owner=owner)
    notification = Notification.objects.create(
        pk=pk,
        recipient=owner,
        kind=NotificationKind.MENTIONED,
        event_id=f"evt_{label[:20]}_{pk}",
        actor_name=label,
        subject=f"{label} task",
        excerpt=f"{label} comment",
        project_id=project.pk,
        task_id=task.pk,
        created_at=timezone.now(),
    )
    return {
        "project": project,
        "task": task,
        "comment": comment,
        "document": document,
        "webhook": hooked.endpoint,
        "delivery": hooked.delivery,
        "notification": notification,
        "label": tag,
    }


@pytest.fixture
def world(tenant: Tenant, other_tenant: Tenant, owner: User) -> World:
    return build_world(tenant, other_tenant, owner)


def build_world(tenant: Tenant, other_tenant: Tenant, owner: User) -> World:
    """B's marked objects and A's same-id ones (also run by tests/pooler/seed.py, committed, for the sweep through a
    transaction pooler)."""
    # given: B (globex) named with the marker, with its people, an invitation, a key, and objects at SAME_ID and
    # B_ONLY_ID; A (acme) with objects at SAME_ID only
    Tenant.objects.filter(pk=other_tenant.pk).update(name=f"Globex {MARK}")
    b_owner = MembershipFactory.create(
        tenant=other_tenant, role=Role.OWNER, user__email=f"owner-{MARK}@globex.test", user__name=f"Bea {MARK}"
    ).user
    b_member = MembershipFactory.create(
        tenant=other_tenant, role=Role.MEMBER, user__email=f"member-{MARK}@globex.test", user__name=f"Bo {MARK}"
    )
    token = f"{MARK}-invitation-token"
    invitation = Invitation.objects.create(
        tenant=other_tenant,
        email=f"invitee-{MARK}@globex.test",
        role=Role.MEMBER,
        token_hash=Invitation.hash_token(token),
        invited_by=b_owner,
        expires_at=timezone.now() + timedelta(days=7),
    )
    b_key, _secret = api_key_create(
        tenant=other_tenant, name=f"Key {MARK}", scope=ApiKeyScope.WRITE, acting_user=b_owner
    )
    b_scim_token, _ = scim_token_create(tenant=other_tenant, name=f"SCIM {MARK}", acting_user=b_owner)
    b_domain = VerifiedDomain.objects.create(tenant_id=other_tenant.pk, domain=f"{MARK}.example", token=MARK)
    b_passkey = passkey_for(b_owner, f"Passkey {MARK}")
    b_scim_user = ScimUser.objects.create(
        tenant_id=other_tenant.pk, user_name=f"scim-{MARK}@globex.test", document={"userName": f"scim-{MARK}"}
    )
    b_saml = saml_connection_for(other_tenant, MARK)
    b_group = WorkspaceGroup.objects.create(
        tenant_id=other_tenant.pk,
        group=Group.objects.create(name=f"workspace:{other_tenant.pk}:{MARK}"),
        display_name=f"Group {MARK}",
        document={"displayName": f"Group {MARK}"},
    )
    tables: list[type[Any]] = [Project, Task, Comment, Document, Endpoint, Delivery, Notification, Label]
    with tenant_context(other_tenant):
        _site(b_owner, SAME_ID, f"Globex {MARK} same-id")
        b_only = _site(b_owner, B_ONLY_ID, f"Globex {MARK} only")
        _bump_sequences(tables)
    with tenant_context(tenant):
        a_same = _site(owner, SAME_ID, "Acme same-id")
        assert not Project.objects.filter(pk=B_ONLY_ID).exists()
        _bump_sequences(tables)

    world = World()
    for kind in PER_WORKSPACE:
        world.a[kind] = a_same[kind].pk
        world.b[kind] = b_only[kind].pk
    world.a.update(
        user_uid=int_to_base36(owner.pk),
        reset_key="set-password",
        unsubscribe_token=unsubscribe_token(schema=tenant.schema_name, user_id=owner.pk, kind="mentioned"),
    )
    world.b.update(
        membership=b_member.pk,
        invitation=invitation.pk,
        api_key=b_key.pk,
        invitation_token=token,
        storage_key=b_only["document"].key,
        user_uid=int_to_base36(b_owner.pk),
        reset_key="set-password",
        scim_user=str(b_scim_user.scim_id),
        scim_group=str(b_group.scim_id),
        scim_resource_type="User",
        scim_schema="urn:ietf:params:scim:schemas:core:2.0:User",
        identity_domain=b_domain.pk,
        scim_token=b_scim_token.pk,
        saml_provider=b_saml.provider_id,
        authenticator=b_passkey.pk,
        unsubscribe_token=unsubscribe_token(schema=other_tenant.schema_name, user_id=b_owner.pk, kind="mentioned"),
    )

    world.b_state = lambda: b_state_of(other_tenant)
    return world


def b_state_of(other_tenant: Tenant) -> Any:
    """B's rows as they stand, to compare before and after the sweep."""
    with tenant_context(other_tenant):
        objects = [
            sorted(Project.objects.values_list("pk", "name", "description", "visibility", "archived_at")),
            sorted(Task.objects.values_list("pk", "project_id", "title", "status", "position", "version")),
            sorted(Label.objects.values_list("pk", "name", "color")),
            sorted(Task.labels.through.objects.values_list("task_id", "label_id")),
            sorted(Comment.objects.values_list("pk", "task_id", "body")),
            sorted(Document.objects.values_list("pk", "name", "status")),
            sorted(Endpoint.objects.values_list("pk", "url", "description", "enabled", "secret", "event_types")),
            sorted(Delivery.objects.values_list("pk", "status", "attempts", "next_attempt_at")),
            sorted(Notification.objects.values_list("pk", "read_at")),
            sorted(NotificationPreference.objects.values_list("user_id", "kind", "email")),
        ]
    people = [
        sorted(Membership.objects.filter(tenant=other_tenant).values_list("pk", "user_id", "role")),
        sorted(Invitation.objects.filter(tenant=other_tenant).values_list("pk", "email", "revoked_at", "send_count")),
        sorted(ApiKey.objects.filter(tenant=other_tenant).values_list("pk", "name", "revoked_at")),
        sorted(ScimToken.objects.filter(tenant=other_tenant).values_list("pk", "name", "revoked_at")),
        sorted(VerifiedDomain.objects.filter(tenant=other_tenant).values_list("pk", "domain", "last_checked_at")),
        sorted(ScimUser.objects.filter(tenant=other_tenant).values_list("pk", "user_name", "active", "document")),
        sorted(WorkspaceGroup.objects.filter(tenant=other_tenant).values_list("pk", "display_name", "document")),
        sorted(
            SsoConnection.objects.filter(tenant=other_tenant).values_list(
                "pk", "provider_key", "idp_entity_id", "idp_certificates", "sp_certificate"
            )
        ),
        sorted(Authenticator.objects.filter(user__memberships__tenant=other_tenant).values_list("pk", "type", "data")),
    ]
    return objects, people


def _cases(pattern: Swept, world: World) -> list[tuple[str, dict[str, Any]]]:
    """(label, kwargs) to try: every parameter B's; then A's for the first k parameters and B's for the rest; then the
    id both workspaces have, when every parameter names a per-workspace kind."""
    kinds = [pattern.kind(p) or "" for p in pattern.params]
    cases = []
    for split in range(len(pattern.params)):
        kwargs = {
            p: (world.a[k] if i < split else world.b[k])
            for i, (p, k) in enumerate(zip(pattern.params, kinds, strict=True))
        }
        cases.append(("B's" if split == 0 else f"A's {', '.join(pattern.params[:split])}, B's rest", kwargs))
    if all(k in PER_WORKSPACE for k in kinds):
        cases.append(("the id both have", dict.fromkeys(pattern.params, SAME_ID)))
    return cases


def _send(client: Any, method: str, path: str, *, api: bool) -> Any:
    if method == "GET":
        return client.get(path)
    if api and "/scim/" in path:
        body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "hijack", "displayName": "x"}
        return client.generic(method, path, data=json.dumps(body), content_type="application/scim+json")
    if api:
        return client.generic(method, path, data=json.dumps(FORM), content_type="application/json")
    return client.generic(method, path, data=urlencode(FORM), content_type="application/x-www-form-urlencoded")


def _shows_b(response: Any) -> bool:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return MARK.encode() in body.lower()


def _to_login(response: Any) -> bool:
    return response.status_code in (301, 302, 303) and "login" in response.get("Location", "")


def unfilled_patterns(patterns: list[Swept]) -> list[str]:
    return [
        f"{p.name or '(unnamed)'} ({p.route}): {', '.join(x for x in p.params if p.kind(x) is None)}"
        for p in patterns
        if p.params and (not p.name or any(p.kind(x) is None for x in p.params))
    ]


def sweep(
    patterns: list[Swept], world: World, *, signed_in: Callable[[], Any], key_client: Any, scim_client: Any = None
) -> tuple[list[str], int]:
    """Ask every pattern for B's ids (and A's parent with B's child, and the id both have) as A's owner, with a fresh
    session per pattern (`signed_in()`), on the API with A's key and on SCIM with A's SCIM token; returns (failures,
    requests sent). The clients are Django's test clients here, real HTTP clients in the sweep through a transaction
    pooler (tests/pooler)."""
    failures: list[str] = []
    swept = 0
    for pattern in patterns:
        session = signed_in()
        clients = [("session", session)] + ([("key", key_client)] if pattern.is_api else [])
        if pattern.is_scim and scim_client is not None:
            clients.append(("scim token", scim_client))
        if not pattern.params:
            for who, client in clients:
                response = client.get("/" + pattern.route)
                swept += 1
                leaked = _shows_b(response)
                if response.status_code >= 500 or leaked:
                    failures.append(
                        f"GET /{pattern.route} ({who}): {response.status_code}{' SHOWS B' if leaked else ''}"
                    )
            continue
        kinds = [pattern.kind(p) or "" for p in pattern.params]
        if all(k in world.a for k in kinds):  # control: the same pattern with A's own objects is served to A
            own = session.get(
                reverse(
                    pattern.name,
                    urlconf=URLCONF,
                    kwargs={p: world.a[k] for p, k in zip(pattern.params, kinds, strict=True)},
                )
            )
            if _to_login(own) or own.status_code in (403, 404):
                failures.append(f"GET {pattern.name} with A's own objects: {own.status_code} (the sweep's control)")
        for label, kwargs in _cases(pattern, world):
            path = reverse(pattern.name, urlconf=URLCONF, kwargs=kwargs)
            shared_id = label == "the id both have"
            for who, client in clients:
                methods = ("GET", "PUT", "PATCH", "DELETE") if pattern.is_scim else pattern.methods
                for method in ("GET",) if shared_id else methods:
                    response = _send(client, method, path, api=pattern.is_api or pattern.is_scim)
                    swept += 1
                    leaked = _shows_b(response)
                    refused = response.status_code in REFUSED or _to_login(response)
                    refused = refused or pattern.name in REFUSE_WITH_200
                    if leaked or response.status_code >= 500 or not (refused or shared_id):
                        failures.append(
                            f"{method} {path} [{pattern.name}, {label}, {who}]: "
                            f"{response.status_code}{' SHOWS B' if leaked else ''}"
                            f" {response.get('Location', '')}"
                        )
    return failures, swept


def test_every_workspace_url_refuses_another_workspaces_ids_and_never_shows_them(
    tenant: Tenant, owner: User, world: World
) -> None:
    patterns = swept_patterns()
    unfilled = unfilled_patterns(patterns)
    assert not unfilled, (
        "URL patterns the isolation sweep cannot fill (name what each parameter stands for in tests/urlwalk.py):\n  "
        + "\n  ".join(unfilled)
    )
    _key, secret = api_key_create(tenant=tenant, name="Sweep", scope=ApiKeyScope.WRITE, acting_user=owner)
    key_client = HostClient(host_of(tenant), HTTP_AUTHORIZATION=f"Bearer {secret}")
    scim_secret = scim_token_create(tenant=tenant, name="Sweep", acting_user=owner)[1]
    scim_client = HostClient(host_of(tenant), HTTP_AUTHORIZATION=f"Bearer {scim_secret}")
    before = world.b_state()

    def signed_in() -> Client:
        session = client_for(tenant)
        session.force_login(owner)
        reauthenticated(session, owner)  # pages behind "confirm it's you" (passkeys) give their real answer
        return session

    failures, swept = sweep(patterns, world, signed_in=signed_in, key_client=key_client, scim_client=scim_client)

    assert not failures, f"{len(failures)} of {swept} requests reached or showed workspace B:\n  " + "\n  ".join(
        failures
    )
    assert world.b_state() == before, "workspace B's rows changed"
    assert swept > 2 * len(patterns)  # every pattern was asked, most of them several times


def test_the_same_id_in_both_workspaces_means_this_workspaces_object(
    tenant: Tenant, other_tenant: Tenant, owner: User, world: World
) -> None:
    # given: project, task, comment and document 42 in acme and in globex (the fixture)
    client = client_for(tenant)
    client.force_login(owner)
    _key, secret = api_key_create(tenant=tenant, name="Same id", scope=ApiKeyScope.READ, acting_user=owner)
    api = HostClient(host_of(tenant), HTTP_AUTHORIZATION=f"Bearer {secret}")

    # when
    board = client.get(f"/projects/{SAME_ID}/")
    task = client.get(f"/projects/{SAME_ID}/tasks/{SAME_ID}/")
    documents = client.get(f"/projects/{SAME_ID}/documents/")
    project_json = api.get(f"/api/v1/projects/{SAME_ID}/")
    comments_json = api.get(f"/api/v1/projects/{SAME_ID}/tasks/{SAME_ID}/comments/")

    # then: acme's 42 every time, never globex's
    for response in (board, task, documents, project_json, comments_json):
        assert response.status_code == 200, (response.request["PATH_INFO"], response.status_code)
        assert MARK.encode() not in response.content.lower()
    assert b"Acme same-id project" in board.content
    assert b"Acme same-id task" in task.content
    assert b"Acme same-id comment" in task.content
    assert b"Acme same-id plan.png" in documents.content
    assert project_json.json()["name"] == "Acme same-id project"
    assert [c["body"] for c in comments_json.json()["results"]] == ["Acme same-id comment"]


def test_a_key_or_a_session_of_workspace_a_is_worth_nothing_on_workspace_bs_host(
    tenant: Tenant, other_tenant: Tenant, owner: User, world: World
) -> None:
    _key, secret = api_key_create(tenant=tenant, name="Elsewhere", scope=ApiKeyScope.WRITE, acting_user=owner)
    api = HostClient(host_of(other_tenant), HTTP_AUTHORIZATION=f"Bearer {secret}")
    browser = client_for(tenant)
    browser.force_login(owner)
    replayed = HostClient(host_of(other_tenant))
    replayed.cookies = browser.cookies  # the session cookie replayed on B's host

    responses = [
        api.get("/api/v1/projects/"),
        api.get(f"/api/v1/projects/{SAME_ID}/"),
        api.post("/api/v1/projects/", {"name": "planted"}, content_type="application/json"),
        replayed.get("/"),
        replayed.get(f"/projects/{SAME_ID}/"),
    ]

    assert all(r.status_code in (401, 403) for r in responses[:3]), [r.status_code for r in responses[:3]]
    assert all(_to_login(r) for r in responses[3:]), [r.status_code for r in responses[3:]]
    assert not any(MARK.encode() in r.content.lower() for r in responses)
    with tenant_context(other_tenant):
        assert not Project.objects.filter(name="planted").exists()


def test_the_root_domain_never_opens_or_lists_another_workspace(
    tenant: Tenant, other_tenant: Tenant, owner: User, world: World
) -> None:

    root = HostClient(settings.BASE_DOMAIN)
    root.force_login(owner)
    b_slug = host_of(other_tenant).removesuffix("." + settings.BASE_DOMAIN)

    listing = root.get("/workspaces/")
    opened = root.get(f"/workspaces/{b_slug}/open/")
    own = root.get(f"/workspaces/{host_of(tenant).removesuffix('.' + settings.BASE_DOMAIN)}/open/")

    assert listing.status_code == 200
    assert MARK.encode() not in listing.content.lower()
    assert opened.status_code == 404
    assert host_of(other_tenant) not in opened.get("Location", "")
    assert MARK.encode() not in opened.content.lower()
    assert own.status_code == 302  # the control: A's own workspace opens
    assert host_of(tenant) in own["Location"]


def test_the_roots_sso_page_tells_nothing_of_a_workspace_without_sso(
    tenant: Tenant, other_tenant: Tenant, owner: User, world: World
) -> None:
    # B (globex, named with the marker) has a verified domain but no identity provider
    SsoConnection.objects.filter(tenant=other_tenant).delete()
    VerifiedDomain.objects.filter(tenant=other_tenant).update(verified_at=timezone.now())
    b_domain = VerifiedDomain.objects.get(tenant=other_tenant).domain
    root = HostClient(settings.BASE_DOMAIN)
    root.force_login(owner)
    b_slug = host_of(other_tenant).removesuffix("." + settings.BASE_DOMAIN)

    by_slug = root.get(f"/sso/?workspace={b_slug}")
    by_email = root.post("/sso/", {"email": f"someone@{b_domain}"})

    assert by_slug.status_code == 200
    assert by_email.status_code == 404
    for response in (by_slug, by_email):
        assert MARK.encode() not in response.content.lower().replace(b_domain.encode(), b"")
        assert b"/accounts/oidc/" not in response.content


def test_the_sso_routes_answer_each_workspace_for_itself(
    tenant: Tenant, other_tenant: Tenant, owner: User, world: World
) -> None:
    """A's host publishes no SAML metadata of B's (A has none: 404), B's host publishes B's; on the root, the SAML
    routes answer only by a connection's random key, a made-up or OpenID Connect one is not found, and a "Test
    connection" ticket cannot be made up; none of them changes B."""
    b_key = world.b["saml_provider"]
    before = world.b_state()
    client = client_for(tenant)
    client.force_login(owner)
    on_a = client.get("/sso/saml/metadata/")
    on_b = client_for(other_tenant).get("/sso/saml/metadata/")
    assert on_a.status_code == 404
    assert b_key.encode() not in on_a.content
    assert MARK.encode() not in on_a.content.lower()
    assert on_b.status_code == 200
    assert f"/accounts/saml/{b_key}/acs/".encode() in on_b.content
    root = HostClient(settings.BASE_DOMAIN)
    root.force_login(owner)
    for key in ("ws-madeup123", "ws-" + "x" * 5000, "ws-a\x00b", "saml"):
        for suffix in ("login/", "acs/", "acs/finish/", "metadata/", "sls/"):
            response = root.post(f"/accounts/saml/{key}/{suffix}", {"SAMLResponse": "x"})
            assert response.status_code in (404, 405), (key, suffix, response.status_code)
    assert root.get(f"/accounts/saml/{b_key}/sls/").status_code == 404
    assert root.get("/sso/test/forged-ticket/").status_code == 404
    assert world.b_state() == before

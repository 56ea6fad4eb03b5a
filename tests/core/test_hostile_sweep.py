"""The hostile-input sweep: NUL, 10,000 characters and bidi controls in every field of every form on every page, in
every body field of every API write, and in every POST route without a form (the pages' scripts call them). No
answer may be a server error.

Nothing is listed by hand. The pages are the patterns of the workspace URLconf and the root domain's (walked with
tests/urlwalk.py, their parameters filled with the workspace's own objects), each asked by its owner, and on the
root by a stranger too; the forms are read from the HTML they answer (fields, hidden values, the chosen option); the
API's writes and their body fields come from its OpenAPI document. A new page, form, field or endpoint is swept the
day it exists. Each hostile request runs in a savepoint rolled back after it, so every request meets the same world.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.account.utils import user_pk_to_url_str
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from billing.entitlements import RateDecision
from billing.models import BillingAccount, WebhookEvent
from shared_apps.accounts.models import ApiKeyScope, Invitation, Role, User
from shared_apps.accounts.services import api_key_create
from shared_apps.identity.models import VerifiedDomain
from shared_apps.identity.services.scim_tokens import scim_token_create
from shared_apps.identity.sso_test import test_ticket_make as sso_test_ticket_make
from shared_apps.workspaces.models import ImpersonationSession, OperatorAction
from shared_apps.workspaces.services import operator_log_record
from tenant_apps.api import throttling
from tenant_apps.notifications.emails import unsubscribe_token
from tenant_apps.notifications.models import Notification, NotificationKind
from tenant_apps.projects.models import Label, Visibility
from tenant_apps.projects.permissions import AccessLevel
from tenant_apps.projects.services import project_group_share
from tenants.models import Domain, Tenant, TenantEvent
from tests.conftest import HostClient, host_of
from tests.factories import CommentFactory, DocumentFactory, MembershipFactory, ProjectFactory, TaskFactory
from tests.factories.groups import workspace_group
from tests.factories.identity import saml_connection_for
from tests.factories.passkeys import passkey_for
from tests.factories.webhooks import endpoint_with_delivery
from tests.helpers import operator_create, reauthenticated
from tests.urlwalk import PARAMETERS, URLCONF, Swept, swept_patterns

PUBLIC_URLCONF = "config.urls_public"
HOSTILE = {
    "NUL": "nul\x00byte",
    "10,000 characters": "x" * 10_000,
    "bidi controls": "invoice\u202egnp.exe.png\u2066\u200b",
}
DEEP_JSON = "[" * 1000 + "]" * 1000
# Routes that are not pages: provider redirects and callbacks of social sign-in (they send the browser to Google and
# the like), the Stripe webhook (signed bodies only: tests/billing/test_webhooks.py), the admin's catch-all, SCIM (a
# machine's JSON with a bearer token: its hostile input is tests/identity/test_scim.py's and scim2-tester's).
NOT_PAGES = ("accounts/google/", "accounts/github/", "accounts/microsoft/", "accounts/oidc/", "billing/", "scim/")
# Parameters of the root domain's routes, by the same rule as PARAMETERS; the admin's object pages take the first row
# of their model (`_admin_objects`).
PUBLIC_PARAMETERS = {
    "workspace_open:slug": "slug",
    "invitation_landing:token": "invitation_token",
    "email_verify:key": "verify_key",
    "admin:impersonation_begin:tenant_id": "tenant",
    "admin:impersonation_begin:user_id": "member_user",
    "admin:auth_user_password_change:id": "member_user",
    "session_id": "impersonation",
    "admin:workspace_export_download:name": "export_name",
    "admin:view_on_site:content_type_id": "content_type",
    "admin:view_on_site:object_id": "tenant",
    "admin:app_list:app_label": "app_label",
    "organization_slug": "saml_provider",
    "sso_test:ticket": "sso_test_ticket",
}
OWNER, STRANGER, OPERATOR = "owner", "stranger", "operator"
# Fields the pages' scripts post without a form (uploads, the board, availability checks), besides every field name
# any form on any page has.
SCRIPT_FIELDS = ("name", "size", "task", "status", "position", "slug", "subdomain", "domain", "q")


@dataclass
class World:
    tenant: Tenant
    owner: User
    operator: User
    values: dict[str, Any]
    key: str


@dataclass(frozen=True)
class Form:
    host: str
    method: str
    action: str
    fields: tuple[tuple[str, str], ...]  # (name, the value the page gave it), in order
    who: str = OWNER  # who was shown it (and sends it back)

    @property
    def names(self) -> list[str]:
        return sorted({name for name, _ in self.fields if name != "csrfmiddlewaretoken"})


class _Forms(HTMLParser):
    """Every <form> of a page: its method, action, and the fields a browser would send as the page left them."""

    def __init__(self, host: str, path: str) -> None:
        super().__init__(convert_charrefs=True)
        self.host, self.path = host, path
        self.found: list[Form] = []
        self._form: dict[str, Any] | None = None
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = {"method": (a.get("method") or "get").upper(), "action": a.get("action") or self.path}
            self._form["fields"] = []
        elif self._form is None:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind in ("file", "image", "reset") or (kind in ("checkbox", "radio") and "checked" not in a):
                return
            self._form["fields"].append((a["name"], a.get("value", "on" if kind in ("checkbox", "radio") else "")))
        elif tag == "button" and a.get("name") and a.get("type", "submit") == "submit":
            if not any(n == a["name"] for n, _ in self._form["fields"]):
                self._form["fields"].append((a["name"], a.get("value", "")))
        elif tag == "select" and a.get("name"):
            self._select, self._options = a["name"], []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea" and a.get("name"):
            self._textarea, self._text = a["name"], []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._form is None:
            return
        if tag == "select" and self._select is not None:
            chosen = next(
                (v for v, selected in self._options if selected), self._options[0][0] if self._options else ""
            )
            self._form["fields"].append((self._select, chosen))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self._form["fields"].append((self._textarea, "".join(self._text)))
            self._textarea = None
        elif tag == "form":
            target = urlsplit(self._form["action"])
            host = (target.hostname or self.host.split(":")[0]) if target.netloc else self.host
            path = target.path or self.path
            self.found.append(Form(host, self._form["method"], path, tuple(self._form["fields"])))
            self._form = None


def forms_of(response: Any, host: str, path: str) -> list[Form]:
    if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
        return []
    parser = _Forms(host, path)
    parser.feed(response.content.decode("utf-8", "replace"))
    return parser.found


@pytest.fixture
def world(tenant: Tenant, owner: User, in_tenant: Any) -> World:
    """Acme with one of everything a page can show a form for."""
    member = MembershipFactory.create(tenant=tenant, role=Role.MEMBER, user__email="member@acme.test").user
    membership = member.memberships.get(tenant=tenant)
    token = "hostile-sweep-invitation-token"
    invitation = Invitation.objects.create(
        tenant=tenant,
        email="invitee@example.com",
        role=Role.MEMBER,
        token_hash=Invitation.hash_token(token),
        invited_by=owner,
        expires_at=timezone.now() + timedelta(days=7),
    )
    api_key, secret = api_key_create(tenant=tenant, name="Sweep", scope=ApiKeyScope.WRITE, acting_user=owner)
    identity = _identity_values(tenant, owner)
    Domain.objects.create(tenant=tenant, domain="projects.acme.example", is_primary=False)
    with in_tenant(tenant):
        project = ProjectFactory.create(name="Launch", visibility=Visibility.WORKSPACE, created_by=owner)
        ProjectFactory.create(name="Old", archived_at=timezone.now(), created_by=owner)
        task = TaskFactory.create(project=project, title="Ship it", assignee=owner, position=0)
        comment = CommentFactory.create(task=task, author=owner, body="On it")
        document = DocumentFactory.create(project=project, task=task, uploaded_by=owner)
        hooked = endpoint_with_delivery(label="Sweep", owner=owner)
        notification = Notification.objects.create(
            recipient=owner,
            kind=NotificationKind.ASSIGNED,
            event_id="evt_sweep",
            subject="Ship it",
            project_id=project.pk,
            task_id=task.pk,
            created_at=timezone.now(),
        )
        label = Label.objects.create(name="Sweep", color="blue", created_by=owner)
        task.labels.add(label)
        group = workspace_group(tenant, "Sweepers", [member])  # shown on the Sharing tab, with its revoke page
        project_group_share(project=project, levels={group.scim_id: AccessLevel.VIEW}, acting_user=owner)
    pending = User.objects.create_user(email="pending@example.com", password="pending-passphrase-4")
    unverified = EmailAddress.objects.create(user=pending, email=pending.email, primary=True, verified=False)
    operator = operator_create("ops@atrium.test", superuser=True)
    session = ImpersonationSession.objects.create(
        operator=operator,
        operator_label=operator.email,
        member=member,
        tenant=tenant,
        reason="Sweep",
        expires_at=timezone.now() + timedelta(minutes=30),
    )
    _admin_rows(tenant, owner, operator)
    values = {
        "project": project.pk,
        "task": task.pk,
        "comment": comment.pk,
        "document": document.pk,
        "membership": membership.pk,
        "invitation": invitation.pk,
        "api_key": api_key.pk,
        "webhook": hooked.endpoint.pk,
        "delivery": hooked.delivery.pk,
        **identity,
        "notification": notification.pk,
        "label": label.pk,
        "scim_group": str(group.scim_id),
        "unsubscribe_token": unsubscribe_token(schema=tenant.schema_name, user_id=owner.pk, kind="assigned"),
        "invitation_token": token,
        "storage_key": document.key,
        "user_uid": user_pk_to_url_str(owner),
        "reset_key": default_token_generator.make_token(owner),
        "slug": host_of(tenant).split(".")[0],
        "verify_key": EmailConfirmationHMAC(unverified).key,
        "tenant": tenant.pk,
        "member_user": member.pk,
        "impersonation": session.pk,
        "export_name": "acme-20260101T000000Z.tar.gz",
        "content_type": ContentType.objects.get_for_model(Tenant).pk,
        "app_label": "tenants",
        **_admin_objects(),
    }
    return World(tenant=tenant, owner=owner, operator=operator, values=values, key=secret)


def _identity_values(tenant: Tenant, owner: User) -> dict[str, Any]:
    """The workspace's SCIM token, verified domain and SAML connection (with a Test connection ticket), the owner's
    passkey: the parameters of the identity pages."""
    scim_token, _scim_secret = scim_token_create(tenant=tenant, name="Sweep", acting_user=owner)
    verified_domain = VerifiedDomain.objects.create(tenant_id=tenant.pk, domain="acme-sweep.example", token="sweep")
    saml_connection = saml_connection_for(tenant, "sweep")
    return {
        "scim_token": scim_token.pk,
        "identity_domain": verified_domain.pk,
        "authenticator": passkey_for(owner, "Laptop").pk,
        "saml_provider": saml_connection.provider_id,
        "sso_test_ticket": sso_test_ticket_make(connection=saml_connection, user_id=owner.pk),
    }


def _admin_rows(tenant: Tenant, owner: User, operator: User) -> None:
    """A row for each model of the admin that the product has not made yet, so each object page shows its form."""
    group = Group.objects.create(name="Support")
    operator.groups.add(group)
    app = SocialApp.objects.create(provider="google", name="Google", client_id="cid", secret="s")
    account = SocialAccount.objects.create(user=owner, provider="google", uid="1234567890")
    SocialToken.objects.create(app=app, account=account, token="t")
    UserSession.objects.create(user=owner, session_key="sweep-session-key", ip="127.0.0.1")
    BillingAccount.objects.get_or_create(tenant=tenant, defaults={"plan": "pro", "status": "active"})
    WebhookEvent.objects.create(event_id="evt_sweep", type="customer.updated", created=timezone.now(), payload={})
    TenantEvent.objects.create(tenant_id=tenant.pk, schema_name=tenant.schema_name, action="tenant.purged")
    operator_log_record(operator=operator, action=OperatorAction.USER_SIGNED_OUT, reason="Sweep", target_user=owner)


def _admin_objects() -> dict[str, Any]:
    """The admin's object pages by URL name (`admin:<app>_<model>_change`, …), each with its model's first row (a
    model without rows: an id that does not exist, which the page must answer too)."""
    found: dict[str, Any] = {}
    for model in admin.site._registry:
        first = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
        for view in ("change", "delete", "history"):
            found[f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}"] = first or 1
    return found


def _fill(pattern: Swept, world: World, parameters: dict[str, str]) -> dict[str, Any] | None:
    kinds = [
        parameters.get(f"{pattern.name}:{p}") or parameters.get(p) or (pattern.name if p == "object_id" else None)
        for p in pattern.params
    ]
    if any(k is None or k not in world.values for k in kinds):
        return None
    return {p: world.values[k] for p, k in zip(pattern.params, kinds, strict=True) if k}


def _paths(urlconf: str, parameters: dict[str, str], world: World) -> Iterator[tuple[Swept, str | None]]:
    """Each page of `urlconf` and its path with the world's objects (None: a parameter nobody named)."""
    for pattern in swept_patterns(urlconf):
        if pattern.is_api or pattern.route.startswith(NOT_PAGES) or pattern.name in ("", "admin:"):
            continue
        kwargs = _fill(pattern, world, parameters) if pattern.params else {}
        yield pattern, (None if kwargs is None else reverse(pattern.name, urlconf=urlconf, kwargs=kwargs))


@dataclass
class Sweep:
    """The clients (one per host and identity), and what the sweep found."""

    clients: dict[tuple[str, str], Callable[[], HostClient]]
    failures: list[str] = field(default_factory=list)
    requests: int = 0

    def send(self, host: str, who: str, method: str, path: str, data: Any, content_type: str = "") -> Any:
        client = self.clients[(host, who)]()
        self.requests += 1
        sid = transaction.savepoint()
        try:
            if method == "GET":
                return client.get(path, data)
            if content_type:
                return client.generic(method, path, data=data, content_type=content_type)
            return client.post(path, data)
        except Exception as exc:  # noqa: BLE001 (every server error is collected and reported together)
            return exc
        finally:
            transaction.savepoint_rollback(sid)

    def judge(self, what: str, answer: Any) -> None:
        if isinstance(answer, Exception):
            self.failures.append(f"{what}: {type(answer).__name__}: {str(answer)[:200]}")
        elif answer.status_code >= 500:
            self.failures.append(f"{what}: {answer.status_code}")


def _clients(world: World) -> dict[tuple[str, str], Callable[[], HostClient]]:
    workspace, root = host_of(world.tenant), settings.BASE_DOMAIN

    def signed(host: str, user: User) -> Callable[[], HostClient]:
        """One signed-in client, handed out with the cookies it started with: whatever a request did to its session
        (signed it out, rotated it) is undone by the request's savepoint, so the same session serves the next one."""
        client = HostClient(host)
        client.force_login(user)
        reauthenticated(client, user)  # the account pages that ask for a recent password open at once
        cookies = copy.deepcopy(client.cookies)

        def fresh() -> HostClient:
            client.cookies = copy.deepcopy(cookies)
            return client

        return fresh

    return {
        (workspace, OWNER): signed(workspace, world.owner),
        (root, OWNER): signed(root, world.owner),
        (root, STRANGER): lambda: HostClient(root),
        (root, OPERATOR): signed(root, world.operator),
        ("api", OWNER): lambda: HostClient(workspace, HTTP_AUTHORIZATION=f"Bearer {world.key}"),
    }


def _collect_forms(sweep: Sweep, world: World) -> tuple[list[Form], list[tuple[str, str, str]], list[str]]:
    """Every form of every page (one of each), the routes that take a POST, and the routes the sweep cannot fill."""
    forms: dict[tuple[str, str, str, str, tuple[str, ...]], Form] = {}
    posts: list[tuple[str, str, str]] = []
    unfilled: list[str] = []
    workspace, root = host_of(world.tenant), settings.BASE_DOMAIN
    for host, urlconf, parameters in ((workspace, URLCONF, PARAMETERS), (root, PUBLIC_URLCONF, PUBLIC_PARAMETERS)):
        for pattern, path in _paths(urlconf, {**PARAMETERS, **parameters}, world):
            if path is None:
                unfilled.append(f"{pattern.name} ({pattern.route})")
                continue
            identities = (OPERATOR,) if pattern.route.startswith("admin/") else (OWNER, STRANGER)
            for who in identities if host == root else (OWNER,):
                if who != OPERATOR:  # the admin has no scripts of its own: its forms are all it takes
                    posts.append((host, who, path))
                page = sweep.send(host, who, "GET", path, {})
                sweep.judge(f"GET {host}{path} ({who})", page)
                if isinstance(page, Exception):
                    continue
                for form in forms_of(page, host, path):
                    if form.host in (workspace, root):
                        forms[(who, form.host, form.method, form.action, tuple(form.names))] = form
    return [replace(form, who=key[0]) for key, form in forms.items()], posts, unfilled


def _sweep_forms(sweep: Sweep, forms: list[Form]) -> None:
    for form in forms:
        for name in form.names:
            for label, value in HOSTILE.items():
                data = {n: v for n, v in form.fields if n != name} | {name: value}
                answer = sweep.send(form.host, form.who, form.method, form.action, data)
                sweep.judge(f"{form.method} {form.host}{form.action} [{name}: {label}, {form.who}]", answer)


def _sweep_scripts(sweep: Sweep, posts: list[tuple[str, str, str]], forms: list[Form]) -> None:
    names = sorted({n for form in forms for n in form.names} | set(SCRIPT_FIELDS))
    for host, who, path in posts:
        for label, value in HOSTILE.items():
            answer = sweep.send(host, who, "POST", path, dict.fromkeys(names, value))
            sweep.judge(f"POST {host}{path} [every field: {label}, {who}]", answer)


# --- the API: every write of the OpenAPI document, every body field -------------------------------------------------

_COLLECTIONS = {
    "projects": "project",
    "tasks": "task",
    "comments": "comment",
    "documents": "document",
    "members": "membership",
    "invitations": "invitation",
    "webhooks": "webhook",
    "deliveries": "delivery",
}


def _api_path(template: str, world: World) -> str | None:
    parts = template.strip("/").split("/")
    out = []
    for i, part in enumerate(parts):
        if part.startswith("{"):
            name = part[1:-1]
            kind = PARAMETERS.get(name) or (_COLLECTIONS.get(parts[i - 1]) if name in ("id", "pk") else None)
            if kind is None:
                return None
            out.append(str(world.values[kind]))
        else:
            out.append(part)
    return "/" + "/".join(out) + "/"


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = schema
        for part in str(node["$ref"]).split("/")[1:]:
            target = target[part]
        node = target
    return node


def _sample(schema: dict[str, Any], prop: dict[str, Any], name: str, world: World) -> Any:
    """A value the API would take for a required field, so the hostile one next to it is what gets judged."""
    prop = _resolve(schema, prop)
    if "enum" in prop:
        return prop["enum"][0]
    for option in prop.get("oneOf", []) + prop.get("allOf", []):
        return _sample(schema, option, name, world)
    kind = prop.get("type")
    if kind == "array":
        return [_sample(schema, prop.get("items", {}), name, world)]
    if kind == "integer":
        return world.values.get(name, world.owner.pk if name in ("assignee", "user") else 1)
    if kind == "boolean":
        return False
    if prop.get("format") == "email" or "email" in name:
        return "sweep@example.com"
    if prop.get("format") == "date":
        return "2030-01-01"
    return "Sweep"


def _api_writes(world: World, sweep: Sweep) -> Iterator[tuple[str, str, dict[str, Any], list[str]]]:
    """(method, path, a valid body of the required fields, every body field) for each write of the API."""
    client = HostClient(host_of(world.tenant), HTTP_AUTHORIZATION=f"Bearer {world.key}")
    document = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert document.status_code == 200
    schema = json.loads(document.content)
    for template, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method not in ("post", "put", "patch", "delete"):
                continue
            path = _api_path(template, world)
            if path is None:
                sweep.failures.append(f"{method.upper()} {template}: a path parameter the sweep cannot fill")
                continue
            body_schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            body = _resolve(schema, body_schema.get("schema", {})) if body_schema else {}
            properties = body.get("properties", {})
            required = {n: _sample(schema, properties[n], n, world) for n in body.get("required", [])}
            yield method.upper(), path, required, sorted(properties) or ["(body)"]


def _sweep_api(sweep: Sweep, world: World) -> int:
    writes = list(_api_writes(world, sweep))
    for method, path, required, names in writes:
        answer = sweep.send("api", OWNER, method, path, DEEP_JSON, "application/json")
        sweep.judge(f"{method} {path} [nested 1,000 deep]", answer)
        for name in names:
            for label, value in HOSTILE.items():
                body = required | {name: value} if name != "(body)" else value
                answer = sweep.send("api", OWNER, method, path, json.dumps(body), "application/json")
                sweep.judge(f"{method} {path} [{name}: {label}]", answer)
    return len(writes)


@pytest.fixture
def no_rate_limits(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Limits answer 429 after a few tries: each hostile request must reach the code it is aimed at."""

    settings.ACCOUNT_RATE_LIMITS = dict.fromkeys(settings.ACCOUNT_RATE_LIMITS, "100000/m/ip")
    unlimited = RateDecision(allowed=True, limit=10**6, remaining=10**6, reset_after=60, scope="key", plan_name="")
    monkeypatch.setattr(throttling, "api_request_allow", lambda **kwargs: unlimited)


@pytest.mark.usefixtures("no_rate_limits")
def test_hostile_text_in_every_field_of_every_form_and_api_write_never_answers_a_server_error(world: World) -> None:
    started = time.monotonic()
    sweep = Sweep(clients=_clients(world))

    forms, posts, unfilled = _collect_forms(sweep, world)
    _sweep_forms(sweep, forms)
    _sweep_scripts(sweep, posts, forms)
    writes = _sweep_api(sweep, world)

    assert not unfilled, "routes the sweep cannot fill (name their parameters):\n  " + "\n  ".join(unfilled)
    assert not sweep.failures, f"{len(sweep.failures)} of {sweep.requests} requests failed:\n  " + "\n  ".join(
        sweep.failures[:80]
    )
    fields = sum(len(f.names) for f in forms)
    print(
        f"\nhostile sweep: {len(forms)} forms with {fields} fields, {len(posts)} routes, {writes} API writes, "
        f"{sweep.requests} requests in {time.monotonic() - started:.1f} s"
    )
    assert len(forms) >= 30
    assert writes >= 15

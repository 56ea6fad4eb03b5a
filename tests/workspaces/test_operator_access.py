"""Who gets into the operators' admin, and what each operator may do: staff with two-factor authentication, and each
action only with its Django permission. Every action is recorded with the operator and the reason."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.contrib import admin
from django_tenants.utils import tenant_context

from shared_apps.accounts.models import User
from shared_apps.core.append_only import AppendOnly
from shared_apps.workspaces.models import OperatorAction, OperatorLogEntry
from shared_apps.workspaces.services import operator_log_record, workspace_suspend
from tenant_apps.audit.models import AuditEntry
from tenants.models import Tenant
from tests.conftest import HostClient
from tests.helpers import mfa_enable, operator_create, totp_code

SESSION = uuid.uuid4()


def _urls(tenant: Tenant, user: User) -> list[str]:
    return [
        "/admin/",
        "/admin/tenants/tenant/",
        f"/admin/tenants/tenant/{tenant.pk}/change/",
        "/admin/accounts/user/",
        f"/admin/accounts/user/{user.pk}/change/",
        "/admin/workspaces/operatorlogentry/",
        "/admin/workspaces/impersonationsession/",
        f"/admin/workspaces/{tenant.pk}/impersonate/{user.pk}/",
        f"/admin/workspaces/impersonation/{SESSION}/ticket/?binding=" + "a" * 64,
        f"/admin/workspaces/impersonation/{SESSION}/writes/",
        "/admin/workspaces/exports/acme-20260101T000000Z.tar.gz/",
        "/admin/workspaces/metrics/gather/",
    ]


def test_anonymous_visitors_are_sent_to_sign_in(public_client: HostClient, tenant: Tenant, member: User) -> None:
    for url in _urls(tenant, member):
        response = public_client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/"), url


def test_members_who_are_not_staff_are_refused_everywhere(
    public_client: HostClient, tenant: Tenant, owner: User, member: User
) -> None:

    mfa_enable(owner)
    public_client.force_login(owner)

    for url in _urls(tenant, member):
        response = public_client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/"), url
    assert public_client.get("/admin/login/").status_code == 403
    posted = public_client.post(
        "/admin/tenants/tenant/",
        {"action": "suspend_selected", "_selected_action": [tenant.pk], "apply": "1", "reason": "x"},
    )
    assert posted.status_code == 302
    assert Tenant.objects.get(pk=tenant.pk).status == "active"


def test_staff_without_two_factor_are_asked_to_set_it_up(
    public_client: HostClient, tenant: Tenant, member: User
) -> None:
    public_client.force_login(operator_create("nomfa@atrium.test", superuser=True, mfa=False))

    for url in _urls(tenant, member):
        assert public_client.get(url)["Location"].startswith("/admin/login/"), url
    page = public_client.get("/admin/login/?next=/admin/")

    assert page.status_code == 403
    assert "Turn on two-factor authentication first" in page.content.decode()
    assert "/accounts/2fa/totp/activate/" in page.content.decode()


def test_signing_in_to_the_admin_asks_for_the_second_factor(public_client: HostClient) -> None:

    operator = operator_create("ops@atrium.test", superuser=True, mfa=False)

    secret = mfa_enable(operator)

    EmailAddress.objects.create(user=operator, email=operator.email, primary=True, verified=True)

    sent = public_client.get("/admin/")
    password = public_client.post(
        "/login/?next=/admin/", {"login": operator.email, "password": "operator-password-123"}
    )
    before_code = public_client.get("/admin/")
    code = public_client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    after = public_client.get("/admin/")

    assert sent["Location"].startswith("/admin/login/")
    assert password["Location"] == "/accounts/2fa/authenticate/"
    assert before_code.status_code == 302
    assert code.status_code == 302
    assert after.status_code == 200


@pytest.mark.parametrize(
    "action",
    [
        "suspend_selected",
        "resume_selected",
        "extend_trial",
        "change_plan",
        "export_selected",
        "schedule_deletion_selected",
        "restore_selected",
        "rename_subdomain",
        "add_domain",
    ],
)
def test_view_only_operators_change_nothing(
    public_client: HostClient, tenant: Tenant, action: str, in_tenant: Any
) -> None:
    public_client.force_login(operator_create("viewer@atrium.test", "tenants.view_tenant", "accounts.view_user"))
    data = {
        "apply": "1",
        "reason": "No rights",
        "days": "5",
        "plan": "business",
        "interval": "month",
        "new_slug": "hijacked",
        "domain": "hijack.example.com",
    }

    listing = public_client.get("/admin/tenants/tenant/")
    detail = public_client.get(f"/admin/tenants/tenant/{tenant.pk}/change/")
    public_client.post("/admin/tenants/tenant/", {"action": action, "_selected_action": [tenant.pk], **data})

    assert f'value="{action}"' not in listing.content.decode()
    assert "can view this workspace but change nothing" in detail.content.decode()
    assert Tenant.objects.get(pk=tenant.pk).status == "active"
    assert not OperatorLogEntry.objects.exists()
    with in_tenant(tenant):
        assert not AuditEntry.objects.exclude(action="tenant.created").exists()


def test_view_only_operators_cannot_refresh_export_or_impersonate(
    public_client: HostClient, tenant: Tenant, member: User
) -> None:
    public_client.force_login(operator_create("viewer@atrium.test", "tenants.view_tenant"))

    refresh = public_client.post("/admin/workspaces/metrics/refresh/")
    download = public_client.get("/admin/workspaces/exports/acme-20260101T000000Z.tar.gz/")
    begin = public_client.post(f"/admin/workspaces/{tenant.pk}/impersonate/{member.pk}/", {"reason": "Curious"})
    dashboard = public_client.get("/admin/")

    assert refresh.status_code == download.status_code == begin.status_code == 403
    assert "Refresh metrics now" not in dashboard.content.decode()


def test_every_operator_action_names_the_operator_and_the_reason_in_both_logs(
    public_client: HostClient, tenant: Tenant, owner: User, in_tenant: Any, settings: Any, tmp_path: Any
) -> None:
    settings.TENANT_EXPORT_DIR = str(tmp_path)
    operator = operator_create("ops@atrium.test", superuser=True)
    public_client.force_login(operator)
    for n, action in enumerate(
        ["suspend_selected", "resume_selected", "export_selected", "schedule_deletion_selected", "restore_selected"]
    ):
        public_client.post(
            "/admin/tenants/tenant/",
            {"action": action, "_selected_action": [tenant.pk], "apply": "1", "reason": f"reason {n}"},
        )
    public_client.post(
        "/admin/accounts/user/",
        {"action": "sign_out_selected", "_selected_action": [owner.pk], "apply": "1", "reason": "reason 5"},
    )

    log = list(OperatorLogEntry.objects.order_by("created_at", "id"))
    with in_tenant(tenant):
        audited = {(e.actor_id, e.metadata.get("reason")) for e in AuditEntry.objects.filter(metadata__operator=True)}
    assert [e.reason for e in log] == [f"reason {n}" for n in range(6)]
    assert all(e.operator_id == operator.pk and e.operator_label == "ops@atrium.test" for e in log)
    assert all(e.tenant_id == tenant.pk for e in log[:5])
    assert log[5].target_user_id == owner.pk
    assert audited == {(operator.pk, f"reason {n}") for n in range(6)}


def test_the_log_and_impersonations_are_read_only(public_client: HostClient, tenant: Tenant, owner: User) -> None:

    operator = operator_create("ops@atrium.test", superuser=True)
    public_client.force_login(operator)
    entry = operator_log_record(operator=operator, action=OperatorAction.WORKSPACE_SUSPENDED, reason="r", tenant=tenant)

    assert public_client.get(f"/admin/workspaces/operatorlogentry/{entry.pk}/delete/").status_code == 403
    assert public_client.get("/admin/workspaces/operatorlogentry/add/").status_code == 403
    with pytest.raises(AppendOnly):
        OperatorLogEntry.objects.filter(pk=entry.pk).update(reason="rewritten")
    with pytest.raises(AppendOnly):
        entry.delete()


def test_an_operators_entries_outlive_their_account(tenant: Tenant) -> None:

    operator = operator_create("leaver@atrium.test", superuser=True)
    workspace_suspend(tenant=tenant, acting_user=operator, reason="Before leaving")

    with tenant_context(tenant):  # the account's audit entries live in the workspace's schema
        User.objects.filter(pk=operator.pk).delete()

    entry = OperatorLogEntry.objects.get()
    assert entry.operator_id is None
    assert (entry.operator_label, entry.reason) == ("leaver@atrium.test", "Before leaving")


def test_no_admin_list_answers_a_nul_in_its_query_with_a_500(public_client: HostClient) -> None:

    public_client.force_login(operator_create("ops@atrium.test", superuser=True))

    for model in admin.site._registry:
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        for query in ({"q": "a\x00b"}, {"q\x00": "x"}, {"o": "1\x00"}):
            assert public_client.get(url, query).status_code in (200, 302), (url, query)

from __future__ import annotations

from django.test import Client

from shared_apps.accounts.models import User
from shared_apps.workspaces.services import workspace_resume, workspace_schedule_deletion, workspace_suspend
from tenant_apps.audit.models import AuditEntry
from tenants.models import Tenant, TenantStatus


def test_a_suspended_tenant_shows_the_suspension_page(tenant: Tenant, tenant_client: Client, owner: User) -> None:
    tenant_client.force_login(owner)
    tenant_client.get("/")  # warm the routing cache: suspension must invalidate it

    workspace_suspend(tenant=tenant, acting_user=None, reason="abuse report")

    response = tenant_client.get("/")
    assert response.status_code == 403
    assert b"suspended" in response.content


def test_resuming_lets_members_back_in(tenant: Tenant, tenant_client: Client, owner: User) -> None:
    tenant_client.force_login(owner)
    workspace_suspend(tenant=tenant, acting_user=None)

    workspace_resume(tenant=tenant, acting_user=None)

    assert tenant_client.get("/").status_code == 200


def test_scheduled_deletion_answers_410(tenant: Tenant, tenant_client: Client) -> None:
    tenant.status = TenantStatus.SCHEDULED_DELETION
    tenant.save()

    response = tenant_client.get("/")

    assert response.status_code == 410
    assert b"scheduled for deletion" in response.content


def test_suspending_one_tenant_leaves_the_other_alone(
    tenant: Tenant, other_tenant_client: Client, outsider: User
) -> None:
    other_tenant_client.force_login(outsider)

    workspace_suspend(tenant=tenant, acting_user=None)

    assert other_tenant_client.get("/").status_code == 200


def test_a_member_of_a_suspended_tenant_can_still_sign_out(tenant: Tenant, tenant_client: Client, owner: User) -> None:
    tenant_client.force_login(owner)
    workspace_suspend(tenant=tenant, acting_user=None)

    response = tenant_client.post("/logout/")

    assert response.status_code == 302
    assert "_auth_user_id" not in tenant_client.session


def test_an_owner_restores_a_workspace_scheduled_for_deletion(
    tenant: Tenant, tenant_client: Client, owner: User, in_tenant
) -> None:

    workspace_schedule_deletion(tenant=tenant, acting_user=owner)
    tenant_client.force_login(owner)
    page = tenant_client.get("/")
    assert page.status_code == 410
    assert b'action="/restore/"' in page.content

    response = tenant_client.post("/restore/")

    assert response.status_code == 302
    tenant.refresh_from_db()
    assert tenant.status == TenantStatus.ACTIVE
    assert tenant_client.get("/").status_code == 200
    with in_tenant(tenant):
        assert AuditEntry.objects.filter(action="tenant.restored", actor=owner).exists()


def test_a_member_cannot_restore_and_nothing_changes(tenant: Tenant, tenant_client: Client, member: User) -> None:

    workspace_schedule_deletion(tenant=tenant, acting_user=None)
    tenant_client.force_login(member)
    assert b'action="/restore/"' not in tenant_client.get("/").content

    response = tenant_client.post("/restore/")

    assert response.status_code == 403
    tenant.refresh_from_db()
    assert tenant.status == TenantStatus.SCHEDULED_DELETION


def test_a_signed_out_owner_can_reach_the_sign_in_page_of_a_workspace_pending_deletion(
    tenant: Tenant, tenant_client: Client
) -> None:

    workspace_schedule_deletion(tenant=tenant, acting_user=None)

    assert tenant_client.get("/").status_code == 410
    assert tenant_client.get("/login/").status_code == 200


# --- what each state leaves open -------------------------------------------------------------------------------------

ACCOUNT_PAGES = [
    "/accounts/email/",
    "/accounts/password/change/",
    "/accounts/2fa/",
    "/accounts/sessions/",
    "/settings/",
]
SIGN_IN_PAGES = ["/login/", "/accounts/login/", "/accounts/password/reset/"]


def test_a_workspace_pending_deletion_keeps_only_sign_in_and_restore_open(
    tenant: Tenant, tenant_client: Client, owner: User
) -> None:

    workspace_schedule_deletion(tenant=tenant, acting_user=owner)
    tenant_client.force_login(owner)

    for path in ACCOUNT_PAGES:
        assert tenant_client.get(path).status_code == 410, path
    assert tenant_client.post("/accounts/password/change/", {"oldpassword": "x", "password1": "y"}).status_code == 410
    anonymous = Client(HTTP_HOST=tenant_client.defaults["HTTP_HOST"])
    for path in SIGN_IN_PAGES:
        assert anonymous.get(path).status_code == 200, path
    assert tenant_client.get("/auth/start/").status_code == 302


def test_a_suspended_workspace_keeps_only_signing_out_open(tenant: Tenant, tenant_client: Client, owner: User) -> None:
    tenant_client.force_login(owner)
    workspace_suspend(tenant=tenant, acting_user=None)

    for path in [*ACCOUNT_PAGES, *SIGN_IN_PAGES, "/restore/"]:
        assert tenant_client.get(path).status_code == 403, path
    assert tenant_client.post("/logout/").status_code == 302


def test_the_pages_that_refuse_still_get_their_scripts_strings(tenant: Tenant, tenant_client: Client) -> None:
    """The suspension and deletion pages load the translation catalogue of their scripts like every page: it says
    nothing of the workspace, and refused it would be an error in the browser's console."""
    for status in (TenantStatus.SUSPENDED, TenantStatus.SCHEDULED_DELETION):
        tenant.status = status
        tenant.save()

        response = tenant_client.get("/i18n/js/?l=de", HTTP_ACCEPT_LANGUAGE="de")

        assert response.status_code == 200, status
        assert response["Content-Type"].startswith("text/javascript"), status
        assert tenant_client.get("/").status_code in (403, 410), status

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from shared_apps.accounts.models import User
from shared_apps.accounts.permissions import NotAllowed
from shared_apps.workspaces.services import workspace_schedule_deletion, workspace_suspend
from tenant_apps.audit.models import AuditEntry
from tenants.models import Domain, Tenant
from tests.factories import MembershipFactory
from tests.helpers import operator_create, user_change_form


@pytest.fixture
def operator(db: None) -> User:
    return operator_create("ops@atrium.test", superuser=True)


@pytest.fixture
def admin_client(public_client: Client, operator: User) -> Client:
    public_client.force_login(operator)
    return public_client


@pytest.mark.parametrize(
    "path",
    ["/admin/", "/admin/tenants/tenant/", "/admin/accounts/user/", "/admin/accounts/membership/"],
)
def test_operators_use_the_admin_on_the_root_domain(admin_client: Client, tenant: Tenant, path: str) -> None:
    assert admin_client.get(path).status_code == 200


def test_the_tenant_list_shows_hosts_statuses_and_member_counts(admin_client: Client, tenant: Tenant) -> None:
    MembershipFactory.create_batch(3, tenant=tenant)

    content = admin_client.get("/admin/tenants/tenant/").content.decode()

    assert "acme.localhost" in content
    assert "globex.localhost" in content
    assert "Atrium (platform)" not in content  # the public tenant is not a workspace


def test_tenant_change_page_inlines_its_domains(admin_client: Client, tenant: Tenant) -> None:
    content = admin_client.get(f"/admin/tenants/tenant/{tenant.pk}/change/").content.decode()

    assert "acme.localhost" in content


def test_admin_lists_do_not_grow_queries_with_rows(admin_client: Client, tenant: Tenant, other_tenant: Tenant) -> None:
    MembershipFactory.create_batch(2, tenant=tenant)
    for path in ("/admin/tenants/tenant/", "/admin/accounts/user/", "/admin/accounts/membership/"):
        with CaptureQueriesContext(connection) as few:
            admin_client.get(path)
        MembershipFactory.create_batch(5, tenant=other_tenant)
        with CaptureQueriesContext(connection) as many:
            admin_client.get(path)
        assert len(many) == len(few), path


def test_members_who_are_not_staff_cannot_use_the_admin(public_client: Client, owner: User) -> None:
    public_client.force_login(owner)

    response = public_client.get("/admin/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_tenant_hosts_have_no_admin(tenant_client: Client, operator: User, tenant: Tenant) -> None:
    MembershipFactory.create(tenant=tenant, user=operator)
    tenant_client.force_login(operator)

    assert tenant_client.get("/admin/").status_code == 404


# --- operators' rights: every action declares a permission, and the services check it again --------------------------


def _staff(email: str, *codenames: str) -> User:
    return operator_create(email, *(f"tenants.{c}" for c in codenames))


def _act(client: Client, tenant: Tenant, action: str, **data: str) -> Any:
    payload = {"action": action, "_selected_action": [str(tenant.pk)], **data}
    return client.post("/admin/tenants/tenant/", payload, follow=True)


def _status(tenant: Tenant) -> str:
    return Tenant.objects.get(pk=tenant.pk).status


@pytest.mark.parametrize(
    "action", ["suspend_selected", "resume_selected", "schedule_deletion_selected", "restore_selected"]
)
def test_view_only_staff_see_workspaces_but_run_no_action(
    public_client: Client, tenant: Tenant, action: str, in_tenant: Any
) -> None:
    viewer = _staff("viewer@atrium.test", "view_tenant")
    public_client.force_login(viewer)

    listing = public_client.get("/admin/tenants/tenant/")
    response = _act(public_client, tenant, action, apply="1", reason="no")

    assert listing.status_code == 200
    assert action not in listing.content.decode()  # not offered…
    assert response.status_code == 200
    assert _status(tenant) == "active"  # …and not run when posted anyway
    with in_tenant(tenant):
        assert not AuditEntry.objects.exclude(action="tenant.created").exists()


def test_view_only_staff_cannot_change_a_workspace_through_its_page(public_client: Client, tenant: Tenant) -> None:
    public_client.force_login(_staff("viewer@atrium.test", "view_tenant"))

    page = public_client.get(f"/admin/tenants/tenant/{tenant.pk}/change/")
    post = public_client.post(f"/admin/tenants/tenant/{tenant.pk}/change/", {"name": "Hijacked"})

    assert page.status_code == 200
    assert post.status_code == 403
    assert Tenant.objects.get(pk=tenant.pk).name == "Acme Inc"


def test_staff_with_change_suspend_through_the_service_with_a_reason(
    public_client: Client, tenant: Tenant, in_tenant: Any
) -> None:
    changer = _staff("changer@atrium.test", "view_tenant", "change_tenant")
    public_client.force_login(changer)

    confirm = _act(public_client, tenant, "suspend_selected")
    done = _act(public_client, tenant, "suspend_selected", apply="1", reason="Unpaid invoices")

    assert "Suspend workspaces" in confirm.content.decode()  # asks first, changes nothing yet
    assert "Suspended 1 workspace." in done.content.decode()
    assert _status(tenant) == "suspended"
    with in_tenant(tenant):
        entry = AuditEntry.objects.get(action="tenant.suspended")
    assert entry.actor_id == changer.pk
    assert entry.metadata["reason"] == "Unpaid invoices"


def test_staff_with_change_cannot_schedule_deletion(public_client: Client, tenant: Tenant) -> None:
    public_client.force_login(_staff("changer@atrium.test", "view_tenant", "change_tenant"))

    _act(public_client, tenant, "schedule_deletion_selected", apply="1", reason="Asked by the owner")

    assert _status(tenant) == "active"


def test_superusers_schedule_deletion_and_restore(admin_client: Client, tenant: Tenant) -> None:
    _act(admin_client, tenant, "schedule_deletion_selected", apply="1", reason="Asked by the owner")
    assert _status(tenant) == "scheduled_deletion"

    _act(admin_client, tenant, "restore_selected", apply="1", reason="Owner changed their mind")
    assert _status(tenant) == "active"


def test_rename_subdomain_from_the_admin_validates_and_audits(
    admin_client: Client, tenant: Tenant, in_tenant: Any
) -> None:
    refused = _act(admin_client, tenant, "rename_subdomain", apply="1", new_slug="www")
    renamed = _act(admin_client, tenant, "rename_subdomain", apply="1", new_slug="acme-two")

    assert "is reserved" in refused.content.decode()
    assert "Renamed the subdomain of 1 workspace." in renamed.content.decode()
    assert Domain.objects.get(tenant=tenant, is_primary=True).domain == "acme-two.localhost"
    with in_tenant(tenant):
        assert AuditEntry.objects.filter(action="tenant.subdomain_renamed").count() == 1


def test_domains_and_members_are_read_only_in_the_admin(admin_client: Client, tenant: Tenant, owner: User) -> None:
    change_page = admin_client.get(f"/admin/tenants/tenant/{tenant.pk}/change/").content.decode()
    membership_page = admin_client.get("/admin/accounts/membership/add/")

    assert 'name="domains-0-domain"' not in change_page
    assert 'name="memberships-0-role"' not in change_page
    assert membership_page.status_code == 403


def test_the_services_refuse_staff_without_the_permission(tenant: Tenant) -> None:

    viewer = _staff("viewer@atrium.test", "view_tenant")

    with pytest.raises(NotAllowed):
        workspace_suspend(tenant=tenant, acting_user=viewer)
    with pytest.raises(NotAllowed):
        workspace_schedule_deletion(tenant=tenant, acting_user=viewer)
    assert _status(tenant) == "active"


def test_one_primary_domain_per_tenant_is_a_database_rule(tenant: Tenant) -> None:

    # Domain.save() demotes the other primaries itself; a bulk update (which skips save) meets the constraint.
    second = Domain.objects.create(domain="second.localhost", tenant=tenant, is_primary=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        Domain.objects.filter(pk=second.pk).update(is_primary=True)


# --- platform rights: superusers give them, nobody gives them to themselves -------------------------------------------


def _staff_with_user_rights() -> User:
    return operator_create("helpdesk@atrium.test", "accounts.view_user", "accounts.change_user")


def test_staff_cannot_make_themselves_superuser(public_client: Client) -> None:
    staff = _staff_with_user_rights()
    public_client.force_login(staff)

    public_client.post(f"/admin/accounts/user/{staff.pk}/change/", user_change_form(staff, is_superuser="on"))

    staff.refresh_from_db()
    assert not staff.is_superuser
    assert not staff.user_permissions.filter(codename="delete_user").exists()


def test_staff_cannot_promote_someone_else(public_client: Client, owner: User) -> None:
    public_client.force_login(_staff_with_user_rights())

    response = public_client.post(
        f"/admin/accounts/user/{owner.pk}/change/",
        user_change_form(owner, name="Renamed", is_staff="on", is_superuser="on"),
    )

    owner.refresh_from_db()
    assert response.status_code == 302  # the rest of the form is saved…
    assert owner.name == "Renamed"
    assert not owner.is_staff  # …the platform rights are not
    assert not owner.is_superuser


def test_staff_cannot_edit_a_superuser(public_client: Client, operator: User) -> None:
    public_client.force_login(_staff_with_user_rights())

    page = public_client.post(
        f"/admin/accounts/user/{operator.pk}/change/", user_change_form(operator, email="x@evil.test")
    )
    password = public_client.get(f"/admin/accounts/user/{operator.pk}/password/")

    operator.refresh_from_db()
    assert page.status_code == 403
    assert (
        password.status_code == 404
    )  # no operator sets passwords (tests/workspaces/test_account_credentials_admin.py)
    assert operator.email == "ops@atrium.test"


def test_superusers_grant_staff_but_not_to_themselves(admin_client: Client, operator: User, owner: User) -> None:
    admin_client.post(f"/admin/accounts/user/{owner.pk}/change/", user_change_form(owner, is_staff="on"))
    admin_client.post(f"/admin/accounts/user/{operator.pk}/change/", user_change_form(operator, is_staff=None))

    owner.refresh_from_db()
    operator.refresh_from_db()
    assert owner.is_staff
    assert operator.is_staff  # not removable by themselves either: no lock-out by a stray click

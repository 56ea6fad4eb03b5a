"""Hostile input gets a clear refusal, never a 500 and never a half-done change."""

from __future__ import annotations

from typing import Any

import pytest

from shared_apps.accounts.errors import AccountError
from shared_apps.accounts.models import User
from shared_apps.accounts.services import user_profile_update
from shared_apps.workspaces.services import workspace_create
from tenants.errors import TenantNameInvalid
from tenants.models import Domain, Tenant

CONTROL_NAMES = ["Acme\r\nBcc: everyone@example.com", "Acme\x00", "Tab\there", "Line\u2028break", "Esc\x1b[31m"]


@pytest.mark.usefixtures("tenant")
@pytest.mark.parametrize("name", CONTROL_NAMES)
def test_workspace_names_with_control_characters_are_refused_and_nothing_is_made(name: str) -> None:
    before = Tenant.objects.count()

    with pytest.raises(TenantNameInvalid, match="control characters"):
        workspace_create(slug="ctrl-chars", name=name, owner_email="ctrl@chars.test")

    assert Tenant.objects.count() == before
    assert not Domain.objects.filter(domain="ctrl-chars.localhost").exists()
    assert not User.objects.filter(email="ctrl@chars.test").exists()


@pytest.mark.parametrize("name", CONTROL_NAMES)
def test_profile_names_with_control_characters_are_refused(owner: User, name: str) -> None:
    before = owner.name

    with pytest.raises(AccountError, match="control characters"):
        user_profile_update(user=owner, name=name)

    owner.refresh_from_db()
    assert owner.name == before


# --- workspaces per account ----------------------------------------------------------------------------------------


def test_an_account_owns_at_most_the_configured_number_of_workspaces(owner: User, settings: Any) -> None:
    from shared_apps.workspaces.services import WorkspaceLimitReached

    settings.WORKSPACES_PER_OWNER_MAX = 2  # owner already owns acme
    workspace_create(slug="second-one", name="Second", owner_email=owner.email, acting_user=owner)
    before = Tenant.objects.count()

    with pytest.raises(WorkspaceLimitReached, match="You already own 2 workspaces"):
        workspace_create(slug="third-one", name="Third", owner_email=owner.email, acting_user=owner)

    assert Tenant.objects.count() == before
    assert not Domain.objects.filter(domain="third-one.localhost").exists()


def test_operators_and_the_command_line_are_not_capped(owner: User, settings: Any) -> None:
    settings.WORKSPACES_PER_OWNER_MAX = 1
    operator = User.objects.create_superuser(email="ops@atrium.test", password="operator-password-123")

    workspace_create(slug="by-cli", name="By CLI", owner_email=owner.email, acting_user=None)
    workspace_create(slug="by-operator", name="By operator", owner_email=owner.email, acting_user=operator)

    assert Domain.objects.filter(domain__in=["by-cli.localhost", "by-operator.localhost"]).count() == 2

"""Hostile input gets a clear refusal, never a 500 and never a half-done change."""

from __future__ import annotations

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

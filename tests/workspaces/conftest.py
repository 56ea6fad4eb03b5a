"""Operators for the admin tests: a help-desk account holding what routine support needs (view and change accounts)."""

from __future__ import annotations

import pytest

from shared_apps.accounts.models import User
from tests.conftest import HostClient
from tests.helpers import operator_create


@pytest.fixture
def helpdesk(db: None) -> User:
    return operator_create("helpdesk@atrium.test", "accounts.view_user", "accounts.change_user")


@pytest.fixture
def desk(public_client: HostClient, helpdesk: User) -> HostClient:
    public_client.force_login(helpdesk)
    return public_client

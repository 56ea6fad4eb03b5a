"""The account a workspace's owner (or an imported member) gets: found by its address whatever the case, or made with
its primary address, in the statements the signup's budget allows."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.test.utils import CaptureQueriesContext

from shared_apps.accounts.errors import AccountError
from shared_apps.accounts.models import User
from shared_apps.accounts.selectors import user_get_by_email
from shared_apps.accounts.services import user_get_or_create
from tenants.db import connection
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_an_existing_account_is_found_whatever_the_case_of_the_address() -> None:
    existing = UserFactory.create(email="ada@example.test")
    addresses = EmailAddress.objects.count()

    with CaptureQueriesContext(connection) as ctx:
        user, created = user_get_or_create(email="  Ada@Example.TEST ")

    assert (user.pk, created) == (existing.pk, False)
    assert len(ctx.captured_queries) == 1
    assert "lower(" in ctx.captured_queries[0]["sql"].lower()
    assert EmailAddress.objects.count() == addresses  # nothing written for an account that exists


def test_a_new_account_gets_its_primary_address_in_one_statement() -> None:
    with CaptureQueriesContext(connection) as ctx:
        user, created = user_get_or_create(email="Grace@Example.test", name="Grace", email_verified=False)

    assert created
    assert len(ctx.captured_queries) == 1
    stored = User.objects.get(pk=user.pk)
    assert (stored.email, stored.name) == ("grace@example.test", "Grace")
    assert (stored.is_active, stored.is_staff) == (True, False)
    assert not stored.has_usable_password()
    assert stored.date_joined is not None
    assert (user.email, user.date_joined, user._state.adding) == (stored.email, stored.date_joined, False)
    address = EmailAddress.objects.get(user=stored)
    assert (address.email, address.primary, address.verified) == ("grace@example.test", True, False)


def test_a_password_is_checked_and_hashed_for_a_new_account_only() -> None:
    with pytest.raises(AccountError):
        user_get_or_create(email="weak@example.test", password="123")
    assert user_get_by_email(email="weak@example.test") is None

    user, created = user_get_or_create(email="strong@example.test", password="a long enough passphrase 42")
    assert created
    assert User.objects.get(pk=user.pk).check_password("a long enough passphrase 42")
    assert EmailAddress.objects.get(user=user).primary

    again, created_again = user_get_or_create(email="STRONG@example.test", password="123")  # not a new account
    assert (again.pk, created_again) == (user.pk, False)


def test_an_address_is_looked_up_through_the_unique_index_on_lower_email() -> None:
    UserFactory.create_batch(3)
    with CaptureQueriesContext(connection) as ctx:
        user_get_by_email(email="Someone@Example.test")
    (query,) = ctx.captured_queries

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a table this small would be read whole either way
        cursor.execute("EXPLAIN " + query["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "accounts_user_email_ci_unique" in plan, plan

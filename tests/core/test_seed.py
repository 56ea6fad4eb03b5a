from __future__ import annotations

from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command

from shared_apps.accounts.models import Membership, User
from tenants.models import Domain


@pytest.mark.usefixtures("tenant")
def test_the_demo_seed_is_idempotent_and_prints_how_to_sign_in(settings) -> None:
    settings.DEBUG = True  # `make run`
    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=out)

    assert Domain.objects.filter(domain="demo.localhost").count() == 1
    demo = Domain.objects.get(domain="demo.localhost").tenant
    owner = User.objects.get(email="owner@demo.localhost")
    assert Membership.objects.get(tenant=demo, user=owner).role == "owner"
    operator = User.objects.get(email="operator@demo.localhost")
    assert operator.is_staff
    assert operator.is_superuser
    assert EmailAddress.objects.filter(user=operator, verified=True).exists()
    assert "Sign in as:   owner@demo.localhost / atrium-demo-password" in out.getvalue()
    assert "Operators:" in out.getvalue()


@pytest.mark.usefixtures("tenant")
def test_without_debug_the_published_demo_password_is_never_used(settings) -> None:
    """The compose stack runs production settings: its demo accounts get random passwords, printed once."""
    settings.DEBUG = False
    first, second = StringIO(), StringIO()

    call_command("seed_demo", stdout=first)
    call_command("seed_demo", stdout=second)

    owner = User.objects.get(email="owner@demo.localhost")
    operator = User.objects.get(email="operator@demo.localhost")
    assert not owner.check_password("atrium-demo-password")
    assert not operator.check_password("atrium-demo-password")
    assert "atrium-demo-password" not in first.getvalue() + second.getvalue()
    printed = first.getvalue().split("Sign in as:   owner@demo.localhost / ")[1].split()[0]
    assert owner.check_password(printed)
    assert "(existing account, password unchanged)" in second.getvalue()

from __future__ import annotations

from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command

from shared_apps.accounts.models import Membership, User
from tenants.models import Domain


@pytest.mark.usefixtures("tenant")
def test_the_demo_seed_is_idempotent_and_prints_how_to_sign_in() -> None:
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

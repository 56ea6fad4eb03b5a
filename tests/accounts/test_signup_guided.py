"""The guided start's sign-up: it asks the person's name (optional: given, it is the account's name from the start;
hostile input is refused and no account is made), and a plan chosen on the pricing page is carried through sign-up
to the new workspace's billing page, one click from checkout."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from shared_apps.accounts.models import User
from tests.conftest import HostClient, client_for
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_session_tenants")]


def test_the_sign_up_form_asks_the_name_and_the_account_keeps_it() -> None:
    client = HostClient("localhost")
    page = client.get("/accounts/signup/").content.decode()
    assert 'name="name"' in page
    assert 'autocomplete="name"' in page

    response = client.post(
        "/accounts/signup/",
        {"email": "ada@example.com", "password1": "a-strong-passphrase-42", "name": " Ada Lovelace "},
    )

    assert response.status_code == 302
    assert User.objects.get(email="ada@example.com").name == "Ada Lovelace"


@pytest.mark.parametrize(("name", "message"), [("Ada\nLovelace", "control characters"), ("x" * 5000, "at most 150")])
def test_a_hostile_name_is_refused_and_no_account_is_made(name: str, message: str) -> None:
    response = HostClient("localhost").post(
        "/accounts/signup/", {"email": "eve@example.com", "password1": "a-strong-passphrase-42", "name": name}
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.filter(email="eve@example.com").exists()


def test_the_pricing_pages_paid_plans_carry_their_plan_into_sign_up() -> None:
    page = HostClient("localhost").get("/pricing/").content.decode()
    assert 'href="/signup/?plan=pro"' in page
    assert 'href="/signup/"' in page  # the free plan needs no checkout


def test_the_chosen_plan_goes_from_sign_up_to_the_new_workspaces_billing_page() -> None:
    user = UserFactory.create(email="carla@example.com")
    client = HostClient("localhost")
    client.force_login(user)

    assert client.get("/signup/?plan=pro").status_code == 302
    assert client.get("/signup/?plan=nonsense").status_code == 302  # ignored: the earlier choice stays
    response = client.post("/signup/workspace/", {"name": "Carla's Cakes", "subdomain": "carlas-cakes"})

    assert response.status_code == 302
    next_path = parse_qs(urlsplit(response["Location"]).query)["next"][0]
    assert next_path == "/settings/billing/?plan=pro"
    assert "signup_plan" not in client.session  # used once


def test_the_billing_page_offers_the_chosen_plans_checkout_only_for_a_paid_plan(tenant, owner) -> None:
    client = client_for(tenant)
    client.force_login(owner)

    offered = client.get("/settings/billing/?plan=business").content.decode()
    assert "Continue to checkout for Business" in offered
    assert 'name="plan" value="business"' in offered
    for other in ("free", "nonsense", "x" * 5000, "pro\x00"):
        assert "Continue to checkout" not in client.get("/settings/billing/", {"plan": other}).content.decode()

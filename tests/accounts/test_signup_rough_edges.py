"""Sign-up's rough edges: a branded 429 that says when to retry and offers a way forward, "Resend code" with a
server-enforced cooldown and "Wrong email? Change it" on the code page, a refused subdomain keeping its suggestions
and the focus, and a password error said once."""

from __future__ import annotations

import re
from typing import Any

import pytest
from allauth.account import app_settings
from django.core import mail
from django.test import override_settings

from tenants.models import Tenant
from tests.conftest import HostClient
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _signup(client: HostClient, email: str) -> Any:
    return client.post("/accounts/signup/", {"email": email, "password1": "a-strong-passphrase-42"})


@pytest.mark.usefixtures("_session_tenants")
def test_signing_up_again_within_the_code_cooldown_gets_the_branded_429_with_when_and_a_way_forward() -> None:
    first = HostClient("localhost")
    assert _signup(first, "again@example.com").status_code == 302

    response = _signup(HostClient("localhost"), "again@example.com")  # "Cancel", then sign up again at once

    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many attempts" in page
    assert re.search(r"try again <strong>in [23] minutes</strong>", page), page
    assert 'href="http://localhost/login/"' in page  # a way forward that needs no waiting
    assert 170 <= int(response["Retry-After"]) <= 180


def test_the_workspace_creation_limit_answers_with_the_same_page(public_client: HostClient) -> None:
    public_client.force_login(UserFactory.create())
    with override_settings(
        ACCOUNT_RATE_LIMITS={"workspace_create": "1/10m/user"},
    ):
        assert app_settings.RATE_LIMITS["workspace_create"] == "1/10m/user"
        public_client.post("/signup/workspace/", {"name": "Limit One", "subdomain": "limit-one"})
        response = public_client.post("/signup/workspace/", {"name": "Limit Two", "subdomain": "limit-two"})
    assert response.status_code == 429
    assert "in 10 minutes" in response.content.decode()


@pytest.mark.usefixtures("_session_tenants")
def test_the_code_page_offers_resend_after_a_countdown_and_a_change_of_address() -> None:
    client = HostClient("localhost")
    response = _signup(client, "coder@example.com")
    page = client.get(response["Location"]).content.decode()

    button = re.search(r'<button[^>]*data-countdown="(\d+)"[^>]*>\s*Resend code\s*</button>', page)
    assert button, page
    assert 170 <= int(button.group(1)) <= 180  # the server's cooldown, for the countdown
    assert "Wrong email? Change it" in page
    assert "js/countdown.js" in page
    # a resend before the cooldown is over is refused by the server, and no email goes out
    sent = len(mail.outbox)
    refused = client.post("/accounts/confirm-email/", {"action": "resend"}, follow=True)
    assert len(mail.outbox) == sent
    assert "Too many" in refused.content.decode() or "too many" in refused.content.decode()


@pytest.mark.usefixtures("_session_tenants")
def test_wrong_email_can_be_changed_on_the_code_page() -> None:
    client = HostClient("localhost")
    _signup(client, "typo@exmaple.com")
    sent = len(mail.outbox)

    response = client.post("/accounts/confirm-email/", {"action": "change", "email": "right@example.com"})

    assert response.status_code in (200, 302)
    assert len(mail.outbox) == sent + 1
    assert mail.outbox[-1].to == ["right@example.com"]


@pytest.mark.usefixtures("_session_tenants")
def test_a_weak_password_error_is_said_once() -> None:
    response = HostClient("localhost").post("/accounts/signup/", {"email": "w@example.com", "password1": "short"})

    page = response.content.decode()
    assert page.count("too short") == 1
    assert page.count("at least 10 characters") == 1


def test_a_taken_subdomain_refused_by_the_server_keeps_its_suggestions_and_the_focus(
    public_client: HostClient, tenant: Tenant
) -> None:
    public_client.force_login(UserFactory.create())

    response = public_client.post("/signup/workspace/", {"name": "Acme Two", "subdomain": "acme"})

    page = response.content.decode()
    assert page.count("“acme” is taken") == 1  # next to the field, once
    assert 'data-value="acme-team"' in page  # the suggestions survive the refusal
    assert "onclick" not in page
    subdomain_input = re.search(r'<input[^>]*id="id_subdomain"[^>]*>', page, re.S)
    name_input = re.search(r'<input[^>]*id="id_name"[^>]*>', page, re.S)
    assert subdomain_input
    assert "autofocus" in subdomain_input.group(0)
    assert name_input
    assert "autofocus" not in name_input.group(0)
    assert 'pattern="[a-z0-9\\-]{3,40}"' in page

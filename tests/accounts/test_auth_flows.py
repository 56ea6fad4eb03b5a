"""Sign-up, login everywhere, handoff across subdomains, enumeration prevention, rate limits and MFA (docs/accounts.md,
"Signing up and signing in across subdomains")."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from allauth.usersessions.models import UserSession
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from shared_apps.accounts.models import LoginHandoff, Membership, Role, User
from shared_apps.accounts.sessions import SESSION_TENANT_KEY
from shared_apps.accounts.tasks import handoff_purge_expired
from tenant_apps.audit.models import AuditEntry
from tenants.models import Domain, Tenant
from tests.conftest import HostClient, client_for
from tests.factories import MembershipFactory, UserFactory
from tests.factories.accounts import PASSWORD
from tests.helpers import handoff_ticket


def handoff_path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def open_workspace(public_client: HostClient, slug: str, browser: HostClient) -> str:
    """The ticket URL the root answers with, for the workspace host's client `browser` (which now holds the cookie
    the ticket is bound to)."""
    return handoff_ticket(public_client, browser, slug=slug)


# --- login handoff ---------------------------------------------------------------------------------------------------


def test_the_root_hands_a_member_to_the_workspace_with_a_single_use_ticket(
    public_client: HostClient, tenant_client: HostClient, owner: User, in_tenant, tenant: Tenant
) -> None:
    public_client.force_login(owner)

    url = open_workspace(public_client, "acme", tenant_client)
    assert url.startswith("http://acme.localhost/auth/handoff/?token=")
    response = tenant_client.get(handoff_path(url))

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert tenant_client.session[SESSION_TENANT_KEY] == tenant.pk
    assert owner.email.encode() in tenant_client.get("/").content
    with in_tenant(tenant):
        assert AuditEntry.objects.filter(action="auth.handoff", actor=owner).count() == 1


def test_a_replayed_ticket_is_refused_and_starts_no_session(
    public_client: HostClient, tenant: Tenant, owner: User
) -> None:
    public_client.force_login(owner)
    browser = client_for(tenant)
    url = open_workspace(public_client, "acme", browser)
    browser.get(handoff_path(url))  # the legitimate first use

    response = browser.get(handoff_path(url))

    assert response.status_code == 403
    assert b"already used" in response.content


def test_an_expired_ticket_is_refused(
    public_client: HostClient, tenant_client: HostClient, owner: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    public_client.force_login(owner)
    url = open_workspace(public_client, "acme", tenant_client)
    later = time.time() + 31
    monkeypatch.setattr("django.core.signing.time.time", lambda: later)

    response = tenant_client.get(handoff_path(url))

    assert response.status_code == 403
    assert b"expired" in response.content
    assert "_auth_user_id" not in tenant_client.session


def test_a_tampered_ticket_is_refused(public_client: HostClient, tenant_client: HostClient, owner: User) -> None:
    public_client.force_login(owner)
    url = open_workspace(public_client, "acme", tenant_client)
    token = parse_qs(urlsplit(url).query)["token"][0]
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")

    response = tenant_client.get(f"/auth/handoff/?token={tampered}")

    assert response.status_code == 403
    assert b"not valid" in response.content
    assert "_auth_user_id" not in tenant_client.session


def test_a_ticket_for_one_workspace_is_refused_by_another(
    public_client: HostClient, other_tenant: Tenant, other_tenant_client: HostClient, owner: User, tenant: Tenant
) -> None:
    MembershipFactory.create(user=owner, tenant=other_tenant)
    public_client.force_login(owner)
    url = open_workspace(public_client, "acme", client_for(tenant))

    response = other_tenant_client.get(handoff_path(url))

    assert response.status_code == 403
    assert b"another workspace" in response.content
    assert "_auth_user_id" not in other_tenant_client.session
    assert LoginHandoff.objects.get().used_at is None  # still usable where it belongs


def test_a_ticket_url_sent_to_someone_else_signs_nobody_in(
    public_client: HostClient, tenant: Tenant, owner: User, member: User
) -> None:
    """Login CSRF: an attacker fetches their own ticket without following it and sends the URL to a victim, who
    already has a session of their own on the workspace. The victim is not signed in as the attacker, and keeps
    their own session."""
    attacker_root, attacker_browser = public_client, client_for(tenant)
    attacker_root.force_login(owner)
    ticket = open_workspace(attacker_root, "acme", attacker_browser)
    victim = client_for(tenant)
    victim.force_login(member)

    response = victim.get(handoff_path(ticket))

    assert response.status_code == 403
    assert b"different browser" in response.content
    assert int(victim.session["_auth_user_id"]) == member.pk
    assert attacker_browser.get(handoff_path(ticket)).status_code == 403  # spent: it cannot be replayed either


def test_a_ticket_bound_to_a_made_up_binding_is_refused(public_client: HostClient, owner: User) -> None:
    public_client.force_login(owner)

    response = public_client.get("/workspaces/acme/open/?binding=not-a-sha256")

    assert response.status_code == 404
    assert LoginHandoff.objects.count() == 0


def test_the_binding_cookie_is_host_only_http_only_and_scoped_to_the_handoff(tenant_client: HostClient) -> None:
    response = tenant_client.get("/auth/start/?next=/settings/")

    cookie = response.cookies["atrium_handoff"]
    assert response["Location"].startswith("http://localhost/workspaces/acme/open/?binding=")
    assert "next=%2Fsettings%2F" in response["Location"]
    assert cookie["httponly"]
    assert cookie["path"] == "/auth/"
    assert not cookie["domain"]
    assert cookie["samesite"] == "Lax"


def test_no_ticket_is_minted_for_a_workspace_the_user_is_not_in(public_client: HostClient, owner: User) -> None:
    public_client.force_login(owner)

    for slug in ("globex", "no-such-workspace"):
        response = public_client.get(f"/workspaces/{slug}/open/")
        assert response.status_code == 404
        assert b"not a member of that workspace" in response.content
    assert LoginHandoff.objects.count() == 0


def test_signing_in_on_the_root_goes_straight_to_the_only_workspace(public_client: HostClient, owner: User) -> None:
    response = public_client.post("/accounts/login/", {"login": owner.email, "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/workspaces/continue/"
    assert public_client.get("/workspaces/continue/")["Location"] == "/workspaces/acme/open/"


def test_a_user_without_a_workspace_is_offered_to_create_one(public_client: HostClient, db: None) -> None:
    public_client.force_login(UserFactory.create())

    assert public_client.get("/workspaces/continue/")["Location"] == "/signup/workspace/"


def test_a_user_with_several_workspaces_gets_the_list(
    public_client: HostClient, owner: User, other_tenant: Tenant
) -> None:
    MembershipFactory.create(user=owner, tenant=other_tenant)
    public_client.force_login(owner)

    assert public_client.get("/workspaces/continue/")["Location"] == "/workspaces/"


# --- sessions are bound to their host -----------------------------------------------------------------------------


def test_a_session_cookie_from_acme_is_refused_on_globex(
    tenant_client: HostClient, other_tenant_client: HostClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    both = MembershipFactory.create(tenant=tenant, role=Role.MEMBER).user
    MembershipFactory.create(tenant=other_tenant, user=both)
    tenant_client.force_login(both)
    stolen = tenant_client.cookies["sessionid"].value

    other_tenant_client.cookies["sessionid"] = stolen
    response = other_tenant_client.get("/")

    assert response.status_code == 302  # anonymous there: sent to globex's own sign-in
    assert response["Location"].startswith("/login/")
    assert tenant_client.get("/").status_code == 200  # the presented session is left alone, and still works on acme


def test_a_root_session_is_refused_on_a_workspace_host(
    public_client: HostClient, tenant_client: HostClient, owner: User
) -> None:
    public_client.force_login(owner)
    tenant_client.cookies["sessionid"] = public_client.cookies["sessionid"].value

    assert tenant_client.get("/").status_code == 302


def test_logging_out_on_a_workspace_ends_only_that_hosts_session(
    public_client: HostClient, tenant_client: HostClient, owner: User
) -> None:
    public_client.force_login(owner)
    tenant_client.force_login(owner)

    tenant_client.post("/logout/")

    assert tenant_client.get("/").status_code == 302
    assert public_client.get("/workspaces/").status_code == 200


def test_log_out_everywhere_ends_every_session_of_the_account(
    public_client: HostClient, tenant: Tenant, owner: User
) -> None:
    # given sessions made by real sign-ins on the root and on acme
    public_client.post("/accounts/login/", {"login": owner.email, "password": PASSWORD})
    acme = client_for(tenant)
    acme.post("/login/", {"login": owner.email, "password": PASSWORD})
    assert acme.get("/").status_code == 200

    # when
    response = public_client.post("/logout/everywhere/")

    # then
    assert response.status_code == 302
    assert acme.get("/").status_code == 302
    assert public_client.get("/workspaces/").status_code == 302


# --- sign-up ------------------------------------------------------------------------------------------------------


def _code_from(message: mail.EmailMessage) -> str:
    match = re.search(r"^\s*([A-Z0-9]{4}-?[A-Z0-9]{4}|[A-Z0-9]{6})\s*$", str(message.body), re.MULTILINE)
    assert match, message.body
    return match.group(1)


@pytest.mark.usefixtures("tenant")
def test_an_organization_signs_up_and_lands_on_its_subdomain_as_owner() -> None:
    root = HostClient("localhost")

    # step 1: email and password; the email is verified inline with a code
    response = root.post("/accounts/signup/", {"email": "founder@initech.test", "password1": "a-strong-passphrase-42"})
    assert response.status_code == 302
    assert "/accounts/confirm-email/" in response["Location"]
    assert len(mail.outbox) == 1
    response = root.post(response["Location"], {"code": _code_from(mail.outbox[0])})
    assert response.status_code == 302
    assert response["Location"] == "/signup/workspace/"

    # step 2: the workspace
    page = root.get("/signup/workspace/")
    assert b"Name your workspace" in page.content
    response = root.post("/signup/workspace/", {"name": "Initech", "subdomain": "initech"})
    assert response.status_code == 302
    assert response["Location"].startswith("http://initech.localhost/auth/start/")

    # the handoff signs the owner in on the new subdomain
    initech = HostClient("initech.localhost")
    ticket = handoff_ticket(root, initech, start_url=response["Location"])
    assert initech.get(handoff_path(ticket)).status_code == 302
    home = initech.get("/")
    assert home.status_code == 200
    assert b"Initech" in home.content
    assert b"founder@initech.test" in home.content
    tenant = Domain.objects.get(domain="initech.localhost").tenant
    assert Membership.objects.get(tenant=tenant).role == Role.OWNER


def test_a_taken_subdomain_is_explained_and_nothing_is_created(public_client: HostClient, db: None) -> None:
    public_client.force_login(UserFactory.create())
    before = Tenant.objects.count()

    response = public_client.post("/signup/workspace/", {"name": "Acme Two", "subdomain": "acme"})

    assert response.status_code == 200
    assert "“acme” is taken" in response.content.decode()
    assert b'value="Acme Two"' in response.content  # what was typed is kept
    assert Tenant.objects.count() == before


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("initech", "initech.localhost is available"),
        ("acme", "“acme” is taken"),
        ("www", "reserved"),
        ("a", "at least 3"),
    ],
)
def test_the_availability_check_answers_as_you_type(
    public_client: HostClient, tenant: Tenant, value: str, expected: str
) -> None:
    response = public_client.get("/signup/check/", {"subdomain": value}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert expected in response.content.decode()


def test_a_taken_subdomain_comes_with_free_suggestions(public_client: HostClient, tenant: Tenant) -> None:
    Domain.objects.create(tenant=tenant, domain="acme-team.localhost", is_primary=False)

    content = public_client.get("/signup/check/", {"subdomain": "acme"}).content.decode()

    assert "acme-hq" in content
    assert "acme-team" not in content


def test_workspaces_cannot_be_signed_up_for_on_a_workspace_host(tenant_client: HostClient) -> None:
    response = tenant_client.post("/accounts/signup/", {"email": "x@x.test", "password1": "a-strong-passphrase-42"})

    assert response.status_code == 200
    assert b"closed" in response.content.lower()
    assert not User.objects.filter(email="x@x.test").exists()


# --- enumeration prevention ---------------------------------------------------------------------------------------


def _shape(response) -> tuple[int, str]:
    return response.status_code, re.sub(r"key=[^&]+", "", response.get("Location", ""))


def test_signup_answers_the_same_for_known_and_unknown_addresses(public_client: HostClient, owner: User) -> None:
    known = public_client.post("/accounts/signup/", {"email": owner.email, "password1": "a-strong-passphrase-42"})
    known_mails = len(mail.outbox)
    unknown = HostClient("localhost").post(
        "/accounts/signup/", {"email": "nobody@nowhere.test", "password1": "a-strong-passphrase-42"}
    )

    assert _shape(known) == _shape(unknown)
    assert known_mails == 1
    assert len(mail.outbox) == 2


@pytest.mark.parametrize("host", ["localhost", "acme.localhost"])
def test_password_reset_answers_the_same_for_known_and_unknown_addresses(host: str, owner: User) -> None:
    known = HostClient(host).post("/accounts/password/reset/", {"email": owner.email})
    unknown = HostClient(host).post("/accounts/password/reset/", {"email": "nobody@nowhere.test"})

    assert _shape(known) == _shape(unknown)
    assert len(mail.outbox) == 2
    assert mail.outbox[0].to == [owner.email]


@pytest.mark.parametrize("host", ["localhost", "acme.localhost"])
def test_login_by_code_answers_the_same_for_known_and_unknown_addresses(host: str, owner: User) -> None:
    known = HostClient(host).post("/accounts/login/code/", {"email": owner.email})
    unknown = HostClient(host).post("/accounts/login/code/", {"email": "nobody@nowhere.test"})

    assert _shape(known) == _shape(unknown)
    assert len(mail.outbox) == 2


def test_login_by_code_works_on_a_workspace_page(tenant_client: HostClient, owner: User) -> None:
    response = tenant_client.post("/accounts/login/code/", {"email": owner.email})
    response = tenant_client.post(response["Location"], {"code": _code_from(mail.outbox[-1])})

    assert response.status_code == 302
    assert tenant_client.get("/").status_code == 200


# --- rate limits hold across hosts --------------------------------------------------------------------------------


@override_settings(ACCOUNT_RATE_LIMITS={"login_failed": "100/m/ip,3/5m/key"})
def test_failed_login_limits_count_across_subdomains(owner: User, other_tenant: Tenant) -> None:
    hosts = ["acme.localhost", "globex.localhost", "localhost"]
    for host in hosts:
        response = HostClient(host).post("/accounts/login/", {"login": owner.email, "password": "wrong"})
        assert response.status_code == 200

    # a fourth try, on yet another host, is refused even with the right password
    client = HostClient("acme.localhost")
    response = client.post("/accounts/login/", {"login": owner.email, "password": PASSWORD})

    assert b"Too many failed login attempts" in response.content
    assert "_auth_user_id" not in client.session


# --- MFA ----------------------------------------------------------------------------------------------------------


def test_once_enabled_mfa_is_required_at_login(tenant_client: HostClient, owner: User) -> None:

    secret = generate_totp_secret()
    TOTP.activate(owner, secret)

    response = tenant_client.post("/login/", {"login": owner.email, "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert tenant_client.get("/").status_code == 302  # not signed in yet
    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    response = tenant_client.post("/accounts/2fa/authenticate/", {"code": code})
    assert response.status_code == 302
    assert tenant_client.get("/").status_code == 200


def test_a_wrong_mfa_code_does_not_sign_in(tenant_client: HostClient, owner: User) -> None:

    TOTP.activate(owner, generate_totp_secret())
    tenant_client.post("/login/", {"login": owner.email, "password": PASSWORD})

    response = tenant_client.post("/accounts/2fa/authenticate/", {"code": "000000"})

    assert response.status_code == 200
    assert tenant_client.get("/").status_code == 302


def test_the_operators_admin_requires_a_full_login(public_client: HostClient, db: None) -> None:
    response = public_client.get("/admin/login/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_a_session_started_by_a_handoff_is_listed_and_ended_with_the_others(
    public_client: HostClient, tenant_client: HostClient, owner: User
) -> None:

    public_client.force_login(owner)
    tenant_client.get(handoff_path(open_workspace(public_client, "acme", tenant_client)))

    assert UserSession.objects.filter(user=owner, session_key=tenant_client.session.session_key).exists()
    public_client.post("/logout/everywhere/")
    assert tenant_client.get("/").status_code == 302


def test_spent_handoff_tickets_are_purged_by_the_beat_task(
    public_client: HostClient, owner: User, tenant: Tenant
) -> None:

    public_client.force_login(owner)
    open_workspace(public_client, "acme", client_for(tenant))
    open_workspace(public_client, "acme", client_for(tenant))
    LoginHandoff.objects.filter(pk=LoginHandoff.objects.order_by("pk").first().pk).update(  # type: ignore[union-attr]
        expires_at=timezone.now() - timedelta(hours=2)
    )

    assert handoff_purge_expired.delay().get() == 1
    assert LoginHandoff.objects.count() == 1

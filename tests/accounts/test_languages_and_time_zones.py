"""Languages and time zones: the visitor's browser and switcher, the person's own choice, the workspace's default, mail
in its reader's language, and times shown (and named) in the reader's zone."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.translation import gettext

from shared_apps.accounts.models import Role, User
from shared_apps.accounts.preferences import recipient_locale
from shared_apps.accounts.tasks import email_change_notify
from tenant_apps.audit.models import AuditEntry
from tenants.models import Tenant
from tests.conftest import HostClient
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def streamed(response: Any) -> str:
    return b"".join(response.streaming_content).decode()


# --- visitors ---


def test_a_visitor_gets_the_landing_page_in_the_browser_language(public_client: HostClient) -> None:
    german = public_client.get("/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.5")
    spanish = public_client.get("/", HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9")
    english = public_client.get("/", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")

    assert '<html lang="de">' in german.content.decode()
    assert "Workspace erstellen" in german.content.decode()
    assert '<html lang="es">' in spanish.content.decode()
    assert "Crea tu espacio de trabajo" in spanish.content.decode()
    assert '<html lang="en">' in english.content.decode()  # a language Atrium does not ship falls back to English
    assert "Create your workspace" in english.content.decode()


def test_the_footer_switcher_sets_a_language_cookie_that_outranks_the_browser(public_client: HostClient) -> None:
    page = public_client.get("/pricing/")
    assert 'action="/i18n/language/"' in page.content.decode()

    # no "next" in the form: back to the page it was sent from (the same-origin Referer)
    response = public_client.post(
        "/i18n/language/", {"language": "es"}, HTTP_REFERER=f"http://{settings.BASE_DOMAIN}/pricing/"
    )

    assert response.status_code == 302
    assert response["Location"] == f"http://{settings.BASE_DOMAIN}/pricing/"
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "es"
    again = public_client.get("/pricing/", HTTP_ACCEPT_LANGUAGE="de")
    assert '<html lang="es">' in again.content.decode()


def test_the_switcher_refuses_a_language_atrium_does_not_ship_and_another_site_as_next(
    public_client: HostClient,
) -> None:
    response = public_client.post("/i18n/language/", {"language": "xx\x00", "next": "https://evil.test/"})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


def test_the_script_catalogue_is_served_in_the_page_language(public_client: HostClient) -> None:
    response = public_client.get("/i18n/js/", HTTP_ACCEPT_LANGUAGE="de")

    assert response.status_code == 200
    assert "Einladungen senden" in response.content.decode()


# --- people and workspaces ---


def test_a_person_language_outranks_the_workspace_default_and_the_browser(
    tenant_client: HostClient, tenant: Tenant, owner: User
) -> None:
    Tenant.objects.filter(pk=tenant.pk).update(language="es")
    tenant_client.force_login(owner)

    workspace_default = tenant_client.get("/settings/profile/", HTTP_ACCEPT_LANGUAGE="en")
    User.objects.filter(pk=owner.pk).update(language="de")
    own_choice = tenant_client.get("/settings/profile/", HTTP_ACCEPT_LANGUAGE="es")

    assert '<html lang="es">' in workspace_default.content.decode()
    assert '<html lang="de">' in own_choice.content.decode()
    assert "Sprache und Zeitzone" in own_choice.content.decode()


def test_a_workspace_default_language_stays_in_its_workspace(
    tenant_client: HostClient,
    tenant: Tenant,
    owner: User,
    other_tenant_client: HostClient,
    other_tenant: Tenant,
    outsider: User,
    in_tenant: Any,
) -> None:
    tenant_client.force_login(owner)
    other_tenant_client.force_login(outsider)

    response = tenant_client.post("/settings/language/", {"language": "de"})

    assert response.status_code == 302
    assert Tenant.objects.get(pk=tenant.pk).language == "de"
    with in_tenant(tenant):
        assert AuditEntry.objects.filter(action="tenant.language_changed", metadata__to="de").count() == 1
    with in_tenant(other_tenant):
        assert not AuditEntry.objects.filter(action="tenant.language_changed").exists()
    assert Tenant.objects.get(pk=other_tenant.pk).language == ""
    mine = tenant_client.get("/settings/", HTTP_ACCEPT_LANGUAGE="en")
    theirs = other_tenant_client.get("/settings/", HTTP_ACCEPT_LANGUAGE="en")
    assert '<html lang="de">' in mine.content.decode()
    assert '<html lang="en">' in theirs.content.decode()


def test_a_member_cannot_change_the_workspace_language_and_nothing_changes(
    tenant_client: HostClient, tenant: Tenant, member: User
) -> None:
    tenant_client.force_login(member)

    response = tenant_client.post("/settings/language/", {"language": "es"})

    assert response.status_code == 403
    assert Tenant.objects.get(pk=tenant.pk).language == ""


@pytest.mark.parametrize("language", ["fr", "de\x00", "x" * 500])
def test_an_unknown_language_is_refused_and_nothing_changes(
    tenant_client: HostClient, tenant: Tenant, owner: User, language: str
) -> None:
    tenant_client.force_login(owner)

    workspace = tenant_client.post("/settings/language/", {"language": language})
    person = tenant_client.post("/settings/profile/preferences/", {"language": language, "time_zone": ""})

    assert workspace.status_code == 400
    assert person.status_code == 400
    assert Tenant.objects.get(pk=tenant.pk).language == ""
    assert User.objects.get(pk=owner.pk).language == ""


def test_a_person_saves_language_and_time_zone_on_the_profile(tenant_client: HostClient, owner: User) -> None:
    tenant_client.force_login(owner)

    response = tenant_client.post(
        "/settings/profile/preferences/", {"language": "es", "time_zone": "America/Mexico_City"}, follow=True
    )

    owner.refresh_from_db()
    assert (owner.language, owner.time_zone) == ("es", "America/Mexico_City")
    assert "Se guardaron tu idioma y tu zona horaria." in response.content.decode()


@pytest.mark.parametrize("zone", ["Mars/Olympus", "Europe/Berlin\x00", "../../etc/passwd", "E" * 5000])
def test_an_unknown_time_zone_is_refused_and_nothing_changes(tenant_client: HostClient, owner: User, zone: str) -> None:
    tenant_client.force_login(owner)

    saved = tenant_client.post("/settings/profile/preferences/", {"language": "", "time_zone": zone})
    detected = tenant_client.post("/i18n/time-zone/", {"time_zone": zone})

    assert saved.status_code == 400
    assert detected.status_code == 204
    assert User.objects.get(pk=owner.pk).time_zone == ""


# --- time zones ---


def test_the_browser_zone_is_kept_on_first_sign_in_and_never_overwrites_a_choice(
    tenant_client: HostClient, owner: User
) -> None:
    tenant_client.force_login(owner)
    page = tenant_client.get("/settings/profile/")
    assert "js/timezone.js" in page.content.decode()

    first = tenant_client.post("/i18n/time-zone/", {"time_zone": "Europe/Berlin"})
    second = tenant_client.post("/i18n/time-zone/", {"time_zone": "Asia/Tokyo"})

    assert (first.status_code, second.status_code) == (204, 204)
    assert User.objects.get(pk=owner.pk).time_zone == "Europe/Berlin"
    assert "js/timezone.js" not in tenant_client.get("/settings/profile/").content.decode()


def test_the_zone_endpoint_needs_a_person(public_client: HostClient) -> None:
    assert public_client.post("/i18n/time-zone/", {"time_zone": "Europe/Berlin"}).status_code == 401


def test_times_are_shown_in_the_person_zone_and_the_audit_export_names_it(
    tenant_client: HostClient, tenant: Tenant, owner: User, in_tenant: Any
) -> None:
    User.objects.filter(pk=owner.pk).update(time_zone="Asia/Kolkata", language="en")
    with in_tenant(tenant):
        AuditEntry.objects.create(action="member.joined", actor_label="owner@acme.test", target_label="x")
    tenant_client.force_login(owner)

    page = tenant_client.get("/settings/audit/").content.decode()
    rows = list(csv.reader(io.StringIO(streamed(tenant_client.get("/settings/audit/export.csv")))))

    assert "Time (Asia/Kolkata)" in page
    assert rows[0][0] == "time (Asia/Kolkata)"
    assert rows[1][0].endswith("+05:30")


def test_the_preferences_cost_no_query_of_their_own(tenant_client: HostClient, owner: User) -> None:
    tenant_client.force_login(owner)
    tenant_client.get("/settings/profile/")  # warm the route and the plan caches

    with CaptureQueriesContext(connection) as plain:
        tenant_client.get("/settings/profile/")
    User.objects.filter(pk=owner.pk).update(language="de", time_zone="Europe/Berlin")
    with CaptureQueriesContext(connection) as chosen:
        tenant_client.get("/settings/profile/")

    assert len(chosen) == len(plain)


# --- mail ---


def test_mail_is_written_in_its_reader_language(db: None) -> None:
    User.objects.create_user("leser@example.com", "x" * 12, language="de")

    email_change_notify(old="leser@example.com", new="neu@example.com")
    email_change_notify(old="nobody@example.com", new="new@example.com")

    german, english = mail.outbox
    assert german.subject == "Ihre E-Mail-Adresse bei Atrium wurde geändert"
    assert "Das Atrium-Team" in str(german.body)
    assert english.subject == "Your Atrium email address was changed"


def test_mail_to_someone_without_a_language_follows_the_workspace_default(tenant: Tenant) -> None:
    MembershipFactory.create(tenant=tenant, role=Role.OWNER, user__email="owner@acme.test")

    with recipient_locale(email="owner@acme.test", workspace_language="es"):
        assert gettext("Sign in") == "Iniciar sesión"
    with recipient_locale(email="owner@acme.test"):
        assert gettext("Sign in") == "Sign in"

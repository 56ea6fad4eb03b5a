"""Under `make run` (DEBUG on) a newcomer meets the branded error pages; the technical ones only when asked for."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import path

from shared_apps.accounts.models import User
from tenant_apps.projects.models import Visibility
from tenants.models import Tenant
from tests.factories import ProjectFactory

TECHNICAL_404 = "Using the URLconf defined in"
BRANDED_404 = "Page not found"


@pytest.fixture
def debug_on(settings: Any) -> Any:
    settings.DEBUG = True
    settings.TECHNICAL_ERROR_PAGES = False
    return settings


def test_a_mistyped_path_in_a_workspace_gets_the_branded_404(
    debug_on: Any, tenant_client: Client, member: User
) -> None:
    tenant_client.force_login(member)

    response = tenant_client.get("/no-such-page/")

    assert response.status_code == 404
    content = response.content.decode()
    assert BRANDED_404 in content
    assert TECHNICAL_404 not in content


def test_a_mistyped_path_on_the_root_gets_the_branded_404(debug_on: Any, public_client: Client) -> None:
    response = public_client.get("/no-such-page/")

    assert response.status_code == 404
    assert BRANDED_404 in response.content.decode()
    assert TECHNICAL_404 not in response.content.decode()


def test_a_private_project_opened_by_a_member_gets_the_branded_404(
    debug_on: Any, tenant: Tenant, tenant_client: Client, member: User, in_tenant: Any
) -> None:
    with in_tenant(tenant):
        project = ProjectFactory.create(visibility=Visibility.PRIVATE)
    tenant_client.force_login(member)

    response = tenant_client.get(f"/projects/{project.pk}/")

    assert response.status_code == 404
    content = response.content.decode()
    assert BRANDED_404 in content
    assert "Traceback" not in content
    assert "technical_404" not in content


def test_the_technical_404_when_asked_by_the_query_flag(debug_on: Any, tenant_client: Client, member: User) -> None:
    tenant_client.force_login(member)

    response = tenant_client.get("/no-such-page/?technical=1")

    assert response.status_code == 404
    assert TECHNICAL_404 in response.content.decode()


def test_the_technical_404_when_asked_by_the_setting(debug_on: Any, public_client: Client) -> None:
    debug_on.TECHNICAL_ERROR_PAGES = True

    response = public_client.get("/no-such-page/")

    assert TECHNICAL_404 in response.content.decode()


def test_the_query_flag_shows_nothing_technical_with_debug_off(settings: Any, public_client: Client) -> None:
    settings.DEBUG = False

    response = public_client.get("/no-such-page/?technical=1")

    assert response.status_code == 404
    assert TECHNICAL_404 not in response.content.decode()


def _broken_view(request: Any) -> Any:
    raise RuntimeError("a bug")


urlpatterns = [path("broken/", _broken_view)]


def test_an_uncaught_error_gets_the_branded_500(debug_on: Any, public_client: Client) -> None:
    debug_on.ROOT_URLCONF = __name__
    debug_on.PUBLIC_SCHEMA_URLCONF = __name__
    public_client.raise_request_exception = False

    response = public_client.get("/broken/")

    assert response.status_code == 500
    assert "Traceback" not in response.content.decode()
    assert "a bug" not in response.content.decode()


def test_an_uncaught_error_shows_the_traceback_when_asked(debug_on: Any, public_client: Client) -> None:
    debug_on.ROOT_URLCONF = __name__
    debug_on.PUBLIC_SCHEMA_URLCONF = __name__
    public_client.raise_request_exception = False

    response = public_client.get("/broken/?technical=1")

    assert response.status_code == 500
    assert "a bug" in response.content.decode()

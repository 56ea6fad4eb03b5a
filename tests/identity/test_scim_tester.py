"""scim2-tester (it checks a SCIM server against RFC 7643/7644) against the live server: `manage.py runserver` on the
test database serves a workspace with a SCIM token and a verified domain; every check it runs (discovery, create,
read, replace, patch add/replace/remove, delete, attribute selection, unknown addresses) must pass: no error, no
deviation from a MUST or SHOULD."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
from django.conf import settings
from django.utils import timezone
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from shared_apps.accounts.models import Membership, Role
from shared_apps.identity.models import VerifiedDomain
from shared_apps.identity.services.scim_tokens import scim_token_create
from shared_apps.workspaces.services import workspace_delete
from tenants.models import Tenant
from tests.conftest import _make_tenant
from tests.factories import UserFactory
from tests.helpers import committed_sql, in_own_connection, live_runserver

pytestmark = pytest.mark.django_db

PASSING = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE, Status.SKIPPED}


@dataclass
class LiveScim:
    base_url: str
    host: str
    secret: str


@pytest.fixture(scope="module")
def live_scim(
    _session_tenants: Any, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveScim]:
    run = uuid.uuid4().hex[:6]
    slug, email = f"scim-{run}", f"owner-{run}@scim-{run}.com"

    def setup() -> tuple[str, int]:
        tenant = _make_tenant(slug, "Scim Inc")
        owner = UserFactory.create(email=email)
        Membership.objects.create(user=owner, tenant=tenant, role=Role.OWNER)
        VerifiedDomain.objects.create(tenant=tenant, domain=f"scim-{run}.com", token="t", verified_at=timezone.now())
        return scim_token_create(tenant=tenant, name="scim2-tester", acting_user=owner)[1], tenant.pk

    with django_db_blocker.unblock():
        made = in_own_connection(setup)
    assert made, "seeding the workspace failed"
    secret, tenant_id = made
    try:
        with live_runserver(tmp_path_factory.mktemp("scim") / "server.log") as port:
            yield LiveScim(base_url=f"http://127.0.0.1:{port}", host=f"{slug}.{settings.BASE_DOMAIN}", secret=secret)
    finally:
        with django_db_blocker.unblock():
            in_own_connection(lambda: workspace_delete(tenant=Tenant.objects.get(pk=tenant_id), acting_user=None))
        committed_sql("DELETE FROM account_emailaddress WHERE email LIKE %s", [f"%@scim-{run}.com"])
        committed_sql("DELETE FROM accounts_user WHERE email LIKE %s", [f"%@scim-{run}.com"])


def test_scim2_tester_passes_against_the_live_server(live_scim: LiveScim) -> None:
    http = httpx2.Client(
        base_url=f"{live_scim.base_url}/scim/v2",
        headers={"Host": live_scim.host, "Authorization": f"Bearer {live_scim.secret}"},
        timeout=30,
    )
    client = SyncSCIMClient(http)
    results = check_server(client)
    failed = [f"{r.title} [{r.status.name}] {r.reason}" for r in results if r.status not in PASSING]
    assert not failed, "\n".join(failed)
    passed = [r for r in results if r.status == Status.SUCCESS]
    assert len(passed) >= 30, len(passed)

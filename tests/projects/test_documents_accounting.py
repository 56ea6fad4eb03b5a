"""Every byte accounted: the plan's storage limit before anything is signed, abandoned uploads, drift, and the
workspace's storage against its plan."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from billing.models import BillingAccount
from billing.plans import GB
from shared_apps.accounts.models import User
from shared_apps.storage import accounting
from shared_apps.storage.models import StorageReservation, StorageUsage
from shared_apps.storage.tasks import reservations_expire
from tenant_apps.projects.models import Document
from tenants.models import Tenant
from tests.projects.conftest import Site, signed_in
from tests.projects.documents_helpers import form_upload, start, usage
from tests.storage_fixtures import moto_of, pdf, send_signed, stored_keys


def test_the_plans_storage_limit_is_enforced_before_anything_is_signed_or_stored(
    backend: str,
    request: pytest.FixtureRequest,
    tenant: Tenant,
    in_tenant: Any,
    people: dict[str, User],
    private_site: Site,
) -> None:
    BillingAccount.objects.create(tenant=tenant, plan="free", status="active")  # 1 GB, a hard limit
    StorageUsage.objects.create(prefix=tenant.schema_name, committed_bytes=GB - 1000, object_count=1)
    client = signed_in(tenant, people["editor"])

    refused = start(client, private_site.project, "big.pdf", 2000)
    assert refused.status_code == 400
    assert "The Free plan includes 1 GB storage" in refused.json()["error"]
    form = form_upload(client, private_site.project, "big.pdf", pdf() + b"%" * 2000)
    assert form.status_code == 400
    assert "Upgrade the plan" in form.content.decode()

    assert stored_keys(moto_of(request, backend)) == []
    assert StorageReservation.objects.count() == 0
    with in_tenant(tenant):
        assert not Document.objects.exists()
    assert start(client, private_site.project, "small.pdf", 900).status_code == 201  # what still fits is allowed


def test_an_upload_nobody_confirms_is_cleaned_up_by_a_task(
    backend: str,
    request: pytest.FixtureRequest,
    tenant: Tenant,
    in_tenant: Any,
    people: dict[str, User],
    private_site: Site,
) -> None:
    client = signed_in(tenant, people["editor"])
    data = pdf()
    signed = start(client, private_site.project, "lost.pdf", len(data)).json()
    assert send_signed(client, signed, "lost.pdf", data) in (200, 201, 204)
    assert usage(tenant) == (0, len(data), 0)

    StorageReservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert reservations_expire() == 1

    assert stored_keys(moto_of(request, backend)) == []
    with in_tenant(tenant):
        assert not Document.objects.exists()
    assert usage(tenant) == (0, 0, 0)
    late = client.post(signed["confirm"])
    assert late.status_code == 404


def test_reconcile_lists_the_prefix_and_corrects_drift(
    backend: str, tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site, caplog: Any
) -> None:
    client = signed_in(tenant, people["editor"])
    assert form_upload(client, private_site.project, "a.pdf", pdf()).status_code == 302
    StorageUsage.objects.filter(prefix=tenant.schema_name).update(committed_bytes=999_999, object_count=7)

    with caplog.at_level(logging.WARNING, logger="shared_apps.storage.accounting"):
        drift = accounting.reconcile(tenant.schema_name)

    assert drift.drifted
    assert (drift.committed_before, drift.committed_after) == (999_999, len(pdf()))
    assert usage(tenant) == (len(pdf()), 0, 1)
    assert any(r.getMessage() == "storage drift corrected" for r in caplog.records)
    assert not accounting.reconcile(tenant.schema_name).drifted


def test_the_workspaces_settings_show_its_storage_against_the_plan(
    tenant: Tenant, other_tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site, outsider: User
) -> None:
    BillingAccount.objects.create(tenant=tenant, plan="free", status="active")
    assert form_upload(signed_in(tenant, people["editor"]), private_site.project, "a.pdf", pdf()).status_code == 302
    StorageUsage.objects.filter(prefix=tenant.schema_name).update(committed_bytes=512 * 1024 * 1024)

    page = signed_in(tenant, people["owner"]).get("/settings/").content.decode()
    theirs = signed_in(other_tenant, outsider).get("/settings/").content.decode()

    assert "512 MB of 1 GB used" in page
    assert "1 file and previews" in page
    assert 'value="50"' in page
    assert "0 B of" in theirs

"""`tenants.db.insert_one`: one row in one INSERT, as save() writes it, into the schema the ORM would name."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models.signals import post_save
from django.test.utils import CaptureQueriesContext

from tenant_apps.audit.models import AuditEntry
from tenants.db import connection, insert_one
from tenants.models import Domain, Tenant

pytestmark = pytest.mark.django_db


def test_a_row_is_written_with_its_defaults_in_one_statement_and_no_signal(tenant: Tenant) -> None:
    heard: list[Any] = []

    def listener(**kwargs: Any) -> None:
        heard.append(kwargs)

    post_save.connect(listener, sender=Domain)
    try:
        with CaptureQueriesContext(connection) as ctx:
            domain = insert_one(Domain(domain="one.localhost", tenant=tenant, is_primary=False))
    finally:
        post_save.disconnect(listener, sender=Domain)

    assert len(ctx.captured_queries) == 1
    assert ctx.captured_queries[0]["sql"].startswith('INSERT INTO "public"."tenants_domain"')
    assert heard == []  # like bulk_create: the caller does what a signal would
    assert domain.pk is not None
    assert not domain._state.adding
    stored = Domain.objects.get(pk=domain.pk)
    assert (stored.domain, stored.tenant_id, stored.is_primary, stored.redirect_until) == (
        "one.localhost",
        tenant.pk,
        False,
        None,
    )
    assert stored.created_at == domain.created_at is not None  # auto_now_add, as save() sets it


def test_a_tenant_table_is_written_in_the_current_workspace_only(
    tenant: Tenant, other_tenant: Tenant, in_tenant: Any
) -> None:
    with in_tenant(tenant):
        entry = insert_one(AuditEntry(action="tenant.created", actor_label="system", metadata={"k": [1, 2]}))
        assert AuditEntry.objects.get(pk=entry.pk).metadata == {"k": [1, 2]}
    with in_tenant(other_tenant):
        assert not AuditEntry.objects.filter(pk=entry.pk, action="tenant.created", metadata={"k": [1, 2]}).exists()

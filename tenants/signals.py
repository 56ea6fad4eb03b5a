"""Routing-cache invalidation, and the connection's return to the public schema when a request ends.

Any change to a Tenant or Domain forgets the routes of its hosts. Invalidation runs on commit, so a rolled-back change
never leaves the cache ahead of the database, and once more immediately, so the current process never serves the old
route inside the transaction that changed it.
"""

from __future__ import annotations

from typing import Any

from django.core.signals import request_finished
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver
from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper

from tenants import routing
from tenants.models import Domain, Tenant


def _forget(hosts: list[str]) -> None:
    routing.invalidate(hosts, announced=False)  # this process, inside the transaction
    transaction.on_commit(lambda: routing.invalidate(hosts))  # everywhere, once the change is visible


@receiver([post_save, post_delete], sender=Tenant)
def _tenant_changed(sender: type[Tenant], instance: Tenant, **kwargs: Any) -> None:
    _forget(list(Domain.objects.filter(tenant_id=instance.pk).values_list("domain", flat=True)))


@receiver(pre_save, sender=Domain)
def _domain_renaming(sender: type[Domain], instance: Domain, **kwargs: Any) -> None:
    if instance.pk:
        old = Domain.objects.filter(pk=instance.pk).values_list("domain", flat=True).first()
        if old and old != instance.domain:
            _forget([old])


@receiver([post_save, post_delete], sender=Domain)
def _domain_changed(sender: type[Domain], instance: Domain, **kwargs: Any) -> None:
    # A primary-flag change alters the routes of the tenant's other hosts too.
    hosts = set(Domain.objects.filter(tenant_id=instance.tenant_id).values_list("domain", flat=True))
    hosts.add(instance.domain)
    _forget(sorted(hosts))


@receiver(request_finished)
def _request_finished(sender: object, **kwargs: Any) -> None:
    """Point the connection back at the public schema once a response is fully sent (streamed bodies included), so
    whatever runs next on this thread before routing (health checks, logging, the next request's middleware) never
    reads a previous request's tenant. This sends nothing: statements name their schema from `schema_name`
    (tenants/postgresql_backend). A connection without schemas (Django's own backend, as the routing benchmark's
    plain way uses) is left alone."""
    wrapper = connections[DEFAULT_DB_ALIAS]
    if isinstance(wrapper, TenantDatabaseWrapper):
        wrapper.set_schema_to_public()

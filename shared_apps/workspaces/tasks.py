"""Workspace tasks: the welcome (in the new workspace's schema), and the lifecycle's scheduled work (public schema)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from shared_apps.accounts.selectors import user_get_by_email
from shared_apps.core.tasks import TenantScopedTask
from shared_apps.workspaces import services
from tenant_apps.projects.services import welcome_project_ensure
from tenants.db import connection
from tenants.models import Tenant
from tenants.selectors import primary_domain, tenant_url


@shared_task(base=TenantScopedTask, name="workspaces.welcome")
def workspace_welcome(*, owner_email: str) -> dict[str, object]:
    """Seed the new workspace's onboarding project and email its owner a link to it."""
    # The schema the task runs in names its workspace (connection.tenant may be a bare stand-in for the schema).
    tenant = Tenant.objects.get(schema_name=connection.schema_name)
    owner = user_get_by_email(email=owner_email)
    project = welcome_project_ensure(acting_user=owner)
    domain = primary_domain(tenant)
    context = {
        "tenant_name": tenant.name,
        "url": tenant_url(domain.domain) if domain else "",
        "owner_name": owner.get_short_name() if owner else "",
    }
    message = EmailMultiAlternatives(
        subject=f"Welcome to {tenant.name} on Atrium",
        body=render_to_string("email/welcome.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[owner_email],
    )
    message.attach_alternative(render_to_string("email/welcome.html", context), "text/html")
    message.send()
    return {"schema": connection.schema_name, "project_id": project.pk}


@shared_task(name="workspaces.purge_due")
def purge_due() -> list[str]:
    return services.workspaces_purge_due()


@shared_task(name="workspaces.expire_redirect_domains")
def expire_redirect_domains() -> int:
    return services.domains_expire_redirects()

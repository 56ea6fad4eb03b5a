"""Workspace tasks. Each runs in the schema of the tenant that enqueued it."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from config.celery import TenantScopedTask, app
from shared_apps.accounts.selectors import user_get_by_email
from tenant_apps.workspace.services import welcome_project_ensure
from tenants.db import connection
from tenants.selectors import primary_domain, tenant_url


@app.task(base=TenantScopedTask, name="workspace.welcome")
def workspace_welcome(*, owner_email: str) -> dict[str, object]:
    """Seed the new workspace's onboarding project and email its owner a link to it."""
    tenant = connection.tenant
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

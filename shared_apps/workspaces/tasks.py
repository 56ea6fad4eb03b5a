"""Workspace tasks: the welcome (in the new workspace's schema), and the lifecycle's scheduled work (public schema)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils.translation import gettext

from shared_apps.accounts.preferences import recipient_locale
from shared_apps.accounts.selectors import user_get_by_email
from shared_apps.core.effects import effect_once
from shared_apps.core.tasks import TenantScopedTask
from shared_apps.workspaces import services
from shared_apps.workspaces.impersonation import impersonations_expire as expire
from shared_apps.workspaces.impersonation import owners_to_notify
from shared_apps.workspaces.metrics import metrics_refresh as refresh
from shared_apps.workspaces.models import ImpersonationSession
from tenant_apps.projects.services import welcome_project_ensure
from tenants.db import connection
from tenants.models import Tenant
from tenants.selectors import primary_domain, tenant_url


@shared_task(base=TenantScopedTask, name="workspaces.welcome")
def workspace_welcome(*, owner_email: str) -> dict[str, object]:
    """Seed the new workspace's onboarding project and email its owner a link to it. Run again (a redelivered
    message, a second enqueue), it finds the project made and the email sent, and does neither twice."""
    # The schema the task runs in names its workspace (connection.tenant may be a bare stand-in for the schema).
    tenant = Tenant.objects.get(schema_name=connection.schema_name)
    owner = user_get_by_email(email=owner_email)
    with recipient_locale(user=owner, email=owner_email, workspace_language=tenant.language):
        project = welcome_project_ensure(acting_user=owner)  # named in the owner's language
    domain = primary_domain(tenant)
    context = {
        "tenant_name": tenant.name,
        "url": tenant_url(domain.domain) if domain else "",
        "owner_name": owner.get_short_name() if owner else "",
    }
    with recipient_locale(user=owner, email=owner_email, workspace_language=tenant.language):
        message = EmailMultiAlternatives(
            subject=gettext("Welcome to %(name)s on Atrium") % {"name": tenant.name},
            body=render_to_string("email/welcome.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[owner_email],
        )
        message.attach_alternative(render_to_string("email/welcome.html", context), "text/html")
    effect_once(f"workspaces.welcome:{connection.schema_name}:{owner_email.lower()}", message.send)
    return {"schema": connection.schema_name, "project_id": project.pk}


@shared_task(name="workspaces.purge_due")
def purge_due() -> list[str]:
    return services.workspaces_purge_due()


@shared_task(name="workspaces.expire_redirect_domains")
def expire_redirect_domains() -> int:
    return services.domains_expire_redirects()


@shared_task(name="workspaces.metrics_refresh")
def metrics_refresh(*, full: bool = False) -> dict[str, object]:
    """Gather every workspace's figures into the public metrics tables (beat, every METRICS_REFRESH_SECONDS)."""

    result = refresh(full=full)
    return {
        "workspaces": result.workspaces,
        "statements": result.statements,
        "seconds": round(result.seconds, 3),
        "failed": result.failed,
        "skipped": result.skipped,
    }


@shared_task(name="workspaces.impersonations_expire")
def impersonations_expire() -> int:

    return expire()


@shared_task(name="workspaces.impersonation_notify_owners", autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def impersonation_notify_owners(*, session_id: str) -> int:
    """Tell a workspace's owners that Atrium staff signed in as one of its members: who, as whom, why, until when."""

    session = ImpersonationSession.objects.select_related("tenant", "member").filter(pk=session_id).first()
    if session is None:
        return 0
    owners = owners_to_notify(session)
    if not owners:
        return 0
    domain = primary_domain(session.tenant)
    context = {
        "tenant_name": session.tenant.name,
        "operator": session.operator_label,
        "member": session.member.email,
        "reason": session.reason,
        "started_at": session.started_at,
        "expires_at": session.expires_at,
        "url": (tenant_url(domain.domain) if domain else "") + "/settings/audit/?action=impersonation.*",
    }
    # One message per owner, each in its reader's language and time zone.
    for owner in owners:
        with recipient_locale(email=owner, workspace_language=session.tenant.language):
            subject = gettext("Atrium staff signed in to %(name)s as %(member)s")
            message = EmailMultiAlternatives(
                subject=subject % {"name": session.tenant.name, "member": session.member.email},
                body=render_to_string("email/impersonation_started.txt", context),
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[owner],
            )
            message.attach_alternative(render_to_string("email/impersonation_started.html", context), "text/html")
        message.send()
    return len(owners)

from __future__ import annotations

from django.db import transaction

from shared_apps.accounts.models import User
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.services import audit_record
from tenant_apps.projects.models import Project
from tenants.db import connection

WELCOME_PROJECT_NAME = "Getting started"
WELCOME_PROJECT_DESCRIPTION = (
    "Your first project. Invite your team from Settings → Members, then create projects for the work you track."
)


@transaction.atomic
def project_create(*, name: str, description: str = "", acting_user: User | None) -> Project:
    project = Project.objects.create(name=name.strip(), description=description, created_by=acting_user)
    audit_record(tenant=connection, action=AuditAction.PROJECT_CREATED, actor=acting_user, target=project)
    return project


def welcome_project_ensure(*, acting_user: User | None = None) -> Project:
    """The tenant's onboarding project, created once."""
    existing = Project.objects.filter(name=WELCOME_PROJECT_NAME).first()
    if existing is not None:
        return existing
    return project_create(name=WELCOME_PROJECT_NAME, description=WELCOME_PROJECT_DESCRIPTION, acting_user=acting_user)

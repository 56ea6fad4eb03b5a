"""Projects: create, the welcome project, rename, visibility, archive, restore, delete."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.entitlements import entitlement_require
from billing.plans import Resource
from shared_apps.accounts.models import User
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.events import EventType, event_emit
from tenant_apps.audit.services import audit_record
from tenant_apps.projects.models import NAME_MAX_LENGTH, Document, Project, Task, Visibility
from tenant_apps.projects.permissions import (
    AccessLevel,
    ProjectNotAllowed,
    ProjectPermission,
    Viewer,
    current_workspace_id,
)
from tenant_apps.projects.representations import project_data
from tenant_apps.projects.services.documents import documents_forget, stored_files_delete_after_commit
from tenant_apps.projects.services.sharing import grants_apply
from tenant_apps.projects.services.validation import ProjectInvalid, acting_access, clean_line, clean_text
from tenants.db import connection

# The onboarding project, made in its owner's language (the welcome task runs in it).
WELCOME_PROJECT_NAME = gettext_lazy("Getting started")
WELCOME_PROJECT_DESCRIPTION = gettext_lazy(
    "Your first project. Invite your team from Settings → Members, then create projects for the work you track."
)


@transaction.atomic
def project_create(
    *,
    name: str,
    description: str = "",
    visibility: str = Visibility.WORKSPACE,
    acting_user: User | None,
) -> Project:
    """A new project. Any member may create one, and manages what they create (a grant, so it outlives a role
    change). `acting_user=None` is the platform itself (the welcome project)."""
    viewer = Viewer.of_user(acting_user) if acting_user is not None else None
    if viewer is not None and not viewer.is_member:
        raise ProjectNotAllowed(_("Only members of this workspace can create projects in it."))
    name = clean_line(name, label=_("Name"), max_length=NAME_MAX_LENGTH, field="name")
    description = clean_text(description, label=_("Description"), field="description")
    if visibility not in Visibility.values:
        raise ProjectInvalid(_("Choose who can see the project."), field="visibility")
    tenant_id = current_workspace_id()
    if acting_user is not None and tenant_id is not None:
        # The plan's project limit (billing's one entitlement check); the platform's own welcome project is free.
        entitlement_require(tenant_id=tenant_id, resource=Resource.PROJECTS, used=Project.objects.count())
    project = Project.objects.create(name=name, description=description, visibility=visibility, created_by=acting_user)
    audit_record(
        tenant=connection,
        action=AuditAction.PROJECT_CREATED,
        actor=acting_user,
        target=project,
        metadata={"visibility": visibility},
    )
    event_emit(
        tenant=connection,
        type=EventType.PROJECT_CREATED,
        actor=acting_user,
        data=project_data(project),
        project_id=project.pk,
    )
    if acting_user is not None:
        grants_apply(
            project,
            {acting_user.pk: AccessLevel.MANAGE},
            {},
            acting_user=acting_user,
            emails={acting_user.pk: acting_user.email},
        )
    return project


def welcome_project_ensure(*, acting_user: User | None = None) -> Project:
    """The tenant's onboarding project, created once, named in the active language (found again by its name in any
    shipped language: a second run in another language makes no second one)."""
    existing = Project.objects.filter(name__in=_welcome_names()).order_by("pk").first()
    if existing is not None:
        return existing
    return project_create(
        name=str(WELCOME_PROJECT_NAME), description=str(WELCOME_PROJECT_DESCRIPTION), acting_user=acting_user
    )


def _welcome_names() -> set[str]:
    names = set()
    for code, _language in settings.LANGUAGES:
        with translation.override(code):
            names.add(str(WELCOME_PROJECT_NAME))
    return names


@transaction.atomic
def project_update(*, project: Project, name: str, description: str, acting_user: User) -> Project:
    acting_access(acting_user).require(ProjectPermission.CHANGE, project)
    name = clean_line(name, label=_("Name"), max_length=NAME_MAX_LENGTH, field="name")
    description = clean_text(description, label=_("Description"), field="description")
    changed = {
        f: {"from": getattr(project, f), "to": v}
        for f, v in (("name", name), ("description", description))
        if getattr(project, f) != v
    }
    if not changed:
        return project
    project.name, project.description = name, description
    project.save(update_fields=["name", "description", "updated_at"])
    audit_record(
        tenant=connection,
        action=AuditAction.PROJECT_UPDATED,
        actor=acting_user,
        target=project,
        metadata={"fields": sorted(changed), "name": changed.get("name")},
    )
    event_emit(
        tenant=connection,
        type=EventType.PROJECT_UPDATED,
        actor=acting_user,
        data=project_data(project),
        project_id=project.pk,
    )
    return project


@transaction.atomic
def project_visibility_set(*, project: Project, visibility: str, acting_user: User) -> Project:
    acting_access(acting_user).require(ProjectPermission.MANAGE, project)
    if visibility not in Visibility.values:
        raise ProjectInvalid(_("Choose who can see the project."), field="visibility")
    if project.visibility == visibility:
        return project
    previous = project.visibility
    project.visibility = visibility
    project.save(update_fields=["visibility", "updated_at"])
    audit_record(
        tenant=connection,
        action=AuditAction.PROJECT_VISIBILITY_CHANGED,
        actor=acting_user,
        target=project,
        metadata={"from": previous, "to": visibility},
    )
    event_emit(
        tenant=connection,
        type=EventType.PROJECT_UPDATED,
        actor=acting_user,
        data=project_data(project),
        project_id=project.pk,
    )
    return project


@transaction.atomic
def project_archive(*, project: Project, acting_user: User) -> Project:
    acting_access(acting_user).require(ProjectPermission.MANAGE, project)
    if project.archived_at is None:
        project.archived_at = timezone.now()
        project.save(update_fields=["archived_at", "updated_at"])
        audit_record(tenant=connection, action=AuditAction.PROJECT_ARCHIVED, actor=acting_user, target=project)
        event_emit(
            tenant=connection,
            type=EventType.PROJECT_ARCHIVED,
            actor=acting_user,
            data=project_data(project),
            project_id=project.pk,
        )
    return project


@transaction.atomic
def project_restore(*, project: Project, acting_user: User) -> Project:
    acting_access(acting_user).require(ProjectPermission.MANAGE, project)
    if project.archived_at is not None:
        project.archived_at = None
        project.save(update_fields=["archived_at", "updated_at"])
        audit_record(tenant=connection, action=AuditAction.PROJECT_RESTORED, actor=acting_user, target=project)
    return project


@transaction.atomic
def project_delete(*, project: Project, confirm_name: str, acting_user: User) -> None:
    """Delete a project with its tasks, comments and grants (the grant tables cascade: no orphan grant remains)."""
    acting_access(acting_user).require(ProjectPermission.MANAGE, project)
    if confirm_name.strip() != project.name:
        raise ProjectInvalid(
            _("Type the project's name, %(name)s, to delete it.") % {"name": project.name}, field="confirm_name"
        )
    tasks = Task.objects.filter(project=project).count()
    keys = documents_forget(Document.objects.filter(project=project))
    audit_record(
        tenant=connection,
        action=AuditAction.PROJECT_DELETED,
        actor=acting_user,
        target=project,
        metadata={"name": project.name, "tasks": tasks, "files": len(keys)},
    )
    event_emit(
        tenant=connection,
        type=EventType.PROJECT_DELETED,
        actor=acting_user,
        data=project_data(project),
        project_id=project.pk,
    )
    project.delete()
    stored_files_delete_after_commit(keys)

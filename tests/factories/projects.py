from __future__ import annotations

import factory
from guardian.shortcuts import assign_perm

from shared_apps.accounts.models import User
from tenant_apps.projects.models import Comment, Document, Project, Task
from tenant_apps.projects.permissions import AccessLevel
from tenants.db import connection


class ProjectFactory(factory.django.DjangoModelFactory[Project]):
    """Creates the project in whatever tenant schema the connection is on (use `in_tenant`)."""

    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"Project {n}")
    description = "A project"


class TaskFactory(factory.django.DjangoModelFactory[Task]):
    class Meta:
        model = Task

    project = factory.SubFactory(ProjectFactory)
    title = factory.Sequence(lambda n: f"Task {n}")
    position = factory.Sequence(lambda n: n)


class CommentFactory(factory.django.DjangoModelFactory[Comment]):
    class Meta:
        model = Comment

    task = factory.SubFactory(TaskFactory)
    body = "A comment"


class DocumentFactory(factory.django.DjangoModelFactory[Document]):
    """A ready document's row under the current schema's prefix (its bytes are not stored: a download only signs)."""

    class Meta:
        model = Document

    project = factory.SubFactory(ProjectFactory)
    storage_prefix = factory.LazyFunction(lambda: str(connection.schema_name))
    key = factory.LazyAttributeSequence(lambda d, n: f"{d.storage_prefix}/files/{n:032x}.pdf")
    name = "plan.pdf"
    file_type = "pdf"
    content_type = "application/pdf"
    size = 1000


def grant(user: User, project: Project, level: str = AccessLevel.VIEW) -> None:
    """Share `project` with `user` at `level` through guardian itself (it picks the direct-FK grant table)."""
    for permission in AccessLevel(level).permissions:
        assign_perm(permission.perm, user, project)

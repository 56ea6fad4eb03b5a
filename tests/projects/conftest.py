"""People in every position the product's rules distinguish, and projects to try them on (all in acme)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from shared_apps.accounts.models import Role, User
from tenant_apps.projects.models import Comment, Project, Task, Visibility
from tenants.models import Tenant
from tests.conftest import HostClient, client_for
from tests.factories import CommentFactory, MembershipFactory, ProjectFactory, TaskFactory
from tests.factories.projects import grant


@dataclass
class Site:
    project: Project
    task: Task
    comment: Comment


def _member(tenant: Tenant, role: str, email: str, name: str) -> User:
    return MembershipFactory.create(tenant=tenant, role=role, user__email=email, user__name=name).user


@pytest.fixture
def admin(tenant: Tenant) -> User:
    return _member(tenant, Role.ADMIN, "admin@acme.test", "Ada Admin")


@pytest.fixture
def people(tenant: Tenant, owner: User, admin: User) -> dict[str, User]:
    return {
        "owner": owner,
        "admin": admin,
        "manager": _member(tenant, Role.MEMBER, "manager@acme.test", "Mona Manager"),
        "editor": _member(tenant, Role.MEMBER, "editor@acme.test", "Ed Editor"),
        "viewer": _member(tenant, Role.MEMBER, "viewer@acme.test", "Vi Viewer"),
        "stranger": _member(tenant, Role.MEMBER, "stranger@acme.test", "Stan Stranger"),
    }


def make_site(people: dict[str, User], visibility: str, name: str) -> Site:
    """A project with a task and a comment, shared with the manager, the editor and the viewer at their levels."""
    project = ProjectFactory.create(name=name, visibility=visibility, created_by=people["owner"])
    task = TaskFactory.create(project=project, title=f"{name} task", position=0)
    comment = CommentFactory.create(task=task, author=people["owner"], body="First!")
    grant(people["manager"], project, "manage")
    grant(people["editor"], project, "change")
    grant(people["viewer"], project, "view")
    return Site(project=project, task=task, comment=comment)


@pytest.fixture
def private_site(tenant: Tenant, in_tenant: Any, people: dict[str, User]) -> Site:
    with in_tenant(tenant):
        return make_site(people, Visibility.PRIVATE, "Secret launch")


@pytest.fixture
def workspace_site(tenant: Tenant, in_tenant: Any, people: dict[str, User]) -> Site:
    with in_tenant(tenant):
        return make_site(people, Visibility.WORKSPACE, "Open roadmap")


def signed_in(tenant: Tenant, user: User | None) -> HostClient:
    client = client_for(tenant)
    if user is not None:
        client.force_login(user)
    return client

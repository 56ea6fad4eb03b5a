"""The workspace the layout and accessibility browser tests lay out (tests/e2e/test_layout_and_accessibility.py),
committed where their live server reads it. Run with `manage.py shell -c "from tests.e2e.layout_seed import seed;
seed()"`: it prints the ids the tests visit, as JSON on a line starting with "ids ". Idempotent.

Real content, in the states that break layouts and accessibility: a project with labelled tasks, a task with three
long-named attachments and another with a short title (a short link in a line of text), comments with an @mention, so
the owner has notifications and the workspace has activity; a second member, twelve more with long addresses (one an
admin who invites another long address, so the audit log has long actors and targets); a pending invitation, an API
key, a webhook endpoint and a long custom domain."""

from __future__ import annotations

import datetime
import io
import json

from allauth.account.models import EmailAddress
from django_tenants.utils import tenant_context
from PIL import Image

from shared_apps.accounts import services
from shared_apps.accounts.models import ApiKey, Invitation, Membership, Role, User
from shared_apps.workspaces.services import domains as workspace_domains
from tenant_apps.projects import services as projects
from tenant_apps.projects.models import Label, Project, Task
from tenant_apps.projects.permissions import AccessLevel
from tenant_apps.projects.services import documents
from tenant_apps.webhooks import services as webhooks
from tenant_apps.webhooks.models import Endpoint
from tenants.models import Domain, Tenant

PROJECT = "Website relaunch for the autumn campaign"
LONG_ADMIN = "christopher.montgomery-0@engineering.example-corporation.com"
LONG_INVITED = "maximiliana.featherstonehaugh-wolfeschlegel@research-and-development.example-corporation.com"


def _png(shade: int) -> bytes:
    image = io.BytesIO()
    Image.new("RGB", (8, 8), (shade, 90, 200)).save(image, format="PNG")
    return image.getvalue()


def _attach(project: Project, task: Task, name: str, acting_user: User, shade: int = 0) -> None:
    content = _png(shade)
    documents.document_upload(
        project=project, task=task, content=io.BytesIO(content), size=len(content), acting_user=acting_user, name=name
    )


def _people(tenant: Tenant, owner: User) -> User:
    """A second member with a name, twelve with long addresses (the first an admin), a pending invitation, an API key
    and a long custom domain; returns the second member."""
    member, made = User.objects.get_or_create(
        email="layout-member@e2e.test", defaults={"name": "Grace Hopper-Lovelace"}
    )
    if made:
        member.set_password("layout-member-password")
        member.save()
        EmailAddress.objects.create(user=member, email=member.email, primary=True, verified=True)
    # Accounts outlive a workspace deleted at the end of an earlier session: the membership is made whenever missing.
    Membership.objects.get_or_create(user=member, tenant=tenant, defaults={"role": Role.MEMBER})
    invited = "a-rather-long-address.for-layout@example.com"
    if not Invitation.objects.filter(tenant=tenant, email=invited).exists():
        services.invitations_create(tenant=tenant, emails=[invited], role=Role.ADMIN, acting_user=owner)
    if not ApiKey.objects.filter(tenant=tenant, user=owner).exists():
        services.api_key_create(tenant=tenant, name="Nightly export to the warehouse", scope="read", acting_user=owner)
    for n in range(12):
        address = f"christopher.montgomery-{n}@engineering.example-corporation.com"
        user, _made = User.objects.get_or_create(email=address)
        Membership.objects.get_or_create(user=user, tenant=tenant, defaults={"role": Role.MEMBER})
    admin = Membership.objects.get(tenant=tenant, user__email=LONG_ADMIN)
    if admin.role != Role.ADMIN:  # the audit log: an owner changing a long address's role…
        services.member_role_change(tenant=tenant, membership=admin, role=Role.ADMIN, acting_user=owner)
    if not Invitation.objects.filter(tenant=tenant, email=LONG_INVITED).exists():  # …and a long address inviting one
        services.invitations_create(tenant=tenant, emails=[LONG_INVITED], role=Role.MEMBER, acting_user=admin.user)
    long_domain = "intranet-portal.a-rather-long-company-name.example.com"
    if not Domain.objects.filter(domain=long_domain).exists():
        workspace_domains.workspace_domain_add(tenant=tenant, domain=long_domain, acting_user=owner)
    return member


def _project(owner: User, member: User) -> dict[str, int]:
    """The project, its tasks, labels, attachments and comments (in the workspace's schema)."""
    project = Project.objects.filter(name=PROJECT).first()
    if project is None:
        project = projects.project_create(name=PROJECT, acting_user=owner)
        for title, status in [
            ("Write the launch announcement for the blog and the newsletter", "todo"),
            ("Review the pricing page copy", "doing"),
            ("Pick the hero photograph", "done"),
        ]:
            projects.task_create(
                project=project,
                title=title,
                status=status,
                acting_user=owner,
                assignee_id=owner.pk,
                due_date=datetime.date(2026, 12, 24),
            )
        projects.project_share(project=project, levels={member.pk: AccessLevel.CHANGE}, acting_user=owner)
    task = Task.objects.filter(project=project).order_by("pk").first()
    assert task is not None
    if not Label.objects.exists():
        content = projects.label_create(name="Content", color="blue", acting_user=owner)
        design = projects.label_create(name="Design", color="purple", acting_user=owner)
        first_three = Task.objects.filter(project=project).order_by("pk")[:3]
        for t, labels in zip(first_three, [[content], [content], [design]], strict=True):
            t.labels.set(labels)
    if not task.documents.exists():
        for n in range(3):
            name = f"hero-photograph-candidate-{n}-for-the-autumn-campaign-final-v2.png"
            _attach(project, task, name, owner, shade=n * 80)
    # A colleague's task with a short title, assigned to the owner, a file on it and a conversation that mentions them:
    # the owner's notifications, the project's activity, and "· on Logo" in the documents list.
    logo = Task.objects.filter(project=project, title="Logo").first()
    if logo is None:
        logo = projects.task_create(project=project, title="Logo", acting_user=member, assignee_id=owner.pk)
        _attach(project, logo, "logo.png", member, shade=200)
        projects.comment_create(
            task=logo,
            body="@owner could you check the colours? The palette is in the brand guidelines, page 4.",
            acting_user=member,
        )
        projects.comment_create(task=logo, body="Looks good to me; ship it.", acting_user=owner)
    return {"project": project.pk, "task": task.pk, "logo": logo.pk}


def seed() -> None:
    tenant = Domain.objects.get(domain="e2e-co.localhost").tenant
    owner = User.objects.get(email="owner@e2e.test")
    member = _people(tenant, owner)
    with tenant_context(tenant):
        ids = _project(owner, member)
        endpoint = Endpoint.objects.first()
        if endpoint is None:
            endpoint, _secret = webhooks.endpoint_create(
                tenant=tenant,
                acting_user=owner,
                url="http://127.0.0.1:9/receivers/atrium/a-rather-long-path-for-the-layout-check",
                description="The warehouse loader",
            )
        ids["endpoint"] = endpoint.pk
    print("ids", json.dumps(ids))

"""Sharing a project with the workspace's groups on the Sharing tab and through the API: a group's members hold its
level while they are in the group, only who manages the project grants and revokes, another workspace's groups are
neither shown nor accepted, and the page and the service cost the same queries whatever the number of groups."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test.utils import CaptureQueriesContext

from shared_apps.accounts.models import ApiKeyScope, User
from shared_apps.accounts.services import api_key_create
from shared_apps.identity.models import WorkspaceGroup
from tenant_apps.audit.models import AuditEntry
from tenant_apps.projects import services
from tenant_apps.projects.models import Project, ProjectGroupObjectPermission, Visibility
from tenant_apps.projects.permissions import AccessLevel
from tenants.db import connection
from tenants.models import Tenant
from tests.conftest import HostClient, host_of
from tests.factories import MembershipFactory, ProjectFactory
from tests.factories.groups import workspace_group
from tests.factories.people import add_members
from tests.projects.conftest import Site, signed_in

JSON = "application/json"


def _grants(tenant: Tenant, in_tenant: Any, project: Project) -> list[tuple[int, int]]:
    with in_tenant(tenant):
        return sorted(
            ProjectGroupObjectPermission.objects.filter(content_object_id=project.pk).values_list(
                "group_id", "permission_id"
            )
        )


@pytest.fixture
def design(tenant: Tenant, people: dict[str, User]) -> WorkspaceGroup:
    """A group of acme whose only member is the stranger (who has no grant of their own)."""
    return workspace_group(tenant, "Design", [people["stranger"]])


def test_a_manager_gives_a_group_access_its_members_get_it_and_revoking_takes_it_away(
    tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site, design: WorkspaceGroup
) -> None:
    manager = signed_in(tenant, people["manager"])
    stranger = signed_in(tenant, people["stranger"])
    board = f"/projects/{private_site.project.pk}/"
    sharing = f"{board}sharing/"
    assert stranger.get(board).status_code == 404  # given: a private project the stranger cannot see

    # when: the manager gives Design "Can edit"
    response = manager.post(f"{sharing}groups/", {"group": str(design.scim_id), "level": "change"})

    # then: the stranger, in Design, sees and edits it; the tab lists Design with its member count
    assert response.status_code == 302
    assert stranger.get(board).status_code == 200
    page = manager.get(sharing).content.decode()
    assert "Design" in page
    assert "1 member" in page
    assert "Can edit" in page
    assert "Can edit through a group" in page  # the stranger's row in People says where their access comes from
    with in_tenant(tenant):
        entry = AuditEntry.objects.get(action="project.group_shared")
        assert entry.actor_id == people["manager"].pk
        assert entry.metadata["group_name"] == "Design"
        assert entry.metadata["level"] == "change"

    # when: the manager revokes it, after the confirmation page names the group
    revoke = f"{sharing}groups/{design.scim_id}/revoke/"
    confirm = manager.get(revoke)
    assert confirm.status_code == 200
    assert "Design" in confirm.content.decode()
    assert manager.post(revoke).status_code == 302

    # then: gone at the stranger's next request, with an audit entry
    assert stranger.get(board).status_code == 404
    assert _grants(tenant, in_tenant, private_site.project) == []
    with in_tenant(tenant):
        assert AuditEntry.objects.get(action="project.group_unshared").metadata["previous_level"] == "change"
    assert manager.get(revoke).status_code == 404  # nothing left to revoke


def test_leaving_the_group_ends_the_access_at_the_next_request(
    tenant: Tenant, people: dict[str, User], private_site: Site, design: WorkspaceGroup
) -> None:
    stranger = signed_in(tenant, people["stranger"])
    board = f"/projects/{private_site.project.pk}/"
    manager = signed_in(tenant, people["manager"])
    manager.post(f"{board}sharing/groups/", {"group": str(design.scim_id), "level": "view"})
    assert stranger.get(board).status_code == 200

    design.group.user_set.remove(people["stranger"])  # what SCIM's update of the group does to the Django group

    assert stranger.get(board).status_code == 404


@pytest.mark.parametrize("who", ["editor", "viewer"])
def test_only_who_manages_the_project_may_give_or_take_a_groups_access(
    who: str, tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site, design: WorkspaceGroup
) -> None:
    client = signed_in(tenant, people[who])
    sharing = f"/projects/{private_site.project.pk}/sharing/"
    with in_tenant(tenant):
        services.project_group_share(
            project=private_site.project, levels={design.scim_id: AccessLevel.VIEW}, acting_user=people["owner"]
        )
    before = _grants(tenant, in_tenant, private_site.project)

    granted = client.post(f"{sharing}groups/", {"group": str(design.scim_id), "level": "manage"})
    confirm = client.get(f"{sharing}groups/{design.scim_id}/revoke/")
    revoked = client.post(f"{sharing}groups/{design.scim_id}/revoke/")

    assert (granted.status_code, confirm.status_code, revoked.status_code) == (403, 403, 403)
    assert _grants(tenant, in_tenant, private_site.project) == before


@pytest.mark.parametrize(
    "group",
    ["", "not-a-uuid", "a\x00b", "x" * 5000, "00000000-0000-0000-0000-000000000000", "\x1b[31m", "1"],
)
def test_hostile_or_unknown_group_ids_are_a_form_error_and_change_nothing(
    group: str, tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site
) -> None:
    client = signed_in(tenant, people["owner"])
    response = client.post(f"/projects/{private_site.project.pk}/sharing/groups/", {"group": group, "level": "view"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Projects can only be shared with groups of this workspace." in page
    assert _grants(tenant, in_tenant, private_site.project) == []


@pytest.mark.parametrize("level", ["", "owner", "view\x00", "x" * 5000])
def test_a_level_that_is_not_one_is_a_form_error(
    level: str, tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site, design: WorkspaceGroup
) -> None:
    client = signed_in(tenant, people["owner"])
    response = client.post(
        f"/projects/{private_site.project.pk}/sharing/groups/", {"group": str(design.scim_id), "level": level}
    )
    assert response.status_code == 302
    assert "Choose one of the access levels." in client.get(response["Location"]).content.decode()
    assert _grants(tenant, in_tenant, private_site.project) == []


def test_workspace_a_neither_sees_nor_grants_workspace_bs_groups_and_bs_projects_are_untouched(
    tenant: Tenant, other_tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site
) -> None:
    # given: B (globex) with a group of its own member and a private project
    b_member = MembershipFactory.create(tenant=other_tenant, user__email="bo@globex.test").user
    b_group = workspace_group(other_tenant, "Globex secret squad", [b_member])
    with in_tenant(other_tenant):
        b_project = ProjectFactory.create(name="Globex plan", visibility=Visibility.PRIVATE)
    a_group = workspace_group(tenant, "Acme crew", [people["stranger"]])
    owner = signed_in(tenant, people["owner"])
    _key, secret = api_key_create(tenant=tenant, name="Groups", scope=ApiKeyScope.WRITE, acting_user=people["owner"])
    api = HostClient(host_of(tenant), HTTP_AUTHORIZATION=f"Bearer {secret}")
    sharing = f"/projects/{private_site.project.pk}/sharing/"

    # when: A's owner reads the tab and the API, then tries B's group on A's project, by page and by API
    page = owner.get(sharing).content.decode()
    listed = api.get(f"/api/v1{sharing}").json()
    by_page = owner.post(f"{sharing}groups/", {"group": str(b_group.scim_id), "level": "manage"})
    told = owner.get(by_page["Location"]).content.decode()
    by_api = api.patch(
        f"/api/v1{sharing}", json.dumps({"groups": [{"group": str(b_group.scim_id), "level": "view"}]}), JSON
    )
    revoke_b = owner.get(f"{sharing}groups/{b_group.scim_id}/revoke/")
    revoke_b_post = owner.post(f"{sharing}groups/{b_group.scim_id}/revoke/")

    # then: only A's group is offered; B's is refused everywhere; nothing changed in A or B
    assert "Acme crew" in page
    assert "Globex" not in page
    assert [g["name"] for g in listed["groups"]] == ["Acme crew"]
    assert by_page.status_code == 302
    assert "groups of this workspace" in told
    assert by_api.status_code == 400
    assert "Globex" not in by_api.content.decode()
    assert (revoke_b.status_code, revoke_b_post.status_code) == (404, 404)
    assert _grants(tenant, in_tenant, private_site.project) == []
    assert _grants(other_tenant, in_tenant, b_project) == []
    with in_tenant(other_tenant):
        assert not ProjectGroupObjectPermission.objects.exists()
    assert a_group.tenant_id == tenant.pk


def test_the_api_lists_every_group_with_its_members_and_level_and_sets_levels(
    tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site, design: WorkspaceGroup
) -> None:
    other = workspace_group(tenant, "Analysts", [people["viewer"], people["editor"]])
    _key, secret = api_key_create(tenant=tenant, name="Groups", scope=ApiKeyScope.WRITE, acting_user=people["owner"])
    api = HostClient(host_of(tenant), HTTP_AUTHORIZATION=f"Bearer {secret}")
    url = f"/api/v1/projects/{private_site.project.pk}/sharing/"

    changed = api.patch(
        url,
        json.dumps(
            {
                "groups": [
                    {"group": str(design.scim_id), "level": "manage"},
                    {"group": str(other.scim_id), "level": "view"},
                ]
            }
        ),
        JSON,
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["groups"] == [
        {"id": str(other.scim_id), "name": "Analysts", "members": 2, "level": "view"},
        {"id": str(design.scim_id), "name": "Design", "members": 1, "level": "manage"},
    ]
    revoked = api.patch(url, json.dumps({"groups": [{"group": str(other.scim_id), "level": None}]}), JSON)
    assert [g["level"] for g in revoked.json()["groups"]] == [None, "manage"]
    bad = api.patch(url, json.dumps({"groups": [{"group": "not-a-uuid", "level": "view"}]}), JSON)
    assert bad.status_code == 400
    with in_tenant(tenant):
        actions = sorted(AuditEntry.objects.filter(action__startswith="project.group").values_list("action", flat=True))
    assert actions == ["project.group_shared", "project.group_shared", "project.group_unshared"]


def test_the_tab_and_the_service_cost_the_same_queries_at_1_and_30_groups(
    tenant: Tenant, in_tenant: Any, people: dict[str, User], private_site: Site, design: WorkspaceGroup
) -> None:
    client = signed_in(tenant, people["manager"])
    sharing = f"/projects/{private_site.project.pk}/sharing/"
    manager = people["manager"]

    def page_queries() -> int:
        client.get(sharing)  # warm the routing cache
        with CaptureQueriesContext(connection) as queries:
            assert client.get(sharing).status_code == 200
        return len(queries)

    def share(levels: dict[Any, AccessLevel | None]) -> int:
        with in_tenant(tenant), CaptureQueriesContext(connection) as queries:
            services.project_group_share(project=private_site.project, levels=levels, acting_user=manager)
        return len(queries)

    small = page_queries()
    one = share({design.scim_id: AccessLevel.CHANGE})

    members = [m.user for m in add_members(tenant, 40, prefix="grp")]
    groups = [workspace_group(tenant, f"Team {i}", members[i : i + 10]) for i in range(30)]
    thirty = share(dict.fromkeys((g.scim_id for g in groups), AccessLevel.VIEW))
    large = page_queries()
    revoke_thirty = share(dict.fromkeys((g.scim_id for g in groups), None))
    revoke_one = share({design.scim_id: None})

    assert large == small
    assert thirty == one
    assert revoke_thirty == revoke_one
    with in_tenant(tenant):
        assert AuditEntry.objects.filter(action="project.group_shared").count() == 1 + 30
        assert AuditEntry.objects.filter(action="project.group_unshared").count() == 31

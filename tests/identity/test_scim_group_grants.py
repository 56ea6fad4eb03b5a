"""A project granted to a SCIM group, end to end: the identity provider puts a person in the group, the project's
manager gives the group access on the Sharing tab, the person sees the project; the provider takes them out of the group
and they are refused at their next request, while the group's grant stays for the others."""

from __future__ import annotations

import json
from typing import Any

from shared_apps.accounts.models import User
from tenant_apps.projects.models import Visibility
from tests.conftest import client_for
from tests.factories import ProjectFactory

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
CT = "application/scim+json"


def _provision(scim: Any, email: str) -> str:
    body = {"schemas": [USER_SCHEMA], "userName": email, "emails": [{"value": email, "primary": True}]}
    created = scim.post("/scim/v2/Users", data=json.dumps(body), content_type=CT)
    assert created.status_code == 201, created.content
    return str(created.json()["id"])


def test_a_person_the_idp_takes_out_of_the_group_loses_the_projects_access_at_the_next_request(
    scim: Any, tenant: Any, owner: User, verified: Any, in_tenant: Any
) -> None:
    # given: Ada and Bob provisioned, both in "Engineering"; a private project granted to the group
    ada_id, bob_id = _provision(scim, "ada@acme.com"), _provision(scim, "bob@acme.com")
    group = scim.post(
        "/scim/v2/Groups",
        data=json.dumps(
            {"schemas": [GROUP_SCHEMA], "displayName": "Engineering", "members": [{"value": ada_id}, {"value": bob_id}]}
        ),
        content_type=CT,
    ).json()
    with in_tenant(tenant):
        project = ProjectFactory.create(name="Rocket", visibility=Visibility.PRIVATE, created_by=owner)
    manager = client_for(tenant)
    manager.force_login(owner)
    granted = manager.post(f"/projects/{project.pk}/sharing/groups/", {"group": group["id"], "level": "change"})
    assert granted.status_code == 302
    assert "2 members" in manager.get(f"/projects/{project.pk}/sharing/").content.decode()
    ada, bob = client_for(tenant), client_for(tenant)
    ada.force_login(User.objects.get(email="ada@acme.com"))
    bob.force_login(User.objects.get(email="bob@acme.com"))
    board = f"/projects/{project.pk}/"
    assert ada.get(board).status_code == 200
    assert bob.get(board).status_code == 200

    # when: the identity provider removes Ada from the group
    patch = {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "remove", "path": f'members[value eq "{ada_id}"]'}]}
    removed = scim.patch(f"/scim/v2/Groups/{group['id']}", data=json.dumps(patch), content_type=CT)
    assert removed.status_code == 200, removed.content

    # then: Ada is refused at her next request; Bob keeps the group's access
    assert ada.get(board).status_code == 404
    assert bob.get(board).status_code == 200
    assert "1 member" in manager.get(f"/projects/{project.pk}/sharing/").content.decode()

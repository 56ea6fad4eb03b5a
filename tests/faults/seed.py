"""Run by the fault tests in a subprocess against a copied database (`python -m tests.faults.seed <slug>`): an owner
of the workspace `<slug>`, one of its projects, a read-and-write API key and a signed-in session. Prints them as one
JSON line."""

from __future__ import annotations

import json
import sys
import uuid

import django


def main(slug: str) -> None:
    django.setup()
    from django.conf import settings
    from django_tenants.utils import tenant_context

    from shared_apps.accounts.models import Membership, Role, User
    from shared_apps.accounts.services import api_key_create
    from tenant_apps.projects.services import project_create
    from tenants.models import Domain
    from tests.helpers import signed_in_session

    domain = Domain.objects.select_related("tenant").get(domain=f"{slug}.{settings.BASE_DOMAIN}")
    tenant = domain.tenant
    # The copied workspace on the largest plan: the writers' bursts stay inside its API rates (a 429 is an answer,
    # not what these tests are about).
    from billing.models import BillingAccount

    BillingAccount.objects.update_or_create(tenant=tenant, defaults={"plan": "business"})
    owner = User.objects.create_user(email=f"faults-{uuid.uuid4().hex[:8]}@{slug}.test", password=None)
    Membership.objects.create(user=owner, tenant=tenant, role=Role.OWNER)
    with tenant_context(tenant):
        project = project_create(name="Under fire", acting_user=owner)
    _key, secret = api_key_create(tenant=tenant, name="faults", scope="write", acting_user=owner)
    session = signed_in_session(owner, tenant)  # a signed-in browser's, on the workspace host
    world = {"host": domain.domain, "schema": tenant.schema_name, "project": project.pk, "key": secret}
    print(json.dumps({**world, "session": session}))


if __name__ == "__main__":
    main(sys.argv[1])

"""Run by the pooler tests in a subprocess, on a copy of the test database reached directly (not through the pooler):
`python -m tests.pooler.seed <command>`, printing one JSON line.

- `world <count>`: `count` workspaces (`pool-00` …), each with an owner, a read-and-write API key, a signed-in
  session and one project whose name carries the workspace's own marker (`pmark00q` …), on the largest plan (the
  concurrent clients stay inside its API rates); plus the isolation sweep's world in acme and globex
  (tests/tenants/test_isolation_sweep.py), an acme owner's key and sessions for it.
- `b-state`: globex's rows as the sweep compares them before and after.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from typing import Any

import django

SWEEP_SESSIONS = 400  # the sweep signs in afresh for each URL pattern


def marker(number: int) -> str:
    return f"pmark{number:02d}q"


def world(count: int) -> dict[str, Any]:
    from django.conf import settings
    from django.db import transaction
    from django_tenants.utils import tenant_context

    from billing.models import BillingAccount
    from shared_apps.accounts.models import Membership, Role, User
    from shared_apps.accounts.services import api_key_create
    from tenant_apps.projects.services import project_create
    from tenants import provisioning
    from tenants.models import Domain, Tenant, TenantStatus
    from tests.helpers import signed_in_session
    from tests.tenants.test_isolation_sweep import build_world

    workspaces = []
    for number in range(count):
        slug = f"pool-{number:02d}"
        with transaction.atomic():
            tenant, _via = provisioning.tenant_with_schema(
                name=f"Pool {number:02d}", status=TenantStatus.ACTIVE, method=provisioning.Method.FAST
            )
            domain = Domain.objects.create(tenant=tenant, domain=f"{slug}.{settings.BASE_DOMAIN}", is_primary=True)
        BillingAccount.objects.update_or_create(tenant=tenant, defaults={"plan": "business"})
        owner = User.objects.create_user(email=f"owner-{uuid.uuid4().hex[:8]}@{slug}.test", password=None)
        Membership.objects.create(user=owner, tenant=tenant, role=Role.OWNER)
        with tenant_context(tenant):
            # "A …": first by name, before the welcome project the tasks add meanwhile. A list page counts, then reads
            # its page: a project added between the two shifts the page (read committed, not another workspace's rows),
            # which would otherwise push the marker off a page cut at the earlier count.
            project = project_create(name=f"A {marker(number)} project", acting_user=owner)
        _key, secret = api_key_create(tenant=tenant, name="pooler", scope="write", acting_user=owner)
        workspaces.append(
            {
                "host": domain.domain,
                "schema": tenant.schema_name,
                "marker": marker(number),
                "project": project.pk,
                "key": secret,
                "session": signed_in_session(owner, tenant),
                "owner_email": owner.email,
            }
        )

    acme = Tenant.objects.get(domains__domain=f"acme.{settings.BASE_DOMAIN}")
    globex = Tenant.objects.get(domains__domain=f"globex.{settings.BASE_DOMAIN}")
    BillingAccount.objects.update_or_create(tenant=acme, defaults={"plan": "business"})
    owner = User.objects.create_user(email=f"sweep-{uuid.uuid4().hex[:8]}@acme.test", password=None)
    Membership.objects.create(user=owner, tenant=acme, role=Role.OWNER)
    swept = build_world(acme, globex, owner)
    _key, secret = api_key_create(tenant=acme, name="Sweep", scope="write", acting_user=owner)
    sweep = {
        "host": f"acme.{settings.BASE_DOMAIN}",
        "a": swept.a,
        "b": swept.b,
        "key": secret,
        # re-authenticated far ahead, so passkey pages give their real answer (404) however long the seeding takes
        "sessions": [
            signed_in_session(owner, acme, reauthenticated_at=time.time() + 86400) for _ in range(SWEEP_SESSIONS)
        ],
    }
    return {"workspaces": workspaces, "sweep": sweep, "b_state": b_state()}


def b_state() -> Any:
    from django.conf import settings

    from tenants.models import Tenant
    from tests.tenants.test_isolation_sweep import b_state_of

    globex = Tenant.objects.get(domains__domain=f"globex.{settings.BASE_DOMAIN}")
    return json.loads(json.dumps(b_state_of(globex), default=str))


def main(command: str, *args: str) -> None:
    django.setup()
    if command == "world":
        print(json.dumps(world(int(args[0]))))
    elif command == "b-state":
        print(json.dumps(b_state()))
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(*sys.argv[1:])

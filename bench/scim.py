"""SCIM benchmark (`make bench-scim`): 1,000 people and 50 groups provisioned through SCIM into one workspace, then
patched, listed and filtered, over HTTP against gunicorn (2 sync workers) on loopback, one client at a time.

In a throwaway database (`atrium_bench_scim`) on the server DATABASE_URL names (the embedded development server when
it is unset), dropped at the end: one workspace with a verified domain (so every person provisioned joins: an account
made, a membership, an audit entry) and a SCIM token.

  create  POST /scim/v2/Users, 1,000 people of the verified domain
  groups  POST /scim/v2/Groups, 50 groups of 20 members each
  patch   PATCH /scim/v2/Users/<id> (replace displayName), 1,000 times
  list    GET /scim/v2/Users?startIndex=…&count=100, the 10 pages, 3 times
  filter  GET /scim/v2/Users?filter=userName eq "…", 200 times

Targets: create p50 ≤ 30 ms, a list of 100 ≤ 50 ms, the whole run ≤ 60 s. Last line:

  scim: users=1000 create_p50_ms=… patch_p50_ms=… list_p50_ms=… total_s=…
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api import gunicorn  # noqa: E402
from bench.common import log, recreate_database, server_url, with_database  # noqa: E402

BENCH_DB = "atrium_bench_scim"
SETTINGS = "bench.settings_scim"
DOMAIN = "bench-scim.com"


def setup() -> None:
    """Runs in a subprocess with Django configured: migrate, a workspace with a verified domain and a SCIM token.
    Prints one JSON line."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from shared_apps.accounts.models import Membership, Role, User
    from shared_apps.identity.models import VerifiedDomain
    from shared_apps.identity.services.scim_tokens import scim_token_create
    from tenants import provisioning, services
    from tenants.models import Domain, TenantStatus

    call_command("migrate_schemas", interactive=False, verbosity=0)
    services.public_tenant_ensure()
    provisioning.template_ensure()
    with transaction.atomic():
        tenant, _via = provisioning.tenant_with_schema(
            name="Bench SCIM", status=TenantStatus.ACTIVE, method=provisioning.Method.FAST
        )
        host = f"bench-scim.{settings.BASE_DOMAIN}"
        Domain.objects.create(tenant=tenant, domain=host, is_primary=True)
    owner = User.objects.create_user(email=f"owner@{DOMAIN}", password=None, name="Bench Owner")
    Membership.objects.create(user=owner, tenant=tenant, role=Role.OWNER)
    VerifiedDomain.objects.create(tenant=tenant, domain=DOMAIN, token="bench", verified_at=timezone.now())  # noqa: S106
    _token, secret = scim_token_create(tenant=tenant, name="bench", acting_user=owner)
    print(json.dumps({"host": host, "secret": secret, "tenant_id": tenant.pk}))


class Scim:
    """One keep-alive HTTP connection to the server, timing each request."""

    def __init__(self, port: int, host: str, secret: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Host": host, "Authorization": f"Bearer {secret}", "Content-Type": "application/scim+json"}

    def send(self, method: str, path: str, body: Any = None, expect: int = 200) -> tuple[float, Any]:
        data = json.dumps(body) if body is not None else None
        started = time.perf_counter()
        self.conn.request(method, "/scim/v2" + path, body=data, headers=self.headers)
        response = self.conn.getresponse()
        payload = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != expect:
            raise RuntimeError(f"{method} {path}: {response.status} {payload[:300]!r}")
        return elapsed, json.loads(payload) if payload else None


def p50(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.95) - 1]


def run(scim: Scim, users: int, groups: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {"create": [], "groups": [], "patch": [], "list": [], "filter": []}
    ids = []
    for i in range(users):
        body = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": f"person{i}@{DOMAIN}",
            "name": {"givenName": "Person", "familyName": str(i)},
            "emails": [{"value": f"person{i}@{DOMAIN}", "primary": True, "type": "work"}],
            "externalId": f"ext-{i}",
        }
        elapsed, created = scim.send("POST", "/Users", body, expect=201)
        timings["create"].append(elapsed)
        ids.append(created["id"])
    per_group = 20
    for g in range(groups):
        members = [{"value": ids[(g * per_group + k) % len(ids)]} for k in range(per_group)]
        body = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": f"Team {g}",
            "members": members,
        }
        elapsed, _ = scim.send("POST", "/Groups", body, expect=201)
        timings["groups"].append(elapsed)
    for i, scim_id in enumerate(ids):
        body = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "displayName", "value": f"Person number {i}"}],
        }
        elapsed, _ = scim.send("PATCH", f"/Users/{scim_id}", body)
        timings["patch"].append(elapsed)
    for _ in range(3):
        for start in range(1, users + 1, 100):
            elapsed, page = scim.send("GET", f"/Users?startIndex={start}&count=100")
            assert len(page["Resources"]) == min(100, users - start + 1), page["itemsPerPage"]
            timings["list"].append(elapsed)
    for k in range(200):
        wanted = f"person{(k * 7) % users}@{DOMAIN}"
        elapsed, found = scim.send("GET", "/Users?filter=" + quote(f'userName eq "{wanted}"'))
        assert found["totalResults"] == 1
        timings["filter"].append(elapsed)
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--setup", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setup:
        setup()
        return 0
    url = server_url()
    env = {**os.environ, "DATABASE_URL": with_database(url, BENCH_DB), "DJANGO_SETTINGS_MODULE": SETTINGS}
    env.setdefault("LOG_LEVEL", "ERROR")
    env["PYTHONPATH"] = str(ROOT)
    log(f"SCIM benchmark: database {BENCH_DB}, gunicorn 2 sync workers, one client over loopback")
    recreate_database(url, BENCH_DB)
    server = None
    try:
        made = subprocess.run(
            [sys.executable, __file__, "--setup"], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True
        )
        world = json.loads(made.stdout.strip().splitlines()[-1])
        server, port = gunicorn(env)
        scim = Scim(port, world["host"], world["secret"])
        for _ in range(10):  # warm both workers: connections, the route, the token's last use
            scim.send("GET", "/ServiceProviderConfig")
        started = time.perf_counter()
        timings = run(scim, args.users, args.groups)
        total = time.perf_counter() - started
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        recreate_database(url, BENCH_DB, drop_only=True)
    for name, values in timings.items():
        log(f"{name:7} n={len(values):5}  p50 {p50(values):6.2f} ms  p95 {p95(values):6.2f} ms")
    log(
        f"scim: users={args.users} create_p50_ms={p50(timings['create']):.1f} patch_p50_ms={p50(timings['patch']):.1f} "
        f"list_p50_ms={p50(timings['list']):.1f} total_s={total:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

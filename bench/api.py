"""API benchmark (`make bench-api`): listing 50 tasks through the API with a key, against the same selector behind a
plain Django JSON view, both under gunicorn (2 sync workers) loaded by wrk over loopback; and what verifying a key
costs.

In a throwaway database (`atrium_bench_api`) on the server DATABASE_URL names (the embedded development server when
it is unset), dropped at the end: one workspace, its owner, a project with 50 tasks (assigned, commented) and a
read-and-write API key. The caches are Atrium's as configured: the database cache without REDIS_URL, Redis with it.

  api    GET /api/v1/projects/<id>/tasks/ with `Authorization: Bearer atr_…`: routing, the key's lookup (one SHA-256,
         one indexed query), the plan's rate limits counted per key and per workspace (counted, never refused here),
         the project as the caller may see it, the page of 50 tasks, DRF's serializers and the RateLimit headers
  plain  GET /bench/projects/<id>/tasks/: the same two selectors, the same fields serialized by hand, no
         authentication, no rate limit, no DRF (routing and the middleware are the same)

Rounds interleave the two ways; the best round of each is compared. Key verification is timed in-process: the SHA-256
alone (what a slow password hash would make expensive) and the whole `api_key_authenticate` (hash + one query).
Last line:

  api: key_auth_us=… list_p50_ms=… rps=… vs_plain=…x
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import log, recreate_database, server_url, with_database  # noqa: E402

BENCH_DB = "atrium_bench_api"
SETTINGS = "bench.settings_api"


def setup() -> None:
    """Runs in a subprocess with Django configured: migrate, one workspace with 50 tasks, a key; then time the key's
    verification. Prints one JSON line."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import transaction
    from django_tenants.utils import tenant_context

    from shared_apps.accounts.models import ApiKey, Membership, Role, User
    from shared_apps.accounts.selectors import api_key_authenticate
    from shared_apps.accounts.services import api_key_create
    from tenant_apps.projects.models import Comment, Project, Task, TaskStatus
    from tenants import provisioning, services
    from tenants.models import Domain, TenantStatus

    call_command("migrate_schemas", interactive=False, verbosity=0)
    services.public_tenant_ensure()
    provisioning.template_ensure()
    with transaction.atomic():
        tenant, _via = provisioning.tenant_with_schema(
            name="Bench API", status=TenantStatus.ACTIVE, method=provisioning.Method.FAST
        )
        host = f"bench-api.{settings.BASE_DOMAIN}"
        Domain.objects.create(tenant=tenant, domain=host, is_primary=True)
    owner = User.objects.create_user(email="owner@bench-api.test", password=None, name="Bench Owner")
    Membership.objects.create(user=owner, tenant=tenant, role=Role.OWNER)
    people = [
        User.objects.create_user(email=f"p{i}@bench-api.test", password=None, name=f"Person {i}") for i in range(10)
    ]
    Membership.objects.bulk_create(Membership(user=u, tenant=tenant, role=Role.MEMBER) for u in people)
    with tenant_context(tenant):
        project = Project.objects.create(name="Benchmark", created_by=owner)
        statuses = list(TaskStatus)
        tasks = Task.objects.bulk_create(
            Task(
                project=project,
                title=f"Task {i}",
                description="Something to do, described in a sentence or two." * 2,
                status=statuses[i % 3],
                position=i,
                assignee=people[i % 10],
                created_by=owner,
            )
            for i in range(50)
        )
        Comment.objects.bulk_create(Comment(task=t, author=owner, body="A comment") for t in tasks for _ in range(2))
    _key, secret = api_key_create(tenant=tenant, name="bench", scope="write", acting_user=owner)

    rounds = 20_000
    started = time.perf_counter()
    for _ in range(rounds):
        ApiKey.hash_secret(secret)
    hash_us = (time.perf_counter() - started) / rounds * 1e6
    samples = []
    for _ in range(2000):
        t0 = time.perf_counter()
        identity = api_key_authenticate(secret=secret, tenant_id=tenant.pk)
        samples.append((time.perf_counter() - t0) * 1e6)
        assert identity is not None
    inprocess = _in_process(
        host, project.pk, secret, owner.pk, rounds=int(os.environ.get("BENCH_INPROCESS_ROUNDS", "15"))
    )
    print(
        json.dumps(
            {
                "inprocess": inprocess,
                "host": host,
                "project": project.pk,
                "user_id": owner.pk,
                "secret": secret,
                "hash_us": hash_us,
                "verify_us": statistics.median(samples),
            }
        )
    )


def _in_process(host: str, project_id: int, secret: str, user_id: int, *, rounds: int) -> dict[str, float]:
    """Both ways through Django's WSGI handler in this process (no sockets, no gunicorn): median µs per request of
    interleaved rounds of 50 requests, and the statements each sends."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    os.environ["BENCH_USER_ID"] = str(user_id)
    api = Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Bearer {secret}")
    plain = Client(HTTP_HOST=host)
    paths = {
        "api": (api, f"/api/v1/projects/{project_id}/tasks/?page_size=50"),
        "plain": (plain, f"/bench/projects/{project_id}/tasks/"),
    }
    for client, path in paths.values():
        for _ in range(20):
            assert client.get(path).status_code == 200
    samples: dict[str, list[float]] = {name: [] for name in paths}
    for r in range(rounds):
        for name in list(paths) if r % 2 == 0 else list(reversed(paths)):
            client, path = paths[name]
            started = time.perf_counter()
            for _ in range(50):
                client.get(path)
            samples[name].append((time.perf_counter() - started) / 50 * 1e6)
    result = {f"{name}_us": statistics.median(values) for name, values in samples.items()}
    for name, (client, path) in paths.items():
        with CaptureQueriesContext(connection) as queries:
            client.get(path)
        result[f"{name}_statements"] = float(len(queries))
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def gunicorn(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-w", "2", "-k", "sync", "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", "bench.wsgi:application"],
        env=env, cwd=ROOT,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server, port
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("gunicorn did not start")


def wrk_run(wrk: str, port: int, path: str, headers: list[str], seconds: int) -> tuple[float, float]:
    """(requests/s, p50 ms) of one wrk run; refuses a run with any non-2xx answer."""
    args = [wrk, "-t2", "-c8", f"-d{seconds}s", "--latency"]
    for header in headers:
        args += ["-H", header]
    out = subprocess.run([*args, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True).stdout
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"{path}: {non2xx.group(1)} failed responses under wrk:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    assert p50, out
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p50.group(2)]
    return rps, float(p50.group(1)) * scale


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved wrk rounds per way")
    parser.add_argument("--setup", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setup:
        setup()
        return 0

    wrk = shutil.which("wrk")
    if not wrk:
        log("wrk not found: install Debian's wrk package (apt-get install wrk)")
        return 1
    url = server_url()
    env = {**os.environ, "DATABASE_URL": with_database(url, BENCH_DB), "DJANGO_SETTINGS_MODULE": SETTINGS}
    env.setdefault("LOG_LEVEL", "ERROR")
    env["PYTHONPATH"] = str(ROOT)
    cache = "Redis" if env.get("REDIS_URL") else "the database cache"
    log(f"API benchmark: database {BENCH_DB}, rate-limit counters in {cache}")
    recreate_database(url, BENCH_DB)
    server = None
    try:
        made = subprocess.run(
            [sys.executable, __file__, "--setup"], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True
        )
        world = json.loads(made.stdout.strip().splitlines()[-1])
        env["BENCH_USER_ID"] = str(world["user_id"])
        log(
            f"key verification, in-process: SHA-256 {world['hash_us']:.2f} us; the whole check (hash + one indexed "
            f"query, over the socket) {world['verify_us']:.0f} us median"
        )
        inprocess = world["inprocess"]
        log(
            f"in-process (Django's WSGI handler, no sockets), median us/request: api {inprocess['api_us']:.0f} "
            f"({inprocess['api_statements']:.0f} statements), plain {inprocess['plain_us']:.0f} "
            f"({inprocess['plain_statements']:.0f} statements): {inprocess['api_us'] / inprocess['plain_us']:.2f}x"
        )
        server, port = gunicorn(env)
        host = f"Host: {world['host']}"
        bearer = f"Authorization: Bearer {world['secret']}"
        ways = {
            "api": (f"/api/v1/projects/{world['project']}/tasks/?page_size=50", [host, bearer]),
            "plain": (f"/bench/projects/{world['project']}/tasks/", [host]),
        }
        for path, headers in ways.values():  # warm both workers: connections, routes, the key's last use
            wrk_run(wrk, port, path, headers, 2)
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
        for r in range(args.rounds):
            names = list(ways) if r % 2 == 0 else list(reversed(ways))
            for name in names:
                path, headers = ways[name]
                results[name].append(wrk_run(wrk, port, path, headers, args.seconds))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        recreate_database(url, BENCH_DB, drop_only=True)

    log(f"\ngunicorn, 2 sync workers, wrk -t2 -c8 -d{args.seconds}s over loopback, 50 tasks per response")
    best = {name: max(runs) for name, runs in results.items()}
    for name, runs in results.items():
        rounds = ", ".join(f"{rps:.0f}" for rps, _ in runs)
        log(f"{name:6} {best[name][0]:8.0f} requests/s   p50 {best[name][1]:.2f} ms   (rounds: {rounds})")
    vs_plain = best["plain"][0] / best["api"][0]
    api_rps, api_p50 = best["api"]
    log(f"api: key_auth_us={world['hash_us']:.1f} list_p50_ms={api_p50:.2f} rps={api_rps:.0f} vs_plain={vs_plain:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

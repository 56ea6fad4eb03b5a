"""Routing benchmark: what a routed request costs next to plain Django (`make bench-routing`).

One run, three ways, the same view (two queries on a tenant table), the same database and process type:

  (a) plain   plain single-schema Django: no tenant middleware, search_path fixed at connect time
  (b) atrium  Atrium's routing (tenants.middleware + tenants.postgresql_backend)
  (c) dt      django-tenants' stock TenantMainMiddleware and backend (TENANT_LIMIT_SET_CALLS = True)

Each way runs in its own warm process behind Django's WSGI handler; rounds are interleaved (the order rotates every
round) and the median µs/request per way is reported, with statements/request counted at the psycopg level. Then,
when gunicorn and wrk are available, each way is served by gunicorn (2 sync workers) and loaded by wrk over loopback
with requests cycling through all benchmark tenants; requests/s are printed. The last line is

  routing: plain_us=… atrium_us=… dt_us=… atrium_vs_plain=…x dt_vs_plain=…x atrium_statements_extra=…

The benchmark works in its own throwaway database (`atrium_bench_routing`) on the server DATABASE_URL names, or on
the embedded development server when it is unset, and drops it at the end.
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
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import log, recreate_database, server_url, with_database  # noqa: E402

WAYS = {"plain": "bench.settings_plain", "atrium": "bench.settings_atrium", "dt": "bench.settings_dt"}
BENCH_DB = "atrium_bench_routing"


def setup_tenants(count: int) -> None:
    """Runs inside the setup subprocess (Django configured): migrate, then `count` tenants with 20 projects each."""
    import django

    django.setup()
    from django.core.management import call_command
    from django_tenants.utils import tenant_context

    from shared_apps.workspaces.services import workspace_create
    from tenant_apps.projects.models import Project
    from tenants import selectors, services

    call_command("migrate_schemas", interactive=False, verbosity=0)
    services.public_tenant_ensure()
    hosts, schemas = [], []
    started = time.perf_counter()
    for i in range(count):
        slug = f"bench{i:03d}"
        tenant, _ = workspace_create(slug=slug, name=f"Bench {i}", owner_email=f"owner{i}@bench.test")
        with tenant_context(tenant):
            Project.objects.bulk_create([Project(name=f"{slug} project {n}") for n in range(20)])
        hosts.append(selectors.host_for_slug(slug))
        schemas.append(tenant.schema_name)
        if (i + 1) % 10 == 0 or i + 1 == count:
            rate = (i + 1) / (time.perf_counter() - started)
            print(f"  tenants {i + 1}/{count} ({rate:.1f}/s)", file=sys.stderr, flush=True)
    print(json.dumps({"hosts": hosts, "schemas": schemas}))


class Way:
    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "routing_worker.py")],
            env={**env, "DJANGO_SETTINGS_MODULE": WAYS[name]},
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, n: int, hosts: list[str], *, count: bool = False) -> dict[str, Any]:
        assert self.proc.stdin
        assert self.proc.stdout
        self.proc.stdin.write(json.dumps({"run": n, "hosts": hosts, "count": count}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.name} worker died")
        reply: dict[str, Any] = json.loads(line)
        if reply["errors"]:
            raise RuntimeError(f"{self.name}: {reply['errors']} failed requests, e.g. {reply['first_error']}")
        return reply

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wrk_round(way: str, env: dict[str, str], hosts: list[str], seconds: int, wrk: str) -> float:
    port = free_port()
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    server = subprocess.Popen(
        [
            gunicorn,
            "-w",
            "2",
            "-k",
            "sync",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "bench.wsgi:application",
        ],
        env={**env, "DJANGO_SETTINGS_MODULE": WAYS[way]},
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            lua_hosts = ", ".join(f'"{h}"' for h in hosts)
            script.write(
                f"local hosts = {{{lua_hosts}}}\nlocal i = 0\n"
                "request = function()\n  i = i + 1\n"
                '  return wrk.format("GET", "/bench/", {["Host"] = hosts[(i % #hosts) + 1]})\nend\n'
            )
        # warm both workers (connections, routes), then measure
        subprocess.run([wrk, "-t2", "-c4", "-d2s", "-s", script.name, f"http://127.0.0.1:{port}"],
                       capture_output=True, check=True)  # fmt: skip
        out = subprocess.run(
            [wrk, "-t2", "-c8", f"-d{seconds}s", "-s", script.name, f"http://127.0.0.1:{port}"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        os.unlink(script.name)
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        if non2xx:
            raise RuntimeError(f"{way}: {non2xx.group(1)} failed responses under wrk")
        match = re.search(r"Requests/sec:\s+([\d.]+)", out)
        return float(match.group(1)) if match else 0.0
    finally:
        server.terminate()
        server.wait(timeout=30)


def wsgi_report(
    samples: dict[str, list[float]],
    statements: dict[str, float],
    cycling: dict[str, float],
    sample: dict[str, list[str]],
) -> dict[str, float]:
    """The WSGI handler's table: microseconds per request (medians), statements per request, one tenant and cycling;
    returns the medians."""
    us = {name: statistics.median(values) for name, values in samples.items()}
    log("\nWSGI handler, one tenant, warm process (median of interleaved rounds)")
    log(f"{'way':8} {'us/request':>11} {'p10..p90':>16} {'vs plain':>9} {'statements/req':>15} {'cycling':>8}")
    for name, values in samples.items():
        deciles = statistics.quantiles(values, n=10)
        log(
            f"{name:8} {us[name]:11.1f} {deciles[0]:7.1f}..{deciles[-1]:<7.1f} {us[name] / us['plain']:8.2f}x "
            f"{statements[name]:15.2f} {cycling[name]:8.2f}"
        )
    log("  ('cycling' = statements/request when successive requests go to different tenants)")
    for name, statements_seen in sample.items():
        log(f"  {name} sends: " + " | ".join(s[:60] for s in statements_seen))
    return us


def wrk_report(env: dict[str, str], hosts: list[str], *, seconds: int, rounds: int, skip: bool) -> None:
    """gunicorn under wrk for each way, cycling the hosts (skipped without wrk)."""
    wrk = shutil.which("wrk")
    if skip or not wrk:
        log("\nwrk: skipped" + ("" if skip else " (install Debian's wrk package to run it)"))
    else:
        log(f"\ngunicorn, 2 sync workers, wrk -t2 -c8 -d{seconds}s over loopback, cycling {len(hosts)} tenants")
        rps: dict[str, list[float]] = {name: [] for name in WAYS}
        for r in range(rounds):
            names = list(WAYS)
            for name in names[r % 3 :] + names[: r % 3]:
                rps[name].append(wrk_round(name, env, hosts, seconds, wrk))
        for name, values in rps.items():
            best = max(values)
            log(f"{name:8} {best:9.0f} requests/s   ({best / max(rps['plain']):.2f}x plain; rounds: "
                + ", ".join(f"{v:.0f}" for v in values) + ")")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--requests", type=int, default=400, help="requests per way per round")
    parser.add_argument("--wrk-seconds", type=int, default=8)
    parser.add_argument("--wrk-rounds", type=int, default=2)
    parser.add_argument("--no-wrk", action="store_true")
    parser.add_argument("--setup", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setup is not None:
        setup_tenants(args.setup)
        return

    url = server_url()
    bench_url = with_database(url, BENCH_DB)
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)}
    env.update({"DATABASE_URL": bench_url, "DJANGO_SETTINGS_MODULE": WAYS["atrium"], "PYTHONPATH": str(ROOT)})
    log(f"routing benchmark: database {BENCH_DB}, {args.tenants} tenants, {args.rounds} rounds x {args.requests} "
        "requests per way")  # fmt: skip
    recreate_database(url, BENCH_DB)
    ways: list[Way] = []
    try:
        setup = subprocess.run(
            [sys.executable, __file__, "--setup", str(args.tenants)],
            env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True,
        )  # fmt: skip
        world = json.loads(setup.stdout.strip().splitlines()[-1])
        hosts: list[str] = world["hosts"]
        env["BENCH_SCHEMA"] = world["schemas"][0]
        one_host = hosts[:1]

        ways = [Way(name, env) for name in WAYS]
        for way in ways:  # warm: imports, connections, routes, template and URL caches
            way.run(300, one_host)
            way.run(len(hosts) * 3, hosts)

        samples: dict[str, list[float]] = {w.name: [] for w in ways}
        for r in range(args.rounds):
            order = ways[r % len(ways) :] + ways[: r % len(ways)]
            for way in order:
                reply = way.run(args.requests, one_host)
                samples[way.name].append(reply["seconds"] / args.requests * 1e6)
        statements = {w.name: w.run(100, one_host, count=True)["statements"] / 100 for w in ways}
        cycling = {w.name: w.run(len(hosts) * 2, hosts, count=True)["statements"] / (len(hosts) * 2) for w in ways}
        sample = {w.name: w.run(1, one_host, count=True)["sample"] for w in ways}
    finally:
        for way in ways:
            way.close()

    us = wsgi_report(samples, statements, cycling, sample)
    wrk_report(env, hosts, seconds=args.wrk_seconds, rounds=args.wrk_rounds, skip=args.no_wrk)
    recreate_database(url, BENCH_DB, drop_only=True)
    extra = statements["atrium"] - statements["plain"]
    log(
        f"routing: plain_us={us['plain']:.0f} atrium_us={us['atrium']:.0f} dt_us={us['dt']:.0f} "
        f"atrium_vs_plain={us['atrium'] / us['plain']:.2f}x dt_vs_plain={us['dt'] / us['plain']:.2f}x "
        f"atrium_statements_extra={extra:g}"
    )


if __name__ == "__main__":
    main()

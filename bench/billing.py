"""Billing benchmark (`make bench-billing`): how fast a Stripe webhook is taken in, and how long a member change takes
to reach Stripe's seat count.

In a throwaway database (`atrium_bench_billing`) on the server DATABASE_URL names (the embedded one by default),
dropped at the end, with the Stripe-compatible server on loopback (`devtools.stripe_local`) in a subprocess:

  ingest     N signed events (default 300) POSTed to /billing/webhooks/stripe/ through Django's whole stack
             (routing, middleware, the SDK's signature check, the insert, the commit, the task published to the
             broker — an in-memory one here, so no worker runs during the timing). p50 and p95 per request.
  seat sync  a workspace on a trial; R rounds (default 3): a burst of member changes (an invitation, a join, a
             revocation), then the time until the subscription's quantity at the local Stripe server is the new
             count. The changes go through the services and their hooks as in production; the delayed task is not
             run (tasks run in-process here, where a countdown cannot wait), so the sync happens on the 15-second
             sweep that beat runs (`billing.seats_sync_due`, here a thread on the same schedule) once the
             BILLING_SEAT_SYNC_DEBOUNCE quiet period (10 s) is over: the slowest path. The worst round is reported.

Last line: `billing: ingest_p50_ms=… ingest_p95_ms=… seat_sync_s=…` (targets: p95 ≤ 50 ms, seat sync ≤ 60 s).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import log, recreate_database, server_url, with_database  # noqa: E402

BENCH_DB = "atrium_bench_billing"
SWEEP_SECONDS = 15.0  # CELERY_BEAT_SCHEDULE["billing-seats-sync-due"]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    base_url = server_url()
    recreate_database(base_url, BENCH_DB)
    port = _free_port()
    stripe_server = subprocess.Popen(
        [sys.executable, "-m", "devtools.stripe_local", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _run(base_url, port, args.events, args.rounds)
    finally:
        stripe_server.terminate()
        stripe_server.wait(timeout=10)
        from django.db import connections

        connections.close_all()
        recreate_database(base_url, BENCH_DB, drop_only=True)


def _run(base_url: str, port: int, events: int, rounds: int) -> None:
    os.environ["DATABASE_URL"] = with_database(base_url, BENCH_DB)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["STRIPE_API_BASE"] = f"http://127.0.0.1:{port}"
    os.environ["TENANT_POOL_SIZE"] = "0"
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    import django

    django.setup()
    import urllib.request

    from django.core.management import call_command

    from billing import services
    from tenants import provisioning
    from tenants import services as tenancy

    for _ in range(50):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_local/health", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    log("migrating the bench database…")
    call_command("migrate_schemas", interactive=False, verbosity=0)
    tenancy.public_tenant_ensure()
    provisioning.template_ensure()
    services.plans_sync()
    p50, p95 = _ingest(events)
    lags = _seat_sync_lags(rounds)
    log(f"billing: ingest_p50_ms={p50:.2f} ingest_p95_ms={p95:.2f} seat_sync_s={max(lags):.1f}")


def _ingest(events: int) -> tuple[float, float]:
    """Signed webhook events posted to the endpoint (queued, not processed): p50 and p95 in milliseconds."""
    from django.test import Client

    from billing import stripe_client
    from config.celery import app
    from devtools.stripe_local import sign

    app.conf.task_always_eager = False
    app.conf.broker_url = "memory://"
    client = Client(HTTP_HOST="localhost")
    secret = stripe_client.webhook_secret()
    timings = []
    for i in range(events):
        payload = json.dumps(
            {
                "id": f"evt_bench_{i}_{time.time_ns()}",
                "object": "event",
                "type": "invoice.paid",
                "created": int(time.time()),
                "livemode": False,
                "data": {"object": {"id": f"in_bench_{i}", "object": "invoice", "customer": "cus_bench"}},
            }
        )
        header = sign(payload, secret)
        started = time.perf_counter()
        response = client.post(
            "/billing/webhooks/stripe/", data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
        )
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"webhook answered {response.status_code}: {response.content[:200]!r}")
        if i >= 10:  # warm-up
            timings.append(elapsed)
    p50, p95 = percentile(timings, 50), percentile(timings, 95)
    log(f"ingest: {len(timings)} events, p50 {p50:.2f} ms, p95 {p95:.2f} ms")
    return p50, p95


def _seat_sync_lags(rounds: int) -> list[float]:
    """Each round changes the seats (invitations, a member joins, one revoked) and waits until Stripe's subscription
    has the new quantity, the sweep running every SWEEP_SECONDS as beat would: seconds per round."""
    from billing import services, stripe_client
    from billing.models import BillingAccount
    from config.celery import app
    from shared_apps.accounts import services as accounts
    from shared_apps.accounts.models import Role, User
    from shared_apps.workspaces.services import workspace_create

    app.conf.task_always_eager = True
    # The welcome task, run in-process outside a request here, logs a failure unrelated to billing: keep it quiet.
    logging.getLogger("shared_apps.core.transactions").setLevel(logging.CRITICAL)
    tenant, owner = workspace_create(slug="bench-seats", name="Bench Seats", owner_email="owner@bench.test")
    account = BillingAccount.objects.get(tenant=tenant)
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(SWEEP_SECONDS):
            services.seats_sync_due()

    threading.Thread(target=beat, daemon=True).start()
    lags = []
    stripe = stripe_client.client()
    try:
        for r in range(rounds):
            started = time.monotonic()
            result = accounts.invitations_create(
                tenant=tenant, emails=[f"a{r}@bench.test", f"b{r}@bench.test"], role=Role.MEMBER, acting_user=owner
            )
            joiner = User.objects.create_user(email=f"j{r}@bench.test")
            accounts.membership_create(user=joiner, tenant=tenant)
            accounts.invitation_revoke(tenant=tenant, invitation=result.created[0], acting_user=owner)
            want = 1 + 2 * (r + 1)  # owner + each round's joiner and remaining invitation
            while True:
                quantity = stripe.v1.subscriptions.retrieve(account.stripe_subscription_id)["items"].data[0].quantity
                if quantity == want:
                    break
                if time.monotonic() - started > 120:
                    raise SystemExit(f"seat count still {quantity}, expected {want}, after 120 s")
                time.sleep(0.25)
            lag = time.monotonic() - started
            lags.append(lag)
            log(f"seat sync round {r + 1}: {want} seats at Stripe after {lag:.1f} s")
    finally:
        stop.set()
    return lags


if __name__ == "__main__":
    main()

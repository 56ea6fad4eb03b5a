"""A platform with a past, committed where the browser tests' live server reads: the operators' journey and the README's
dashboard picture. Run with `manage.py shell -c "from tests.e2e.operators_seed import seed; seed(...)"`; `clean()`
removes it all again.

Sixteen small workspaces (made by the fast path) with months of history that agrees with their billing accounts
today: trials started, some converted, one churned; their members' actions in each one's own audit log (the metrics
refresh reads them from there, as it would any workspace's); sign-ups every day."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

PREFIX = "history"
HISTORY_DAYS = 120
ACTIONS = ["project.created", "task.created", "task.moved", "comment.created", "task.updated", "auth.login"]


def _at(today: date, days_ago: int, hour: int = 12) -> datetime:
    return datetime.combine(today - timedelta(days=days_ago), time(hour), tzinfo=UTC)


NAMES = [
    "Northwind",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Wonka",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Aperture",
    "Gringotts",
    "Monarch",
    "Oscorp",
    "Prestige",
]


def seed(*, operator: str, member: str, password: str, secret: str) -> None:
    from django.utils import timezone

    from billing.models import SubscriptionChange

    rng = random.Random(14)  # noqa: S311  (made-up history, repeatable)
    today = timezone.now().astimezone(UTC).date()
    _journey_people(operator=operator, member=member, password=password, secret=secret)
    changes: list[SubscriptionChange] = []
    for i, name in enumerate(NAMES):
        tenant, people, created = _workspace_with_people(name, rng, today)
        status, workspace_changes = _billing_history(i, tenant, created, rng, today)
        changes += workspace_changes
        _audit_history(tenant, people, created, status, rng, today)
    SubscriptionChange.objects.bulk_create(changes)
    _signups(rng, today)
    _platform_days(today)
    print("seeded")


def _journey_people(*, operator: str, member: str, password: str, secret: str) -> None:
    """The operator (with two-factor authentication) and a member of the browser tests' workspace, whose trial ends in
    two days."""
    from allauth.account.models import EmailAddress
    from allauth.mfa.totp.internal.auth import TOTP
    from django.conf import settings
    from django.utils import timezone

    from billing.models import BillingAccount
    from shared_apps.accounts.models import Membership, Role, User
    from tenants.models import Domain

    ops = User.objects.create_user(operator, password, name="Olivia Operator", is_staff=True, is_superuser=True)
    EmailAddress.objects.create(user=ops, email=ops.email, primary=True, verified=True)
    TOTP.activate(ops, secret)
    e2e = Domain.objects.get(domain=f"e2e-co.{settings.BASE_DOMAIN}").tenant
    dana = User.objects.create_user(member, "e2e-member-password", name="Dana Member")
    EmailAddress.objects.create(user=dana, email=dana.email, primary=True, verified=True)
    Membership.objects.create(user=dana, tenant=e2e, role=Role.MEMBER)
    BillingAccount.objects.update_or_create(
        tenant=e2e,
        defaults={
            "plan": "pro",
            "interval": "month",
            "status": "trialing",
            "seats_paid": 2,
            "trial_end": timezone.now() + timedelta(days=2),
        },
    )


def _workspace_with_people(name: str, rng: random.Random, today: date) -> tuple[Any, list[Any], int]:
    """A workspace made `created` days ago by the fast path, with 2 to 6 people who joined since: (tenant, people,
    created)."""
    from django.conf import settings
    from django.db import transaction

    from shared_apps.accounts.models import Membership, Role, User
    from tenants import provisioning
    from tenants.models import Domain, Tenant, TenantStatus

    with transaction.atomic():
        tenant, _via = provisioning.tenant_with_schema(
            name=f"{name} Co", status=TenantStatus.ACTIVE, method=provisioning.Method.FAST
        )
        Domain.objects.create(tenant=tenant, domain=f"{PREFIX}-{name.lower()}.{settings.BASE_DOMAIN}", is_primary=True)
    created = rng.randint(20, HISTORY_DAYS - 10)
    Tenant.objects.filter(pk=tenant.pk).update(created_at=_at(today, created))
    people = []
    for n in range(rng.randint(2, 6)):
        person = User.objects.create_user(f"p{n}@{name.lower()}.{PREFIX}.test", None, name=f"{name} Person {n}")
        User.objects.filter(pk=person.pk).update(date_joined=_at(today, created, 9))
        joined = Membership.objects.create(user=person, tenant=tenant, role=Role.OWNER if n == 0 else Role.MEMBER)
        Membership.objects.filter(pk=joined.pk).update(created_at=_at(today, created - min(n * 3, created)))
        people.append(person)
    return tenant, people, created


def _billing_history(i: int, tenant: Any, created: int, rng: random.Random, today: date) -> tuple[str, list[Any]]:
    """The workspace's billing account today and the ledger that led there: a trial; four in five convert when it
    ends (one of them leaves again), the others fall past due. Returns (status, the ledger's changes)."""
    from billing.models import BillingAccount, SubscriptionChange
    from billing.selectors import mrr_cents

    changes = [
        SubscriptionChange(
            tenant_id=tenant.pk, at=_at(today, created), from_status="none", to_status="trialing", to_plan="pro"
        )
    ]
    seats = rng.randint(3, 14)
    status, card = "trialing", ""
    if i % 5 != 4 and created - 14 >= 0:  # four in five convert when their trial ends
        status, card = "active", "4242"
        paid = mrr_cents(plan="pro", interval="month", seats_paid=seats, status="active", card_last4="4242")
        changes.append(
            SubscriptionChange(
                tenant_id=tenant.pk,
                at=_at(today, created - 14),
                from_status="trialing",
                to_status="active",
                from_plan="pro",
                to_plan="pro",
                mrr_after=paid,
            )
        )
        if i == 7:  # one of them left again
            status, card = "canceled", "4242"
            changes.append(
                SubscriptionChange(
                    tenant_id=tenant.pk,
                    at=_at(today, max(created - 30, 1)),
                    from_status="active",
                    to_status="canceled",
                    from_plan="pro",
                    to_plan="pro",
                    mrr_before=paid,
                )
            )
    elif created - 14 >= 0:
        status = "past_due"  # a trial that ended without a card
        changes.append(
            SubscriptionChange(
                tenant_id=tenant.pk,
                at=_at(today, created - 14),
                from_status="trialing",
                to_status="past_due",
                from_plan="pro",
                to_plan="pro",
            )
        )
    BillingAccount.objects.create(
        tenant=tenant,
        plan="pro",
        interval="month",
        status=status,
        seats_paid=seats,
        card_last4=card,
        trial_end=_at(today, created - 14),
    )
    return status, changes


def _audit_history(tenant: Any, people: list[Any], created: int, status: str, rng: random.Random, today: date) -> None:
    """The members' actions since the workspace was made, written straight into its audit log on the days they
    happened (none for a workspace that left)."""
    from django.db import connection

    busy = 0.25 + 0.6 * rng.random()
    entries = [
        (rng.choice(ACTIONS), p.pk, p.email, "", "", "", "", "{}", _at(today, days_ago, rng.randint(7, 20)))
        for days_ago in range(created)
        if status != "canceled" and rng.random() < busy
        for p in rng.sample(people, k=rng.randint(1, len(people)))
    ]
    with connection.cursor() as cursor:
        cursor.executemany(
            f'INSERT INTO "{tenant.schema_name}".audit_auditentry (action, actor_id, actor_label, target_type, '  # noqa: S608
            "target_id, target_label, user_agent, metadata, created_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            entries,
        )


def _signups(rng: random.Random, today: date) -> None:
    """Sign-ups every day of the history, a few more in the last 30 days."""
    from shared_apps.accounts.models import User

    for days_ago in range(HISTORY_DAYS):
        for n in range(rng.randint(1, 3) + (1 if days_ago < 30 else 0)):
            user = User.objects.create_user(f"signup-{days_ago}-{n}@{PREFIX}.test", None)
            User.objects.filter(pk=user.pk).update(date_joined=_at(today, days_ago, 8 + n))


def _platform_days(today: date) -> None:
    """The metrics refresh for today, and the platform's days before it, growing towards today."""
    from shared_apps.workspaces.metrics import metrics_refresh
    from shared_apps.workspaces.models import PlatformDay

    metrics_refresh(full=True)
    latest = PlatformDay.objects.get(day=today)
    for days_ago in range(1, HISTORY_DAYS):
        share = 0.55 + 0.45 * (HISTORY_DAYS - days_ago) / HISTORY_DAYS
        PlatformDay.objects.create(
            day=today - timedelta(days=days_ago),
            workspaces=latest.workspaces,
            members=int(latest.members * share),
            database_bytes=int(latest.database_bytes * share),
            refreshed_at=_at(today, days_ago),
        )


def clean(*, operator: str, member: str) -> None:
    from django.conf import settings
    from django.db import connection
    from django_tenants.utils import schema_context

    from billing.models import BillingAccount, SubscriptionChange
    from shared_apps.accounts.models import User
    from shared_apps.workspaces.models import ImpersonationSession, PlatformDay, WorkspaceDay, WorkspaceMetrics
    from shared_apps.workspaces.services import workspace_delete
    from tenants.models import Domain, Tenant

    for tenant in Tenant.objects.filter(domains__domain__startswith=f"{PREFIX}-"):
        workspace_delete(tenant=tenant, acting_user=None)
    for model in (WorkspaceDay, SubscriptionChange, PlatformDay, WorkspaceMetrics, ImpersonationSession):
        model.objects.all().delete()
    BillingAccount.objects.filter(tenant__domains__domain=f"e2e-co.{settings.BASE_DOMAIN}").delete()
    with connection.cursor() as cursor:  # the operator log is append-only in the ORM
        cursor.execute("DELETE FROM workspaces_operatorlogentry")
    # Accounts are deleted from the workspace's schema: their rows there (audit entries) lose them with them.
    e2e = Domain.objects.get(domain=f"e2e-co.{settings.BASE_DOMAIN}").tenant
    with schema_context(e2e.schema_name):
        User.objects.filter(email__endswith=f"{PREFIX}.test").delete()
        User.objects.filter(email__in=[operator, member]).delete()
    print("cleaned")

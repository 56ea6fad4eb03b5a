"""Growth: accounts, workspaces and memberships created."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, Q
from django.utils.translation import gettext as _

from shared_apps.accounts.models import Membership, User
from shared_apps.operators.dashboard.figures import Figure, created_per_day, now_and_before
from shared_apps.operators.dashboard.period import Period, day_start
from tenants.models import TenantStatus
from tenants.selectors import workspaces


@dataclass(frozen=True)
class Growth:
    """Accounts and workspaces created per day (over the range and the one before), and memberships. 3 queries."""

    signups: list[tuple[date, int]]
    created: list[tuple[date, int]]
    members: dict[str, int]

    @classmethod
    def read(cls, period: Period) -> Growth:
        since, until = day_start(period.prev_start), day_start(period.end + timedelta(days=1))
        members = Membership.objects.exclude(tenant__status__in=[TenantStatus.TEMPLATE, TenantStatus.SPARE]).aggregate(
            total=Count("id"),
            joined=Count("id", filter=Q(created_at__gte=day_start(period.start), created_at__lt=until)),
            joined_before=Count("id", filter=Q(created_at__gte=since, created_at__lt=day_start(period.start))),
            after_end=Count("id", filter=Q(created_at__gte=until)),
            after_prev_end=Count("id", filter=Q(created_at__gte=day_start(period.start))),
        )
        return cls(
            signups=created_per_day(User.objects.filter(is_staff=False), "date_joined", since, until),
            created=created_per_day(workspaces(), "created_at", since, until),
            members=members,
        )

    def figures(self, period: Period) -> list[Figure]:
        signups_now, signups_prev = now_and_before(period, self.signups)
        created_now, created_prev = now_and_before(period, self.created)
        m = self.members
        return [
            Figure(_("Sign-ups (new accounts)"), signups_now, signups_prev),
            Figure(_("New workspaces"), created_now, created_prev),
            Figure(
                _("Members"),
                m["total"] - m["after_end"],
                m["total"] - m["after_prev_end"],
                note=_("memberships in workspaces"),
            ),
            Figure(_("New members"), m["joined"], m["joined_before"]),
        ]

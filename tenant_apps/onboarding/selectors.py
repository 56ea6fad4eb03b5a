"""The guided start: what a workspace has done of its first steps (each read from what exists, so the list ticks
itself), and the trial's days left."""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.models import BillingAccount, SubscriptionStatus
from shared_apps.accounts.models import Invitation, Membership, User
from shared_apps.accounts.selectors import user_has_mfa
from tenant_apps.onboarding.models import ChecklistDismissal
from tenant_apps.projects.models import Project


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    done: bool
    url: str
    action: str


def checklist_for(*, user: User, tenant_id: int, is_owner: bool) -> list[Step] | None:
    """The steps and whether each is done, or None when this person dismissed the list. A fixed number of queries."""
    if ChecklistDismissal.objects.filter(user_id=user.pk).exists():
        return None
    colleagues = (
        Membership.objects.filter(tenant_id=tenant_id).exclude(user_id=user.pk).exists()
        or Invitation.objects.filter(tenant_id=tenant_id).exists()
    )
    steps = [
        Step("project", _("Create a project"), Project.objects.exists(), reverse("project_create"), _("New project")),
        Step("invite", _("Invite a colleague"), colleagues, reverse("settings_invitations"), _("Invite your team")),
        Step(
            "mfa", _("Set up two-factor sign-in"), user_has_mfa(user=user), reverse("mfa_index"), _("Set up two-factor")
        ),
    ]
    if is_owner:
        account = BillingAccount.objects.filter(tenant_id=tenant_id).only("status", "card_last4").first()
        paying = account is not None and (account.status == SubscriptionStatus.ACTIVE or bool(account.card_last4))
        steps.append(
            Step("billing", _("Connect billing"), paying, reverse("settings_billing"), _("Add a payment method"))
        )
    return steps


def trial_days_left(*, tenant_id: int) -> int | None:
    """Whole days left in the workspace's trial (rounded up), or None when it is not trialing. One query."""
    account = BillingAccount.objects.filter(tenant_id=tenant_id).only("status", "trial_end").first()
    if account is None or account.status != SubscriptionStatus.TRIALING or account.trial_end is None:
        return None
    seconds = (account.trial_end - timezone.now()).total_seconds()
    return max(0, math.ceil(seconds / 86400))

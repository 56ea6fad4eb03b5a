"""Dismissing the guided start's checklist (for the person, in this workspace)."""

from __future__ import annotations

from django.db import transaction

from shared_apps.accounts.models import User
from tenant_apps.onboarding.models import ChecklistDismissal


@transaction.atomic
def checklist_dismiss(*, acting_user: User) -> None:
    ChecklistDismissal.objects.bulk_create([ChecklistDismissal(user=acting_user)], ignore_conflicts=True)

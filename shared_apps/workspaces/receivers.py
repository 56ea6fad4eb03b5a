"""The workspace layer listens to billing: a subscription read back from Stripe sets the workspace's state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from billing.models import BillingAccount
from shared_apps.workspaces.services import workspace_billing_state_apply


def on_subscription_synced(
    sender: Any, account: BillingAccount, previous_status: str, previous_plan: str, now: datetime, **kwargs: Any
) -> None:
    workspace_billing_state_apply(
        account=account, previous_status=previous_status, previous_plan=previous_plan, now=now
    )

"""The operators' log: a platform operator's change carries a checked reason and is recorded in the public log."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from shared_apps.accounts.models import User
from shared_apps.core.context import current
from shared_apps.core.errors import ApplicationError
from shared_apps.core.text import has_control_characters
from shared_apps.workspaces.models import OperatorAction, OperatorLogEntry
from tenants.models import Tenant


class ReasonRequired(ApplicationError):
    """An operator's change without a usable reason."""


REASON_MAX = 500


def operator_reason(reason: str) -> str:
    """The reason an operator gives for a change, checked: required, one line, at most REASON_MAX characters."""
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired(_("Give a reason: it goes into the operator log and the workspace's audit log."))
    if len(reason) > REASON_MAX:
        raise ReasonRequired(_("Keep the reason under %(REASON_MAX)s characters.") % {"REASON_MAX": REASON_MAX})
    if has_control_characters(reason):
        raise ReasonRequired(_("The reason cannot contain line breaks or control characters."))
    return reason


def operator_log_record(
    *,
    operator: User,
    action: OperatorAction,
    reason: str,
    tenant: Tenant | None = None,
    target_user: User | None = None,
    metadata: dict[str, Any] | None = None,
) -> OperatorLogEntry:
    """Append to the public operator log (inside the caller's transaction): who, what, why, to what, from where."""
    context = current()
    return OperatorLogEntry.objects.create(
        operator=operator,
        operator_label=operator.email[:254],
        action=action,
        tenant_id=tenant.pk if tenant is not None else None,
        tenant_name=(tenant.name if tenant is not None else "")[:100],
        target_user=target_user,
        target_label=(target_user.email if target_user is not None else "")[:254],
        reason=reason,
        metadata=metadata or {},
        ip_address=context.ip,
        user_agent=context.user_agent,
    )

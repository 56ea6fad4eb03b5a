"""The operators' records (public schema): workspace metrics, the operator log, impersonation sessions.

- `WorkspaceMetrics` / `WorkspaceDay` / `PlatformDay`: figures the metrics refresh (`metrics.metrics_refresh`)
  gathers from every schema in bulk. The operators' lists, filters and dashboard read these tables; no request reads
  across schemas.
- `OperatorLogEntry`: what platform operators did to workspaces and accounts, with the reason they gave. Append-only;
  each entry is also written to the workspace's own audit log.
- `ImpersonationSession`: an operator signed in to a workspace as one of its members, read-only unless stepped up,
  for at most IMPERSONATION_MAX_MINUTES.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shared_apps.core.append_only import AppendOnlyModel, AppendOnlyQuerySet


class WorkspaceMetrics(models.Model):
    """One workspace's figures as of `refreshed_at`."""

    tenant = models.OneToOneField("tenants.Tenant", on_delete=models.CASCADE, primary_key=True, related_name="metrics")
    members = models.PositiveIntegerField(default=0)
    projects = models.PositiveIntegerField(default=0)
    tasks = models.PositiveIntegerField(default=0)
    database_bytes = models.BigIntegerField(default=0)  # the schema's tables and indexes
    storage_bytes = models.BigIntegerField(null=True, blank=True)  # files (storage's accounting); None: not read yet
    api_calls_30d = models.BigIntegerField(null=True, blank=True)  # the API's daily counts; None: not read yet
    last_activity_at = models.DateTimeField(null=True, blank=True, db_index=True)  # a member's last audited action
    plan = models.CharField(max_length=32, blank=True, db_index=True)
    subscription_status = models.CharField(max_length=24, blank=True)
    trial_end = models.DateTimeField(null=True, blank=True)
    mrr_cents = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "workspace metrics"

    def __str__(self) -> str:
        return f"metrics of tenant {self.tenant_id}"


class WorkspaceDay(models.Model):
    """What one workspace did on one day (UTC): its members' audited actions, its API calls. Kept after a purge (no
    foreign key), so past figures do not change when a workspace goes."""

    tenant_id = models.BigIntegerField()
    day = models.DateField()
    events = models.PositiveIntegerField(default=0)
    api_calls = models.BigIntegerField(null=True, blank=True)  # None: not reported

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["tenant_id", "day"], name="workspaces_day_tenant_day_unique")
        ]
        indexes: ClassVar = [models.Index(fields=["day"], name="workspaces_day_day_idx")]

    def __str__(self) -> str:
        return f"tenant {self.tenant_id} on {self.day}"


class PlatformDay(models.Model):
    """The platform's totals as the last refresh of each day (UTC) found them: what change-over-period figures of
    sizes (members, database, storage) compare against."""

    day = models.DateField(primary_key=True)
    workspaces = models.PositiveIntegerField(default=0)
    members = models.PositiveIntegerField(default=0)
    database_bytes = models.BigIntegerField(default=0)
    storage_bytes = models.BigIntegerField(null=True, blank=True)
    refreshed_at = models.DateTimeField()
    refresh_seconds = models.FloatField(default=0.0)

    class Meta:
        ordering: ClassVar = ["-day"]

    def __str__(self) -> str:
        return f"platform on {self.day}"


class OperatorAction(models.TextChoices):
    WORKSPACE_SUSPENDED = "workspace.suspended", _("Suspended a workspace")
    WORKSPACE_RESUMED = "workspace.resumed", _("Resumed a workspace")
    WORKSPACE_DELETION_SCHEDULED = "workspace.deletion_scheduled", _("Scheduled a workspace for deletion")
    WORKSPACE_RESTORED = "workspace.restored", _("Restored a workspace")
    WORKSPACE_EXPORTED = "workspace.exported", _("Exported a workspace")
    WORKSPACE_TRIAL_EXTENDED = "workspace.trial_extended", _("Extended a trial")
    WORKSPACE_PLAN_CHANGED = "workspace.plan_changed", _("Changed a plan")
    IMPERSONATION_STARTED = "impersonation.started", _("Signed in as a member")
    IMPERSONATION_WRITES_ENABLED = "impersonation.writes_enabled", _("Allowed changes while signed in as a member")
    IMPERSONATION_ENDED = "impersonation.ended", _("Ended signing in as a member")
    USER_DEACTIVATED = "user.deactivated", _("Deactivated an account")
    USER_REACTIVATED = "user.reactivated", _("Reactivated an account")
    USER_SIGNED_OUT = "user.signed_out", _("Signed an account out everywhere")
    USER_VERIFICATION_SENT = "user.verification_sent", _("Resent an email verification")
    USER_PASSWORD_RESET_SENT = "user.password_reset_sent", _("Sent a password reset email")
    USER_EMAIL_CHANGED = "user.email_changed", _("Changed an email address")


class OperatorLogQuerySet(AppendOnlyQuerySet["OperatorLogEntry"]):
    pass


class OperatorLogManager(models.Manager.from_queryset(OperatorLogQuerySet)):  # type: ignore[misc]
    pass


class OperatorLogEntry(AppendOnlyModel):
    """One thing an operator did, why, to which workspace or account, from where. Outlives both (no foreign key to
    the workspace; the accounts are SET NULL with their labels kept)."""

    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    operator_label = models.CharField(max_length=254)
    action = models.CharField(max_length=64, choices=OperatorAction.choices, db_index=True)
    tenant_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    tenant_name = models.CharField(max_length=100, blank=True)
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target_label = models.CharField(max_length=254, blank=True)
    reason = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = OperatorLogManager()
    append_only_message = "The operator log is append-only."
    nullable_links = frozenset({"operator", "target_user"})

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]
        verbose_name = "operator log entry"
        verbose_name_plural = "operator log"
        base_manager_name = "objects"

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.operator_label}: {self.get_action_display()}"


class ImpersonationEnd(models.TextChoices):
    ENDED = "ended", _("Ended by the operator")
    EXPIRED = "expired", _("Time limit reached")
    REVOKED = "revoked", _("Ended from the admin")
    INVALID = "invalid", _("No longer allowed (account or workspace changed)")


class ImpersonationSession(models.Model):
    """An operator signed in to `tenant` as `member`. Starts when the single-use ticket is redeemed on the workspace's
    host (`started_at`), ends by `ended_at` or at `expires_at`, whichever comes first."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    operator_label = models.CharField(max_length=254)
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    reason = models.TextField()
    handoff = models.OneToOneField(
        "accounts.LoginHandoff", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    writes_enabled_at = models.DateTimeField(null=True, blank=True)
    writes_reason = models.TextField(blank=True)
    ended_at = models.DateTimeField(null=True, blank=True, db_index=True)
    end_reason = models.CharField(max_length=16, choices=ImpersonationEnd.choices, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at"]
        permissions: ClassVar = [
            ("impersonate_member", "Can sign in to a workspace as one of its members (read-only)"),
            ("impersonate_with_writes", "Can allow changes while signed in as a member"),
        ]

    def __str__(self) -> str:
        return f"{self.operator_label} as user {self.member_id}"

    def is_live(self, now: datetime | None = None) -> bool:
        return self.ended_at is None and self.expires_at > (now or timezone.now())

    @property
    def seconds_left(self) -> int:
        return max(0, int((self.expires_at - timezone.now()).total_seconds()))

    @property
    def writes_enabled(self) -> bool:
        return self.writes_enabled_at is not None

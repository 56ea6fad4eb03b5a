"""The audit log's vocabulary: every action the platform records, with a human label, grouped for the page's filter.

`audit_record` accepts only these: a new kind of entry is added here first (with its label), so the audit page can
always say in words what happened.
"""

from __future__ import annotations

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

StrOrPromise = str | Promise


class AuditAction(models.TextChoices):
    MEMBER_JOINED = "member.joined", _("Member joined")
    MEMBER_LEFT = "member.left", _("Member left")
    MEMBER_REMOVED = "member.removed", _("Member removed")
    MEMBER_ROLE_CHANGED = "member.role_changed", _("Role changed")
    OWNERSHIP_TRANSFERRED = "ownership.transferred", _("Ownership transferred")
    INVITATION_CREATED = "invitation.created", _("Invitation sent")
    INVITATION_RESENT = "invitation.resent", _("Invitation resent")
    INVITATION_REVOKED = "invitation.revoked", _("Invitation revoked")
    INVITATION_RESTORED = "invitation.restored", _("Invitation revoke undone")
    INVITATION_ACCEPTED = "invitation.accepted", _("Invitation accepted")
    AUTH_LOGIN = "auth.login", _("Signed in")
    AUTH_HANDOFF = "auth.handoff", _("Signed in from the Atrium home page")
    AUTH_SESSIONS_ENDED = "auth.sessions_ended", _("Signed out other sessions")
    MFA_AUTHENTICATOR_ADDED = "mfa.authenticator_added", _("Two-factor method added")
    MFA_AUTHENTICATOR_REMOVED = "mfa.authenticator_removed", _("Two-factor method removed")
    MFA_RECOVERY_CODES_REGENERATED = "mfa.recovery_codes_regenerated", _("Recovery codes regenerated")
    MFA_AUTHENTICATOR_RENAMED = "mfa.authenticator_renamed", _("Passkey renamed")
    ACCOUNT_PASSWORD_CHANGED = "account.password_changed", _("Password changed")
    ACCOUNT_PASSWORD_SET = "account.password_set", _("Password set")
    ACCOUNT_PASSWORD_RESET = "account.password_reset", _("Password reset")
    ACCOUNT_EMAIL_ADDED = "account.email_added", _("Email address added")
    ACCOUNT_EMAIL_REMOVED = "account.email_removed", _("Email address removed")
    ACCOUNT_EMAIL_CHANGED = "account.email_changed", _("Primary email changed")
    ACCOUNT_DEACTIVATED = "account.deactivated", _("Account deactivated by Atrium staff")
    ACCOUNT_REACTIVATED = "account.reactivated", _("Account reactivated by Atrium staff")
    ACCOUNT_SIGNED_OUT_EVERYWHERE = "account.signed_out_everywhere", _("Signed out everywhere by Atrium staff")
    ACCOUNT_VERIFICATION_SENT = "account.verification_sent", _("Email verification resent by Atrium staff")
    ACCOUNT_PASSWORD_RESET_SENT = "account.password_reset_sent", _("Password reset email sent by Atrium staff")
    TENANT_CREATED = "tenant.created", _("Workspace created")
    TENANT_RENAMED = "tenant.renamed", _("Workspace renamed")
    TENANT_LANGUAGE_CHANGED = "tenant.language_changed", _("Workspace language changed")
    TENANT_SUBDOMAIN_RENAMED = "tenant.subdomain_renamed", _("Subdomain renamed")
    TENANT_DOMAIN_ADDED = "tenant.domain_added", _("Domain added")
    TENANT_DOMAIN_REMOVED = "tenant.domain_removed", _("Domain removed")
    TENANT_REDIRECT_EXPIRED = "tenant.redirect_expired", _("Old address stopped redirecting")
    TENANT_SUSPENDED = "tenant.suspended", _("Workspace suspended")
    TENANT_RESUMED = "tenant.resumed", _("Workspace resumed")
    TENANT_DELETION_SCHEDULED = "tenant.deletion_scheduled", _("Deletion scheduled")
    TENANT_RESTORED = "tenant.restored", _("Workspace restored")
    TENANT_EXPORTED = "tenant.exported", _("Workspace exported")
    TENANT_IMPORTED = "tenant.imported", _("Workspace restored from an archive")
    BILLING_TRIAL_STARTED = "billing.trial_started", _("Trial started")
    BILLING_PLAN_CHANGED = "billing.plan_changed", _("Plan changed")
    BILLING_PAST_DUE = "billing.past_due", _("Payment past due")
    BILLING_READ_ONLY = "billing.read_only", _("Read-only: payment overdue")
    BILLING_SUSPENDED = "billing.suspended", _("Suspended: subscription ended or unpaid")
    BILLING_REACTIVATED = "billing.reactivated", _("Paid again: workspace active")
    BILLING_TRIAL_EXTENDED = "billing.trial_extended", _("Trial extended by Atrium staff")
    BILLING_PLAN_SET = "billing.plan_set", _("Plan changed by Atrium staff")
    BILLING_SUBSCRIPTION_CANCELED = "billing.subscription_canceled", _("Subscription cancelled: workspace deleted")
    IMPERSONATION_STARTED = "impersonation.started", _("Atrium staff signed in as a member")
    IMPERSONATION_WRITES_ENABLED = (
        "impersonation.writes_enabled",
        _("Atrium staff allowed changes while signed in as a member"),
    )
    IMPERSONATION_ENDED = "impersonation.ended", _("Atrium staff signed out of a member's account")
    PROJECT_CREATED = "project.created", _("Project created")
    PROJECT_UPDATED = "project.updated", _("Project edited")
    PROJECT_VISIBILITY_CHANGED = "project.visibility_changed", _("Project visibility changed")
    PROJECT_SHARED = "project.shared", _("Project shared")
    PROJECT_UNSHARED = "project.unshared", _("Project access removed")
    PROJECT_GROUP_SHARED = "project.group_shared", _("Project shared with a group")
    PROJECT_GROUP_UNSHARED = "project.group_unshared", _("Project access of a group removed")
    PROJECT_ARCHIVED = "project.archived", _("Project archived")
    PROJECT_RESTORED = "project.restored", _("Project restored from the archive")
    PROJECT_DELETED = "project.deleted", _("Project deleted")
    TASK_CREATED = "task.created", _("Task created")
    TASK_UPDATED = "task.updated", _("Task edited")
    TASK_MOVED = "task.moved", _("Task moved")
    TASK_DELETED = "task.deleted", _("Task deleted")
    LABEL_CREATED = "label.created", _("Label created")
    LABEL_UPDATED = "label.updated", _("Label edited")
    LABEL_DELETED = "label.deleted", _("Label deleted")
    COMMENT_CREATED = "comment.created", _("Comment added")
    COMMENT_EDITED = "comment.edited", _("Comment edited")
    COMMENT_DELETED = "comment.deleted", _("Comment deleted")
    DOCUMENT_UPLOADED = "document.uploaded", _("Document uploaded")
    DOCUMENT_DELETED = "document.deleted", _("Document deleted")
    DOCUMENT_REFUSED = "document.refused", _("Upload refused")
    AUDIT_EXPORTED = "audit.exported", _("Audit log exported")
    API_KEY_CREATED = "api_key.created", _("API key created")
    API_KEY_REVOKED = "api_key.revoked", _("API key revoked")
    WEBHOOK_CREATED = "webhook.created", _("Webhook endpoint added")
    WEBHOOK_UPDATED = "webhook.updated", _("Webhook endpoint edited")
    WEBHOOK_DELETED = "webhook.deleted", _("Webhook endpoint deleted")
    WEBHOOK_SECRET_ROTATED = "webhook.secret_rotated", _("Webhook signing secret rotated")
    WEBHOOK_DISABLED = "webhook.disabled", _("Webhook endpoint switched off after 3 days of failures")
    WEBHOOK_RESENT = "webhook.resent", _("Webhook delivery resent")
    WEBHOOK_TEST_SENT = "webhook.test_sent", _("Webhook test event sent")
    IDENTITY_DOMAIN_ADDED = "identity.domain_added", _("Domain added for verification")
    IDENTITY_DOMAIN_VERIFIED = "identity.domain_verified", _("Domain verified")
    IDENTITY_DOMAIN_UNVERIFIED = "identity.domain_unverified", _("Domain no longer verified")
    IDENTITY_DOMAIN_REMOVED = "identity.domain_removed", _("Verified domain removed")
    IDENTITY_POLICY_CHANGED = "identity.policy_changed", _("Sign-in policy changed")
    IDENTITY_SSO_CONFIGURED = "identity.sso_configured", _("Identity provider connected or changed")
    IDENTITY_SSO_REMOVED = "identity.sso_removed", _("Identity provider removed")
    IDENTITY_SSO_JOINED = "identity.sso_joined", _("Joined through the identity provider")
    IDENTITY_SSO_REFUSED = "identity.sso_refused", _("Sign-in through the identity provider refused")
    SCIM_TOKEN_CREATED = "scim.token_created", _("SCIM token created")
    SCIM_TOKEN_REVOKED = "scim.token_revoked", _("SCIM token revoked")
    SCIM_USER_CREATED = "scim.user_created", _("Person provisioned by SCIM")
    SCIM_USER_UPDATED = "scim.user_updated", _("Person updated by SCIM")
    SCIM_USER_DEACTIVATED = "scim.user_deactivated", _("Person deactivated by SCIM")
    SCIM_USER_REACTIVATED = "scim.user_reactivated", _("Person reactivated by SCIM")
    SCIM_USER_DELETED = "scim.user_deleted", _("Person deprovisioned by SCIM")
    SCIM_GROUP_CREATED = "scim.group_created", _("Group created by SCIM")
    SCIM_GROUP_UPDATED = "scim.group_updated", _("Group changed by SCIM")
    SCIM_GROUP_DELETED = "scim.group_deleted", _("Group deleted by SCIM")


GROUPS: dict[str, StrOrPromise] = {
    "member": _("Members"),
    "invitation": _("Invitations"),
    "ownership": _("Ownership"),
    "auth": _("Sign-in and sessions"),
    "mfa": _("Two-factor authentication"),
    "account": _("Account security"),
    "tenant": _("Workspace and domains"),
    "billing": _("Billing"),
    "impersonation": _("Atrium staff signed in as a member"),
    "project": _("Projects"),
    "task": _("Tasks"),
    "label": _("Labels"),
    "comment": _("Comments"),
    "document": _("Documents"),
    "audit": _("Audit log"),
    "api_key": _("API keys"),
    "webhook": _("Webhooks"),
    "identity": _("Verified domains and sign-in policy"),
    "scim": _("SCIM provisioning"),
}


def action_label(action: str) -> str:
    """The words for a stored action (the raw value for one no longer in the vocabulary)."""
    try:
        return str(AuditAction(action).label)
    except ValueError:
        return action


def filter_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped choices for the action filter: "all of a group" first, then each action of it."""
    grouped: list[tuple[str, list[tuple[str, str]]]] = []
    for prefix, label in GROUPS.items():
        items = [(str(a.value), str(a.label)) for a in AuditAction if a.value.startswith(prefix + ".")]
        grouped.append((str(label), [(prefix + ".*", gettext("All: %(group)s") % {"group": label}), *items]))
    return grouped

"""The audit log's vocabulary: every action the platform records, with a human label, grouped for the page's filter.

`audit_record` accepts only these: a new kind of entry is added here first (with its label), so the audit page can
always say in words what happened.
"""

from __future__ import annotations

from django.db import models


class AuditAction(models.TextChoices):
    MEMBER_JOINED = "member.joined", "Member joined"
    MEMBER_LEFT = "member.left", "Member left"
    MEMBER_REMOVED = "member.removed", "Member removed"
    MEMBER_ROLE_CHANGED = "member.role_changed", "Role changed"
    OWNERSHIP_TRANSFERRED = "ownership.transferred", "Ownership transferred"
    INVITATION_CREATED = "invitation.created", "Invitation sent"
    INVITATION_RESENT = "invitation.resent", "Invitation resent"
    INVITATION_REVOKED = "invitation.revoked", "Invitation revoked"
    INVITATION_RESTORED = "invitation.restored", "Invitation revoke undone"
    INVITATION_ACCEPTED = "invitation.accepted", "Invitation accepted"
    AUTH_LOGIN = "auth.login", "Signed in"
    AUTH_HANDOFF = "auth.handoff", "Signed in from the Atrium home page"
    AUTH_SESSIONS_ENDED = "auth.sessions_ended", "Signed out other sessions"
    MFA_AUTHENTICATOR_ADDED = "mfa.authenticator_added", "Two-factor method added"
    MFA_AUTHENTICATOR_REMOVED = "mfa.authenticator_removed", "Two-factor method removed"
    MFA_RECOVERY_CODES_REGENERATED = "mfa.recovery_codes_regenerated", "Recovery codes regenerated"
    MFA_AUTHENTICATOR_RENAMED = "mfa.authenticator_renamed", "Passkey renamed"
    ACCOUNT_PASSWORD_CHANGED = "account.password_changed", "Password changed"
    ACCOUNT_PASSWORD_SET = "account.password_set", "Password set"
    ACCOUNT_PASSWORD_RESET = "account.password_reset", "Password reset"
    ACCOUNT_EMAIL_ADDED = "account.email_added", "Email address added"
    ACCOUNT_EMAIL_REMOVED = "account.email_removed", "Email address removed"
    ACCOUNT_EMAIL_CHANGED = "account.email_changed", "Primary email changed"
    ACCOUNT_DEACTIVATED = "account.deactivated", "Account deactivated by Atrium staff"
    ACCOUNT_REACTIVATED = "account.reactivated", "Account reactivated by Atrium staff"
    ACCOUNT_SIGNED_OUT_EVERYWHERE = "account.signed_out_everywhere", "Signed out everywhere by Atrium staff"
    ACCOUNT_VERIFICATION_SENT = "account.verification_sent", "Email verification resent by Atrium staff"
    ACCOUNT_PASSWORD_RESET_SENT = "account.password_reset_sent", "Password reset email sent by Atrium staff"
    TENANT_CREATED = "tenant.created", "Workspace created"
    TENANT_RENAMED = "tenant.renamed", "Workspace renamed"
    TENANT_SUBDOMAIN_RENAMED = "tenant.subdomain_renamed", "Subdomain renamed"
    TENANT_DOMAIN_ADDED = "tenant.domain_added", "Domain added"
    TENANT_DOMAIN_REMOVED = "tenant.domain_removed", "Domain removed"
    TENANT_REDIRECT_EXPIRED = "tenant.redirect_expired", "Old address stopped redirecting"
    TENANT_SUSPENDED = "tenant.suspended", "Workspace suspended"
    TENANT_RESUMED = "tenant.resumed", "Workspace resumed"
    TENANT_DELETION_SCHEDULED = "tenant.deletion_scheduled", "Deletion scheduled"
    TENANT_RESTORED = "tenant.restored", "Workspace restored"
    TENANT_EXPORTED = "tenant.exported", "Workspace exported"
    TENANT_IMPORTED = "tenant.imported", "Workspace restored from an archive"
    BILLING_TRIAL_STARTED = "billing.trial_started", "Trial started"
    BILLING_PLAN_CHANGED = "billing.plan_changed", "Plan changed"
    BILLING_PAST_DUE = "billing.past_due", "Payment past due"
    BILLING_READ_ONLY = "billing.read_only", "Read-only: payment overdue"
    BILLING_SUSPENDED = "billing.suspended", "Suspended: subscription ended or unpaid"
    BILLING_REACTIVATED = "billing.reactivated", "Paid again: workspace active"
    BILLING_TRIAL_EXTENDED = "billing.trial_extended", "Trial extended by Atrium staff"
    BILLING_PLAN_SET = "billing.plan_set", "Plan changed by Atrium staff"
    IMPERSONATION_STARTED = "impersonation.started", "Atrium staff signed in as a member"
    IMPERSONATION_WRITES_ENABLED = (
        "impersonation.writes_enabled",
        "Atrium staff allowed changes while signed in as a member",
    )
    IMPERSONATION_ENDED = "impersonation.ended", "Atrium staff signed out of a member's account"
    PROJECT_CREATED = "project.created", "Project created"
    PROJECT_UPDATED = "project.updated", "Project edited"
    PROJECT_VISIBILITY_CHANGED = "project.visibility_changed", "Project visibility changed"
    PROJECT_SHARED = "project.shared", "Project shared"
    PROJECT_UNSHARED = "project.unshared", "Project access removed"
    PROJECT_ARCHIVED = "project.archived", "Project archived"
    PROJECT_RESTORED = "project.restored", "Project restored from the archive"
    PROJECT_DELETED = "project.deleted", "Project deleted"
    TASK_CREATED = "task.created", "Task created"
    TASK_UPDATED = "task.updated", "Task edited"
    TASK_MOVED = "task.moved", "Task moved"
    TASK_DELETED = "task.deleted", "Task deleted"
    LABEL_CREATED = "label.created", "Label created"
    LABEL_UPDATED = "label.updated", "Label edited"
    LABEL_DELETED = "label.deleted", "Label deleted"
    COMMENT_CREATED = "comment.created", "Comment added"
    COMMENT_EDITED = "comment.edited", "Comment edited"
    COMMENT_DELETED = "comment.deleted", "Comment deleted"
    DOCUMENT_UPLOADED = "document.uploaded", "Document uploaded"
    DOCUMENT_DELETED = "document.deleted", "Document deleted"
    DOCUMENT_REFUSED = "document.refused", "Upload refused"
    AUDIT_EXPORTED = "audit.exported", "Audit log exported"
    API_KEY_CREATED = "api_key.created", "API key created"
    API_KEY_REVOKED = "api_key.revoked", "API key revoked"
    WEBHOOK_CREATED = "webhook.created", "Webhook endpoint added"
    WEBHOOK_UPDATED = "webhook.updated", "Webhook endpoint edited"
    WEBHOOK_DELETED = "webhook.deleted", "Webhook endpoint deleted"
    WEBHOOK_SECRET_ROTATED = "webhook.secret_rotated", "Webhook signing secret rotated"
    WEBHOOK_DISABLED = "webhook.disabled", "Webhook endpoint switched off after 3 days of failures"
    WEBHOOK_RESENT = "webhook.resent", "Webhook delivery resent"
    WEBHOOK_TEST_SENT = "webhook.test_sent", "Webhook test event sent"
    IDENTITY_DOMAIN_ADDED = "identity.domain_added", "Domain added for verification"
    IDENTITY_DOMAIN_VERIFIED = "identity.domain_verified", "Domain verified"
    IDENTITY_DOMAIN_UNVERIFIED = "identity.domain_unverified", "Domain no longer verified"
    IDENTITY_DOMAIN_REMOVED = "identity.domain_removed", "Verified domain removed"
    IDENTITY_POLICY_CHANGED = "identity.policy_changed", "Sign-in policy changed"
    IDENTITY_SSO_CONFIGURED = "identity.sso_configured", "Identity provider connected or changed"
    IDENTITY_SSO_REMOVED = "identity.sso_removed", "Identity provider removed"
    IDENTITY_SSO_JOINED = "identity.sso_joined", "Joined through the identity provider"
    IDENTITY_SSO_REFUSED = "identity.sso_refused", "Sign-in through the identity provider refused"
    SCIM_TOKEN_CREATED = "scim.token_created", "SCIM token created"
    SCIM_TOKEN_REVOKED = "scim.token_revoked", "SCIM token revoked"
    SCIM_USER_CREATED = "scim.user_created", "Person provisioned by SCIM"
    SCIM_USER_UPDATED = "scim.user_updated", "Person updated by SCIM"
    SCIM_USER_DEACTIVATED = "scim.user_deactivated", "Person deactivated by SCIM"
    SCIM_USER_REACTIVATED = "scim.user_reactivated", "Person reactivated by SCIM"
    SCIM_USER_DELETED = "scim.user_deleted", "Person deprovisioned by SCIM"
    SCIM_GROUP_CREATED = "scim.group_created", "Group created by SCIM"
    SCIM_GROUP_UPDATED = "scim.group_updated", "Group changed by SCIM"
    SCIM_GROUP_DELETED = "scim.group_deleted", "Group deleted by SCIM"


GROUPS: dict[str, str] = {
    "member": "Members",
    "invitation": "Invitations",
    "ownership": "Ownership",
    "auth": "Sign-in and sessions",
    "mfa": "Two-factor authentication",
    "account": "Account security",
    "tenant": "Workspace and domains",
    "billing": "Billing",
    "impersonation": "Atrium staff signed in as a member",
    "project": "Projects",
    "task": "Tasks",
    "label": "Labels",
    "comment": "Comments",
    "document": "Documents",
    "audit": "Audit log",
    "api_key": "API keys",
    "webhook": "Webhooks",
    "identity": "Verified domains and sign-in policy",
    "scim": "SCIM provisioning",
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
        grouped.append((label, [(prefix + ".*", f"All: {label.lower()}"), *items]))
    return grouped

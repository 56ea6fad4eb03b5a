"""The audit log's vocabulary: every action the platform records, with a human label, grouped for the filter."""

from __future__ import annotations

GROUPS: dict[str, str] = {
    "member": "Members",
    "invitation": "Invitations",
    "ownership": "Ownership",
    "auth": "Sign-in and sessions",
    "mfa": "Two-factor authentication",
    "account": "Account security",
    "tenant": "Workspace and domains",
    "project": "Projects",
    "audit": "Audit log",
}

ACTIONS: dict[str, str] = {
    "member.joined": "Member joined",
    "member.left": "Member left",
    "member.removed": "Member removed",
    "member.role_changed": "Role changed",
    "ownership.transferred": "Ownership transferred",
    "invitation.created": "Invitation sent",
    "invitation.resent": "Invitation resent",
    "invitation.revoked": "Invitation revoked",
    "invitation.accepted": "Invitation accepted",
    "auth.login": "Signed in",
    "auth.handoff": "Signed in from the Atrium home page",
    "auth.sessions_ended": "Signed out other sessions",
    "mfa.authenticator_added": "Two-factor method added",
    "mfa.authenticator_removed": "Two-factor method removed",
    "mfa.recovery_codes_regenerated": "Recovery codes regenerated",
    "account.password_changed": "Password changed",
    "account.password_set": "Password set",
    "account.password_reset": "Password reset",
    "account.email_added": "Email address added",
    "account.email_removed": "Email address removed",
    "account.email_changed": "Primary email changed",
    "tenant.created": "Workspace created",
    "tenant.subdomain_renamed": "Subdomain renamed",
    "tenant.domain_added": "Domain added",
    "tenant.domain_removed": "Domain removed",
    "tenant.redirect_expired": "Old address stopped redirecting",
    "tenant.suspended": "Workspace suspended",
    "tenant.resumed": "Workspace resumed",
    "tenant.deletion_scheduled": "Deletion scheduled",
    "tenant.restored": "Workspace restored",
    "tenant.exported": "Workspace exported",
    "project.created": "Project created",
    "audit.exported": "Audit log exported",
}


def action_label(action: str) -> str:
    return ACTIONS.get(action, action)


def filter_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped choices for the action filter: "all of a group" first, then each action of it."""
    grouped: list[tuple[str, list[tuple[str, str]]]] = []
    for prefix, label in GROUPS.items():
        items = [(action, name) for action, name in ACTIONS.items() if action.startswith(prefix + ".")]
        grouped.append((label, [(prefix + ".*", f"All: {label.lower()}"), *items]))
    return grouped

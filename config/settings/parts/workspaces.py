"""Workspaces: impersonation caps, the operators' metrics refresh, invitations and seats, the self-service cap."""

from __future__ import annotations

from config.env import env

# Impersonation: a platform operator signs in to a workspace as one of its members (shared_apps/workspaces). The caps
# hold whatever the environment says: a ticket lives at most 60 seconds, a session at most 30 minutes.
IMPERSONATION_TICKET_MAX_AGE: int = min(env.int("IMPERSONATION_TICKET_MAX_AGE", default=60), 60)
IMPERSONATION_MAX_MINUTES: int = min(env.int("IMPERSONATION_MAX_MINUTES", default=30), 30)
# The workspace's owners get an email when an operator signs in as one of their members.
IMPERSONATION_NOTIFY_OWNERS: bool = env.bool("IMPERSONATION_NOTIFY_OWNERS", default=True)


# Operators' metrics: how often the refresh walks every workspace schema, and how many schemas go in one statement.
METRICS_REFRESH_SECONDS: int = env.int("METRICS_REFRESH_SECONDS", default=900)
METRICS_BATCH_SIZE: int = env.int("METRICS_BATCH_SIZE", default=100)
# Invitations to a workspace: days a link stays valid (single use, resend mints a new one), and the seats every
# workspace has until plans arrive with billing (members and pending invitations both hold a seat).
INVITATION_MAX_AGE_DAYS: int = env.int("INVITATION_MAX_AGE_DAYS", default=7)
TENANT_DEFAULT_SEAT_LIMIT: int = env.int("TENANT_DEFAULT_SEAT_LIMIT", default=25)
# Self-service sign-up: workspaces one account may own (operators with tenants.add_tenant are exempt). How fast one
# account and one IP may create them is ACCOUNT_RATE_LIMITS["workspace_create"] (env WORKSPACE_CREATE_RATE_LIMIT).
WORKSPACES_PER_OWNER_MAX: int = env.int("WORKSPACES_PER_OWNER_MAX", default=10)

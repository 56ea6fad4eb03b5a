"""Writes about accounts, memberships, roles, sessions and invitations, one module per concern."""

from shared_apps.accounts.services.api_keys import ApiKeyInvalid, api_key_create, api_key_revoke, api_key_used
from shared_apps.accounts.services.invitations import (
    InvitationsResult,
    invitation_accept,
    invitation_accept_new_account,
    invitation_check,
    invitation_mark_sent,
    invitation_resend,
    invitation_revoke,
    invitation_revoke_undo,
    invitation_token_issue,
    invitations_create,
    invitations_restore,
    normalise_emails,
)
from shared_apps.accounts.services.members import (
    member_leave,
    member_remove,
    member_role_change,
    membership_create,
    ownership_transfer,
)
from shared_apps.accounts.services.passkeys import passkey_name_clean, passkey_rename
from shared_apps.accounts.services.sessions import sessions_end_all, sessions_end_others
from shared_apps.accounts.services.users import (
    email_address_clean,
    email_verification_send,
    operator_ensure,
    password_reset_send,
    user_deactivate,
    user_email_change,
    user_get_or_create,
    user_profile_update,
    user_reactivate,
)

__all__ = [
    "ApiKeyInvalid",
    "InvitationsResult",
    "api_key_create",
    "api_key_revoke",
    "api_key_used",
    "email_address_clean",
    "email_verification_send",
    "invitation_accept",
    "invitation_accept_new_account",
    "invitation_check",
    "invitation_mark_sent",
    "invitation_resend",
    "invitation_revoke",
    "invitation_revoke_undo",
    "invitation_token_issue",
    "invitations_create",
    "invitations_restore",
    "member_leave",
    "member_remove",
    "member_role_change",
    "membership_create",
    "normalise_emails",
    "operator_ensure",
    "ownership_transfer",
    "passkey_name_clean",
    "passkey_rename",
    "password_reset_send",
    "sessions_end_all",
    "sessions_end_others",
    "user_deactivate",
    "user_email_change",
    "user_get_or_create",
    "user_profile_update",
    "user_reactivate",
]

"""Reads about accounts, memberships and invitations."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, TypedDict

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.db.models import Case, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from shared_apps.accounts.errors import NotFound
from shared_apps.accounts.hooks import seat_limit_source
from shared_apps.accounts.models import ApiKey, Invitation, Membership, ReplacedInvitationToken, Role, User
from shared_apps.core.useragent import browser_label
from tenants.db import connection, table_sql
from tenants.models import Domain, Tenant, TenantStatus


def membership_for(*, user_id: int, tenant_id: int) -> Membership | None:
    """The user's membership in the tenant, or None. One indexed query."""
    return Membership.objects.filter(user_id=user_id, tenant_id=tenant_id).only("id", "role").first()


def is_sole_owner(*, user_id: int, tenant_id: int) -> bool:
    """Whether the user is the workspace's only owner (who may not leave: they hand it over or delete it first)."""
    owners = list(Membership.objects.filter(tenant_id=tenant_id, role=Role.OWNER).values_list("user_id", flat=True)[:2])
    return owners == [user_id]


def membership_list_for_user(*, user: User) -> QuerySet[Membership]:
    """The user's workspaces with their tenants and primary domains, for the workspace switcher."""
    return (
        Membership.objects.filter(user=user)
        .exclude(tenant__status="spare")
        .select_related("tenant")
        .prefetch_related("tenant__domains")
        .order_by("tenant__name")
    )


@dataclass(frozen=True)
class SwitcherItem:
    name: str
    slug: str
    role: str


def workspace_switcher(*, user: User) -> list[SwitcherItem]:
    """The person's workspaces for the "Switch workspace" menu: name, subdomain and role, in one query."""

    primary = Domain.objects.filter(tenant=OuterRef("tenant"), is_primary=True).values("domain")[:1]
    rows = (
        Membership.objects.filter(user=user)
        .exclude(tenant__status__in=[TenantStatus.SPARE, TenantStatus.TEMPLATE])
        .annotate(host=Subquery(primary))
        .order_by(Lower("tenant__name"))
        .values_list("tenant__name", "host", "role")[:50]
    )
    suffix = "." + settings.BASE_DOMAIN
    return [
        SwitcherItem(name=name, slug=host.removesuffix(suffix), role=role)
        for name, host, role in rows
        if host and host.endswith(suffix)
    ]


def user_get_by_email(*, email: str) -> User | None:
    """The account for an address, case-insensitively: `lower(email)`, the expression of the unique index that makes
    addresses unique whatever their case (`email__iexact` compares upper() and would read the whole table)."""
    # No ORDER BY (an address names one account at most): `.first()` would order by id, and a planner that reads the
    # primary key's index in order, filtering each row, is then a plan it may pick on a table with many accounts.
    found = User.objects.alias(email_lower=Lower("email")).filter(email_lower=Lower(Value(email.strip())))[:1]
    return next(iter(found), None)


# --- members -----------------------------------------------------------------------------------------------------

ROLE_RANK = Case(
    When(role=Role.OWNER, then=Value(0)),
    When(role=Role.ADMIN, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


def member_list(*, tenant_id: int, search: str = "") -> QuerySet[Membership]:
    """The workspace's members with their accounts and whether they use MFA, owners first: one query per page
    whatever the number of members (the MFA flag is an EXISTS, not a query per row)."""

    mfa = Authenticator.objects.filter(
        user_id=OuterRef("user_id"), type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
    )
    members = (
        Membership.objects.filter(tenant_id=tenant_id)
        .select_related("user")
        .only("id", "role", "created_at", "tenant_id", "user__id", "user__email", "user__name", "user__last_login")
        .annotate(mfa_enabled=Exists(mfa), role_rank=ROLE_RANK)
    )
    search = search.strip()
    if search:
        members = members.filter(Q(user__email__icontains=search) | Q(user__name__icontains=search))
    return members.order_by("role_rank", Lower("user__name"), "user__email", "id")


def membership_get(*, tenant_id: int, membership_id: int) -> Membership:
    """One membership of this workspace with its account; NotFound for another workspace's id."""
    membership = Membership.objects.select_related("user").filter(pk=membership_id, tenant_id=tenant_id).first()
    if membership is None:
        raise NotFound(_("There is no such member in this workspace."))
    return membership


# --- invitations -------------------------------------------------------------------------------------------------


def invitation_list(*, tenant_id: int) -> QuerySet[Invitation]:
    """Open invitations (pending and expired), newest first, with who sent them."""
    return (
        Invitation.objects.open()
        .filter(tenant_id=tenant_id)
        .select_related("invited_by")
        .order_by("-created_at", "-id")
    )


def invitations_pending_preview(*, tenant_id: int, limit: int) -> tuple[list[Invitation], bool]:
    """The newest `limit` pending (unexpired) invitations, with who sent them, and whether there are more. One
    query, whatever their number."""
    rows = list(
        Invitation.objects.pending()
        .filter(tenant_id=tenant_id)
        .select_related("invited_by")
        .order_by("-created_at", "-id")[: limit + 1]
    )
    return rows[:limit], len(rows) > limit


def invitation_get(*, tenant_id: int, invitation_id: int) -> Invitation:
    invitation = Invitation.objects.filter(pk=invitation_id, tenant_id=tenant_id).first()
    if invitation is None:
        raise NotFound(_("There is no such invitation in this workspace."))
    return invitation


def invitation_find_by_token(*, token: str) -> Invitation | None:
    """The invitation a link's token belongs to (any state), with its workspace and inviter; None if unknown."""
    if not token or len(token) > 128:
        return None
    return (
        Invitation.objects.select_related("tenant", "invited_by")
        .filter(token_hash=Invitation.hash_token(token))
        .first()
    )


def invitation_replaced_by_token(*, token: str) -> Invitation | None:
    """The invitation whose earlier link this token was, before a resend replaced it; None if it never was one."""
    if not token or len(token) > 128:
        return None
    row = (
        ReplacedInvitationToken.objects.select_related("invitation__tenant", "invitation__invited_by")
        .filter(token_hash=Invitation.hash_token(token))
        .first()
    )
    return row.invitation if row is not None else None


def invitation_emails_sent(*, invitation_ids: list[int]) -> set[str]:
    """Of these invitations, the addresses whose email has gone out (the sending task sets `sent_at`)."""
    return set(Invitation.objects.filter(pk__in=invitation_ids, sent_at__isnull=False).values_list("email", flat=True))


# --- seats -------------------------------------------------------------------------------------------------------


def seat_limit(*, tenant_id: int) -> int:
    """Seats the workspace's plan allows: billing's answer (registered through `hooks`), else the setting."""

    source = seat_limit_source()
    return int(source(tenant_id)) if source is not None else int(settings.TENANT_DEFAULT_SEAT_LIMIT)


def seats_used(*, tenant_id: int) -> int:
    """Members plus pending (unexpired) invitations: an invitation holds a seat until it is used, revoked or
    expires."""
    members = Membership.objects.filter(tenant_id=tenant_id).count()
    return members + Invitation.objects.pending().filter(tenant_id=tenant_id).count()


def user_has_verified_email(*, user: User, email: str) -> bool:
    """Whether `email` is one of the user's addresses and verified (allauth's EmailAddress)."""

    return EmailAddress.objects.filter(user=user, email__iexact=email.strip(), verified=True).exists()


# --- profile & security ------------------------------------------------------------------------------------------


class SessionRow(TypedDict, total=False):
    session: Any  # allauth's UserSession
    current: bool
    last_seen: str  # filled in by the page


class BrowserRow(TypedDict, total=False):
    """One browser's sessions together: its sign-ins on the root and on each workspace share a User-Agent and an
    address (cookies are per host, so one browser holds one session per host it signed in on)."""

    label: str  # "Chrome on Linux"
    user_agent: str
    ip: str
    sessions: list[Any]
    current: bool
    created_at: dt.datetime
    last_seen_at: dt.datetime
    last_seen: str  # filled in by the page


class PasskeyRow(TypedDict):
    id: int
    name: str
    passwordless: bool | None  # None: the authenticator did not say whether it keeps the credential (a passkey)
    created_at: dt.datetime
    last_used_at: dt.datetime | None


class SecurityOverview(TypedDict):
    email_addresses: list[Any]
    has_password: bool
    mfa_enabled: bool
    authenticators: list[Any]
    passkeys: list[PasskeyRow]
    user_sessions: list[SessionRow]
    browsers: list[BrowserRow]
    other_session_count: int


def sessions_by_browser(sessions: list[Any], *, current_session_key: str | None) -> list[BrowserRow]:
    """Sessions grouped by browser (same User-Agent and address), in the order of each group's first session."""
    groups: dict[tuple[str, str], BrowserRow] = {}
    for session in sessions:
        key = (session.user_agent or "", session.ip or "")
        group = groups.get(key)
        if group is None:
            group = groups[key] = {
                "label": browser_label(session.user_agent),
                "user_agent": session.user_agent or "",
                "ip": session.ip or "",
                "sessions": [],
                "current": False,
                "created_at": session.created_at,
                "last_seen_at": session.last_seen_at,
            }
        group["sessions"].append(session)
        group["current"] = group["current"] or session.session_key == current_session_key
        group["created_at"] = min(group["created_at"], session.created_at)
        group["last_seen_at"] = max(group["last_seen_at"], session.last_seen_at)
    return list(groups.values())


def user_security_overview(*, user: User, current_session_key: str | None) -> SecurityOverview:
    """What the profile page shows about an account: its addresses, whether it has a password, its two-factor
    methods and its active sessions (the current one first). Three queries."""

    emails = list(EmailAddress.objects.filter(user=user).order_by("-primary", "email"))
    authenticators = list(
        Authenticator.objects.filter(user=user).only("id", "type", "data", "created_at", "last_used_at").order_by("id")
    )
    sessions = sorted(
        UserSession.objects.filter(user=user).only(
            "id", "ip", "user_agent", "created_at", "last_seen_at", "session_key"
        ),
        key=lambda s: (s.session_key != current_session_key, -s.last_seen_at.timestamp()),
    )
    types = {a.type for a in authenticators}
    return {
        "email_addresses": emails,
        "has_password": user.has_usable_password(),
        "mfa_enabled": bool(types & {Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN}),
        "authenticators": authenticators,
        "passkeys": [
            {
                "id": a.pk,
                "name": a.wrap().name,
                "passwordless": a.wrap().is_passwordless,
                "created_at": a.created_at,
                "last_used_at": a.last_used_at,
            }
            for a in authenticators
            if a.type == Authenticator.Type.WEBAUTHN
        ],
        "user_sessions": [{"session": s, "current": s.session_key == current_session_key} for s in sessions],
        "browsers": sessions_by_browser(sessions, current_session_key=current_session_key),
        "other_session_count": sum(1 for s in sessions if s.session_key != current_session_key),
    }


def user_has_mfa(*, user: User) -> bool:
    """Whether the account signs in with a second factor (an authenticator app or a security key). One query."""

    return Authenticator.objects.filter(
        user_id=user.pk, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
    ).exists()


# --- API keys ----------------------------------------------------------------------------------------------------

# A workspace in any other state refuses its keys (the status gate answers first; this holds between a change and
# the moment every process's routing cache has seen it).
_KEY_USABLE_STATUSES = frozenset({TenantStatus.ACTIVE, TenantStatus.PAST_DUE, TenantStatus.READ_ONLY})
_SECRET_MAX_LENGTH = 100


@dataclass(frozen=True, slots=True)
class ApiKeyIdentity:
    """Who a valid key acts as, read by the one lookup that checked it."""

    key_id: int
    prefix: str
    scope: str
    user: User
    role: str
    last_used_at: dt.datetime | None


def api_key_authenticate(*, secret: str, tenant_id: int) -> ApiKeyIdentity | None:
    """The key `secret` names, if it may act in workspace `tenant_id` now; else None, whatever the reason (unknown,
    revoked, expired, another workspace's, its member gone or deactivated, the workspace suspended): callers answer
    all of them alike. One SHA-256 and one query on the hash's unique index, joined to the key's membership, account
    and workspace by their primary keys. Written as SQL: it runs before every API request, and the ORM took longer to
    build this query than the database took to answer it."""
    if not secret or len(secret) > _SECRET_MAX_LENGTH or not secret.isascii():
        return None
    quote = connection.ops.quote_name
    keys, members = table_sql(ApiKey), table_sql(Membership)
    users, tenants = table_sql(User), table_sql(Tenant)
    account_columns = ", ".join(f"u.{quote(f.column)}" for f in _key_user_fields())
    sql = (
        f"SELECT k.id, k.prefix, k.scope, k.expires_at, k.last_used_at, m.role, t.status, {account_columns} "  # noqa: S608
        f"FROM {keys} k JOIN {members} m ON m.id = k.membership_id JOIN {users} u ON u.id = k.user_id "
        f"JOIN {tenants} t ON t.id = k.tenant_id "
        "WHERE k.secret_hash = %s AND k.revoked_at IS NULL AND k.tenant_id = %s AND m.tenant_id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [ApiKey.hash_secret(secret), tenant_id, tenant_id])
        row = cursor.fetchone()
    if row is None:
        return None
    key_id, prefix, scope, expires_at, last_used_at, role, status, *account = row
    if (expires_at is not None and expires_at <= timezone.now()) or status not in _KEY_USABLE_STATUSES:
        return None
    user = User.from_db(connection.alias, [f.attname for f in _key_user_fields()], account)
    if not user.is_active:
        return None
    return ApiKeyIdentity(key_id=key_id, prefix=prefix, scope=scope, user=user, role=role, last_used_at=last_used_at)


def _key_user_fields() -> list[Any]:
    """The account's fields a key's request needs, in the model's order (what `Model.from_db` expects)."""
    wanted = {"id", "email", "name", "is_active", "is_staff", "is_superuser"}
    return [f for f in User._meta.concrete_fields if f.attname in wanted]


def api_key_list(*, tenant_id: int, user_id: int | None = None) -> QuerySet[ApiKey]:
    """The workspace's keys that are not revoked (expired ones too, marked so), newest first, with their owners;
    only `user_id`'s when given. One query."""
    keys = ApiKey.objects.filter(tenant_id=tenant_id, revoked_at__isnull=True).select_related("user")
    if user_id is not None:
        keys = keys.filter(user_id=user_id)
    return keys.order_by("-created_at", "-id")


def api_key_get(*, tenant_id: int, key_id: int) -> ApiKey:
    key = ApiKey.objects.select_related("user").filter(pk=key_id, tenant_id=tenant_id).first()
    if key is None:
        raise NotFound(_("There is no such API key in this workspace."))
    return key

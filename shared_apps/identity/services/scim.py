"""SCIM 2.0 (RFC 7643/7644) provisioning into one workspace: Users and Groups, written by the workspace's SCIM
client (its bearer token), never by a person, so the actor of every audit entry is "system" with the token named.

A SCIM User is the workspace's view of a person (`ScimUser`: the resource as the client wrote it). It holds a
membership of the workspace only when its primary address is in one of the workspace's verified domains: then the
global account of that address is found or made (the workspace vouches for its domain) and joins with the policy's
role, seats permitting. Any other address is provisioned and held, with no account and no membership: an IdP
cannot pull someone else's account into a workspace. Deactivating (`active: false`) or deleting the User ends the
membership and what came with it (project grants, the workspace's groups), never the account; owners are kept
(the owners' break-glass sign-in), and the entry says so.

A SCIM Group is a `WorkspaceGroup`, backed by a Django group: what project sharing grants to. Its members' accounts
are in the Django group while they are members of the workspace.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import Group as DjangoGroup
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from scim2_models import Context, Group, PatchOp, User

from shared_apps.accounts.hooks import membership_ended, seats_changed_on_commit
from shared_apps.accounts.models import Membership, Role
from shared_apps.accounts.models import User as Account
from shared_apps.accounts.selectors import seat_limit, seats_used
from shared_apps.accounts.services import user_get_or_create
from shared_apps.accounts.services.members import member_joined_emit
from shared_apps.core.text import has_control_characters
from shared_apps.identity.models import ScimToken, ScimUser, WorkspaceGroup
from shared_apps.identity.selectors import policy_for, verified_domains_of
from tenant_apps.audit.actions import AuditAction
from tenant_apps.audit.services import audit_record
from tenants.models import Tenant

PAGE_MAX = 100
GROUP_MEMBERS_MAX = 10_000
_FILTER = re.compile(r'^\s*([A-Za-z][A-Za-z0-9.:_-]*)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$', re.IGNORECASE)


class ScimProblem(Exception):
    """A request the SCIM client can correct: answered as a SCIM Error with this status and scimType."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.scim_type = status, detail, scim_type


def not_found(kind: str) -> ScimProblem:
    return ScimProblem(404, f"There is no such {kind} in this workspace.")


# --- reading -------------------------------------------------------------------------------------------------------


def parse_id(raw: str, kind: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError as exc:
        raise not_found(kind) from exc


def scim_user_get(*, tenant_id: int, scim_id: str) -> ScimUser:
    row = ScimUser.objects.filter(tenant_id=tenant_id, scim_id=parse_id(scim_id, "user")).first()
    if row is None:
        raise not_found("user")
    return row


def scim_group_get(*, tenant_id: int, scim_id: str) -> WorkspaceGroup:
    row = WorkspaceGroup.objects.filter(tenant_id=tenant_id, scim_id=parse_id(scim_id, "group")).first()
    if row is None:
        raise not_found("group")
    return row


def _equality_filter(raw: str | None, allowed: dict[str, str]) -> tuple[str, str] | None:
    """`attribute eq "value"` for the attributes in `allowed` (SCIM name → column); anything else is refused."""
    if raw is None or not raw.strip():
        return None
    if len(raw) > 1000:
        raise ScimProblem(400, "The filter is too long.", "invalidFilter")
    match = _FILTER.match(raw)
    if match is None:
        raise ScimProblem(400, 'Only filters of the form attribute eq "value" are supported.', "invalidFilter")
    name, value = match.group(1), match.group(2)
    column = next((col for key, col in allowed.items() if key.lower() == name.lower()), None)
    if column is None:
        supported = ", ".join(allowed)
        raise ScimProblem(400, f"Filtering is supported on {supported} only.", "invalidFilter")
    value = re.sub(r"\\(.)", r"\1", value)
    if has_control_characters(value):
        raise ScimProblem(400, "The filter's value has control characters.", "invalidFilter")
    return column, value


@dataclass(frozen=True)
class Page:
    start_index: int
    count: int


def page_of(start_index: str | None, count: str | None) -> Page:
    """RFC 7644 §3.4.2.4: startIndex below 1 is 1, count below 0 is 0; count at most PAGE_MAX."""
    try:
        start = int(start_index) if start_index else 1
        size = int(count) if count else PAGE_MAX
    except (TypeError, ValueError) as exc:
        raise ScimProblem(400, "startIndex and count are whole numbers.", "invalidValue") from exc
    return Page(start_index=max(1, min(start, 10**9)), count=max(0, min(size, PAGE_MAX)))


def scim_user_list(*, tenant_id: int, filter_: str | None, page: Page) -> tuple[int, list[ScimUser]]:
    rows: QuerySet[ScimUser] = ScimUser.objects.filter(tenant_id=tenant_id)
    condition = _equality_filter(filter_, {"userName": "user_name__iexact", "externalId": "external_id"})
    if condition is not None:
        rows = rows.filter(**{condition[0]: condition[1]})
    total = rows.count()
    offset = page.start_index - 1
    return total, list(rows.order_by("created_at", "id")[offset : offset + page.count]) if page.count else []


def scim_group_list(*, tenant_id: int, filter_: str | None, page: Page) -> tuple[int, list[WorkspaceGroup]]:
    rows: QuerySet[WorkspaceGroup] = WorkspaceGroup.objects.filter(tenant_id=tenant_id)
    condition = _equality_filter(filter_, {"displayName": "display_name__iexact", "externalId": "external_id"})
    if condition is not None:
        rows = rows.filter(**{condition[0]: condition[1]})
    total = rows.count()
    offset = page.start_index - 1
    return total, list(rows.order_by("created_at", "id")[offset : offset + page.count]) if page.count else []


def _meta(kind: str, row: ScimUser | WorkspaceGroup, base_url: str) -> dict[str, Any]:
    return {
        "resourceType": kind,
        "created": row.created_at.isoformat(),
        "lastModified": row.updated_at.isoformat(),
        "location": f"{base_url}/{kind}s/{row.scim_id}",
        "version": f'W/"{int(row.updated_at.timestamp() * 1_000_000)}"',
    }


def user_document(row: ScimUser, base_url: str) -> dict[str, Any]:
    """The User as JSON, without a round trip through the model: the stored document is scim2-models' own dump of
    what the client wrote (validated then), so a page of 100 costs dictionaries, not 100 validations."""
    return {**row.document, "id": str(row.scim_id), "meta": _meta("User", row, base_url)}


def group_document(row: WorkspaceGroup, base_url: str) -> dict[str, Any]:
    return {**row.document, "id": str(row.scim_id), "meta": _meta("Group", row, base_url)}


def user_resource(row: ScimUser, base_url: str) -> User:
    # `active` as the client wrote it (absent: active, and answered absent, as RFC 7644 §3.5.2.2 removal leaves it)
    data = {**row.document, "id": str(row.scim_id), "meta": _meta("User", row, base_url)}
    return User.model_validate(data, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def group_resource(row: WorkspaceGroup, base_url: str) -> Group:
    data = {**row.document, "id": str(row.scim_id), "meta": _meta("Group", row, base_url)}
    return Group.model_validate(data, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


# --- the token -----------------------------------------------------------------------------------------------------


def _audit(tenant: Tenant, action: AuditAction, token: ScimToken, target: Any, metadata: dict[str, Any]) -> None:
    metadata = {**metadata, "scim_token": {"id": token.pk, "prefix": token.prefix}}
    audit_record(tenant=tenant, action=action, actor=None, target=target, metadata=metadata)


# --- users ---------------------------------------------------------------------------------------------------------


def _document(resource: User | Group) -> dict[str, Any]:
    data = resource.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    for key in ("id", "meta", "password"):
        data.pop(key, None)
    return data


def _primary_email(resource: User) -> str:
    emails = resource.emails or []
    chosen = next((e for e in emails if e.primary), emails[0] if emails else None)
    candidates = [chosen.value if chosen is not None else None, resource.user_name]
    for value in candidates:
        if not value or "@" not in value:
            continue
        value = value.strip().lower()
        try:
            validate_email(value)
        except ValidationError:
            continue
        return value[:254]
    return ""


def _clean_user(resource: User) -> tuple[str, str]:
    user_name = (resource.user_name or "").strip()
    if not user_name:
        raise ScimProblem(400, "userName is required.", "invalidValue")
    if len(user_name) > 254 or has_control_characters(user_name):
        raise ScimProblem(400, "userName is at most 254 characters, without control characters.", "invalidValue")
    external_id = (resource.external_id or "").strip()
    if len(external_id) > 254 or has_control_characters(external_id):
        raise ScimProblem(400, "externalId is at most 254 characters, without control characters.", "invalidValue")
    return user_name, external_id


def _save_user(row: ScimUser) -> None:
    """Save `row`; the unique indexes settle a duplicate userName (or a second User of one account), and the caller's
    transaction, rolled back by the refusal, takes whatever was done for the row with it (no savepoint: a duplicate is
    the rare case, and each savepoint is two more round trips on every write)."""
    try:
        row.save()
    except IntegrityError as exc:
        if "identity_scim_user_once" in str(exc):
            raise ScimProblem(409, "Another user of this workspace has this address.", "uniqueness") from exc
        raise ScimProblem(409, f"A user with userName “{row.user_name}” exists already.", "uniqueness") from exc


def _lock_tenant(tenant: Tenant) -> None:
    list(Tenant.objects.select_for_update().filter(pk=tenant.pk).values_list("pk", flat=True))


def _join(tenant: Tenant, row: ScimUser) -> str:
    """Link `row` to its account and give that account a membership, when its address is in a verified domain.
    Returns what happened, for the audit entry."""
    if not row.email or row.email.rpartition("@")[2] not in verified_domains_of(tenant_id=tenant.pk):
        return "held: address outside the workspace's verified domains"
    created = False
    if row.user_id is None:
        # Another SCIM user of this workspace linked to the same account breaks the (tenant, user) unique index when
        # the row is saved, which rolls all of this back (answered 409).
        account, created = user_get_or_create(email=row.email, name=_name_of(row.document), email_verified=True)
        row.user = account
    account_id = row.user_id
    assert account_id is not None  # noqa: S101 (linked just above)
    if not created and Membership.objects.filter(tenant_id=tenant.pk, user_id=account_id).exists():
        return "linked to an existing member"
    _lock_tenant(tenant)
    if seats_used(tenant_id=tenant.pk) + 1 > seat_limit(tenant_id=tenant.pk):
        raise ScimProblem(
            403, f"{tenant.name} has no free seat: upgrade the plan, or deactivate someone first.", "tooMany"
        )
    membership = Membership.objects.create(
        tenant_id=tenant.pk, user_id=account_id, role=policy_for(tenant_id=tenant.pk).jit_role
    )
    seats_changed_on_commit(tenant.pk)
    member_joined_emit(tenant=tenant, membership=membership)
    groups = list(row.groups.values_list("group_id", flat=True)) if row.pk else []
    Account.groups.through.objects.bulk_create(
        [Account.groups.through(user_id=account_id, group_id=g) for g in groups], ignore_conflicts=True
    )
    return "joined"


def _leave(tenant: Tenant, row: ScimUser) -> str:
    """End the linked account's membership (not the account): its grants and groups go with it. Owners stay."""
    if row.user_id is None:
        return "held: no membership"
    membership = Membership.objects.select_for_update().filter(tenant_id=tenant.pk, user_id=row.user_id).first()
    if membership is None:
        return "no membership"
    if membership.role == Role.OWNER:
        return "kept: owners keep their membership (break-glass)"
    membership.delete()
    membership_ended.send(sender=Membership, tenant=tenant, user_id=row.user_id)
    seats_changed_on_commit(tenant.pk)
    return "membership ended"


def _name_of(document: dict[str, Any]) -> str:
    name = document.get("name") or {}
    text = (
        document.get("displayName")
        or name.get("formatted")
        or " ".join(part for part in (name.get("givenName"), name.get("familyName")) if part)
    )
    return str(text or "")[:150]


@transaction.atomic
def scim_user_create(*, tenant: Tenant, token: ScimToken, resource: User) -> ScimUser:
    user_name, external_id = _clean_user(resource)
    now = timezone.now()
    row = ScimUser(
        tenant_id=tenant.pk,
        user_name=user_name,
        external_id=external_id,
        email=_primary_email(resource),
        active=resource.active is not False,
        document=_document(resource),
        created_at=now,
        updated_at=now,
    )
    outcome = _join(tenant, row) if row.active else "held: created inactive"
    _save_user(row)
    _audit(tenant, AuditAction.SCIM_USER_CREATED, token, row.user, {"userName": user_name, "outcome": outcome})
    return row


@transaction.atomic
def scim_user_replace(*, tenant: Tenant, token: ScimToken, row: ScimUser, resource: User) -> ScimUser:
    row = ScimUser.objects.select_for_update().get(pk=row.pk)
    user_name, external_id = _clean_user(resource)
    was_active = row.active
    row.user_name, row.external_id = user_name, external_id
    row.email = _primary_email(resource)
    row.active = resource.active is not False
    row.document = _document(resource)
    row.updated_at = max(timezone.now(), row.updated_at + dt.timedelta(microseconds=1))
    if row.active:
        outcome = _join(tenant, row)
        action = AuditAction.SCIM_USER_REACTIVATED if not was_active else AuditAction.SCIM_USER_UPDATED
    else:
        outcome = _leave(tenant, row)
        action = AuditAction.SCIM_USER_DEACTIVATED if was_active else AuditAction.SCIM_USER_UPDATED
    _save_user(row)
    _audit(tenant, action, token, row.user, {"userName": user_name, "outcome": outcome})
    return row


def scim_user_patch(
    *, tenant: Tenant, token: ScimToken, row: ScimUser, patch: PatchOp[User], base_url: str
) -> ScimUser:
    resource = user_resource(row, base_url)
    try:
        patch.patch(resource)
    except (ValueError, TypeError) as exc:
        raise ScimProblem(400, f"The patch could not be applied: {str(exc)[:300]}", "invalidValue") from exc
    return scim_user_replace(tenant=tenant, token=token, row=row, resource=resource)


@transaction.atomic
def scim_user_delete(*, tenant: Tenant, token: ScimToken, row: ScimUser) -> None:
    row = ScimUser.objects.select_for_update().get(pk=row.pk)
    outcome = _leave(tenant, row)
    account = row.user
    user_name = row.user_name
    row.delete()
    _audit(tenant, AuditAction.SCIM_USER_DELETED, token, account, {"userName": user_name, "outcome": outcome})


# --- groups --------------------------------------------------------------------------------------------------------


def _clean_group(tenant_id: int, resource: Group) -> tuple[str, str, list[ScimUser]]:
    name = (resource.display_name or "").strip()
    if not name:
        raise ScimProblem(400, "displayName is required.", "invalidValue")
    if len(name) > 150 or has_control_characters(name):
        raise ScimProblem(400, "displayName is at most 150 characters, without control characters.", "invalidValue")
    external_id = (resource.external_id or "").strip()
    if len(external_id) > 254 or has_control_characters(external_id):
        raise ScimProblem(400, "externalId is at most 254 characters, without control characters.", "invalidValue")
    members = resource.members or []
    if len(members) > GROUP_MEMBERS_MAX:
        raise ScimProblem(400, f"A group has at most {GROUP_MEMBERS_MAX} members.", "tooMany")
    ids: set[uuid.UUID] = set()
    for member in members:
        try:
            ids.add(uuid.UUID(str(member.value)))
        except ValueError as exc:
            raise ScimProblem(
                400, "Every member's value is the id of a user of this workspace.", "invalidValue"
            ) from exc
    rows = list(ScimUser.objects.filter(tenant_id=tenant_id, scim_id__in=ids))
    if len(rows) != len(ids):
        raise ScimProblem(400, "Every member's value is the id of a user of this workspace.", "invalidValue")
    return name, external_id, rows


def _sync_members(tenant: Tenant, group: WorkspaceGroup, members: list[ScimUser]) -> None:
    """The group's members, and the Django group's accounts: the linked members who are members of the workspace."""
    group.members.set(members)
    through = Account.groups.through
    accounts = {m.user_id for m in members if m.user_id is not None}
    joined = set(Membership.objects.filter(tenant_id=tenant.pk, user_id__in=accounts).values_list("user_id", flat=True))
    current = set(through.objects.filter(group_id=group.group_id).values_list("user_id", flat=True))
    through.objects.filter(group_id=group.group_id, user_id__in=current - joined).delete()
    through.objects.bulk_create(
        [through(user_id=u, group_id=group.group_id) for u in joined - current], ignore_conflicts=True
    )


def _ensure_unique_group(tenant_id: int, name: str, exclude: int | None = None) -> None:
    rows = WorkspaceGroup.objects.filter(tenant_id=tenant_id, display_name__iexact=name)
    if exclude is not None:
        rows = rows.exclude(pk=exclude)
    if rows.exists():
        raise ScimProblem(409, f"A group named “{name}” exists already.", "uniqueness")


@transaction.atomic
def scim_group_create(*, tenant: Tenant, token: ScimToken, resource: Group) -> WorkspaceGroup:
    name, external_id, members = _clean_group(tenant.pk, resource)
    _ensure_unique_group(tenant.pk, name)
    now = timezone.now()
    django_group = DjangoGroup.objects.create(name=f"workspace:{tenant.pk}:{uuid.uuid4().hex}")
    try:
        with transaction.atomic():
            group = WorkspaceGroup.objects.create(
                tenant_id=tenant.pk,
                group=django_group,
                display_name=name,
                external_id=external_id,
                document=_document(resource),
                created_at=now,
                updated_at=now,
            )
    except IntegrityError as exc:
        raise ScimProblem(409, f"A group named “{name}” exists already.", "uniqueness") from exc
    _sync_members(tenant, group, members)
    _audit(tenant, AuditAction.SCIM_GROUP_CREATED, token, group, {"displayName": name, "members": len(members)})
    return group


@transaction.atomic
def scim_group_replace(*, tenant: Tenant, token: ScimToken, group: WorkspaceGroup, resource: Group) -> WorkspaceGroup:
    group = WorkspaceGroup.objects.select_for_update().get(pk=group.pk)
    name, external_id, members = _clean_group(tenant.pk, resource)
    _ensure_unique_group(tenant.pk, name, exclude=group.pk)
    group.display_name, group.external_id = name, external_id
    group.document = _document(resource)
    group.updated_at = max(timezone.now(), group.updated_at + dt.timedelta(microseconds=1))
    try:
        with transaction.atomic():
            group.save()
    except IntegrityError as exc:
        raise ScimProblem(409, f"A group named “{name}” exists already.", "uniqueness") from exc
    _sync_members(tenant, group, members)
    _audit(tenant, AuditAction.SCIM_GROUP_UPDATED, token, group, {"displayName": name, "members": len(members)})
    return group


def scim_group_patch(
    *, tenant: Tenant, token: ScimToken, group: WorkspaceGroup, patch: PatchOp[Group], base_url: str
) -> WorkspaceGroup:
    resource = group_resource(group, base_url)
    try:
        patch.patch(resource)
    except (ValueError, TypeError) as exc:
        raise ScimProblem(400, f"The patch could not be applied: {str(exc)[:300]}", "invalidValue") from exc
    return scim_group_replace(tenant=tenant, token=token, group=group, resource=resource)


@transaction.atomic
def scim_group_delete(*, tenant: Tenant, token: ScimToken, group: WorkspaceGroup) -> None:
    group = WorkspaceGroup.objects.select_for_update().get(pk=group.pk)
    name = group.display_name
    _audit(tenant, AuditAction.SCIM_GROUP_DELETED, token, group, {"displayName": name})
    # The Django group goes with it (and, through its cascade, the accounts' places in it); the product's grants to it
    # are rows in the workspace's schema that point at a deleted group: they match nobody.
    DjangoGroup.objects.filter(pk=group.group_id).delete()


def scim_users_join_held(*, tenant: Tenant, domain: str) -> int:
    """A domain was just verified: the active SCIM users held for an address of it join now (each in a savepoint of
    its own: one that cannot, past the seats for instance, stays held and the others go on). Returns how many joined.
    """
    joined = 0
    held = ScimUser.objects.filter(tenant_id=tenant.pk, active=True, user__isnull=True, email__iendswith="@" + domain)
    for row in held.order_by("created_at", "id"):
        try:
            with transaction.atomic():
                outcome = _join(tenant, row)
                row.save(update_fields=["user"])
        except (ScimProblem, IntegrityError):
            continue
        if outcome == "joined":
            joined += 1
            audit_record(
                tenant=tenant,
                action=AuditAction.SCIM_USER_UPDATED,
                actor=None,
                target=row.user,
                metadata={"userName": row.user_name, "outcome": "joined: its domain was verified"},
            )
    return joined

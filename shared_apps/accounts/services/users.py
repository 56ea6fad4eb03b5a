"""Writes about accounts: creating one for an address, operators, profile."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext

from shared_apps.accounts.errors import AccountError
from shared_apps.accounts.models import User
from shared_apps.accounts.preferences import is_time_zone, language_codes
from shared_apps.accounts.selectors import user_get_by_email
from shared_apps.accounts.services.sessions import sessions_end_all
from shared_apps.core.text import has_control_characters
from shared_apps.core.transactions import enqueue_on_commit
from tenants.db import connection, insert_one, insert_parts, row_shape, table_sql


def user_get_or_create(
    *, email: str, password: str | None = None, name: str = "", email_verified: bool = True
) -> tuple[User, bool]:
    """The account for this email, created (with `password`, or an unusable one) if there is none.

    Accounts made here come from an operator (`manage.py tenant create`, the demo seed), who vouches for the address,
    so it is recorded as verified unless `email_verified=False`; self-service sign-up goes through allauth instead.
    """
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise AccountError(gettext("“%(email)s” is not a valid email address.") % {"email": email}) from exc
    if password is None:
        return _found_or_made(email=email, name=name, email_verified=email_verified)
    existing = user_get_by_email(email=email)
    if existing is not None:
        return existing, False
    try:
        validate_password(password, User(email=email, name=name))
    except ValidationError as exc:
        raise AccountError(" ".join(exc.messages)) from exc
    user = _new_user(email=email, name=name, password=password)
    insert_one(user)
    insert_one(EmailAddress(user=user, email=user.email, primary=True, verified=email_verified))
    return user, True


def _new_user(*, email: str, name: str, password: str | None) -> User:
    """What `User.objects.create_user` would save: the address normalised, `password` hashed (None: unusable)."""
    user = User(email=User.objects.normalize_email(email).lower(), name=name)
    user.set_password(password)
    return user


# The account whose lower(email) matches (the unique index's expression), else a new one with its primary address:
# one statement. Two transactions making the same new account at once: the unique index fails the second, as it
# would fail a second INSERT.
_FOUND_OR_MADE = (
    "WITH found AS (SELECT {columns} FROM {users} WHERE lower(email) = lower(%s) ORDER BY id LIMIT 1),"
    " made AS (INSERT INTO {users} ({insert_columns}) SELECT {placeholders} WHERE NOT EXISTS (SELECT FROM found)"
    " RETURNING {columns}),"
    ' address AS (INSERT INTO {addresses} (user_id, email, verified, "primary") SELECT id, email, %s, true FROM made)'
    " SELECT false, {columns} FROM found UNION ALL SELECT true, {columns} FROM made"
)


def _found_or_made(*, email: str, name: str, email_verified: bool) -> tuple[User, bool]:
    user = _new_user(email=email, name=name, password=None)
    insert = insert_parts(user)
    columns, names = row_shape(User)
    sql = _FOUND_OR_MADE.format(
        columns=columns,
        users=insert.table,
        insert_columns=insert.columns,
        placeholders=insert.placeholders,
        addresses=table_sql(EmailAddress),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [email, *insert.values, email_verified])
        created, *row = cursor.fetchone()
    return User.from_db(connection.alias, names, row), created


def operator_ensure(*, email: str, password: str) -> User:
    """A platform operator (staff + superuser, verified email) for the Django admin. Idempotent; development seed."""
    user, _ = user_get_or_create(email=email, password=password, name="Platform operator")
    if not (user.is_staff and user.is_superuser):
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    return user


def user_profile_update(*, user: User, name: str) -> User:
    name = name.strip()
    if len(name) > 150:
        raise AccountError(gettext("Names can have at most 150 characters."))
    if has_control_characters(name):
        raise AccountError(gettext("Names cannot contain line breaks or control characters."))
    user.name = name
    user.save(update_fields=["name"])
    return user


def user_preferences_update(*, user: User, language: str, time_zone: str) -> User:
    """The person's language ("" follows the workspace's default, then the browser) and time zone ("" is UTC)."""
    if language and language not in language_codes():
        raise AccountError(gettext("Choose one of the languages offered."))
    if time_zone and not is_time_zone(time_zone):
        raise AccountError(gettext("Choose a time zone from the list, such as Europe/Berlin."))
    user.language, user.time_zone = language, time_zone
    user.save(update_fields=["language", "time_zone"])
    return user


def user_time_zone_detect(*, user: User, time_zone: str) -> bool:
    """The zone the browser reports on first sign-in, kept only while the person has none (a choice is never
    overwritten). False when nothing changed; an unknown name changes nothing either."""
    if not is_time_zone(time_zone):
        return False
    return User.objects.filter(pk=user.pk, time_zone="").update(time_zone=time_zone) == 1


def user_deactivate(*, user: User) -> int:
    """The account can no longer sign in anywhere, and every session it has ends now. Returns the sessions ended.
    (Who may do this, and the record of it, are the caller's: the operators' services.)"""

    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    return sessions_end_all(user=user)


def user_reactivate(*, user: User) -> None:
    if not user.is_active:
        user.is_active = True
        user.save(update_fields=["is_active"])


def password_reset_send(*, user: User) -> str:
    """Email the account's address a link to choose a new password (after commit; the link is minted by the sending
    task). What support sends instead of ever setting a password: only the mailbox's owner learns the new one.
    Returns the address; AccountError for a deactivated account."""
    if not user.is_active:
        raise AccountError(
            gettext("%(email)s is deactivated: reactivate it before sending a password reset.") % {"email": user.email}
        )
    from shared_apps.accounts.tasks import password_reset_send as task  # noqa: PLC0415  (the tasks import these services)

    enqueue_on_commit(task, user_id=user.pk)
    return user.email


def email_address_clean(email: str, *, user: User | None = None) -> str:
    """`email` lower-cased and trimmed if it can be an account's address and no other account has it; AccountError
    otherwise."""
    email = email.strip().lower()
    if has_control_characters(email) or len(email) > 254:
        raise AccountError(gettext("An email address has at most 254 characters and no control characters."))
    try:
        validate_email(email)
    except ValidationError as exc:
        raise AccountError(gettext("“%(email)s” is not a valid email address.") % {"email": email}) from exc

    others = User.objects.filter(email__iexact=email)
    addresses = EmailAddress.objects.filter(email__iexact=email)
    if user is not None:
        others, addresses = others.exclude(pk=user.pk), addresses.exclude(user_id=user.pk)
    if others.exists() or addresses.exists():
        raise AccountError(gettext("Another account already uses %(email)s.") % {"email": email})
    return email


def user_email_change(*, user: User, email: str) -> tuple[str, str]:
    """Give the account a new address, unverified until its owner follows the link sent there; the old address is
    told (after commit). Returns (old, new). (Who may do this, and the record of it, are the caller's: the
    operators' services, superusers only.)"""

    new = email_address_clean(email, user=user)
    old = user.email
    if new == old.lower():
        raise AccountError(gettext("%(old)s is already this account's address.") % {"old": old})
    EmailAddress.objects.filter(user=user, email__iexact=old).delete()
    EmailAddress.objects.filter(user=user).update(primary=False)
    EmailAddress.objects.filter(user=user, email__iexact=new).delete()
    EmailAddress.objects.create(user=user, email=new, primary=True, verified=False)
    user.email = new
    user.save(update_fields=["email"])
    from shared_apps.accounts.tasks import email_change_notify  # noqa: PLC0415  (as above)
    from shared_apps.accounts.tasks import email_verification_send as verify  # noqa: PLC0415  (as above)

    enqueue_on_commit(email_change_notify, old=old, new=new)
    enqueue_on_commit(verify, user_id=user.pk, email=new)
    return old, new


def email_verification_send(*, user: User) -> str:
    """Email the account's unverified primary address a link that verifies it (after commit; the link is minted by
    the sending task). Returns the address; AccountError if it has none left to verify."""

    address = (
        EmailAddress.objects.filter(user=user, verified=False)
        .order_by("-primary", "email")
        .values_list("email", flat=True)
    ).first()
    if address is None:
        raise AccountError(gettext("%(email)s has no unverified email address.") % {"email": user.email})
    from shared_apps.accounts.tasks import email_verification_send as task  # noqa: PLC0415  (as above)

    enqueue_on_commit(task, user_id=user.pk, email=address)
    return str(address)

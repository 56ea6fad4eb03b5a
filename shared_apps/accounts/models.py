"""Global accounts (public schema): one User, many workspaces through Membership."""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("Users need an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)  # None → an unusable password
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Email is the login. Platform operators are `is_staff` / `is_superuser`."""

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="Platform operator: may use the Django admin.")
    date_joined = models.DateTimeField(default=timezone.now)
    # The person's language (one of LANGUAGES; empty: the workspace's default, then the browser's) and time zone (an
    # IANA name such as "Europe/Berlin", detected by the browser on first sign-in; empty: UTC). Pages and mail use both.
    language = models.CharField(max_length=8, blank=True, default="")
    time_zone = models.CharField(max_length=64, blank=True, default="")

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["name"]

    class Meta:
        constraints: ClassVar = [models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique")]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return (self.name.split() or [self.email])[0]

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    MEMBER = "member", _("Member")


class Membership(models.Model):
    """Who belongs to which workspace, and as what. Lives in the public schema, next to Tenant."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["user", "tenant"], name="accounts_membership_user_tenant_unique")
        ]
        ordering: ClassVar = ["tenant_id", "created_at"]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.tenant_id} as {self.role}"


class LoginHandoff(models.Model):
    """A single-use ticket that carries a sign-in from the root domain to one workspace host (sessions are host-only).

    The token the browser carries is signed and expires after LOGIN_HANDOFF_MAX_AGE seconds; this row makes it
    single-use (`used_at` is set by one conditional UPDATE) and binds it to one user and one tenant.
    """

    class Purpose(models.TextChoices):
        SIGN_IN = "sign_in", "Sign in as yourself"
        # A platform operator signed in as a member (shared_apps.workspaces' impersonation): a ticket of one purpose
        # is never redeemed as the other.
        IMPERSONATION = "impersonation", "Operator signs in as a member"

    nonce = models.CharField(max_length=64, unique=True)
    purpose = models.CharField(max_length=16, choices=Purpose.choices, default=Purpose.SIGN_IN)
    # SHA-256 of the random value the workspace host put in the asking browser's host-only cookie: a ticket is
    # redeemed only by the browser that asked for it (a ticket URL sent to someone else signs nobody in).
    browser_binding = models.CharField(max_length=64, default="")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    next_path = models.CharField(max_length=512, default="/")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes: ClassVar = [models.Index(fields=["expires_at"], name="accounts_handoff_expires_idx")]

    def __str__(self) -> str:
        return f"handoff {self.pk} for user {self.user_id} to tenant {self.tenant_id}"


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def open(self) -> InvitationQuerySet:
        """Neither accepted nor revoked (pending or expired)."""
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True)

    def pending(self) -> InvitationQuerySet:
        """Open and not yet expired: these hold a seat."""
        return self.open().filter(expires_at__gt=timezone.now())


class Invitation(models.Model):
    """An invitation to join a workspace (public schema, next to Membership).

    Only a SHA-256 of the token is stored; the token itself exists only in the email that carries it (it is minted
    by the sending task, `invitation_token_issue`). Single use: `accepted_at` is set once, under a row lock.
    At most one open invitation per workspace and address (case-insensitive).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        EXPIRED = "expired", "Expired"
        ACCEPTED = "accepted", "Accepted"
        REVOKED = "revoked", "Revoked"

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    send_count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = InvitationQuerySet.as_manager()

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                models.F("tenant"),
                Lower("email"),
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="accounts_invitation_one_open_per_email",
            )
        ]
        indexes: ClassVar = [models.Index(fields=["tenant", "expires_at"], name="accounts_invitation_tenant_idx")]
        ordering: ClassVar = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.email

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return self.Status.REVOKED
        if self.accepted_at is not None:
            return self.Status.ACCEPTED
        if self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.Status.PENDING

    def get_status_display(self) -> str:
        return str(self.Status(self.status).label)


class ApiKeyScope(models.TextChoices):
    READ = "read", _("Read only")
    WRITE = "write", _("Read and write")


class ApiKey(models.Model):
    """A member's key to one workspace's API (public schema, next to the membership it belongs to).

    The secret is shown once, when the key is made; only its SHA-256 is stored (a key is 32 random bytes, so a fast
    hash is enough: there is nothing to guess), with its first characters (`prefix`) to recognise it by. A key acts
    as its member with at most its scope, and goes with the membership (removed, or left: the rows cascade).
    """

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="api_keys")
    # The membership's, copied: the workspace's keys are listed without a join, and a lookup compares it at once.
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=8, choices=ApiKeyScope.choices, default=ApiKeyScope.READ)
    prefix = models.CharField(max_length=16)
    secret_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]
        indexes: ClassVar = [
            models.Index(fields=["tenant", "user", "-created_at"], name="accounts_apikey_owner_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_secret(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return "expired"
        return "active"


class ReplacedInvitationToken(models.Model):
    """The hash of an invitation link that a resend replaced, so the old link can say "replaced by a newer one"
    instead of "not valid". It signs nobody in and joins nobody: the invitation's current token does that."""

    token_hash = models.CharField(max_length=64, unique=True)
    invitation = models.ForeignKey(Invitation, on_delete=models.CASCADE, related_name="replaced_tokens")
    replaced_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"replaced link of {self.invitation_id}"

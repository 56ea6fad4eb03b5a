"""Identity for organisations (public schema, next to Membership): sign-in happens before any workspace is entered,
so what decides it (a workspace's verified domains, its policies, its SCIM tokens) is readable from the root domain.

- `VerifiedDomain`: a workspace proves it owns `acme.com` with a DNS TXT record. A domain is verified by at most one
  workspace (a partial unique index on verified rows); any number may be trying at once.
- `WorkspacePolicy`: require SSO for members of the verified domains, require two-factor, session lifetime.
- `ScimToken`: a SCIM client's bearer token, stored as a SHA-256 like an API key (shown once).
- `ScimUser`: the workspace's view of a person its IdP provisions (the resource as written, userName, active). It
  links to the global account only when the address is in one of the workspace's verified domains: provisioning
  never pulls someone else's account into a workspace.
- `WorkspaceGroup`: a group of one workspace, backed by a Django `auth.Group` (what project sharing grants to).
"""

from __future__ import annotations

import hashlib
import uuid
from typing import ClassVar

from django.contrib.auth.models import Group
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from shared_apps.accounts.models import Role, User


class VerifiedDomain(models.Model):
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    domain = models.CharField(max_length=253)
    # The value the TXT record must carry: random, per workspace and domain.
    token = models.CharField(max_length=64)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_check_error = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["tenant", "domain"], name="identity_domain_tenant_unique"),
            models.UniqueConstraint(
                fields=["domain"], condition=models.Q(verified_at__isnull=False), name="identity_domain_verified_once"
            ),
        ]
        ordering: ClassVar = ["domain"]

    def __str__(self) -> str:
        return self.domain

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


class WorkspacePolicy(models.Model):
    tenant = models.OneToOneField("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    # Members whose address is in a verified domain sign in through the workspace's IdP only (owners keep a
    # break-glass sign-in).
    require_sso = models.BooleanField(default=False)
    require_two_factor = models.BooleanField(default=False)
    # Minutes a session on this workspace lasts from sign-in (None: the platform's default).
    session_lifetime_minutes = models.PositiveIntegerField(null=True, blank=True)
    # The role given to people who join through the IdP (just-in-time) or SCIM.
    jit_role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "workspace policies"

    def __str__(self) -> str:
        return f"policy of {self.tenant_id}"


class SsoConnection(models.Model):
    """A workspace's identity provider, OpenID Connect or SAML 2.0. allauth knows it as the app whose provider_id is
    `ws-<provider_key>` (a random key: the callback and ACS URLs say nothing of the workspace's id or name). Secrets
    (the OIDC client secret, the SAML service provider's private key) are stored encrypted (Fernet, with a key derived
    from SECRET_KEY)."""

    class Protocol(models.TextChoices):
        OIDC = "oidc", "OpenID Connect"
        SAML = "saml", "SAML 2.0"

    tenant = models.OneToOneField("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    protocol = models.CharField(max_length=8, choices=Protocol.choices, default=Protocol.OIDC)
    provider_key = models.CharField(max_length=32, unique=True)
    # OpenID Connect
    server_url = models.URLField(max_length=500, blank=True)
    client_id = models.CharField(max_length=255, blank=True)
    secret_encrypted = models.TextField(blank=True)
    # SAML 2.0: the identity provider (from its metadata, read from a URL or uploaded) ...
    idp_entity_id = models.CharField(max_length=500, blank=True)
    idp_sso_url = models.URLField(max_length=500, blank=True)
    idp_metadata_url = models.URLField(max_length=500, blank=True)
    # ... its signing certificates (base64 DER, no PEM armour): one, or two during a change-over
    idp_certificates = models.JSONField(default=list, blank=True)
    # ... and Atrium's side for this workspace: a signing certificate of its own (self-signed) and its private key
    sp_certificate = models.TextField(blank=True)
    sp_private_key_encrypted = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.get_protocol_display()} of {self.tenant_id}"

    @property
    def provider_id(self) -> str:
        return f"ws-{self.provider_key}"


class SsoSignIn(models.Model):
    """When a person last signed in through a workspace's identity provider: what "require single sign-on" checks a
    session on the workspace's host against (the handoff that follows an SSO sign-in lands seconds later)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    signed_in_at = models.DateTimeField()

    class Meta:
        constraints: ClassVar = [models.UniqueConstraint(fields=["user", "tenant"], name="identity_sso_sign_in_once")]

    def __str__(self) -> str:
        return f"{self.user_id} via the IdP of {self.tenant_id}"


class ScimToken(models.Model):
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16)
    secret_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_secret(secret: str) -> str:
        return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ScimUser(models.Model):
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    # The id SCIM clients see: random, so it says nothing about the global account or other workspaces.
    scim_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    user_name = models.CharField(max_length=254)
    external_id = models.CharField(max_length=254, blank=True)
    email = models.EmailField(blank=True)  # the primary address of `document` (what links the account), lower case
    active = models.BooleanField(default=True)
    # The resource as the client last wrote it (RFC 7643 attributes, no id, meta or password): answered back as is.
    document = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(models.F("tenant"), Lower("user_name"), name="identity_scim_username"),
            models.UniqueConstraint(
                fields=["tenant", "user"], condition=models.Q(user__isnull=False), name="identity_scim_user_once"
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["tenant", "created_at", "id"], name="identity_scim_user_list")]
        ordering: ClassVar = ["created_at", "id"]

    def __str__(self) -> str:
        return self.user_name


class WorkspaceGroup(models.Model):
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    scim_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    group = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="workspace_group")
    display_name = models.CharField(max_length=150)
    external_id = models.CharField(max_length=254, blank=True)
    members = models.ManyToManyField(ScimUser, related_name="groups", blank=True)
    document = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(models.F("tenant"), Lower("display_name"), name="identity_group_name"),
        ]
        indexes: ClassVar = [models.Index(fields=["tenant", "created_at", "id"], name="identity_group_list")]
        ordering: ClassVar = ["created_at", "id"]

    def __str__(self) -> str:
        return self.display_name

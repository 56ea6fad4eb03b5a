"""The workspace host's URLconf walked pattern by pattern (the API included), and what each path parameter names: the
sweeps that ask every URL something (tests/tenants/test_isolation_sweep.py, tests/core/test_hostile_sweep.py) share
them, so a new page is swept by both without being listed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

URLCONF = "config.urls_tenants"

# What each path parameter names. Keys are "<url name>:<parameter>" or, where a parameter name means one thing
# everywhere, the parameter alone. A kind is either a per-workspace table (ids restart in every schema: the sweep tries
# an id only B has, A's parent with B's child, and an id both have) or something global (ids and strings unique over
# the platform: B's own value is tried).
PER_WORKSPACE = ("project", "task", "comment", "document", "webhook", "delivery", "notification", "label")
PARAMETERS: dict[str, str] = {
    "project_id": "project",
    "task_id": "task",
    "comment_id": "comment",
    "document_id": "document",
    "membership_id": "membership",
    "invitation_id": "invitation",
    "key_id": "api_key",
    "invitation_on_host:token": "invitation_token",
    "storage_file:key": "storage_key",
    "account_reset_password_from_key:uidb36": "user_uid",
    "account_reset_password_from_key:key": "reset_key",
    "api-project-detail:pk": "project",
    "api-project-archive:pk": "project",
    "api-project-restore:pk": "project",
    "api-task-detail:pk": "task",
    "api-task-move:pk": "task",
    "api-comment-detail:pk": "comment",
    "api-member-detail:pk": "membership",
    "api-member-transfer-ownership:pk": "membership",
    "api-document-detail:pk": "document",
    "api-document-confirm:pk": "document",
    "api-document-cancel:pk": "document",
    "api-document-download:pk": "document",
    "api-invitation-detail:pk": "invitation",
    "api-invitation-resend:pk": "invitation",
    "endpoint_id": "webhook",
    "delivery_id": "delivery",
    "notification_id": "notification",
    "label_id": "label",
    "notification_unsubscribe:token": "unsubscribe_token",
    "api-webhook-detail:pk": "webhook",
    "api-webhook-rotate-secret:pk": "webhook",
    "api-webhook-test:pk": "webhook",
    "api-webhook-delivery-detail:pk": "delivery",
    "api-webhook-delivery-resend:pk": "delivery",
    # SCIM: a provisioned person's and a group's random ids (unique over the platform); discovery's names are the
    # same for every workspace
    "scim-user:scim_id": "scim_user",
    "scim-group:scim_id": "scim_group",
    # the Sharing tab's revoke of a group's access: the group's random SCIM id
    "project_sharing_group_revoke:group_id": "scim_group",
    "scim-resource-type:name": "scim_resource_type",
    "scim-schema:schema_id": "scim_schema",
    # Settings → Single sign-on: a verified domain's and a SCIM token's ids (public rows, unique over the platform)
    "domain_id": "identity_domain",
    "settings_sso_scim_token_revoke:token_id": "scim_token",
    # a passkey (allauth's WebAuthn authenticator: a public row of one account, its id unique over the platform)
    "mfa_edit_webauthn:pk": "authenticator",
    "mfa_remove_webauthn:pk": "authenticator",
}


@dataclass(frozen=True)
class Swept:
    """One URL pattern of the workspace URLconf: its name for `reverse`, its route, parameters and methods."""

    name: str
    route: str
    params: tuple[str, ...]
    methods: tuple[str, ...]

    @property
    def is_api(self) -> bool:
        return self.route.startswith("api/")

    @property
    def is_scim(self) -> bool:
        return self.route.startswith("scim/")

    def kind(self, param: str) -> str | None:
        return PARAMETERS.get(f"{self.name}:{param}") or PARAMETERS.get(param)


def _walk(
    patterns: list[Any], prefix: str = "", namespace: str = "", outer: tuple[str, ...] = ()
) -> Iterator[tuple[str, str, URLPattern, tuple[str, ...]]]:
    """Each pattern with its full route, namespace, and the parameters of the includes around it (allauth's
    `keys/<int:pk>/` wraps `edit/` and `remove/`)."""
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            around = outer + tuple(entry.pattern.regex.groupindex)
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner, around)
        else:
            yield prefix + str(entry.pattern), namespace, entry, outer


def swept_patterns(urlconf: str = URLCONF) -> list[Swept]:
    found = []
    for route, namespace, entry, outer in _walk(get_resolver(urlconf).url_patterns):
        actions = getattr(entry.callback, "actions", None)  # a DRF viewset: the methods it routes
        methods = tuple(m.upper() for m in actions) if actions else ("GET", "POST")
        params = outer + tuple(entry.pattern.regex.groupindex)
        found.append(Swept(name=f"{namespace}{entry.name or ''}", route=route, params=params, methods=methods))
    return found

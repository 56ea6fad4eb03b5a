"""Passkeys (WebAuthn, through allauth.mfa and fido2): Atrium's MFA adapter and the forms that name a passkey.

The relying-party id is the root domain (`BASE_DOMAIN`), not the host of the page: a person signs in on the root and
is handed off to workspace hosts, or signs in on a workspace host directly, and one passkey has to serve them all. A
browser accepts an RP id that is the page's host or a parent of it, so a passkey made on `acme.example.com` also
works on `example.com` and `globex.example.com`. A workspace's custom domain is not under the root domain: passkeys
are not offered there (`passkeys_available`); its members use them on the root or the workspace's subdomain.
"""

from __future__ import annotations

from typing import Any

from allauth.core import context
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.webauthn.forms import AddWebAuthnForm, EditWebAuthnForm
from django import forms
from django.conf import settings
from django.http import HttpRequest

from shared_apps.accounts.errors import AccountError
from shared_apps.accounts.security_log import workspace_route
from shared_apps.accounts.services.passkeys import PASSKEY_NAME_MAX_LENGTH, passkey_name_clean, passkey_rename


def passkeys_available(request: HttpRequest | None) -> bool:
    """Whether a passkey of Atrium's relying party can be used on this request's host: the root domain or one of
    its subdomains (not a workspace's custom domain). A root domain of one label (development's `localhost`) is no
    registrable domain, and browsers let only that host itself claim it: use e.g. `atrium.localhost` to try passkeys
    on workspace hosts."""
    if request is None:
        return False
    host = request.get_host().rpartition(":")[0] or request.get_host()
    host = host.lower().rstrip(".")
    base = settings.BASE_DOMAIN
    return host == base or ("." in base and host.endswith(f".{base}"))


class MFAAdapter(DefaultMFAAdapter):
    def get_public_key_credential_rp_entity(self) -> dict[str, str]:
        return {"id": settings.BASE_DOMAIN, "name": "Atrium"}


def _clean_name(value: str) -> str:
    try:
        return passkey_name_clean(value)
    except AccountError as exc:
        raise forms.ValidationError(exc.message) from exc


class PasskeyAddForm(AddWebAuthnForm):
    """allauth's form, a passkey (usable without a password) unless unticked, and a checked name. A refused name
    leaves the browser's credential unused: the page asks the authenticator again."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs["maxlength"] = str(PASSKEY_NAME_MAX_LENGTH)
        if "passwordless" in self.fields:
            self.fields["passwordless"].initial = True

    def clean_name(self) -> str:
        name = self.cleaned_data.get("name") or ""
        return _clean_name(name) if name.strip() else str(super().clean_name())

    def clean(self) -> dict[str, Any]:
        if "name" in self.errors:
            return self.cleaned_data
        return dict(super().clean())


class PasskeyRenameForm(EditWebAuthnForm):
    """Renaming through `passkey_rename` (checked, audited); allauth's view asks for recent re-authentication."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs["maxlength"] = str(PASSKEY_NAME_MAX_LENGTH)

    def clean_name(self) -> str:
        return _clean_name(self.cleaned_data.get("name") or "")

    def save(self) -> Any:
        request = context.request
        return passkey_rename(
            authenticator_id=self.instance.pk,
            name=self.cleaned_data["name"],
            acting_user=request.user,
            route=workspace_route(request),
        )

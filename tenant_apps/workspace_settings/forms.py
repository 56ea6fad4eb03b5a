"""Forms of the workspace settings pages: parsing and field-level messages only; the rules live in the services."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from typing import Any, cast

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from shared_apps.accounts.models import ApiKeyScope, Role
from shared_apps.accounts.preferences import time_zone_names
from shared_apps.accounts.services import ApiKeyInvalid, normalise_emails
from tenants.validators import host_normalise

MAX_INVITATIONS_AT_ONCE = 50
_SEPARATORS = re.compile(r"[\s,;]+")


class InviteForm(forms.Form):
    emails = forms.CharField(
        label=_("Email addresses"),
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "ada@example.com, grace@example.com"}),
        help_text=_("Separate addresses with commas, spaces or new lines; up to 50 at once."),
    )
    role = forms.ChoiceField(
        label=_("Role"),
        help_text=_("Admins manage members and invitations; members use the workspace."),
    )

    def __init__(self, *args: Any, roles: list[Role], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        role = self.fields["role"]
        assert isinstance(role, forms.ChoiceField)  # noqa: S101
        role.choices = [(r.value, r.label) for r in roles]
        role.initial = Role.MEMBER

    def clean_emails(self) -> list[str]:
        raw = [part for part in _SEPARATORS.split(self.cleaned_data["emails"]) if part]
        valid, invalid = normalise_emails(raw)
        if invalid:
            listed = ", ".join(f"“{item}”" for item in invalid[:5])
            more = f" and {len(invalid) - 5} more" if len(invalid) > 5 else ""
            raise forms.ValidationError(
                f"{'This is not an email address' if len(invalid) == 1 else 'These are not email addresses'}: "
                f"{listed}{more}."
            )
        if not valid:
            raise forms.ValidationError(_("Enter at least one email address."))
        if len(valid) > MAX_INVITATIONS_AT_ONCE:
            raise forms.ValidationError(
                _("Invite at most %(MAX_INVITATIONS_AT_ONCE)s people at once.")
                % {"MAX_INVITATIONS_AT_ONCE": MAX_INVITATIONS_AT_ONCE}
            )
        return valid

    def address_count(self) -> int:
        """How many addresses the field holds (for the button: "Send 3 invitations"), valid or not yet."""
        value = self.data.get("emails", "") if self.is_bound else ""
        return len([p for p in _SEPARATORS.split(str(value)) if "@" in p])


class ProfileForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=150,
        required=False,
        help_text=_("How your teammates see you across your workspaces."),
        widget=forms.TextInput(attrs={"autocomplete": "name", "placeholder": "Ada Lovelace"}),
    )


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=_("Key name"),
        max_length=100,
        help_text=_("Where it is used, so you recognise it later: “Nightly export”, “Zapier”."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "Nightly export"}),
    )
    scope = forms.ChoiceField(
        label=_("Scope"),
        choices=ApiKeyScope.choices,
        initial=ApiKeyScope.READ,
        widget=forms.RadioSelect,
        help_text=_("Read only can look but not change. Either way the key can do no more than you can."),
    )
    expires_on = forms.DateField(
        label=_("Expires on"),
        required=False,
        help_text=_("Optional. The key stops working at the start of that day (UTC)."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "key_%s")  # the profile form on the same page has a "name" too
        super().__init__(*args, **kwargs)

    def add_service_error(self, exc: ApiKeyInvalid) -> None:
        field = {"expires_at": "expires_on"}.get(exc.field, exc.field)
        self.add_error(field if field in self.fields else None, exc.message)

    def expires_at(self) -> datetime | None:
        day = self.cleaned_data.get("expires_on")
        return datetime.combine(day, time.min, tzinfo=UTC) if day else None


class ApiKeyRevokeForm(forms.Form):
    confirm_name = forms.CharField(label=_("Type the key's name to confirm"), max_length=100)


# --- the workspace itself (owners) -------------------------------------------------------------------------------
# Lengths here only stop absurd input early; the tenancy core's validators say what a valid name, subdomain or domain
# is, and their messages are shown next to the field.


class WorkspaceNameForm(forms.Form):
    name = forms.CharField(
        label=_("Workspace name"),
        max_length=200,
        help_text=_("Shown in the sidebar, in emails and on invitations."),
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )


class SubdomainForm(forms.Form):
    subdomain = forms.CharField(
        label=_("Subdomain"),
        max_length=200,
        help_text=_("Lower-case letters, digits and hyphens. The old address keeps redirecting here for a while."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}),
    )


class DomainForm(forms.Form):
    domain = forms.CharField(
        label=_("Domain"),
        max_length=300,
        help_text=_("A host name you own, e.g. projects.example.com."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "none",
                "spellcheck": "false",
                "placeholder": "projects.example.com",
            }
        ),
    )


class DomainPickForm(forms.Form):
    """One of the workspace's domains, named by a button of the domains page (remove, check)."""

    domain = forms.CharField(max_length=253)

    def clean_domain(self) -> str:
        host = host_normalise(self.cleaned_data["domain"])
        if host is None:
            raise forms.ValidationError(_("That is not a domain name."))
        return host


class WorkspaceDeleteForm(forms.Form):
    confirm = forms.CharField(label=_("Type the subdomain to confirm"), max_length=200)


# --- outgoing webhooks (owners and admins) -------------------------------------------------------------------------


class WebhookEndpointForm(forms.Form):
    url = forms.CharField(
        label=_("Endpoint URL"),
        max_length=2000,
        widget=forms.URLInput(attrs={"placeholder": "https://hooks.example.com/atrium"}),
        help_text=_("Where Atrium POSTs each event, signed. https only."),
    )
    description = forms.CharField(
        label=_("Description"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "Deploys channel"}),
        help_text=_("Optional: what this endpoint is for."),
    )
    event_types = forms.MultipleChoiceField(
        label=_("Events"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every event, including types added later."),
    )
    enabled = forms.BooleanField(label=_("Send events to this endpoint"), required=False, initial=True)

    def __init__(self, *args: Any, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["event_types"]
        assert isinstance(field, forms.MultipleChoiceField)  # noqa: S101
        field.choices = choices

    def add_service_error(self, exc: Exception) -> None:
        self.add_error("url", str(getattr(exc, "message", exc)))


class WebhookDeleteForm(forms.Form):
    confirm_url = forms.CharField(label=_("Type the endpoint's URL to confirm"), max_length=2000)


class VerifiedDomainForm(forms.Form):
    domain = forms.CharField(
        label=_("Domain"),
        max_length=300,
        help_text=_("The part after the @ of your organisation's addresses, such as acme.com."),
        widget=forms.TextInput(attrs={"placeholder": "acme.com", "autocomplete": "off", "spellcheck": "false"}),
    )


class SignInPolicyForm(forms.Form):
    require_sso = forms.BooleanField(
        label=_("Require single sign-on for people of the verified domains"),
        required=False,
        help_text=_("Passwords, codes and social sign-in are refused for them here; owners keep their own sign-in."),
    )
    require_two_factor = forms.BooleanField(
        label=_("Require two-factor authentication for every member"),
        required=False,
        help_text=_("A member without it is sent to set it up before entering the workspace."),
    )
    session_lifetime_minutes = forms.IntegerField(
        label=_("Session lifetime (minutes)"),
        required=False,
        min_value=1,
        max_value=10**7,
        help_text=_("How long a sign-in lasts on this workspace; empty for Atrium's default."),
    )
    jit_role = forms.ChoiceField(
        label=_("Role of people who join through your identity provider"),
        choices=[(Role.MEMBER.value, Role.MEMBER.label), (Role.ADMIN.value, Role.ADMIN.label)],
    )


class ScimTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Token name"),
        max_length=300,
        help_text=_("The client that will use it, such as Okta or Entra ID."),
        widget=forms.TextInput(attrs={"placeholder": "Okta", "autocomplete": "off"}),
    )


class OidcConnectionForm(forms.Form):
    server_url = forms.CharField(
        label=_("Issuer URL"),
        max_length=600,
        help_text=_(
            "Your identity provider's issuer, such as https://acme.okta.com (where its discovery document is)."
        ),
        widget=forms.TextInput(attrs={"placeholder": "https://login.acme.com", "autocomplete": "off"}),
    )
    client_id = forms.CharField(
        label=_("Client ID"), max_length=300, help_text=_("From the application made for Atrium.")
    )
    client_secret = forms.CharField(
        label=_("Client secret"),
        max_length=1100,
        required=False,
        help_text=_("Stored encrypted. Leave empty to keep the one saved."),
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )


class SamlConnectionForm(forms.Form):
    metadata_url = forms.CharField(
        label=_("Metadata URL"),
        max_length=600,
        required=False,
        help_text=_("Where your identity provider publishes its SAML metadata (https://…). Or upload the file below."),
        widget=forms.TextInput(attrs={"placeholder": "https://idp.acme.com/saml/metadata", "autocomplete": "off"}),
    )
    metadata_file = forms.FileField(
        label=_("Metadata file"), required=False, help_text=_("The identity provider's metadata XML, under 1 MB.")
    )

    def clean_metadata_file(self) -> str:
        upload = self.cleaned_data.get("metadata_file")
        if not upload:
            return ""
        if upload.size is None or upload.size > 1_000_000:
            raise forms.ValidationError(_("That file is over 1 MB: upload the identity provider's metadata XML."))
        try:
            return str(upload.read().decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise forms.ValidationError(_("That file is not XML text (UTF-8).")) from exc


class SamlCertificateForm(forms.Form):
    certificate = forms.CharField(
        label=_("Next certificate"),
        max_length=20_000,
        help_text=_("Your identity provider's new signing certificate (PEM): both are trusted until you remove one."),
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "-----BEGIN CERTIFICATE-----"}),
    )


def _language_choices(empty_label: str) -> list[tuple[str, str]]:
    return [("", empty_label), *settings.LANGUAGES]


class PreferencesForm(forms.Form):
    """The person's language and time zone (the services check both again)."""

    language = forms.ChoiceField(label=_("Language"), required=False, choices=())
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        required=False,
        choices=(),
        help_text=_("Dates and times on every page and in emails are shown in it."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["language"]).choices = _language_choices(str(_("The workspace's default")))
        zones = sorted(time_zone_names())
        zone_field = cast(forms.ChoiceField, self.fields["time_zone"])
        zone_field.choices = [("", "UTC"), *((zone, zone.replace("_", " ")) for zone in zones)]


class WorkspaceLanguageForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Default language"),
        required=False,
        choices=(),
        help_text=_("For members who chose no language of their own, and for the workspace's emails."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ChoiceField, self.fields["language"])
        field.choices = _language_choices(str(_("Each person's browser language")))

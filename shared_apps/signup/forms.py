from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from tenants.errors import SubdomainInvalid
from tenants.validators import MAX_LENGTH, validate_subdomain


class WorkspaceForm(forms.Form):
    name = forms.CharField(
        label=_("Organization name"),
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "Acme Inc", "autocomplete": "organization"}),
    )
    subdomain = forms.CharField(
        label=_("Subdomain"),
        max_length=MAX_LENGTH,
        help_text=_("Lower-case letters, digits and hyphens; this is where your team signs in."),
        widget=forms.TextInput(attrs={"placeholder": "acme", "autocapitalize": "none", "spellcheck": "false"}),
    )

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Give your workspace a name."))
        return name

    def clean_subdomain(self) -> str:
        try:
            return validate_subdomain(self.cleaned_data["subdomain"])
        except SubdomainInvalid as exc:
            raise forms.ValidationError(exc.message) from exc

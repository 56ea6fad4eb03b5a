"""Extra fields of allauth's sign-up form (ACCOUNT_SIGNUP_FORM_CLASS): the person's name, so colleagues see who did
what (cards, comments, mentions, notifications) from their first day."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from shared_apps.accounts.models import User
from shared_apps.core.text import has_control_characters

NAME_MAX_LENGTH = 150


class SignupNameForm(forms.Form):
    name = forms.CharField(
        label=_("Your name"),
        max_length=NAME_MAX_LENGTH,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Your name (e.g. Ada Lovelace)"), "autocomplete": "name"}),
    )

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        if has_control_characters(name):
            raise forms.ValidationError(_("Your name can't contain line breaks or control characters."))
        return name

    def signup(self, request: HttpRequest, user: User, **kwargs: Any) -> None:
        """allauth calls this once the account is saved: keep the name it was given."""
        name = self.cleaned_data.get("name", "")
        if name and name != user.name:
            user.name = name
            user.save(update_fields=["name"])
